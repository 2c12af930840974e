import pytest
from django.db import connection
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
