"""Each test run gets a PostgreSQL test database of its own (tests/settings.py), so two runs on one
server never share one, and Django's "drop and recreate" never drops another run's."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.shop.processes import ROOT

PROBE = """
import json
from django.conf import settings
print(json.dumps(settings.DATABASES["default"]["TEST"]["NAME"]))
"""


def name_in_a_fresh_process(env: dict[str, str]) -> str:
    """The test database name tests/settings.py gives a new interpreter with ``env``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.postgres
@pytest.mark.django_db
def test_this_run_tests_on_a_database_named_for_it():
    name = connection.settings_dict["NAME"]
    assert name != f"test_{settings.DATABASES['default']['NAME']}"
    assert name not in {"test_shop", "test_postgres"}
    assert os.environ["SHOP_TEST_RUN"] in name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone()[0] == name


@pytest.mark.postgres
@pytest.mark.django_db
def test_two_runs_get_two_databases_and_children_share_their_runs():
    # Two new runs, started from a shell that knows nothing of this one.
    shell = {k: v for k, v in os.environ.items() if k != "SHOP_TEST_RUN"}
    first, second = name_in_a_fresh_process(shell), name_in_a_fresh_process(shell)
    assert first != second
    assert not {first, second} & {"test_shop", connection.settings_dict["NAME"]}

    # A process this run starts (an xdist worker, a server under test) inherits the run's name;
    # pytest-xdist then adds its worker's suffix.
    child = name_in_a_fresh_process(dict(os.environ))
    assert connection.settings_dict["NAME"].startswith(child)
    assert os.environ["SHOP_TEST_RUN"] in child
