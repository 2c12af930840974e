"""CORS: a storefront on another origin may call the API from a browser, with credentials.

Payload answers CORS in ``packages/payload/src/utilities/headersWithCors.ts``: an allowed
``Origin`` is echoed with ``Access-Control-Allow-Credentials: true``, the methods are
``PUT, PATCH, POST, GET, DELETE, OPTIONS`` and the allowed headers include ``Authorization``,
``Content-Type`` and ``X-Payload-HTTP-Method-Override``; an origin not listed gets no
``Access-Control-Allow-Origin``. Ours adds the headers this API reads: ``X-Publishable-Key`` and
``Idempotency-Key``.
"""

import pytest

from shop import keys
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

STOREFRONT = "https://www.example.com"


@pytest.fixture(autouse=True)
def allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [STOREFRONT]


def preflight(client, origin: str, method: str, headers: str):
    return client.options(
        "/api/products",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_a_preflight_from_an_allowed_origin_allows_the_apis_headers(client):
    asked = "authorization,x-publishable-key,idempotency-key,content-type"
    asked += ",x-payload-http-method-override"
    answer = preflight(client, STOREFRONT, "POST", asked)
    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == STOREFRONT
    assert answer["Access-Control-Allow-Credentials"] == "true"
    allowed = {h.strip().lower() for h in answer["Access-Control-Allow-Headers"].split(",")}
    assert set(asked.split(",")) <= allowed
    methods = {m.strip() for m in answer["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"PUT", "PATCH", "POST", "GET", "DELETE", "OPTIONS"}


def test_an_origin_not_listed_gets_no_cors_headers(client):
    answer = preflight(client, "https://evil.example.net", "GET", "x-publishable-key")
    assert "Access-Control-Allow-Origin" not in answer
    key = keys.create_api_key(name="Web").key
    ProductFactory()
    read = client.get(
        "/api/products",
        HTTP_ORIGIN="https://evil.example.net",
        HTTP_X_PUBLISHABLE_KEY=key.publishable_key,
    )
    assert "Access-Control-Allow-Origin" not in read


def test_an_answer_to_an_allowed_origin_carries_the_cors_headers(client):
    key = keys.create_api_key(name="Web").key
    ProductFactory(title="Linen shirt")
    answer = client.get(
        "/api/products", HTTP_ORIGIN=STOREFRONT, HTTP_X_PUBLISHABLE_KEY=key.publishable_key
    )
    assert answer.status_code == 200
    assert answer.json()["docs"][0]["title"] == "Linen shirt"
    assert answer["Access-Control-Allow-Origin"] == STOREFRONT
    assert answer["Access-Control-Allow-Credentials"] == "true"
    # An error answer too, so the browser lets the page read the message.
    refused = client.get("/api/orders", HTTP_ORIGIN=STOREFRONT)
    assert refused.status_code == 403
    assert refused["Access-Control-Allow-Origin"] == STOREFRONT


def test_cors_covers_the_api_only(client):
    answer = client.get("/healthz", HTTP_ORIGIN=STOREFRONT)
    assert "Access-Control-Allow-Origin" not in answer
