import json
from datetime import timedelta

import pytest
from django.test import RequestFactory, override_settings
from django.utils import timezone

from shop.idempotency import ABANDONED_AFTER, caller_of, request_fingerprint
from shop.keys import create_api_key
from shop.models import Customer, IdempotencyKey

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("tests.reliability.idempotency_urls"),
]


def post(client, body, key=None, **headers):
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(
        "/api/customers", json.dumps(body), content_type="application/json", **headers
    )


def test_same_key_same_body_replays_the_first_answer_without_doing_it_again(client):
    first = post(client, {"email": "a@example.com"}, key="k1")
    again = post(client, {"email": "a@example.com"}, key="k1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_same_key_with_a_different_body_is_422_and_does_nothing(client):
    post(client, {"email": "a@example.com"}, key="k1")
    other = post(client, {"email": "b@example.com"}, key="k1")
    assert other.status_code == 422
    assert "different request" in other.json()["errors"][0]["message"]
    assert list(Customer.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_without_a_key_every_request_is_done(client):
    post(client, {"email": "a@example.com"})
    post(client, {"email": "b@example.com"})
    assert Customer.objects.count() == 2


def test_keys_are_per_caller(client):
    one = create_api_key(name="one").secret_key
    two = create_api_key(name="two").secret_key
    post(client, {"email": "a@example.com"}, key="same", HTTP_AUTHORIZATION=f"Bearer {one}")
    second = post(
        client, {"email": "a2@example.com"}, key="same", HTTP_AUTHORIZATION=f"Bearer {two}"
    )
    assert second.status_code == 201
    assert Customer.objects.count() == 2


def test_a_client_error_is_replayed_too(client):
    first = post(client, {"name": "no email"}, key="bad")
    again = post(client, {"name": "no email"}, key="bad")
    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"


def test_a_server_error_frees_the_key_for_a_retry(client):
    failed = post(client, {"email": "x@example.com", "explode": True}, key="k5")
    assert failed.status_code == 500
    assert not IdempotencyKey.objects.exists()


def test_expired_keys_of_every_caller_are_removed_as_new_ones_come(client):
    post(client, {"email": "a@example.com"}, key="old", HTTP_AUTHORIZATION="Basic b25lOjE=")
    post(client, {"email": "b@example.com"}, key="recent")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=2))
    post(client, {"email": "c@example.com"}, key="new")
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["new", "recent"]


@override_settings(SHOP_IDEMPOTENCY_TTL=0)
def test_keys_expire(client):
    post(client, {"email": "a@example.com"}, key="old")
    later = post(client, {"email": "b@example.com"}, key="old")
    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later


def _unfinished(key, body, *, age=timedelta(0)):
    """A first request with ``key`` that is still running (no answer stored yet)."""
    request = RequestFactory().post("/api/customers", json.dumps(body), "application/json")
    record = IdempotencyKey.objects.create(
        caller=caller_of(request),
        key=key,
        method="POST",
        path="/api/customers",
        request_hash=request_fingerprint(request),
    )
    IdempotencyKey.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)


def test_a_key_still_in_progress_is_a_409(client):
    _unfinished("busy", {"email": "a@example.com"})
    response = post(client, {"email": "a@example.com"}, key="busy")
    assert response.status_code == 409
    assert not Customer.objects.exists()


def test_a_first_request_that_never_finished_frees_its_key_after_a_while(client):
    _unfinished("dead", {"email": "a@example.com"}, age=ABANDONED_AFTER + timedelta(seconds=1))
    response = post(client, {"email": "a@example.com"}, key="dead")
    assert response.status_code == 201
    assert Customer.objects.count() == 1


def test_the_same_json_sent_with_other_spacing_and_key_order_is_the_same_request(client):
    first = client.post(
        "/api/customers",
        '{"name": "Kim", "email": "a@example.com"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    again = client.post(
        "/api/customers",
        '{"email":"a@example.com","name":"Kim"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_an_overlong_key_is_a_400(client):
    response = post(client, {"email": "a@example.com"}, key="k" * 300)
    assert response.status_code == 400
    assert not Customer.objects.exists()
