import pytest
from django.contrib.auth import get_user_model

from shop.keys import create_api_key
from tests.reliability.http import Http


@pytest.fixture
def http(live_server, transactional_db):
    """A server's secret key against a live server (its own threads and connections)."""
    return Http(live_server.url, create_api_key(name="reliability server").secret_key)


@pytest.fixture
def staff_client(client, db):
    """Django's test client with a staff superuser's session."""
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client
