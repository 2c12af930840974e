"""Past one machine, on the real engines: servers behind HAProxy, a streaming replica.

The parts come from ``bench/cluster.py`` (shared with ``bench/scale.py``). A test that needs a
program this machine lacks (PostgreSQL's server programs, HAProxy) is skipped, saying which,
except in CI (``CONTRACT_TESTS_REQUIRED=1``), where it fails instead.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from pytest_django.plugin import blocking_manager_key

from bench import cluster

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# What a user's server process would not inherit from pytest's environment.
NOT_INHERITED = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG", "DEMO"}


@pytest.hookimpl(tryfirst=True)  # before pytest's own, which sets up the test's fixtures
def pytest_runtest_setup(item):
    """Empty the database before a test that restores its first contents (``serialized_rollback``).

    Django restores them at set-up by saving each row under its first id. A transactional test
    without ``serialized_rollback`` that ran before on this worker ends with a flush whose
    post_migrate signal creates the content types again under new ids; saving the first ones
    would then break their unique (app_label, model). Emptied first, every table gets back its
    first rows with their first ids, whatever test ran before, and the long-lived servers these
    tests start keep reading the ids they cached.
    """
    marker = item.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("serialized_rollback"):
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if not hasattr(connection, "_test_serialized_contents"):
        return  # the test database is not set up yet: it holds its first contents
    with item.config.stash[blocking_manager_key].unblock():
        call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)


def require(*, postgres: bool = False, haproxy: bool = False, redis: bool = False) -> None:
    """Skip (fail in CI) when a part the test runs on is missing."""
    reason = cluster.missing(postgres=postgres, haproxy=haproxy)
    if reason is None and redis:
        import redis as redis_client

        try:
            redis_client.Redis.from_url(REDIS_URL).ping()
        except redis_client.RedisError as error:
            reason = f"needs Redis at {REDIS_URL} ({error})"
    if reason is None:
        return
    if os.environ.get("CONTRACT_TESTS_REQUIRED") == "1":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def server_environment(**overrides: str) -> dict[str, str]:
    """A production server's environment (DEBUG off, a random key), with ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class AppServers:
    """``count`` gunicorn servers of the product (``workers`` each), sharing nothing but the
    database and Redis their environment names; logs in ``log_dir``."""

    def __init__(self, env: dict, log_dir: Path, *, count: int = 2, workers: int = 2):
        self.env, self.log_dir, self.count, self.workers = env, log_dir, count, workers
        self.processes: list[subprocess.Popen] = []
        self.ports: list[int] = []

    def start(self) -> "AppServers":
        from tests.reliability.loadtest import start_gunicorn

        try:
            for index in range(self.count):
                port = cluster.free_port()
                log = self.log_dir / f"app{index + 1}.log"
                self.processes.append(start_gunicorn(self.env, port, self.workers, log))
                self.ports.append(port)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def tracebacks(self) -> str:
        return "\n".join(
            log.read_text(errors="replace")[-3000:]
            for log in sorted(self.log_dir.glob("app*.log"))
            if "Traceback" in log.read_text(errors="replace")
        )


@pytest.fixture
def redis_prefix():
    """A Redis key prefix of this test's own; its keys are removed afterwards."""
    import redis

    prefix = f"shoptest_{os.environ.get('SHOP_TEST_RUN', 'x')}_{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def wait_until(predicate, *, timeout: float = 60, what: str = "the condition"):
    """A bound for a stuck server, never a measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def redis_module_prefix():
    """``redis_prefix`` for a module's servers."""
    import redis

    prefix = f"shoptest_{os.environ.get('SHOP_TEST_RUN', 'x')}_{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()
