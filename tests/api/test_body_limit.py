"""Every request's body is limited before anything reads or parses it: a larger one is a 413
(the API's error shape under /api/, a short page elsewhere), and the admin's tracking import
has a limit of its own."""

import json

import pytest
from django.test import override_settings
from django.urls import reverse

from shop.keys import create_api_key
from shop.models import Customer
from tests.admin.conftest import make_staff
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LOGIN = "/api/customers/login"
TWENTY_ONE_MB = 21 * 1024 * 1024


@pytest.fixture
def storefront(client):
    """The test client with a storefront's publishable key (all a login needs)."""
    client.defaults["HTTP_X_PUBLISHABLE_KEY"] = create_api_key(name="store").key.publishable_key
    return client


def test_a_body_declared_larger_than_the_limit_is_a_413_before_a_byte_is_read(storefront):
    # The test client's body is 2 bytes: reading past them would fail the request (a 500).
    answer = storefront.generic(
        "POST", LOGIN, b"{}", content_type="application/json", CONTENT_LENGTH=str(TWENTY_ONE_MB)
    )
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"
    error = answer.json()["errors"][0]
    assert error["message"] == "The request body is larger than 1 MiB."
    assert error["data"] == {"limit": 1024 * 1024}


@override_settings(SHOP_MAX_REQUEST_BYTES=1000)
def test_the_limit_is_a_setting_and_a_body_at_the_limit_is_read(storefront, monkeypatch):
    from shop.api import renderers

    parsed = []
    loads = renderers.orjson.loads
    monkeypatch.setattr(renderers.orjson, "loads", lambda raw: parsed.append(raw) or loads(raw))
    CustomerFactory(email="kim@example.com")
    login = {"email": "kim@example.com", "password": "wrong"}
    at_limit = json.dumps(login).ljust(1000).encode()
    over = json.dumps(login).ljust(1001).encode()

    refused = storefront.generic("POST", LOGIN, over, content_type="application/json")
    assert refused.status_code == 413
    assert refused.json()["errors"][0]["message"] == "The request body is larger than 1,000 bytes."
    assert parsed == []  # never parsed

    read = storefront.generic("POST", LOGIN, at_limit, content_type="application/json")
    assert read.status_code == 401  # the body was read: a wrong password, not a missing one
    assert len(parsed) == 1


def test_every_write_to_the_api_has_the_limit(client):
    secret = create_api_key(name="server").secret_key
    body = json.dumps({"name": "x" * (1024 * 1024)})
    answer = client.post(
        "/api/customers",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        HTTP_IDEMPOTENCY_KEY="big-1",  # the idempotency middleware reads bodies too: not this one
    )
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["name"] == "PayloadTooLarge"
    assert not Customer.objects.exists()


def test_an_admin_page_answers_a_short_page(client):
    client.force_login(make_staff("boss"))
    answer = client.generic(
        "POST",
        "/admin/shop/customer/add/",
        b"name=x",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(TWENTY_ONE_MB),
    )
    assert answer.status_code == 413
    assert answer["Content-Type"].startswith("text/html")
    assert "Request too large" in answer.content.decode()
    assert "larger than 1 MiB" in answer.content.decode()


@override_settings(SHOP_MAX_REQUEST_BYTES=1000, SHOP_MAX_IMPORT_BYTES=100_000)
def test_the_tracking_import_takes_more_than_the_general_limit_up_to_its_own(client):
    client.force_login(make_staff("packer", "Warehouse"))
    url = reverse("admin:fulfillment_fulfillment_import")
    rows = "".join(f"NO-SUCH-{i},cj,6401{i:08d}\n" for i in range(200))  # ~5 KB
    preview = client.post(url, {"text": rows, "_preview": "1"})
    assert preview.status_code == 200
    assert "NO-SUCH-199" in preview.content.decode()

    too_many = client.post(url, {"text": rows * 25, "_preview": "1"})  # ~125 KB
    assert too_many.status_code == 413
    assert "larger than 100,000 bytes" in too_many.content.decode()


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """The product served by gunicorn as in production, on this test's database, with a
    request body limit of 1000 bytes; yields (host, port)."""
    import os

    from django.db import connection

    from tests.reliability.loadtest import free_port, start_gunicorn

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "body limit test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SHOP_MAX_REQUEST_BYTES": "1000",
    }
    port = free_port()
    process = start_gunicorn(env, port, workers=1, log=tmp_path / "gunicorn.log")
    try:
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_under_gunicorn_a_chunked_body_is_read_up_to_the_limit_and_no_further(gunicorn):
    """A body sent without a length (chunked): within the limit it is read (Django alone would
    read nothing), past it a 413; a declared length past it is a 413 before the body comes."""
    import http.client

    CustomerFactory(email="kim@example.com")
    headers = {
        "X-Publishable-Key": create_api_key(name="store").key.publishable_key,
        "Content-Type": "application/json",
    }
    login = json.dumps({"email": "kim@example.com", "password": "wrong"}).encode()

    def send(chunks, **extra):
        connection = http.client.HTTPConnection(*gunicorn, timeout=30)
        try:
            connection.request(
                "POST", LOGIN, body=iter(chunks), headers={**headers, **extra}, encode_chunked=True
            )
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read())
        finally:
            connection.close()

    status, body = send([login[:10], login[10:]])
    assert status == 401, body  # read: a wrong password (not "email is required")

    status, body = send([login, b" " * 500, b" " * 500])
    assert status == 413, body
    assert body["errors"][0]["message"] == "The request body is larger than 1,000 bytes."

    connection = http.client.HTTPConnection(*gunicorn, timeout=30)
    connection.putrequest("POST", LOGIN)
    for name, value in {**headers, "Content-Length": str(TWENTY_ONE_MB)}.items():
        connection.putheader(name, value)
    connection.endheaders()  # and not a byte of the body
    answer = connection.getresponse()
    assert answer.status == 413
    connection.close()
