import pytest
from django.contrib.auth import get_user_model

from tests.reliability.http import Http

PASSWORD = "staff password 1"


@pytest.fixture
def http(live_server, transactional_db):
    """HTTP Basic as a staff superuser against a live server (its own threads and connections)."""
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    return Http(live_server.url, "boss", PASSWORD)


@pytest.fixture
def staff_client(client, db):
    """Django's test client with a staff superuser's session."""
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client
