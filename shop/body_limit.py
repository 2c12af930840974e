"""One limit on the size of every request's body, enforced before anything reads or parses it.

A request that declares a larger body (``Content-Length``) is answered 413 without reading a
byte of it; a chunked body (no length: gunicorn hands it on decoded, ending where it ends) is
read up to the limit and answered 413 as soon as it passes it, so no worker ever holds more than
the limit. The API answers in its error shape, other pages (the admin) with a short page.

``SHOP_MAX_REQUEST_BYTES`` (1 MiB) holds for every request but the admin's bulk tracking import,
which takes up to ``SHOP_MAX_IMPORT_BYTES`` (16 MiB: 50,000 rows, pasted or uploaded). Django's
own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is set to the larger, so it never refuses first.
"""

from functools import cache
from io import BytesIO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

READ_SIZE = 64 * 1024


@cache
def _import_path() -> str | None:
    try:
        return reverse("admin:fulfillment_fulfillment_import")
    except NoReverseMatch:  # a URLconf without the admin (tests)
        return None


def limit_for(request: HttpRequest) -> int:
    """The most bytes this request's body may have."""
    if request.path_info == _import_path():
        return settings.SHOP_MAX_IMPORT_BYTES
    return settings.SHOP_MAX_REQUEST_BYTES


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):.3g} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = f"The request body is larger than {_megabytes(limit)}."
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"errors": [{"name": "PayloadTooLarge", "message": message, "data": {"limit": limit}}]},
            status=413,
        )
    page = render_to_string("413.html", {"message": message}, request=request)
    return HttpResponse(page, status=413)


def _read_chunked(request: HttpRequest, limit: int) -> bytes | None:
    """The whole body of a request without a length, or None once it passes ``limit``."""
    stream = request.environ["wsgi.input"]
    chunks, size = [], 0
    while chunk := stream.read(READ_SIZE):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class RequestBodyLimitMiddleware:
    """First in MIDDLEWARE: nothing before it reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = limit_for(request)
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = 0  # Django reads no body for a length it cannot read
            if length > limit:
                return too_large(request, limit)
        elif self._chunked(request):
            body = _read_chunked(request, limit)
            if body is None:
                return too_large(request, limit)
            # Django reads a body only as long as its declared length: give it the one read.
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(BytesIO(body), len(body))
        return self.get_response(request)

    @staticmethod
    def _chunked(request: HttpRequest) -> bool:
        """A body without a length that the server ends for us (gunicorn says so with
        ``wsgi.input_terminated``; Django's development server passes the raw socket)."""
        environ = getattr(request, "environ", {})
        return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and environ.get(
            "wsgi.input_terminated", False
        )
