"""Who is calling: DRF authentication classes that each turn one kind of credential into a
``Caller`` (``request.auth``; ``shop.api.access`` decides what it may do). Customers get their
token from ``shop.api.login``.

Tried in this order; the first that recognises the request wins:

1. ``SecretKeyAuthentication``: ``Authorization: Bearer sk_…`` (or Payload's
   ``Authorization: api-keys API-Key sk_…``) → a server.
2. ``CustomerTokenAuthentication``: ``Authorization: JWT <token>`` (or ``Bearer <token>``) from
   ``POST /api/customers/login``, together with the publishable key (``X-Publishable-Key:
   pk_…``) of the key pair the login came through → a customer.
3. ``StaffTokenAuthentication``: ``Authorization: Token <key>`` (DRF's token, one per staff
   user, made in the admin or with ``manage.py drf_create_token <username>``) → staff.
4. ``CustomerCookieAuthentication``: the ``payload-token`` cookie login sets, from an allowed
   origin, with ``X-Publishable-Key`` → a customer (Payload's browser session).
5. ``StaffSessionAuthentication``: the admin's session cookie (CSRF-checked on writes) → staff.
6. ``PublishableKeyAuthentication``: ``X-Publishable-Key: pk_…`` alone → a storefront.

A credential that does not check out (an unknown or revoked key, an invalid or expired token, a
user who is not active staff) is not an error: the request goes on as if it had not been sent,
and ends anonymous, which the API refuses with the usual 403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)

from shop import keys
from shop.api.access import Caller

PUBLISHABLE_HEADER = "HTTP_X_PUBLISHABLE_KEY"


def _authorization(request) -> tuple[str, str]:
    """(scheme in lower case, credential) of the Authorization header; ("", "") when absent."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credential = header.strip().partition(" ")
    scheme, credential = scheme.lower(), credential.strip()
    if scheme == "api-keys":  # Payload's "api-keys API-Key sk_…"
        prefix, _, rest = credential.partition(" ")
        credential = rest.strip() if prefix.lower() == "api-key" else ""
    return scheme, credential


def _publishable_key(request):
    return keys.key_for_publishable(request.META.get(PUBLISHABLE_HEADER, "").strip())


class SecretKeyAuthentication(BaseAuthentication):
    """A server: the secret key of an active key pair."""

    def authenticate(self, request):
        scheme, credential = _authorization(request)
        if scheme not in ("bearer", "api-keys") or not credential.startswith(keys.SECRET_PREFIX):
            return None
        key = keys.key_for_secret(credential)
        if key is None:
            return None
        return (_anonymous_user(), Caller.server(key))


class CustomerTokenAuthentication(BaseAuthentication):
    """A logged-in customer on a storefront: their token and the storefront's publishable key."""

    def authenticate(self, request):
        scheme, credential = _authorization(request)
        if scheme not in ("jwt", "bearer") or not credential:
            return None
        if credential.startswith(keys.SECRET_PREFIX):
            return None
        key = _publishable_key(request)
        if key is None:
            return None
        # Checked on every request: the token must have been issued through this (active) key
        # pair, so revoking the key ends its customers' sessions at once.
        found = keys.read_customer_token(credential, key=key)
        if found is None:
            return None
        customer, exp = found
        return (_anonymous_user(), Caller.for_customer(customer, key, token=credential, exp=exp))


TOKEN_COOKIE = "payload-token"  # Payload's cookie: `${cookiePrefix}-token`, prefix "payload"


def own_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def cookie_origin_allowed(request) -> bool:
    """Payload's guard on the token cookie (``packages/payload/src/auth/extractJWT.ts``): with
    an ``Origin``, it must be one the storefronts are allowed from (``CORS_ALLOWED_ORIGINS``,
    ``CSRF_TRUSTED_ORIGINS``) or the API's own; without one, ``Sec-Fetch-Site`` must say the
    request is not cross-site. Anything else (a cross-site form or fetch, a client sending
    neither header) is read as if the cookie were absent: a cross-site request cannot act as
    the customer. Ours, unlike Payload's empty list: no list means the API's own origin only."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin:
        allowed = {*settings.CORS_ALLOWED_ORIGINS, *settings.CSRF_TRUSTED_ORIGINS}
        return origin in allowed or origin == own_origin(request)
    return request.META.get("HTTP_SEC_FETCH_SITE") in ("same-origin", "same-site", "none")


class CustomerCookieAuthentication(BaseAuthentication):
    """A logged-in customer in a browser: the ``payload-token`` cookie that login set (Payload
    reads it after the ``JWT``/``Bearer`` header), with the storefront's publishable key, from
    an allowed origin."""

    def authenticate(self, request):
        token = request.COOKIES.get(TOKEN_COOKIE)
        if not token or not cookie_origin_allowed(request):
            return None
        key = _publishable_key(request)
        if key is None:
            return None
        # As for the header: the token must have been issued through this (active) key pair.
        found = keys.read_customer_token(token, key=key)
        if found is None:
            return None
        customer, exp = found
        return (_anonymous_user(), Caller.for_customer(customer, key, token=token, exp=exp))


class StaffTokenAuthentication(TokenAuthentication):
    """Staff by DRF's token (``Authorization: Token …``); a bad token counts as no token."""

    def authenticate(self, request):
        try:
            found = super().authenticate(request)
        except exceptions.AuthenticationFailed:
            return None
        if found is None or not found[0].is_staff:
            return None
        return (found[0], Caller.staff(found[0]))


class StaffSessionAuthentication(SessionAuthentication):
    """Staff signed in to the admin; writes need the CSRF token, as in the admin."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None or not found[0].is_staff:
            return None
        return (found[0], Caller.staff(found[0]))


class PublishableKeyAuthentication(BaseAuthentication):
    """A storefront without a logged-in customer: the publishable key alone."""

    def authenticate(self, request):
        key = _publishable_key(request)
        if key is None:
            return None
        return (_anonymous_user(), Caller.storefront(key))


def _anonymous_user() -> AnonymousUser:
    return AnonymousUser()


# ---------------------------------------------------------------------------------------------
# The security schemes in the OpenAPI schema


class SecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = SecretKeyAuthentication
    name = "secretKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A server's secret key: Authorization: Bearer sk_…",
        }


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    target_class = CustomerTokenAuthentication
    name = "customerToken"

    def get_security_requirement(self, auto_schema):
        return {"customerToken": [], "publishableKey": []}

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "JWT <token> from POST /api/customers/login, with X-Publishable-Key.",
        }


class CustomerCookieScheme(OpenApiAuthenticationExtension):
    target_class = CustomerCookieAuthentication
    name = "customerCookie"

    def get_security_requirement(self, auto_schema):
        return {"customerCookie": [], "publishableKey": []}

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": TOKEN_COOKIE,
            "description": "Set by POST /api/customers/login; read from allowed origins only.",
        }


class PublishableKeyScheme(OpenApiAuthenticationExtension):
    target_class = PublishableKeyAuthentication
    name = "publishableKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Publishable-Key"}


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = StaffSessionAuthentication
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
