"""The events benchmark runs end to end on a tiny data set: checkouts with events off and on,
then one worker delivers every event they wrote."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from bench.generate import drop_database, generate
from tests.bench.test_bench_smoke import ROOT, server_url, side_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.bench]


def test_the_events_benchmark_measures_both_sides_and_delivers_everything(tmp_path):
    import redis

    url = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        pytest.skip(f"needs Redis at {url} ({error})")
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    name = side_database("eventsbench")
    server = server_url()
    generate(orders=200, database=name, server=server, log=lambda *_: None)
    try:
        command = [sys.executable, "-m", "bench.events", "--database", name, "--server", server]
        command += ["--redis-url", url, "--rounds", "1", "--checkout-orders", "10"]
        command += ["--workers", "2", "--clients", "2", "--timeout", "120", "--out", str(tmp_path)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        drop_database(server, name)
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    checkout = saved["checkout"]
    assert len(checkout["events_off_orders_per_second"]) == 1
    assert checkout["ratio_on_to_off"] > 0
    assert checkout["errors_5xx"] == 0 and checkout["duplicates"] == 0
    delivery = saved["delivery"]
    # created and paid for each checkout with events (10, and the harness's probe)
    assert delivery["events"] == 2 * 11
    assert delivery["all_delivered"] and delivery["received"] == delivery["events"]
