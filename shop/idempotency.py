"""Idempotent writes: a POST/PATCH/DELETE to the API sent with an ``Idempotency-Key`` header is
done once. A retry with the same key and body gets the first answer (status and body) replayed;
the same key with another body is a 422; a retry while the first is still running is a 409.
Keys are kept per caller (API key, customer, staff user or session) for SHOP_IDEMPOTENCY_TTL.

The key's record is written in the same transaction as the request's work, after it: both are
committed or neither is. A request that fails (a 5xx, an answer that says to retry, the
connection lost, the worker killed) leaves no record and nothing done, so the same key runs
again. While a request runs, it holds a lock on its key (a PostgreSQL advisory lock, released
with its transaction), which is how a concurrent retry knows to answer 409.
"""

import contextlib
import hashlib
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from shop.api.errors import database_failure, database_failure_response
from shop.keys import customer_for_token, key_for_publishable, key_for_secret
from shop.models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
MAX_KEY_LENGTH = 255


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
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    if scheme.lower() == "api-keys":  # Payload's "api-keys API-Key sk_…"
        credential = credential.removeprefix("API-Key").strip()
    if credential.startswith("sk_"):
        key = key_for_secret(credential)
        if key is not None:
            return f"key:{key.pk}"
    # A customer's token counts only with the publishable key of the key pair it was issued
    # through, as the API's authentication reads it.
    storefront = key_for_publishable(request.META.get("HTTP_X_PUBLISHABLE_KEY", "").strip())
    is_token = scheme.lower() in {"jwt", "bearer"} and not credential.startswith("sk_")
    if credential and is_token and storefront is not None:
        customer = customer_for_token(credential, key=storefront)
        if customer is not None:
            return f"customer:{customer.pk}"
    cookie = request.COOKIES.get("payload-token")  # a customer's browser session
    if cookie and not credential and storefront is not None:
        customer = customer_for_token(cookie, key=storefront)
        if customer is not None:
            return f"customer:{customer.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    digest = hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return f"anonymous:{digest}"


def lock_id(caller: str, key: str) -> int:
    """The advisory lock a request with this caller and key holds while it runs."""
    digest = hashlib.sha256(f"idempotency\n{caller}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try_lock(caller: str, key: str) -> bool:
    """Take this key's lock for the current transaction, or say it is taken. SQLite needs no
    lock: every transaction there takes the database's write lock first (IMMEDIATE)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id(caller, key)])
        return cursor.fetchone()[0]


def _kept(response: HttpResponse) -> bool:
    """An answer worth replaying: not a failure, not one that says to retry (a deadlock's 409,
    a throttle's 429), not a stream."""
    return (
        response.status_code < 500
        and not response.has_header("Retry-After")
        and not getattr(response, "streaming", False)
    )


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if not key or request.method not in WRITE_METHODS or not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(key) > MAX_KEY_LENGTH:
            return _error(400, f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.")
        try:
            return self._once(request, key)
        except DatabaseError as error:
            # Our own statements failed (the request's were answered by the API already).
            response = database_failure_response(error)
            if response is None:
                raise
            return response

    def _once(self, request: HttpRequest, key: str) -> HttpResponse:
        caller = caller_of(request)
        fingerprint = request_fingerprint(request)
        expired = timezone.now() - timedelta(seconds=settings.SHOP_IDEMPOTENCY_TTL)
        # Every caller's expired keys go (an index range on created_at: the table stays the
        # size of one TTL of traffic), in a statement of their own.
        IdempotencyKey.objects.filter(created_at__lt=expired).delete()
        with transaction.atomic():
            if not _try_lock(caller, key):
                return _error(409, "A request with this Idempotency-Key is still in progress.")
            first = IdempotencyKey.objects.filter(caller=caller, key=key).first()
            if first is not None and first.status_code is not None:
                if first.request_hash != fingerprint:
                    return _error(
                        422, "This Idempotency-Key was used for a different request; use a new key."
                    )
                replay = HttpResponse(
                    bytes(first.response_body or b""),
                    status=first.status_code,
                    content_type="application/json",
                )
                replay["Idempotent-Replayed"] = "true"
                return replay
            if first is not None:  # unfinished, left by an earlier version: nothing holds it
                first.delete()

            response = self.get_response(request)
            if not _kept(response):
                transaction.set_rollback(True)  # nothing done, nothing remembered
                return response
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.create(
                        caller=caller,
                        key=key,
                        method=request.method,
                        path=request.path[:500],
                        request_hash=fingerprint,
                        status_code=response.status_code,
                        response_body=response.content,
                    )
            except DatabaseError as error:
                transaction.set_rollback(True)  # the work goes with its record
                if response.status_code < 400 or database_failure(error) is not None:
                    raise  # what the answer says was done was not: a 5xx
                return response  # a refusal that did nothing: answered, not remembered
            return response
