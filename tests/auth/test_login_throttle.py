"""Failed customer logins are counted under the account the lookup finds (the email's normal
form), and counted atomically: however the attempts are spelled or timed, an account gets
``SHOP_LOGIN_FAILURE_LIMIT`` password checks per window, and an address four times as many."""

import threading

import pytest
from django.test import override_settings

from shop import keys
from shop.models import Customer, LoginFailure
from tests.auth.world import PASSWORD, CallerClient
from tests.factories import CustomerFactory
from tests.reliability.http import Http, at_once

pytestmark = pytest.mark.postgres

EMAIL = "minsu.kim@example.com"
# Spellings the lookup folds into EMAIL: each must count against the same account.
FOLDED = [
    "MINSU.KIM@EXAMPLE.COM",
    "minſu.kim@example.com",  # long s
    "minsu.\u212aim@example.com",  # Kelvin sign
    "minsu.kim@ｅｘａｍｐｌｅ.com",  # fullwidth
    " Minsu.Kim@example.com",
]


@pytest.fixture
def storefront(db):
    pk = keys.create_api_key(name="Storefront").key.publishable_key
    return CallerClient({"X-Publishable-Key": pk})


def storefront_http(live_server) -> Http:
    """HTTP to the live server as a storefront: its publishable key alone. The server's listen
    queue is made room for 30 connections arriving at once (Django's test server asks for 10, and
    the kernel resets connections beyond it)."""
    live_server.thread.httpd.socket.listen(64)
    http = Http(live_server.url, "")
    pk = keys.create_api_key(name="Storefront").key.publishable_key
    http.headers = {"X-Publishable-Key": pk, "Accept": "application/json"}
    return http


def login(client, email, password):
    return client.request("POST", "/api/customers/login", {"email": email, "password": password})


@override_settings(SHOP_LOGIN_FAILURE_LIMIT=5)
def test_every_spelling_of_an_email_counts_against_one_account(storefront):
    customer = CustomerFactory(email=EMAIL, password=PASSWORD)
    for spelling in FOLDED:
        assert login(storefront, spelling, "a guess").status_code == 401, spelling
    answer = login(storefront, EMAIL, PASSWORD)
    assert answer.status_code == 429
    assert answer.json()["errors"][0]["name"] == "TooManyRequests"
    assert set(LoginFailure.objects.values_list("email", flat=True)) == {customer.normalized_email}


def test_a_spelling_the_lookup_does_not_fold_is_another_account(storefront):
    """A dotless ı is a letter of its own: it neither opens the account nor counts against it."""
    CustomerFactory(email=EMAIL, password=PASSWORD)
    for spelling in ("mınsu.kım@example.com", "MINSU.KİM@EXAMPLE.COM"):
        answer = login(storefront, spelling, PASSWORD)
        assert answer.status_code == 401, spelling
    assert login(storefront, EMAIL, PASSWORD).status_code == 200


def test_a_successful_login_does_not_count_as_a_failure(storefront):
    CustomerFactory(email=EMAIL, password=PASSWORD)
    with override_settings(SHOP_LOGIN_FAILURE_LIMIT=2):
        for _ in range(4):
            assert login(storefront, EMAIL, PASSWORD).status_code == 200
    assert not LoginFailure.objects.exists()


@pytest.fixture
def counted_checks(monkeypatch):
    """How many times a password was checked against a customer's hash."""
    calls = []
    lock = threading.Lock()
    check = Customer.check_password

    def counting(self, raw_password):
        with lock:
            calls.append(self.pk)
        return check(self, raw_password)

    monkeypatch.setattr(Customer, "check_password", counting)
    return calls


@pytest.mark.django_db(transaction=True)
@override_settings(SHOP_LOGIN_FAILURE_LIMIT=5)
def test_thirty_concurrent_wrong_passwords_are_checked_at_most_five_times(
    live_server, counted_checks
):
    CustomerFactory(email=EMAIL, password=PASSWORD)
    http = storefront_http(live_server)
    spellings = [EMAIL, *FOLDED]

    answers = at_once(
        30,
        lambda i: http.post(
            "/api/customers/login",
            {"email": spellings[i % len(spellings)], "password": f"guess {i}"},
        ),
    )

    statuses = sorted(answer.status for answer in answers)
    assert statuses == [401] * 5 + [429] * 25
    assert len(counted_checks) == 5
    assert LoginFailure.objects.count() == 5
    right = http.post("/api/customers/login", {"email": EMAIL, "password": PASSWORD})
    assert right.status == 429


@pytest.mark.django_db(transaction=True)
@override_settings(SHOP_LOGIN_FAILURE_LIMIT=5)
def test_thirty_concurrent_guesses_from_one_address_are_checked_at_most_twenty_times(live_server):
    http = storefront_http(live_server)

    answers = at_once(
        30,
        lambda i: http.post(
            "/api/customers/login", {"email": f"guess{i}@example.com", "password": "x"}
        ),
    )

    assert sorted(answer.status for answer in answers) == [401] * 20 + [429] * 10
    assert LoginFailure.objects.count() == 20
