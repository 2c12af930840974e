"""A customer's email is one identity whatever its spelling: case, compatibility characters and
Unicode forms are folded once (NFKC + casefold) when it is stored and when it is looked up, and
the database holds each folded address once."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse

from shop import keys
from shop.models import Customer, normalize_email
from tests.auth.world import PASSWORD, CallerClient
from tests.factories import CustomerFactory
from tests.reliability.http import Http, at_once

pytestmark = pytest.mark.django_db

EMAIL = "minji.kim@example.com"
# The same address as a person (or a browser's autofill) may type it.
SPELLINGS = [
    "MINJI.KIM@example.com",
    "Minji.Kim@Example.COM",
    "minji.kim@ｅｘａｍｐｌｅ.com",  # fullwidth letters (NFKC makes them ASCII)
]


@pytest.fixture
def server():
    secret = keys.create_api_key(name="Server").secret_key
    return CallerClient({"Authorization": f"Bearer {secret}"})


@pytest.fixture
def storefront():
    pk = keys.create_api_key(name="Storefront").key.publishable_key
    return CallerClient({"X-Publishable-Key": pk})


def login(client, email):
    return client.request("POST", "/api/customers/login", {"email": email, "password": PASSWORD})


def test_the_normal_form_folds_case_and_compatibility_characters():
    assert {normalize_email(spelling) for spelling in [*SPELLINGS, f" {EMAIL} "]} == {EMAIL}
    assert normalize_email("minſu@example.com") == "minsu@example.com"  # long s
    assert normalize_email("STRASSE@example.com") == normalize_email("straße@example.com")
    assert normalize_email("mınsu@example.com") != "minsu@example.com"  # dotless i is a letter
    for value in [*SPELLINGS, "ǅ@x.y", "ﬃ@x.y", "Ⅻ@x.y"]:
        assert normalize_email(normalize_email(value)) == normalize_email(value)


@pytest.mark.postgres
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_an_email_taken_in_another_spelling_is_refused_and_the_customer_still_logs_in(
    server, storefront, spelling
):
    made = server.request(
        "POST", "/api/customers", {"name": "Minji Kim", "email": EMAIL, "password": PASSWORD}
    )
    assert made.status_code == 201
    answer = server.request(
        "POST", "/api/customers", {"name": "Someone", "email": spelling, "password": "other pw"}
    )
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["name"] == "ValidationError"
    assert error["data"]["errors"] == [
        {"path": "email", "message": "A customer with this email already exists.", "label": "Email"}
    ]
    assert list(Customer.objects.values_list("email", flat=True)) == [EMAIL]
    for typed in [EMAIL, *SPELLINGS, f" {EMAIL} "]:
        logged_in = login(storefront, typed)
        assert logged_in.status_code == 200, typed
        assert logged_in.json()["user"]["id"] == made.json()["doc"]["id"]


@pytest.mark.postgres
def test_changing_an_email_to_another_customers_in_another_spelling_is_refused(server):
    taken = CustomerFactory(email=EMAIL)
    other = CustomerFactory(email="jiwoo@example.com")
    answer = server.request(
        "PATCH", f"/api/customers/{other.pk}", {"email": "MINJI.Kim@example.com"}
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["data"]["errors"][0]["path"] == "email"
    other.refresh_from_db()
    assert other.email == "jiwoo@example.com"
    # A customer may change the spelling of their own address.
    answer = server.request(
        "PATCH", f"/api/customers/{taken.pk}", {"email": "Minji.Kim@example.com"}
    )
    assert answer.status_code == 200
    taken.refresh_from_db()
    assert (taken.email, taken.normalized_email) == ("Minji.Kim@example.com", EMAIL)


@pytest.mark.postgres
def test_the_database_holds_each_normal_form_once_even_past_validation():
    CustomerFactory(email=EMAIL)
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="Copy", email="MINJI.KIM@EXAMPLE.COM")
    assert Customer.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_in_different_spellings_make_one_customer(live_server):
    http = Http(live_server.url, keys.create_api_key(name="Server").secret_key)
    spellings = [EMAIL.upper(), EMAIL, *SPELLINGS[1:]] * 2
    answers = at_once(
        len(spellings),
        lambda i: http.post("/api/customers", {"name": f"Minji {i}", "email": spellings[i]}),
    )
    assert sorted(a.status for a in answers).count(201) == 1
    for answer in answers:
        if answer.status != 201:
            assert answer.status in (400, 409)
            assert set(answer.json) == {"errors"} and answer.error["message"]
    assert Customer.objects.count() == 1


def test_the_admin_refuses_an_email_taken_in_another_spelling(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "x"))
    CustomerFactory(email=EMAIL)
    answer = client.post(
        reverse("admin:shop_customer_add"),
        {"name": "Copy", "email": "Minji.KIM@example.com", "phone": "", "is_active": "on"},
    )
    assert answer.status_code == 200  # the form again
    assert "A customer with this email already exists." in answer.content.decode()
    assert Customer.objects.count() == 1
    found = client.get(reverse("admin:shop_customer_changelist"), {"q": "MINJI.KIM@Example.com"})
    assert found.context["cl"].result_count == 1
