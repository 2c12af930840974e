"""JSON in and out with orjson: the API's documents are plain dicts, so encoding is the hot path."""

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer


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
        if not raw.strip():
            return {}
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise ParseError("Invalid JSON") from error


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
