"""A customer's token belongs to the key it was issued through and to the customer's current
token generation: revoking that key ends the session on every storefront, and deactivating the
customer ends their tokens for good (reactivation does not bring them back)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from shop import keys
from shop.models import ApiKey
from tests.auth.world import PASSWORD, CallerClient
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

FORBIDDEN = {"errors": [{"message": "You are not allowed to perform this action."}]}


def logged_in(key_headers: dict, email: str) -> str:
    answer = CallerClient(key_headers).request(
        "POST", "/api/customers/login", {"email": email, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()["token"]


def session(pk: str, token: str) -> CallerClient:
    return CallerClient({"X-Publishable-Key": pk, "Authorization": f"JWT {token}"})


@pytest.fixture
def superuser_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "x"))
    return client


def test_revoking_the_key_a_customer_logged_in_through_ends_the_session_everywhere(
    superuser_client,
):
    customer = CustomerFactory(password=PASSWORD)
    web, app = keys.create_api_key(name="Web shop"), keys.create_api_key(name="App")
    web_pk, app_pk = web.key.publishable_key, app.key.publishable_key
    token = logged_in({"X-Publishable-Key": web_pk}, customer.email)
    assert session(web_pk, token).get("/api/customers/me").json()["user"]["id"] == customer.pk
    # A token works with the key it was issued through only.
    assert session(app_pk, token).get("/api/orders").status_code == 403

    answer = superuser_client.post(
        reverse("admin:shop_apikey_changelist"),
        {"action": "revoke", "_selected_action": [web.key.pk]},
    )
    assert answer.status_code == 302
    assert ApiKey.objects.get(pk=web.key.pk).revoked_at is not None
    for pk in (web_pk, app_pk):
        answer = session(pk, token).get("/api/orders")
        assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
        assert session(pk, token).get("/api/customers/me").json().get("user") is None
    # The other storefront's own sessions go on.
    other = logged_in({"X-Publishable-Key": app_pk}, customer.email)
    assert session(app_pk, other).get("/api/orders").status_code == 200


def test_a_session_a_server_opened_ends_with_the_servers_key():
    customer = CustomerFactory(password=PASSWORD)
    server = keys.create_api_key(name="Storefront server")
    token = logged_in({"Authorization": f"Bearer {server.secret_key}"}, customer.email)
    pk = server.key.publishable_key
    assert session(pk, token).get("/api/orders").status_code == 200
    keys.revoke_api_key(key=server.key)
    assert session(pk, token).get("/api/orders").status_code == 403


def test_a_deactivated_customers_tokens_stay_dead_after_reactivation():
    customer = CustomerFactory(password=PASSWORD)
    storefront = keys.create_api_key(name="Web shop").key.publishable_key
    server = CallerClient({"Authorization": f"Bearer {keys.create_api_key(name='S').secret_key}"})
    token = logged_in({"X-Publishable-Key": storefront}, customer.email)
    assert session(storefront, token).get("/api/orders").status_code == 200

    url = f"/api/customers/{customer.pk}"
    assert server.request("PATCH", url, {"isActive": False}).status_code == 200
    assert session(storefront, token).get("/api/orders").status_code == 403
    assert server.request("PATCH", url, {"isActive": True}).status_code == 200
    answer = session(storefront, token).get("/api/orders")
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
    # Logging in again works.
    fresh = logged_in({"X-Publishable-Key": storefront}, customer.email)
    assert session(storefront, fresh).get("/api/orders").status_code == 200
    # Saving the customer for another reason ends nothing.
    assert server.request("PATCH", url, {"name": "New name"}).status_code == 200
    assert session(storefront, fresh).get("/api/orders").status_code == 200


def test_deactivating_in_the_admin_ends_the_tokens_for_good(superuser_client):
    customer = CustomerFactory(password=PASSWORD)
    storefront = keys.create_api_key(name="Web shop").key.publishable_key
    token = logged_in({"X-Publishable-Key": storefront}, customer.email)
    url = reverse("admin:shop_customer_change", args=[customer.pk])
    form = {"name": customer.name, "email": customer.email, "phone": customer.phone}
    assert superuser_client.post(url, form).status_code == 302  # is_active unticked
    assert superuser_client.post(url, {**form, "is_active": "on"}).status_code == 302
    customer.refresh_from_db()
    assert customer.is_active
    assert session(storefront, token).get("/api/orders").status_code == 403
