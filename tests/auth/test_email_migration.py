"""The migration that makes customers' emails unique in their normal form: existing rows get
their normal form; customers who already share one stop the migration, named, so staff decide
which one keeps the address (orders point at both, so neither is merged nor deleted here)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("shop", "0002_keys_logins_idempotency")]
AFTER = [("shop", "0003_customer_normalized_email_and_token_generation")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps():
    """The models as they were before the migration; the schema goes back to the latest after
    the test whatever happened."""
    yield migrate(BEFORE)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def old_customers(old_apps):
    return old_apps.get_model("shop", "Customer")


def test_existing_emails_get_their_normal_form(old_apps, old_customers):
    kim = old_customers.objects.create(name="Kim", email="Minji.Kim@Example.com")
    lee = old_customers.objects.create(name="Lee", email="lee@example.com")
    old_apps.get_model("shop", "Cart").objects.create(customer=kim)  # rows pointing at it
    customers = migrate(AFTER).get_model("shop", "Customer")
    assert dict(customers.objects.values_list("pk", "normalized_email")) == {
        kim.pk: "minji.kim@example.com",
        lee.pk: "lee@example.com",
    }
    # The address as it was typed stays for mail.
    assert customers.objects.get(pk=kim.pk).email == "Minji.Kim@Example.com"


def test_customers_sharing_an_email_stop_the_migration_by_name(old_customers):
    first = old_customers.objects.create(name="Kim", email="minji.kim@example.com")
    second = old_customers.objects.create(name="Copy", email="MINJI.KIM@example.com")
    old_customers.objects.create(name="Lee", email="lee@example.com")
    with pytest.raises(RuntimeError) as refused:
        migrate(AFTER)
    message = str(refused.value)
    assert "minji.kim@example.com" in message and "MINJI.KIM@example.com" in message
    assert f"{first.pk}" in message and f"{second.pk}" in message
    assert "lee@example.com" not in message
    # Nothing changed: the migration is not applied and can run once the copy is dealt with.
    assert ("shop", AFTER[0][1]) not in MigrationExecutor(connection).loader.applied_migrations
    old_customers.objects.filter(pk=second.pk).update(email="minji.copy@example.com")
    customers = migrate(AFTER).get_model("shop", "Customer")
    assert customers.objects.count() == 3
