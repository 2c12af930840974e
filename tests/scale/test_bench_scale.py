"""The scaling benchmarks run end to end on tiny data: ``bench.events --worker-processes``
delivers the same events again with one and two worker processes, every one of them; and
``bench.scale`` measures a configuration behind HAProxy on its own primary and replica."""

import json
import os
import subprocess
import sys

import pytest

from bench.generate import drop_database, generate
from tests.bench.test_bench_smoke import server_url, side_database
from tests.scale.conftest import REDIS_URL, ROOT, require

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.bench]


def test_events_are_delivered_again_by_each_number_of_worker_processes(tmp_path):
    require(redis=True)
    name = side_database("eventsworkers")
    server = server_url()
    generate(orders=200, database=name, server=server, log=lambda *_: None)
    try:
        command = [sys.executable, "-m", "bench.events", "--database", name, "--server", server]
        command += ["--redis-url", REDIS_URL, "--rounds", "1", "--checkout-orders", "10"]
        command += ["--workers", "2", "--clients", "2", "--timeout", "120"]
        command += ["--worker-processes", "1,2", "--out", str(tmp_path)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        drop_database(server, name)
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    events = saved["delivery"]["events"]
    assert events == 2 * 11  # created and paid, for 10 checkouts and the probe
    again = saved["delivery_by_processes"]
    assert [run["worker_processes"] for run in again] == [1, 2]
    for run in again:
        assert run["events"] == events
        assert run["all_delivered"] and run["received"] == events, run


def test_the_scale_benchmark_measures_through_the_balancer_on_a_replica(tmp_path):
    require(postgres=True, haproxy=True, redis=True)
    command = [sys.executable, "-m", "bench.scale", "--orders", "300", "--seconds", "3"]
    command += ["--checkout-orders", "10", "--clients", "2", "--configs", "2x2-replica"]
    command += ["--redis-url", REDIS_URL, "--out", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    saved = json.loads(next(tmp_path.glob("*-scale-*.json")).read_text())
    measured = saved["configs"]["2x2-replica"]
    assert measured["reads"]["requests"] > 0 and measured["reads"]["errors_5xx"] == 0
    assert measured["reads"]["replica_transactions"] > 0  # the reads went there
    assert measured["checkout"]["errors_5xx"] == 0 and measured["checkout"]["duplicates"] == 0
    assert all(server["requests"] > 0 for server in measured["per_server"].values())
    assert saved["replication"][0][1] == "streaming"
