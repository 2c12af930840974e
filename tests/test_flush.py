"""The suite's flush after a transactional test (``tests/conftest.py``): every table emptied by
deleting its rows with the triggers off, on PostgreSQL, and nothing left behind, the rollup
tables that triggers keep included."""

import pytest
from django.apps import apps
from django.contrib.contenttypes.management import create_contenttypes
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection

from orders.models import Order, OrderItem, OrderSlotTotal, TransitionLog
from tests.helpers import place_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_flush_deletes_every_row_and_leaves_the_rollups_empty(on_postgres):
    statements = connection.ops.sql_flush(no_style(), ["orders_order"])
    assert statements[0] == "SET LOCAL session_replication_role = replica"
    assert statements[1].startswith("DELETE FROM")
    place_order(paid=True)
    assert OrderSlotTotal.objects.exists()  # kept by the triggers
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
    for model in (Order, OrderItem, TransitionLog, OrderSlotTotal, ContentType):
        assert not model.objects.exists(), model.__name__
    # The triggers are on again once the flush's transaction is over (the content types come
    # back as after any flush; the cache still held the old ones).
    ContentType.objects.clear_cache()
    create_contenttypes(apps.get_app_config("orders"), verbosity=0)
    place_order(paid=True)
    assert OrderSlotTotal.objects.exists()


def test_restarting_the_sequences_is_left_to_djangos_truncate(on_postgres):
    statements = connection.ops.sql_flush(no_style(), ["orders_order"], reset_sequences=True)
    assert statements[0].startswith("TRUNCATE")
