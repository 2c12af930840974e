import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.api.payload_client import DjangoTransport, HTTPTransport, PayloadClient

PASSWORD = "staff password 1"


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)


@pytest.fixture
def http_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def api(http_client):
    """A Payload-style client talking to the app in process (queries can be counted)."""
    return PayloadClient(DjangoTransport(http_client))


@pytest.fixture
def live_api(live_server, transactional_db):
    """A Payload-style client talking HTTP to a live server, as a storefront server would."""
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    token = Token.objects.create(user=boss)
    return PayloadClient(HTTPTransport(live_server.url, {"Authorization": f"Token {token.key}"}))
