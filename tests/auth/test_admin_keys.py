"""API keys in the admin: a new pair shows its secret once; revoking stops it at once."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from shop import keys
from shop.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "x"))
    return client


def test_adding_a_key_shows_the_secret_once_and_stores_only_its_digest(superuser_client):
    answer = superuser_client.post(
        reverse("admin:shop_apikey_add"), {"name": "Web shop"}, follow=True
    )
    assert answer.status_code == 200
    key = ApiKey.objects.get()
    shown = [str(m) for m in get_messages(answer.wsgi_request)] + [answer.content.decode()]
    secret = next(
        word.rstrip(".")
        for text in shown
        for word in text.split()
        if word.startswith(keys.SECRET_PREFIX)
    )
    assert keys.key_for_secret(secret) == key
    assert key.name == "Web shop" and key.publishable_key in answer.content.decode()
    page = superuser_client.get(reverse("admin:shop_apikey_change", args=[key.pk])).content.decode()
    assert secret not in page and key.secret_hash not in page
    assert key.secret_prefix in page  # enough to tell keys apart
    listing = superuser_client.get(reverse("admin:shop_apikey_changelist")).content.decode()
    assert secret not in listing and key.secret_hash not in listing


def test_a_key_without_a_name_is_refused_and_nothing_is_stored(superuser_client):
    answer = superuser_client.post(reverse("admin:shop_apikey_add"), {"name": ""})
    assert answer.status_code == 200  # the form again, with its error
    assert not ApiKey.objects.exists()


def test_the_revoke_action_stops_the_keys_at_once(superuser_client):
    issued = [keys.create_api_key(name=f"Server {n}") for n in range(2)]
    answer = superuser_client.post(
        reverse("admin:shop_apikey_changelist"),
        {"action": "revoke", "_selected_action": [issued[0].key.pk]},
    )
    assert answer.status_code == 302
    assert keys.key_for_secret(issued[0].secret_key) is None
    assert keys.key_for_publishable(issued[0].key.publishable_key) is None
    assert keys.key_for_secret(issued[1].secret_key) == issued[1].key
    assert (
        superuser_client.get(
            reverse("admin:shop_apikey_delete", args=[issued[1].key.pk])
        ).status_code
        == 403
    )
