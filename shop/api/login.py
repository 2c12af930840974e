"""Customers log in the Payload way: ``POST /api/customers/login``, ``GET /api/customers/me``,
``POST /api/customers/refresh-token``, ``POST /api/customers/logout`` (the auth endpoints of
the customers collection).

Logging in needs a key (a storefront's publishable key, usually); the token it answers goes in
``Authorization: JWT <token>`` (``Bearer`` works too) with that key pair's publishable key. The
token is bound to that key pair: revoking it ends the session. Login and refresh also set it as
the ``payload-token`` cookie (HttpOnly), which a browser storefront on an allowed origin sends
instead (``shop.api.auth.CustomerCookieAuthentication``); logout clears it.
"""

from datetime import UTC, datetime

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from shop import keys
from shop.api import access
from shop.api.auth import TOKEN_COOKIE
from shop.api.collections import registry
from shop.api.documents import DocumentBuilder
from shop.api.errors import BAD_LOGIN, APIError, Forbidden, ValidationError

LOGGED_IN = "Authentication Passed"
LOGGED_OUT = "Logout successful."
REFRESHED = "Token refresh successful."
STRATEGY = "local-jwt"  # Payload's name for its JWT strategy (header or cookie)

USER_SCHEMA = {
    "allOf": [
        {"$ref": "#/components/schemas/Customer"},
        {"type": "object", "properties": {"collection": {"type": "string", "enum": ["customers"]}}},
    ]
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
SESSION_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "user": USER_SCHEMA,
        "token": {"type": "string"},
        "exp": {"type": "integer", "description": "Expiry, seconds since the epoch."},
    },
}


def _user_document(request, customer) -> dict:
    customers = registry.get("customers")
    rows = list(customers.values(customers.model.objects.filter(pk=customer.pk).order_by()))
    document = DocumentBuilder(request).build(customers, rows, depth=0)[0]
    document["collection"] = "customers"
    return document


def _client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class CustomerLoginView(APIView):
    """``POST /api/customers/login {email, password}`` from a storefront (publishable key)."""

    @extend_schema(
        operation_id="customers_login",
        tags=["customers"],
        description="A customer logs in on a storefront (send X-Publishable-Key). The token goes "
        "in Authorization: JWT <token> (Bearer works too) with the same publishable key; "
        "revoking that key ends it. The email is matched whatever its case or Unicode form. "
        "Repeated failures for an account or from an address are refused with 429 for a while.",
        request={
            "application/json": {
                "type": "object",
                "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
                "required": ["email", "password"],
            }
        },
        responses={
            200: SESSION_SCHEMA,
            400: OpenApiResponse(ERROR_REF, description="email or password missing."),
            401: OpenApiResponse(ERROR_REF, description="Wrong email or password."),
            403: OpenApiResponse(ERROR_REF, description="No valid key was sent."),
            429: OpenApiResponse(ERROR_REF, description="Too many failed attempts."),
        },
    )
    def post(self, request):
        who = access.caller(request)
        if who.kind not in (access.STOREFRONT, access.CUSTOMER, access.SERVER):
            raise Forbidden()
        data = request.data if isinstance(request.data, dict) else {}
        email, password = data.get("email"), data.get("password")
        missing = [
            {"path": name, "message": "This field is required."}
            for name, value in (("email", email), ("password", password))
            if not isinstance(value, str) or not value
        ]
        if missing:
            raise ValidationError("customers", missing)
        customer = keys.authenticate_customer(
            email=email, password=password, ip_address=_client_address(request)
        )
        if customer is None:
            raise APIError(BAD_LOGIN, status=401)
        token, exp = keys.issue_customer_token(customer, key=who.api_key)
        user = _user_document(request, customer)
        response = Response({"message": LOGGED_IN, "user": user, "token": token, "exp": exp})
        return set_token_cookie(response, token, exp)


class CustomerMeView(APIView):
    """``GET /api/customers/me``: the logged-in customer, or ``user: null`` on a storefront."""

    @extend_schema(
        operation_id="customers_me",
        tags=["customers"],
        description="The logged-in customer (user is null when the storefront sends no valid "
        "token).",
        responses={
            200: {
                "type": "object",
                "properties": {
                    "user": {**USER_SCHEMA, "nullable": True},
                    "collection": {"type": "string"},
                    "strategy": {"type": "string", "enum": [STRATEGY]},
                    "token": {"type": "string"},
                    "exp": {"type": "integer"},
                    "message": {"type": "string"},
                },
            },
            403: OpenApiResponse(ERROR_REF, description="No valid key was sent."),
        },
    )
    def get(self, request):
        who = access.caller(request)
        if who.kind == access.STOREFRONT:
            return Response({"user": None, "message": "Account"})
        if who.kind != access.CUSTOMER:
            raise Forbidden()
        user = _user_document(request, who.customer)
        user["_strategy"] = STRATEGY
        return Response(
            {
                "user": user,
                "collection": "customers",
                "strategy": STRATEGY,
                "token": who.token,
                "exp": who.token_exp,
                "message": "Account",
            }
        )


class CustomerLogoutView(APIView):
    """``POST /api/customers/logout``: clears the ``payload-token`` cookie. Tokens are
    stateless: one the client kept stays valid until it expires (changing the password,
    deactivating the customer or revoking the key it was issued through ends it at once).
    Without a logged-in customer, Payload's 400 "No User"
    (``packages/payload/src/auth/operations/logout.ts``)."""

    @extend_schema(
        operation_id="customers_logout",
        tags=["customers"],
        description="Clears the payload-token cookie. Tokens are stateless: one the storefront "
        "kept stays valid until it expires. Changing the password or deactivating the customer "
        "invalidates every token of the customer; revoking a key, every token issued through it.",
        request=None,
        responses={
            200: {"type": "object", "properties": {"message": {"type": "string"}}},
            400: OpenApiResponse(ERROR_REF, description="No customer is logged in."),
        },
    )
    def post(self, request):
        if access.caller(request).kind != access.CUSTOMER:
            raise APIError("No User", status=400)
        return expire_token_cookie(Response({"message": LOGGED_OUT}))


class CustomerRefreshView(APIView):
    """``POST /api/customers/refresh-token``: a new token (and cookie) for the logged-in
    customer, as Payload's ``packages/payload/src/auth/endpoints/refresh.ts`` answers it."""

    @extend_schema(
        operation_id="customers_refresh_token",
        tags=["customers"],
        description="A new token for the logged-in customer (header or cookie), also set as the "
        "payload-token cookie. The old token stays valid until it expires.",
        request=None,
        responses={
            200: {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "refreshedToken": {"type": "string"},
                    "exp": {"type": "integer"},
                    "setCookie": {"type": "boolean"},
                    "user": USER_SCHEMA,
                },
            },
            403: OpenApiResponse(ERROR_REF, description="No customer is logged in."),
        },
    )
    def post(self, request):
        who = access.caller(request)
        if who.kind != access.CUSTOMER:
            raise Forbidden()
        token, exp = keys.issue_customer_token(who.customer, key=who.api_key)
        user = _user_document(request, who.customer)
        user["_strategy"] = STRATEGY
        body = {
            "message": REFRESHED,
            "exp": exp,
            "refreshedToken": token,
            "setCookie": True,
            "user": user,
        }
        return set_token_cookie(Response(body), token, exp)


def _cookie_options() -> dict:
    """Payload's cookie (``packages/payload/src/auth/cookies.ts``): HttpOnly, Path=/,
    SameSite and Secure from the settings (SameSite=None is always Secure), optional Domain."""
    same_site = settings.SHOP_CUSTOMER_COOKIE_SAMESITE or None
    secure = settings.SHOP_CUSTOMER_COOKIE_SECURE or (same_site or "").lower() == "none"
    return {
        "httponly": True,
        "path": "/",
        "samesite": same_site,
        "secure": secure,
        "domain": settings.SHOP_CUSTOMER_COOKIE_DOMAIN,
    }


def set_token_cookie(response, token: str, exp: int):
    expires = datetime.fromtimestamp(exp, tz=UTC)
    response.set_cookie(TOKEN_COOKIE, token, expires=expires, **_cookie_options())
    return response


def expire_token_cookie(response):
    options = _cookie_options()
    response.set_cookie(
        TOKEN_COOKIE, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", **options
    )
    return response
