"""A real broker, a real worker process and a real HTTP receiver for the delivery tests.

- ``broker``: Redis at ``SHOP_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) with a key
  prefix of its own for each test, so runs never see each other's messages; the test process
  publishes there instead of running tasks in-process.
- ``worker``: ``celery -A shop worker -B`` in its own process group on the test database, with
  delays scaled down (``QUICK``); ``start()``, ``kill()`` (SIGKILL to the whole group, as a
  crashed machine) and always killed when the test ends.
- ``receiver``: a threaded ``http.server`` that checks every Standard Webhooks signature, records
  each request and deduplicates by ``webhook-id``; ``answer`` decides the status it replies.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from tests.admin.browser import chromium  # noqa: F401 (a fixture for the browser tests)

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Delivery settings scaled down so retries and leases take seconds, not hours; the worker gets
# them from its environment, the test process from Django's settings.
QUICK = {
    "SHOP_WEBHOOK_TIMEOUT": 2.0,
    "SHOP_DELIVERY_BATCH": 2,  # a lease (a killed worker's batch waits it out) of 11 s
    "SHOP_DELIVERY_RETRY_BASE": 0.3,
    "SHOP_DELIVERY_RETRY_MAX_DELAY": 2.0,
    "SHOP_DELIVERY_RETRY_WINDOW": 600.0,
    "SHOP_DELIVERY_COUNTDOWN_MAX": 300.0,
    "SHOP_EVENTS_SWEEP_SECONDS": 0.5,
}


def wait_until(predicate, *, timeout: float = 90, what: str = "the condition"):
    """Poll ``predicate`` until it is true; fail, naming ``what``, after ``timeout`` seconds
    (a bound for a hung worker, never a measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


# ---------------------------------------------------------------------------------------------
# Broker


@pytest.fixture
def broker(settings):
    """Redis for this test alone (a key prefix of its own); the test process publishes to it."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"needs Redis at {REDIS_URL} ({error})")
    from shop.celery import app

    prefix = f"shoptest_{os.environ.get('SHOP_TEST_RUN', 'x')}_{uuid.uuid4().hex[:8]}:"
    saved = {
        key: app.conf[key]
        for key in ("broker_url", "task_always_eager", "broker_transport_options")
    }
    options = {**(saved["broker_transport_options"] or {}), "global_keyprefix": prefix}
    app.conf.update(broker_url=REDIS_URL, task_always_eager=False, broker_transport_options=options)
    _reset_pool(app)
    for key, value in QUICK.items():
        setattr(settings, key, value)
    yield {"url": REDIS_URL, "prefix": prefix}
    app.conf.update(**saved)
    _reset_pool(app)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def _reset_pool(app) -> None:
    """Forget the broker connections made so far (kombu keeps them in global pools), so the
    next message goes to the broker now configured."""
    from kombu import pools

    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


# ---------------------------------------------------------------------------------------------
# Worker


class Worker:
    def __init__(self, env: dict, log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, **settings) -> None:
        assert self.process is None, "the worker is already running"
        self.starts += 1
        env = {**self.env, **{key: str(value) for key, value in settings.items()}}
        log = self.log_dir / f"worker-{self.starts}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shop",
            "worker",
            "-B",  # beat in the same process: the periodic sweep
            "-s",
            str(self.log_dir / f"beat-schedule-{self.starts}"),
            "-P",
            "threads",
            "-c",
            "4",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{uuid.uuid4().hex[:6]}@%h",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole
        )

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, and wait for them to be gone."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-4000:]
            for path in sorted(self.log_dir.glob("worker-*.log"))
        )


@pytest.fixture
def worker(broker, transactional_db, tmp_path):
    """A Celery worker (and beat) process on this test's database and broker; always killed."""
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    url = f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker["url"],
        "CELERY_KEY_PREFIX": broker["prefix"],
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONUNBUFFERED": "1",
        **{key: str(value) for key, value in QUICK.items()},
    }
    started = Worker(env, tmp_path)
    yield started
    started.kill()


# ---------------------------------------------------------------------------------------------
# Receiver


class Receiver:
    """Webhook receiver: verifies each request's signature, records it, dedupes by webhook-id."""

    def __init__(self):
        self.secret: str | None = None
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every request, in arrival order
        self.by_id: dict[str, dict] = {}  # webhook-id → the first accepted payload
        self.tries: Counter = Counter()  # webhook-id → requests seen
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.bad_signatures = 0
        self.delay = 0.0
        # (webhook-id, how many times it was seen, this one included) → status to answer
        self.answer = lambda message_id, seen: 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.handle(body, dict(self.headers.items()))
                with contextlib.suppress(OSError):  # the sender gave up waiting (a timeout)
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(f"answered {status}".encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, body: bytes, headers: dict) -> int:
        if self.delay:
            time.sleep(self.delay)
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except Exception:
            with self.lock:
                self.bad_signatures += 1
            return 401
        message_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self.lock:
            self.tries[message_id] += 1
            seen = self.tries[message_id]
            self.arrivals[message_id].append(time.monotonic())
            status = self.answer(message_id, seen)
            self.requests.append({"id": message_id, "status": status, "payload": payload})
            if 200 <= status < 300:
                self.by_id.setdefault(message_id, payload)  # a duplicate is acknowledged, once
        return status

    def received(self) -> dict[str, dict]:
        with self.lock:
            return dict(self.by_id)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.close()


@pytest.fixture
def endpoint(receiver, transactional_db):
    """An active endpoint for every event type, pointing at the receiver (which knows its
    secret)."""
    from events.models import WebhookEndpoint

    made = WebhookEndpoint.objects.create(url=receiver.url, description="test receiver")
    receiver.secret = made.secret
    return made


def dump(payloads) -> str:
    return json.dumps(payloads, indent=1)[:2000]


@pytest.fixture
def as_role(client, db):
    """The admin conftest's ``as_role``: the test client as a user of a migrated role."""
    from tests.admin.conftest import ROLES, make_staff

    users = {}

    def login(role: str):
        if role not in users:
            users[role] = make_staff(role, ROLES[role])
        client.force_login(users[role])
        return client

    return login
