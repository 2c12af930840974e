import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from shop.keys import create_api_key
from tests.reliability.http import Http


@pytest.fixture
def http(live_server, transactional_db):
    """A server's secret key against a live server (its own threads and connections)."""
    return Http(live_server.url, create_api_key(name="reliability server").secret_key)


@pytest.fixture(scope="module")
def demo_shop(django_db_setup, django_db_blocker):
    """The demo shop (orders in every state), seeded once for a test module, in a transaction
    rolled back when the module is done. Each test's own transaction is a savepoint inside it,
    so what a test writes is still gone before the next one."""
    with django_db_blocker.unblock(), transaction.atomic():
        # Every story's state, with four past orders instead of the charts' forty (seconds less).
        call_command("seed_demo", "--history", "4", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def staff_client(client, db):
    """Django's test client with a staff superuser's session."""
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client
