"""psycopg's connection pool (``DATABASE_POOL=1``) with the compiled statements behind it.

A server process with the pool borrows a connection for each request and gives it back at the
end; the statements ``shop/statements.py`` prepares on a connection stay prepared on it, so the
next request that borrows it runs them without parsing and planning again. Shown in a process
of its own with a pool of one connection: two API reads are served by the same PostgreSQL
backend, which holds the statements the first one prepared.
"""

import json
import subprocess
import sys

import pytest
from django.db import connection

from tests.scale.conftest import ROOT, server_environment

pytestmark = pytest.mark.postgres

PROBE = """
import json
from django.db import connection
from django.test import Client
from shop.keys import create_api_key

secret = create_api_key(name="pool probe").secret_key
client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
seen = []
for _ in range(3):
    answer = client.get("/api/orders?limit=5&depth=0")
    assert answer.status_code == 200, answer.content
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), count(*) FROM pg_prepared_statements")
        seen.append(cursor.fetchone())
    connection.close()  # what the end of a request does (the test client leaves it open)
    assert connection.connection is None  # back in the pool
print(json.dumps({"pool": connection.pool is not None, "seen": seen,
                  "max_size": connection.pool.max_size}))
"""


def test_pooled_connections_keep_their_prepared_statements(transactional_db):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = server_environment(
        DATABASE_URL=url,
        DATABASE_POOL="1",
        DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_MAX_SIZE="1",
        ALLOWED_HOSTS="testserver",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["pool"] and found["max_size"] == 1
    backends = {pid for pid, _prepared in found["seen"]}
    assert len(backends) == 1  # one connection, lent to every request
    prepared = [count for _pid, count in found["seen"]]
    assert prepared[0] > 0 and prepared == sorted(prepared)  # kept, never prepared anew


def test_without_the_pool_settings_keep_persistent_connections():
    probe = (
        "from django.conf import settings; import json; d = settings.DATABASES['default']; "
        "print(json.dumps([d['CONN_MAX_AGE'], 'pool' in d.get('OPTIONS', {})]))"
    )
    for pool, expected in (("0", [60, False]), ("1", [0, True])):
        env = server_environment(
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/shop", DATABASE_POOL=pool
        )
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {probe}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == expected
