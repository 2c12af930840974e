import os
import re

import pytest
from django.db import connection, connections
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from hypothesis import HealthCheck, settings

from tests import sizes

# Hypothesis profiles (``HYPOTHESIS_PROFILE``, tests/sizes.py): ``ci`` for ``make test``, few
# examples; ``long`` for ``make test-long``. No deadline in either: a shared machine's pauses are
# not failures (speed is measured in bench/).
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(sizes.PROFILE)


_truncate = PostgresOperations.sql_flush


def _flush_by_delete(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    """A transactional test ends by emptying every table. Django's TRUNCATE of the 40-odd
    tables takes about 150 ms on PostgreSQL (each table gets new files); deleting their rows,
    nearly always a few, takes 10 ms. The statements run in one transaction, with the triggers
    (foreign keys, the rollups) off for it, which needs a superuser; otherwise, or when the
    sequences must restart, Django's TRUNCATE."""
    if reset_sequences or not tables or not _superuser(self.connection):
        return _truncate(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    quoted = (style.SQL_FIELD(self.quote_name(table)) for table in tables)
    return [
        "SET LOCAL session_replication_role = replica",
        *(f"{style.SQL_KEYWORD('DELETE FROM')} {table}" for table in quoted),
    ]


def _superuser(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW is_superuser")
        return cursor.fetchone()[0] == "on"


PostgresOperations.sql_flush = _flush_by_delete


def pytest_report_header(config):
    return f"database: {connection.vendor}; hypothesis profile and sizes: {sizes.PROFILE}"


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://… or run a local server)")


@pytest.hookimpl(tryfirst=True)  # before pytest-django's, whose stable sort keeps this order
def pytest_collection_modifyitems(config, items):
    # Tests marked slow first, so that pytest-xdist starts them early and none is left to run
    # alone at the end. pytest-django then groups the tests as Django does (plain database
    # tests, transactional ones, the rest) and keeps this order within each group.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: the suite is running on SQLite")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _static_files_of_this_worker(tmp_path_factory):
    """The servers and benchmarks a worker starts collect static files into a folder of the
    worker's own (``STATIC_ROOT``, which they inherit), never the checkout's: with one folder, a
    process reading it (WhiteNoise lists every file when it starts) failed on a file that another
    worker's ``collectstatic`` was replacing at that moment (``FileNotFoundError``)."""
    os.environ["STATIC_ROOT"] = str(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="session", autouse=True)
def _drop_the_test_database_without_the_statement_timeout(django_db_setup):
    """pytest-django drops the test database after the last test (``django_db_setup``'s
    teardown, which runs after this one) through a connection made from these settings: on a
    loaded machine the DROP took longer than the statement timeout and left the database
    behind. The timeout is taken off the settings for it."""
    yield
    for each in connections.all(initialized_only=False):
        options = each.settings_dict.get("OPTIONS", {})
        if "statement_timeout" in options.get("options", ""):
            options["options"] = re.sub(r"\s*-c statement_timeout=\d+", "", options["options"])


@pytest.fixture(autouse=True)
def _flush_without_the_statement_timeout(request):
    """A transactional test ends by emptying every table (``_flush_by_delete``), which may wait
    for the locks a live server's last requests still hold: on a loaded machine that wait passed
    the connection's statement timeout, the tables kept their rows and the next test saw them. The
    flush runs after this fixture's teardown (it depends on the database fixture), with no
    timeout; the test itself ran with it."""
    if "transactional_db" not in request.fixturenames or connection.vendor != "postgresql":
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    for each in connections.all(initialized_only=True):
        if each.vendor == "postgresql" and each.connection is not None:
            with each.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
