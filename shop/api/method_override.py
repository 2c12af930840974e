"""``POST`` with ``X-Payload-HTTP-Method-Override: GET`` is read as the ``GET`` of its query, as
Payload reads it (``packages/payload/src/utilities/handleEndpoints.ts``): clients send long
``where`` queries this way. The body is the query: form-encoded (``where[status][equals]=paid``)
or a JSON object (``{"where": {...}, "limit": 5}``), added to the URL's own query string.
"""

import orjson
import qs_codec
from django.http import HttpRequest, JsonResponse

HEADERS = ("HTTP_X_PAYLOAD_HTTP_METHOD_OVERRIDE", "HTTP_X_HTTP_METHOD_OVERRIDE")


def _query_of(request: HttpRequest) -> str | None:
    """The body as a query string, or None when it cannot be one."""
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        return request.body.decode("utf-8", errors="replace")
    if content_type == "application/json":
        if not request.body.strip():
            return ""
        try:
            data = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        return qs_codec.encode(data)
    return None


class MethodOverrideMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if (
            request.method == "POST"
            and request.path.startswith("/api/")
            and any(request.META.get(header, "").strip().upper() == "GET" for header in HEADERS)
        ):
            query = _query_of(request)
            if query is None:
                return JsonResponse(
                    {"errors": [{"message": "The query must be form-encoded or a JSON object."}]},
                    status=400,
                )
            own = request.META.get("QUERY_STRING", "")
            request.META["QUERY_STRING"] = "&".join(part for part in (own, query) if part)
            request.method = "GET"
            request.META["REQUEST_METHOD"] = "GET"
            request.__dict__.pop("GET", None)  # read again from the new query string
        return self.get_response(request)
