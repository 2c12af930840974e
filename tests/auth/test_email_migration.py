"""The migration that makes customers' emails unique in their normal form: existing rows get
their normal form; customers who already share one stop the migration, named, so staff decide
which one keeps the address (orders point at both, so neither is merged nor deleted here)."""

import pytest
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

BEFORE = [("shop", "0002_keys_logins_idempotency")]
AFTER = [("shop", "0003_customer_normalized_email_and_token_generation")]
ALIAS = "email_migration"


@pytest.fixture
def side():
    """A database of the test's own, migrated no further than the migration needs. (The test
    database keeps its schema: taking it back and forth through every later migration cost a
    minute a test.)"""
    name = f"{connection.settings_dict['NAME']}_emails"
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connections.settings[ALIAS] = {**connection.settings_dict, "NAME": name}
    try:
        # Opened here: a test may use only the databases it declares, and this one is made
        # after the declaration is read.
        connections[ALIAS].connect()
        yield connections[ALIAS]
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def migrate(targets):
    executor = MigrationExecutor(connections[ALIAS])
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps(side):
    """The models as they were before the migration."""
    return migrate(BEFORE)


@pytest.fixture
def old_customers(old_apps):
    return old_apps.get_model("shop", "Customer").objects.db_manager(ALIAS)


def test_existing_emails_get_their_normal_form(old_apps, old_customers):
    kim = old_customers.create(name="Kim", email="Minji.Kim@Example.com")
    lee = old_customers.create(name="Lee", email="lee@example.com")
    old_apps.get_model("shop", "Cart").objects.db_manager(ALIAS).create(
        customer=kim
    )  # rows pointing at it
    customers = migrate(AFTER).get_model("shop", "Customer").objects.db_manager(ALIAS)
    assert dict(customers.values_list("pk", "normalized_email")) == {
        kim.pk: "minji.kim@example.com",
        lee.pk: "lee@example.com",
    }
    # The address as it was typed stays for mail.
    assert customers.get(pk=kim.pk).email == "Minji.Kim@Example.com"


def test_customers_sharing_an_email_stop_the_migration_by_name(old_customers):
    first = old_customers.create(name="Kim", email="minji.kim@example.com")
    second = old_customers.create(name="Copy", email="MINJI.KIM@example.com")
    old_customers.create(name="Lee", email="lee@example.com")
    with pytest.raises(RuntimeError) as refused:
        migrate(AFTER)
    message = str(refused.value)
    assert "minji.kim@example.com" in message and "MINJI.KIM@example.com" in message
    assert f"{first.pk}" in message and f"{second.pk}" in message
    assert "lee@example.com" not in message
    # Nothing changed: the migration is not applied and can run once the copy is dealt with.
    applied = MigrationExecutor(connections[ALIAS]).loader.applied_migrations
    assert ("shop", AFTER[0][1]) not in applied
    old_customers.filter(pk=second.pk).update(email="minji.copy@example.com")
    customers = migrate(AFTER).get_model("shop", "Customer").objects.db_manager(ALIAS)
    assert customers.count() == 3
