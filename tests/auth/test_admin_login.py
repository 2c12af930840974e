"""The admin's login is throttled like the API's (django-axes): after the failure limit for a
user name (or from one address) even the right password is refused until the cool-off passes."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "staff-password-123"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("hana", password=PASSWORD, is_staff=True)


def attempt(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def fail_until_locked(client: Client, spellings: list[str]) -> None:
    """One wrong password per spelling: the form again each time, then a 429 at the limit."""
    assert len(spellings) == settings.AXES_FAILURE_LIMIT
    for spelling in spellings[:-1]:
        assert attempt(client, spelling, "a guess").status_code == 200, spelling
    assert attempt(client, spellings[-1], "a guess").status_code == 429


@pytest.mark.postgres
def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(staff):
    client = Client()
    fail_until_locked(client, ["hana"] * settings.AXES_FAILURE_LIMIT)
    answer = attempt(client, "hana", PASSWORD)
    assert answer.status_code == 429
    assert "too many login attempts" in answer.content.decode()
    assert not signed_in(client)
    # From another address too: the account is locked, not just the address.
    elsewhere = Client(REMOTE_ADDR="10.20.30.40")
    assert attempt(elsewhere, "hana", PASSWORD).status_code == 429
    assert not signed_in(elsewhere)


@pytest.mark.postgres
def test_every_spelling_the_login_form_folds_counts_against_one_account(staff):
    """The login form applies NFKC to the user name: fullwidth letters name the same user."""
    client = Client()
    fail_until_locked(client, ["ｈａｎａ", "hana", "ｈana", "haｎａ", "ｈａna"])
    assert attempt(client, "hana", PASSWORD).status_code == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"hana"}


@pytest.mark.postgres
def test_too_many_failures_from_one_address_lock_the_address(staff):
    client = Client(REMOTE_ADDR="10.1.1.1")
    fail_until_locked(client, [f"guess{n}" for n in range(settings.AXES_FAILURE_LIMIT)])
    assert attempt(client, "hana", PASSWORD).status_code == 429
    other = Client(REMOTE_ADDR="10.2.2.2")
    assert attempt(other, "hana", PASSWORD).status_code == 302
    assert signed_in(other)


@pytest.mark.postgres
def test_the_lock_ends_after_the_cool_off(staff):
    client = Client()
    fail_until_locked(client, ["hana"] * settings.AXES_FAILURE_LIMIT)
    assert attempt(client, "hana", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert attempt(client, "hana", PASSWORD).status_code == 302
    assert signed_in(client)


@pytest.mark.postgres
def test_a_successful_login_starts_the_count_again(staff):
    client = Client()
    for _ in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert attempt(client, "hana", "a guess").status_code == 200
        assert attempt(client, "hana", PASSWORD).status_code == 302
        client.post("/admin/logout/")
