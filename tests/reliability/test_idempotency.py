import json
from datetime import timedelta

import pytest
from django.test import RequestFactory, override_settings
from django.utils import timezone

from shop.idempotency import caller_of, lock_id, request_fingerprint
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


def _caller_and_hash(body):
    request = RequestFactory().post("/api/customers", json.dumps(body), "application/json")
    return caller_of(request), request_fingerprint(request)


@pytest.mark.postgres
def test_a_key_still_in_progress_is_a_409(client):
    """The first request holds its key's lock until its transaction ends: here another
    connection holds it, as a first request still running would."""
    import psycopg
    from django.db import connection

    caller, _hash = _caller_and_hash({"email": "a@example.com"})
    params = connection.get_connection_params()
    wanted = {k: params[k] for k in ("dbname", "user", "host", "port", "password") if k in params}
    with psycopg.connect(**wanted, autocommit=True) as first:
        first.execute("SELECT pg_advisory_lock(%s)", [lock_id(caller, "busy")])
        response = post(client, {"email": "a@example.com"}, key="busy")
        assert response.status_code == 409
        assert "in progress" in response.json()["errors"][0]["message"]
        assert not Customer.objects.exists()
    # Its transaction over (here: the lock released) without a record, the key is free.
    assert post(client, {"email": "a@example.com"}, key="busy").status_code == 201


def test_an_unfinished_record_left_by_an_earlier_version_does_not_hold_its_key(client):
    caller, fingerprint = _caller_and_hash({"email": "a@example.com"})
    IdempotencyKey.objects.create(
        caller=caller, key="old", method="POST", path="/api/customers", request_hash=fingerprint
    )
    response = post(client, {"email": "a@example.com"}, key="old")
    assert response.status_code == 201
    assert Customer.objects.count() == 1
    assert IdempotencyKey.objects.get(key="old").status_code == 201


def test_the_record_is_written_with_the_work_so_a_failure_storing_it_undoes_the_work(client):
    """The key's record and the request's work commit together: when the answer cannot be
    stored, the customer is not created either, and the answer is not a 201."""
    from django.db import DatabaseError, connection

    seen = []

    def fail_storing_the_answer(execute, sql, params, many, context):
        seen.append(sql)
        if '"shop_idempotencykey"' in sql and any('INSERT INTO "shop_customer"' in s for s in seen):
            raise DatabaseError("injected: the answer cannot be stored")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_storing_the_answer), pytest.raises(DatabaseError):
        post(client, {"email": "a@example.com"}, key="k")  # the test client re-raises a 500
    assert not Customer.objects.exists()
    assert not IdempotencyKey.objects.exists()
    assert post(client, {"email": "a@example.com"}, key="k").status_code == 201
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
