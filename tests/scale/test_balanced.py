"""Two gunicorn servers behind HAProxy, sharing nothing but PostgreSQL and Redis.

- The load test's mixed traffic (``tests/reliability/loadtest.py``, through
  ``tests/scale/balanced.py``) on a primary and its streaming replica: no 5xx, no unexpected
  answer, the bookkeeping intact, and both servers served requests. One server runs with
  psycopg's connection pool (threaded workers), the other with a persistent connection per
  sync worker.
- The API races of ``tests/reliability/test_api_races.py``, the same tests, sent through the
  balancer to both servers at once (each running with the connection pool and prepared
  statements): one winner, no duplicate, stock counted once.
"""

import os
import subprocess
import sys

import pytest
from django.db import connection

from bench.cluster import Balancer
from shop.keys import create_api_key
from tests import sizes
from tests.reliability.http import Http
from tests.reliability.test_api_races import (  # noqa: F401 (collected here, through the balancer)
    test_a_payment_callback_racing_the_checkout_that_carries_it_pays_one_order,
    test_ten_clicks_on_approve_make_one_transition_and_nine_409s,
    test_ten_clicks_on_ship_make_one_transition_and_nine_409s,
    test_ten_payment_callbacks_for_one_payment_record_it_once,
    test_ten_requests_with_one_idempotency_key_do_the_work_once,
    test_twenty_checkouts_of_one_cart_make_one_order_and_name_it_to_the_others,
    test_twenty_orders_with_one_payment_id_make_one_order,
    test_twenty_orders_without_numbers_get_twenty_distinct_numbers,
    test_two_parcels_racing_for_the_last_units_never_fulfil_more_than_ordered,
)
from tests.scale.conftest import ROOT, AppServers, require, server_environment

# Before each test the database is emptied (tests/scale/conftest.py) and its first contents
# (content types, roles) loaded again as they were, whatever test ran before on this worker: the
# servers, long-lived processes, keep the content types' ids they read.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.mark.django_db(transaction=False)
@pytest.mark.slow
def test_mixed_traffic_through_the_balancer_on_a_replica_ends_clean():
    require(postgres=True, haproxy=True, redis=True)
    seconds = str(sizes.size("LOADTEST_SECONDS", quick=4, long=60))
    command = [sys.executable, "-m", "tests.scale.balanced", "--seconds", seconds, "--replica"]
    done = subprocess.run(
        [*command, "--clients", "6", "--servers", "2", "--pool", "on,off"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=float(seconds) + 300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "5xx: 0" in output and "unexpected answers: 0" in output, output
    assert "invariants: ok" in output, output
    served = {
        line.split(":")[0].strip(): int(line.split(":")[1].split()[0])
        for line in output.splitlines()
        if line.startswith("  app")
    }
    assert set(served) == {"app1", "app2"} and min(served.values()) > 20, output
    assert int(output.split("replica: ", 1)[1].split()[0]) > 0, output  # it was read


@pytest.fixture(scope="module")
def balanced(django_db_setup, django_db_blocker, tmp_path_factory, redis_module_prefix):
    """Two servers on the test database, pooled connections, behind HAProxy."""
    require(haproxy=True, redis=True)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = server_environment(
        DATABASE_URL=url,
        DATABASE_POOL="1",
        DATABASE_POOL_MAX_SIZE="4",
        GUNICORN_CMD_ARGS="--threads 4",
        REDIS_URL="redis://127.0.0.1:6379/15",
        CELERY_KEY_PREFIX=redis_module_prefix,
    )
    servers = AppServers(env, tmp_path_factory.mktemp("servers")).start()
    try:
        with Balancer(servers.ports) as balancer:
            yield balancer
    finally:
        servers.stop()
    assert not servers.tracebacks(), servers.tracebacks()


@pytest.fixture
def http(balanced, transactional_db):
    """The races' client, sent to the balancer instead of a live server."""
    return Http(f"http://127.0.0.1:{balanced.port}", create_api_key(name="races").secret_key)


def test_both_servers_answered_the_races_without_a_5xx(balanced):
    """Runs after the races above (pytest keeps the order of a module): both servers took
    part in them, and HAProxy saw no 5xx."""
    per_server = balanced.requests_per_server()
    assert len(per_server) == 2
    assert all(server["requests"] > 0 for server in per_server.values()), per_server
    assert sum(server["5xx"] for server in per_server.values()) == 0, per_server
