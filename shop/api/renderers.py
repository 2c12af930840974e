"""JSON in and out with orjson: the API's documents are plain dicts, so encoding is the hot path."""

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

from shop.api.errors import APIError


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


class ORJSONParser(BaseParser):
    """Parses ``application/json`` bodies; anything unreadable is a ParseError ("Invalid JSON")."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw:  # no body at all: nothing sent (whitespace alone is not JSON)
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise ParseError("Invalid JSON") from error
        path = _nul_path(data)
        if path is not None:
            # PostgreSQL cannot store U+0000 in text: refuse it here rather than fail there.
            message = "Text cannot contain NUL (\\u0000) characters."
            raise APIError(
                message,
                name="ValidationError",
                data={"collection": None, "errors": [{"path": path, "message": message}]},
            )
        return data


def _nul_path(data) -> str | None:
    """The dotted path of the first string (or key) holding U+0000, or None (no recursion:
    a body may nest as deeply as the JSON parser allows)."""
    stack = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{path}.{key}" if path else key
                if "\x00" in key:
                    return inner
                stack.append((inner, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
    return None


class JSONNegotiation(DefaultContentNegotiation):
    """The API answers JSON only. A request that accepts anything or JSON, with no ``format``
    override, gets it without parsing its Accept header and query string again; anything else
    goes through DRF's negotiation (which answers 406 to what it cannot serve)."""

    PLAIN = frozenset({"", "*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request.META
        if (
            len(renderers) == 1
            and format_suffix is None
            and meta.get("HTTP_ACCEPT", "").strip() in self.PLAIN
            and "format=" not in meta.get("QUERY_STRING", "")
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
