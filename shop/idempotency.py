"""Idempotent writes: a POST/PATCH/DELETE to the API sent with an ``Idempotency-Key`` header is
done once. A retry with the same key and body gets the first answer (status and body) replayed;
the same key with another body is a 422; a retry while the first is still running is a 409.
Keys are kept per caller (API key, customer, staff user or session) for SHOP_IDEMPOTENCY_TTL.
"""

import contextlib
import hashlib
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from shop.models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
MAX_KEY_LENGTH = 255
# An unfinished first request older than this is taken for dead (gunicorn kills a worker after
# 30 s by default), so a retry runs instead of waiting for it for the whole TTL.
ABANDONED_AFTER = timedelta(minutes=5)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"name": "IdempotencyError", "message": message}]}, status=status
    )


def request_fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same": method, path and query, and the body (a JSON body
    compared as data, so key order and spacing do not matter)."""
    body = request.body
    with contextlib.suppress(orjson.JSONDecodeError):  # not JSON: compared byte for byte
        body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else body
    parts = [request.method.encode(), request.get_full_path().encode(), body]
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


def caller_of(request: HttpRequest) -> str:
    """A stable name for who is calling, from the credentials the request carries."""
    from shop.keys import customer_for_token, key_for_secret

    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    if scheme.lower() == "api-keys":  # Payload's "api-keys API-Key sk_…"
        credential = credential.removeprefix("API-Key").strip()
    if credential.startswith("sk_"):
        key = key_for_secret(credential)
        if key is not None:
            return f"key:{key.pk}"
    elif credential and scheme.lower() in {"jwt", "bearer"}:
        customer = customer_for_token(credential)
        if customer is not None:
            return f"customer:{customer.pk}"
    cookie = request.COOKIES.get("payload-token")  # a customer's browser session
    if cookie and not credential:
        customer = customer_for_token(cookie)
        if customer is not None:
            return f"customer:{customer.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    digest = hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return f"anonymous:{digest}"


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if not key or request.method not in WRITE_METHODS or not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(key) > MAX_KEY_LENGTH:
            return _error(400, f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.")
        caller = caller_of(request)
        fingerprint = request_fingerprint(request)
        now = timezone.now()
        ttl = timedelta(seconds=settings.SHOP_IDEMPOTENCY_TTL)
        IdempotencyKey.objects.filter(
            # Every caller's expired keys go (an index range on created_at: the table stays
            # the size of one TTL of traffic), and this key if its first request never
            # finished (its worker was killed).
            Q(created_at__lt=now - ttl)
            | Q(
                caller=caller,
                key=key,
                status_code__isnull=True,
                created_at__lt=now - ABANDONED_AFTER,
            )
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    caller=caller,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    request_hash=fingerprint,
                )
        except IntegrityError:
            first = IdempotencyKey.objects.filter(caller=caller, key=key).first()
            if first is None:  # expired and deleted between the two statements
                return _error(409, "A request with this Idempotency-Key is in progress; retry.")
            if first.request_hash != fingerprint:
                return _error(
                    422, "This Idempotency-Key was used for a different request; use a new key."
                )
            if first.status_code is None:
                return _error(409, "A request with this Idempotency-Key is still in progress.")
            replay = HttpResponse(
                bytes(first.response_body or b""),
                status=first.status_code,
                content_type="application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            return replay

        try:
            response = self.get_response(request)
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500 or getattr(response, "streaming", False):
            record.delete()  # a failure that did nothing may be retried with the same key
            return response
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        IdempotencyKey.objects.filter(pk=record.pk).update(
            status_code=response.status_code, response_body=response.content
        )
        return response
