"""Customer sessions as Payload has them: the ``payload-token`` cookie, refresh, me and logout,
and the cookie honoured from allowed origins only."""

import time

import pytest
from django.test import Client

from returns.models import Return
from shop import keys
from tests.auth.world import PASSWORD, CallerClient, build_world

pytestmark = pytest.mark.django_db

STOREFRONT = "https://www.example.com"
EVIL = "https://evil.example.net"


@pytest.fixture
def world(settings):
    settings.CORS_ALLOWED_ORIGINS = [STOREFRONT]
    settings.SHOP_CUSTOMER_COOKIE_SECURE = True
    settings.SHOP_CUSTOMER_COOKIE_SAMESITE = "Lax"
    return build_world()


class Browser:
    """A browser on a storefront origin: it keeps cookies and sends its Origin."""

    def __init__(self, world, origin: str = STOREFRONT):
        self.client = Client()
        self.pk = world.headers["storefront"]["X-Publishable-Key"]
        self.origin = origin

    def request(self, method: str, url: str, body=None, **headers):
        import json

        headers = {"X-Publishable-Key": self.pk, "Origin": self.origin, **headers}
        headers = {k: v for k, v in headers.items() if v is not None}
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(
            method, url, data=data, content_type="application/json", headers=headers
        )

    def login(self, customer):
        answer = self.request(
            "POST", "/api/customers/login", {"email": customer.email, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.content
        return answer


def order_ids(answer) -> set[int]:
    assert answer.status_code == 200, answer.content
    return {doc["id"] for doc in answer.json()["docs"]}


def test_login_sets_the_payload_token_cookie(world, settings):
    """Payload: ``packages/payload/src/auth/cookies.ts`` (generatePayloadCookie: name
    ``payload-token``, HttpOnly, Path=/, Expires at the token's expiry, SameSite and Secure
    from the collection's cookie settings) and ``packages/payload/src/auth/endpoints/login.ts``
    (the cookie beside ``{message, user, token, exp}``)."""
    answer = Browser(world).login(world.a.customer)
    body = answer.json()
    cookie = answer.cookies["payload-token"]
    assert cookie.value == body["token"]
    assert cookie["httponly"] is True and cookie["path"] == "/"
    assert cookie["samesite"] == "Lax" and cookie["secure"] is True
    expires = time.mktime(time.strptime(cookie["expires"], "%a, %d %b %Y %H:%M:%S GMT"))
    assert abs(expires - time.timezone - body["exp"]) <= 1

    settings.SHOP_CUSTOMER_COOKIE_SECURE = False
    settings.SHOP_CUSTOMER_COOKIE_SAMESITE = "Strict"
    cookie = Browser(world).login(world.a.customer).cookies["payload-token"]
    assert cookie["samesite"] == "Strict" and not cookie["secure"]
    settings.SHOP_CUSTOMER_COOKIE_SAMESITE = "None"
    cookie = Browser(world).login(world.a.customer).cookies["payload-token"]
    assert cookie["samesite"] == "None" and cookie["secure"] is True  # None is always Secure


def test_the_cookie_is_read_like_the_token_from_an_allowed_origin(world):
    """Payload: ``packages/payload/src/auth/extractJWT.ts`` reads the cookie after the
    ``JWT``/``Bearer`` header; with an Origin, only one on the csrf list; without one, only a
    request that ``Sec-Fetch-Site`` says is not cross-site."""
    browser = Browser(world)
    browser.login(world.a.customer)
    mine = world.a.ids()["orders"]
    assert order_ids(browser.request("GET", "/api/orders")) == mine
    same_site = browser.request("GET", "/api/orders", Origin=None, **{"Sec-Fetch-Site": "none"})
    assert order_ids(same_site) == mine

    refused = [
        browser.request("GET", "/api/orders", Origin=EVIL),
        browser.request("GET", "/api/orders", Origin=None, **{"Sec-Fetch-Site": "cross-site"}),
        browser.request("GET", "/api/orders", Origin=None),  # a client sending neither
    ]
    for answer in refused:
        assert answer.status_code == 403  # the storefront alone: orders are not for it
    # The header still wins over the cookie (JWT, then Bearer, then the cookie).
    as_b = browser.request("GET", "/api/orders", Authorization=f"JWT {world.b.token}")
    assert order_ids(as_b) == world.b.ids()["orders"]


def test_a_cookie_write_from_another_site_is_refused(world):
    """Payload: ``packages/payload/src/auth/extractJWT.ts``: a cross-site request does not get
    the cookie's user, so it cannot write as the customer (CSRF)."""
    browser = Browser(world)
    browser.login(world.a.customer)
    request = {
        "order": world.a.delivered.pk,
        "reason": "defective",
        "items": [{"orderItem": world.a.line.pk, "quantity": 1}],
    }
    before = Return.objects.count()
    forged = browser.request("POST", "/api/returns", request, Origin=EVIL)
    assert forged.status_code == 403
    assert Return.objects.count() == before
    made = browser.request("POST", "/api/returns", request)
    assert made.status_code == 201, made.content
    assert Return.objects.count() == before + 1


def test_refresh_token_answers_as_payload(world):
    """Payload: ``packages/payload/src/auth/endpoints/refresh.ts`` and
    ``operations/refresh.ts``: ``{message: "Token refresh successful.", exp, refreshedToken,
    setCookie: true, user: {…, collection, _strategy}}`` and the new cookie."""
    client = world.client("customer_a")
    before = int(time.time())
    answer = client.request("POST", "/api/customers/refresh-token")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"message", "exp", "refreshedToken", "setCookie", "user"}
    assert body["message"] == "Token refresh successful." and body["setCookie"] is True
    assert body["user"]["id"] == world.a.customer.pk
    assert body["user"]["collection"] == "customers"
    assert body["user"]["_strategy"] == "local-jwt"
    lifetime = keys.token_lifetime().total_seconds()
    assert before + lifetime <= body["exp"] <= time.time() + lifetime
    assert answer.cookies["payload-token"].value == body["refreshedToken"]
    pk = world.headers["storefront"]["X-Publishable-Key"]
    fresh = CallerClient(
        {"X-Publishable-Key": pk, "Authorization": f"JWT {body['refreshedToken']}"}
    )
    assert order_ids(fresh.get("/api/orders")) == world.a.ids()["orders"]

    # With the cookie only, from the storefront's origin, as a browser refreshes.
    browser = Browser(world)
    browser.login(world.a.customer)
    by_cookie = browser.request("POST", "/api/customers/refresh-token")
    assert by_cookie.status_code == 200
    assert by_cookie.cookies["payload-token"].value == by_cookie.json()["refreshedToken"]

    refused = world.client("storefront").request("POST", "/api/customers/refresh-token")
    assert refused.status_code == 403
    forbidden = "You are not allowed to perform this action."
    assert refused.json() == {"errors": [{"message": forbidden}]}


def test_me_answers_payloads_shape_with_the_strategy(world):
    """Payload: ``packages/payload/src/auth/operations/me.ts`` and ``endpoints/me.ts``:
    ``{user: {…, collection, _strategy}, collection, exp, token, message: "Account"}``; ours
    also names the strategy at the top (shared/API.md)."""
    me = world.client("customer_a").get("/api/customers/me").json()
    assert set(me) == {"user", "collection", "strategy", "token", "exp", "message"}
    assert me["message"] == "Account" and me["collection"] == "customers"
    assert me["strategy"] == "local-jwt" and me["user"]["_strategy"] == "local-jwt"
    assert me["user"]["id"] == world.a.customer.pk and me["token"] == world.a.token

    browser = Browser(world)
    login = browser.login(world.a.customer).json()
    by_cookie = browser.request("GET", "/api/customers/me").json()
    assert by_cookie["user"]["id"] == world.a.customer.pk
    assert (by_cookie["token"], by_cookie["exp"]) == (login["token"], login["exp"])


def test_logout_clears_the_cookie_and_says_so(world):
    """Payload: ``packages/payload/src/auth/endpoints/logout.ts``: ``{message: "Logout
    successful."}`` and an expired ``payload-token`` cookie; without a user,
    ``operations/logout.ts`` answers 400 "No User"."""
    browser = Browser(world)
    browser.login(world.a.customer)
    assert order_ids(browser.request("GET", "/api/orders")) == world.a.ids()["orders"]
    out = browser.request("POST", "/api/customers/logout")
    assert (out.status_code, out.json()) == (200, {"message": "Logout successful."})
    cleared = out.cookies["payload-token"]
    assert cleared.value == "" and cleared["max-age"] == 0 and cleared["httponly"]
    assert browser.request("GET", "/api/orders").status_code == 403
    assert browser.request("GET", "/api/customers/me").json() == {
        "user": None,
        "message": "Account",
    }
    again = browser.request("POST", "/api/customers/logout")
    assert (again.status_code, again.json()) == (400, {"errors": [{"message": "No User"}]})


def test_idempotency_keys_of_cookie_sessions_are_kept_per_customer(world):
    """Two customers' browsers using the same Idempotency-Key never see each other's answer."""
    a, b = Browser(world), Browser(world)
    a.login(world.a.customer)
    b.login(world.b.customer)
    for browser, owned in ((a, world.a), (b, world.b)):
        answer = browser.request(
            "POST",
            "/api/returns",
            {
                "order": owned.delivered.pk,
                "reason": "defective",
                "items": [{"orderItem": owned.line.pk, "quantity": 1}],
            },
            **{"Idempotency-Key": "same-key"},
        )
        assert answer.status_code == 201, answer.content
        assert answer.json()["doc"]["order"]["id"] == owned.delivered.pk
        assert "Idempotent-Replayed" not in answer
