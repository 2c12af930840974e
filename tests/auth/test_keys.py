import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from shop import keys
from shop.models import ApiKey, LoginFailure
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_createapikey_prints_one_json_object_and_stores_only_a_digest():
    out = StringIO()
    call_command("createapikey", "Storefront", stdout=out)
    printed = json.loads(out.getvalue())
    assert set(printed) == {"name", "publishableKey", "secretKey"}
    assert printed["name"] == "Storefront"
    assert printed["publishableKey"].startswith("pk_")
    assert printed["secretKey"].startswith("sk_")
    stored = ApiKey.objects.get()
    assert printed["secretKey"] not in (stored.secret_hash, stored.secret_prefix)
    assert keys.key_for_secret(printed["secretKey"]) == stored
    assert keys.key_for_publishable(printed["publishableKey"]) == stored


def test_createapikey_without_a_name_is_refused_and_writes_nothing():
    with pytest.raises(CommandError, match="needs a name"):
        call_command("createapikey", "  ", stdout=StringIO())
    assert not ApiKey.objects.exists()


def test_a_revoked_key_stops_working_at_once():
    issued = keys.create_api_key(name="Server")
    keys.revoke_api_key(key=issued.key)
    assert keys.key_for_secret(issued.secret_key) is None
    assert keys.key_for_publishable(issued.key.publishable_key) is None


def test_wrong_or_malformed_secrets_match_nothing():
    issued = keys.create_api_key(name="Server")
    assert keys.key_for_secret(issued.secret_key + "x") is None
    assert keys.key_for_secret(issued.key.publishable_key) is None
    assert keys.key_for_secret("") is None


def test_customer_token_round_trip_and_expiry():
    customer = CustomerFactory()
    key = keys.create_api_key(name="Storefront").key
    token, exp = keys.issue_customer_token(customer, key=key)
    assert keys.customer_for_token(token, key=key) == customer
    assert exp > timezone.now().timestamp()
    with override_settings(SHOP_CUSTOMER_TOKEN_SECONDS=-1):
        expired, _ = keys.issue_customer_token(customer, key=key)
    assert keys.customer_for_token(expired, key=key) is None
    assert keys.customer_for_token("not-a-token", key=key) is None


def test_a_token_is_bound_to_the_key_it_was_issued_through():
    customer = CustomerFactory()
    key, other = keys.create_api_key(name="Web").key, keys.create_api_key(name="App").key
    token, _ = keys.issue_customer_token(customer, key=key)
    assert keys.customer_for_token(token, key=other) is None
    keys.revoke_api_key(key=key)
    assert keys.customer_for_token(token, key=key) is None


def test_changing_the_password_invalidates_tokens():
    customer = CustomerFactory()
    key = keys.create_api_key(name="Storefront").key
    token, _ = keys.issue_customer_token(customer, key=key)
    customer.set_password("a brand new password")
    customer.save()
    assert keys.customer_for_token(token, key=key) is None


def test_login_checks_the_password_and_records_failures():
    customer = CustomerFactory()
    assert (
        keys.authenticate_customer(
            email=customer.email.upper(), password="correct horse battery", ip_address="10.0.0.1"
        )
        == customer
    )
    assert (
        keys.authenticate_customer(email=customer.email, password="wrong", ip_address="10.0.0.1")
        is None
    )
    assert LoginFailure.objects.filter(email=customer.normalized_email).count() == 1


@override_settings(SHOP_LOGIN_FAILURE_LIMIT=3)
def test_too_many_failures_for_an_account_block_even_the_right_password():
    customer = CustomerFactory()
    for _ in range(3):
        keys.authenticate_customer(email=customer.email, password="bad", ip_address="10.0.0.2")
    with pytest.raises(keys.LoginThrottled):
        keys.authenticate_customer(
            email=customer.email, password="correct horse battery", ip_address="10.0.0.3"
        )
    LoginFailure.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert (
        keys.authenticate_customer(
            email=customer.email, password="correct horse battery", ip_address="10.0.0.3"
        )
        == customer
    )


@override_settings(SHOP_LOGIN_FAILURE_LIMIT=2)
def test_too_many_failures_from_one_address_are_throttled_across_accounts():
    for n in range(8):
        keys.authenticate_customer(
            email=f"guess{n}@example.com", password="x", ip_address="10.9.9.9"
        )
    with pytest.raises(keys.LoginThrottled):
        keys.authenticate_customer(email="other@example.com", password="x", ip_address="10.9.9.9")
