"""Run the benchmark against a generated database and print (and save) the results.

    uv run python -m bench.run --orders 1000000 --generate     # build the data, then measure
    uv run python -m bench.run                                 # measure the existing "bench" db
    uv run python -m bench.run --orders 1000 --generate --database bench_smoke --quick

It starts the product (``shop.wsgi``, DEBUG off) and the floor (``bench.floor``) under gunicorn
on loopback ports, warms them up, then measures, each over a bounded number of repetitions:

1. "my orders" (``where[customer][equals]``, ``sort=-createdAt``, ``limit=10``), depth 0 and 1;
2. an order by id at depth 1;
3. the order items of an order (depth 1), its fulfilments, its returns;
4. a staff query: paid orders older than a day, oldest first, 50 of them;
5. the admin order list (first page, a status filter, a search by order number), the home, the
   busiest customer's page and the unfulfilled list;
6. checkout throughput with concurrent clients against gunicorn, beside the write floor
   (``bench.write_floor``: the same checkout by hand-written SQL, served by the same server);
7. the bulk tracking import of 10,000 rows (``fulfillment.imports``).

Items 1–4 are also asked of the floor, in the same run and through the same HTTP stack, and the
ratio of the medians is printed; the SQL statements each endpoint runs are counted. Every phase
runs ``--repeat`` times on the same build; figures are the median of the runs with their spread,
and the targets are judged met or missed (``bench.stats``). A part of the
product that is not there yet is reported as missing, never as a crash. The raw figures go to
``bench/results/<date>-<orders>.json``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import http.client
import importlib
import inspect
import json
import os
import platform
import queue
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psycopg

from bench import stats
from bench.flat import record_plans
from bench.generate import DEFAULT_SERVER, append_orders, database_url, django_url, generate
from bench.write_floor import PATH as WRITE_FLOOR_PATH

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
STAFF_USERNAME = "bench-staff"
PRODUCT_APP = "shop.wsgi:application"
# Sync workers per server. On 2 cores 3 or 4 give the most checkouts a second (PostgreSQL,
# the workers and the clients share the cores); more only add switching.
DEFAULT_WORKERS = 4
PHASES = ("reads", "admin", "checkout", "import")
# The staff's list of paid and preparing orders to fulfil (reported missing while absent).
UNFULFILLED_LIST = "/admin/fulfillment/fulfillment/unfulfilled/"


# ---------------------------------------------------------------------------------------------
# HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen | None = None

    def request(self, method: str, path: str, *, headers=None, body=None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            data = answer.read()
            seconds = time.perf_counter() - started
            return Response(answer.status, dict(answer.getheaders()), data, seconds)
        finally:
            connection.close()

    def get(self, path: str, headers=None) -> Response:
        return self.request("GET", path, headers=headers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(name: str, app: str, port: int, env: dict, workers: int) -> Server:
    """Start a server on loopback; its own log goes to a file in the temp directory."""
    log = open(Path(tempfile.gettempdir()) / f"bench-{name}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--log-level", "warning", "--timeout", "120",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    server = Server(name, port, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited with {process.returncode}; see {log.name}")
        try:
            server.get("/healthz")
            return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} server did not answer within 30 s")


def redis_broker(url: str) -> str | None:
    """``url`` when a Redis answers there (the broker the product's events use)."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
        return url
    except Exception:
        return None


def drop_keys(url: str, prefix: str) -> None:
    """Remove the keys a run left in the broker (its relay flag and queued relay tasks)."""
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def stop(server: Server | None) -> None:
    if server and server.process and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()


def query(path: str, params: list[tuple[str, object]]) -> str:
    """A URL as Payload's qs-based client encodes it (brackets percent-encoded)."""
    return f"{path}?{urlencode([(k, str(v)) for k, v in params])}" if params else path


class Profiler:
    """py-spy sampling a process and its children (the gunicorn workers) while a phase runs,
    written as a flame graph: profile before optimising. A no-op unless ``--profile``."""

    def __init__(self, directory: Path | None, name: str):
        self.directory, self.name = directory, name
        command = shutil.which("py-spy")
        self.command = [command] if command else ["uvx", "py-spy"] if shutil.which("uvx") else None

    @contextmanager
    def phase(self, phase: str, pid: int):
        if self.directory is None or self.command is None:
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        out = self.directory / f"{self.name}-{phase}.svg"
        spy = subprocess.Popen(
            [*self.command, "record", "--subprocesses", "--pid", str(pid), "--rate", "250",
             "--output", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.5)  # let it attach
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)
            try:
                spy.wait(60)
                print(f"  profile: {out}", flush=True)
            except subprocess.TimeoutExpired:
                spy.kill()


# ---------------------------------------------------------------------------------------------
# Statistics


def summary(seconds: list[float]) -> dict:
    if not seconds:
        return {}
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "min_ms": round(ordered[0] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def differences(a, b, limit: int = 12) -> list[str]:
    """Where two JSON documents differ (the product's answer against the floor's): the first
    difference of each kind, a kind being the path with list positions left out."""
    found: dict[str, str] = {}

    def walk(a, b, path: str, kind: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                where, what = f"{path}.{key}", f"{kind}.{key}"
                if key not in b:
                    found.setdefault(what, f"{where}: only in the product")
                elif key not in a:
                    found.setdefault(what, f"{where}: only in the floor")
                else:
                    walk(a[key], b[key], where, what)
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                found.setdefault(
                    kind, f"{path}: {len(a)} items in the product, {len(b)} in the floor"
                )
            for index, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, f"{path}[{index}]", f"{kind}[]")
        elif a != b:
            found.setdefault(kind, f"{path}: product {a!r}, floor {b!r}")

    walk(a, b, "$", "$")
    return list(found.values())


# ---------------------------------------------------------------------------------------------
# Django, in this process: query counts, the staff user, API keys, the import.


def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def collect_static() -> None:
    """``collectstatic`` for the servers, one run at a time: two runs at once (the smoke's
    workers) writing the same new files made one fail (``FileNotFoundError`` on a file the
    other was replacing). An exclusive lock on a file named after ``STATIC_ROOT``."""
    from django.conf import settings
    from django.core.management import call_command

    root = str(Path(settings.STATIC_ROOT).resolve())
    name = f"shop-collectstatic-{hashlib.sha256(root.encode()).hexdigest()[:16]}.lock"
    with open(Path(tempfile.gettempdir()) / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        call_command("collectstatic", interactive=False, verbosity=0)


def staff_user(password: str):
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username=STAFF_USERNAME, defaults={"email": "bench@example.com"}
    )
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return user


def create_api_key() -> tuple[str | None, str]:
    """A server secret key from ``manage.py createapikey``, if the command exists."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    try:
        with redirect_stdout(out):  # whether the command writes to self.stdout or prints
            call_command("createapikey", f"bench-{secrets.token_hex(3)}", stdout=out)
    except CommandError as error:
        return None, f"no API key: {error}"
    except Exception as error:  # the command exists but failed: say so, use the session
        return None, f"no API key: createapikey failed ({type(error).__name__}: {error})"
    try:
        printed = out.getvalue()
        return json.loads(printed[printed.index("{") :])["secretKey"], "API key (createapikey)"
    except (ValueError, KeyError):
        return None, "no API key: createapikey printed no secretKey"


AUTH_TABLE = re.compile(r'FROM "(django_session|auth_\w+|\w*api_?key\w*)"', re.I)


def data_queries(sqls: list[str]) -> int:
    """The statements that read the shop's data, leaving out who-is-asking lookups (session,
    user, API key), which every authenticated request pays the same."""
    return sum(1 for sql_text in sqls if not AUTH_TABLE.search(sql_text.split(" WHERE ")[0]))


def count_queries(path: str, *, headers: dict | None, user) -> tuple[int | None, list[str]]:
    """The SQL statements the product runs for one GET, through Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers=headers or {})
    if user is not None:
        client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        return None, []
    return len(captured), [q["sql"] for q in captured.captured_queries]


def login_admin(server: Server, password: str) -> dict | None:
    """Log the staff user in through /admin/login/; the headers that carry the session."""
    page = server.get("/admin/login/")
    if page.status != 200:
        return None
    cookies = SimpleCookie(page.headers.get("Set-Cookie", ""))
    csrf = cookies["csrftoken"].value if "csrftoken" in cookies else ""
    form = urlencode(
        {
            "username": STAFF_USERNAME,
            "password": password,
            "csrfmiddlewaretoken": csrf,
            "next": "/admin/",
        }
    )
    answer = server.request(
        "POST",
        "/admin/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Referer": f"http://127.0.0.1:{server.port}/admin/login/",
        },
    )
    session = SimpleCookie(answer.headers.get("Set-Cookie", ""))
    if answer.status != 302 or "sessionid" not in session:
        return None
    return {
        "Cookie": f"csrftoken={csrf}; sessionid={session['sessionid'].value}",
        "X-CSRFToken": csrf,
        "Referer": f"http://127.0.0.1:{server.port}/",
    }


# ---------------------------------------------------------------------------------------------
# What to ask


@dataclass
class Endpoint:
    key: str
    title: str
    paths: list[str]  # one per sample, cycled through
    floor: bool = True
    product: dict = field(default_factory=dict)
    floor_result: dict = field(default_factory=dict)


def pick_samples(conn: psycopg.Connection, rng: random.Random, count: int = 25) -> dict:
    """Customers and orders to ask about, drawn at random (busy customers come up more often,
    as they do in real traffic); orders with returns are half of the order samples."""
    top = conn.execute("SELECT max(id) FROM orders_order").fetchone()[0] or 0
    ids = [rng.randrange(1, top + 1) for _ in range(count * 4)]
    rows = conn.execute(
        "SELECT id, customer_id FROM orders_order WHERE id = ANY(%s)", [ids]
    ).fetchall()
    customers = [c for _, c in rows if c is not None][:count]
    orders = [pk for pk, _ in rows][: count // 2 + 1]
    top_return = conn.execute("SELECT max(id) FROM returns_return").fetchone()[0] or 0
    if top_return:
        rids = [rng.randrange(1, top_return + 1) for _ in range(count * 2)]
        with_returns = conn.execute(
            "SELECT DISTINCT order_id FROM returns_return WHERE id = ANY(%s)", [rids]
        ).fetchall()
        orders += [pk for (pk,) in with_returns][: count // 2]
    rng.shuffle(orders)
    busiest = conn.execute(
        "SELECT customer_id FROM orders_order WHERE customer_id IS NOT NULL "
        "GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    # Two orders that differ only in how many children they have: both with a customer and a
    # cart (a missing relation is rightly one query fewer), one line against the most lines.
    few_items, many_items = conn.execute(
        "WITH lines AS (SELECT i.order_id, count(*) AS n FROM orders_orderitem i "
        "  JOIN orders_order o ON o.id = i.order_id "
        "  WHERE o.customer_id IS NOT NULL AND o.cart_id IS NOT NULL GROUP BY i.order_id) "
        "SELECT (SELECT order_id FROM lines WHERE n = 1 LIMIT 1), "
        "       (SELECT order_id FROM lines ORDER BY n DESC LIMIT 1)"
    ).fetchone()
    numbers = conn.execute(
        "SELECT order_number FROM orders_order WHERE id = ANY(%s)", [orders[:5]]
    ).fetchall()
    return {
        "customers": customers or [1],
        "orders": orders or [1],
        "busiest_customer": busiest[0] if busiest else 1,
        "order_few_items": few_items,
        "order_many_items": many_items,
        "order_numbers": [n for (n,) in numbers],
    }


def read_endpoints(samples: dict, cutoff: str) -> list[Endpoint]:
    def my_orders(depth: int) -> list[str]:
        return [
            query(
                "/api/orders",
                [
                    ("where[customer][equals]", c),
                    ("sort", "-createdAt"),
                    ("limit", 10),
                    ("depth", depth),
                ],
            )
            for c in samples["customers"]
        ]

    def of_order(slug: str, extra: list) -> list[str]:
        return [
            query(f"/api/{slug}", [("where[order][equals]", o), *extra]) for o in samples["orders"]
        ]

    staff = query(
        "/api/orders",
        [("where[status][equals]", "paid"), ("where[createdAt][less_than]", cutoff),
         ("sort", "createdAt"), ("limit", 50)],
    )  # fmt: skip
    return [
        Endpoint("my_orders_depth0", "1. my orders, depth 0", my_orders(0)),
        Endpoint("my_orders_depth1", "1. my orders, depth 1", my_orders(1)),
        Endpoint(
            "order_depth1",
            "2. order by id, depth 1",
            [f"/api/orders/{o}?depth=1" for o in samples["orders"]],
        ),
        Endpoint("order_items", "3. order items, depth 1", of_order("order-items", [("depth", 1)])),
        Endpoint("fulfillments", "3. fulfilments of an order", of_order("fulfillments", [])),
        Endpoint("returns", "3. returns of an order", of_order("returns", [])),
        Endpoint("staff_paid", "4. staff: paid > 1 day, 50", [staff]),
    ]


# ---------------------------------------------------------------------------------------------
# Measuring


def measure_reads(
    endpoints: list[Endpoint], product: Server, floor: Server, headers: dict | None, repeat: int
) -> None:
    for endpoint in endpoints:
        first = product.get(endpoint.paths[0], headers) if headers is not None else None
        product_ok = first is not None and first.status == 200
        if first is None:
            endpoint.product = {"missing": "no way to authenticate to the API"}
        elif not product_ok:
            reason = "endpoint missing (404)" if first.status == 404 else f"HTTP {first.status}"
            endpoint.product = {
                "missing": reason,
                "body": first.body[:300].decode(errors="replace"),
            }
        floor_first = floor.get(endpoint.paths[0])
        if product_ok:
            diff = differences(first.json(), floor_first.json())
            endpoint.product["same_json_as_floor"] = not diff
            if diff:
                endpoint.product["json_differences"] = diff
        endpoint.floor_result["queries"] = int(floor_first.headers.get("X-Query-Count", 0))
        # Warm up: every sample once on each side.
        for path in endpoint.paths:
            floor.get(path)
            if product_ok:
                product.get(path, headers)
        product_times, floor_times, statuses = [], [], {}
        for i in range(repeat):
            path = endpoint.paths[i % len(endpoint.paths)]
            # Alternate who goes first, so neither always finds the other's warm cache.
            order = (floor, product) if i % 2 else (product, floor)
            for server in order:
                if server is product and not product_ok:
                    continue
                answer = server.get(path, headers if server is product else None)
                key = f"{server.name}:{answer.status}"
                statuses[key] = statuses.get(key, 0) + 1
                (product_times if server is product else floor_times).append(answer.seconds)
        endpoint.floor_result.update(summary(floor_times))
        if product_ok:
            endpoint.product.update(summary(product_times))
        endpoint.product["statuses"] = statuses


def product_query_counts(endpoints: list[Endpoint], auth_headers: dict | None, user) -> None:
    for endpoint in endpoints:
        if "missing" in endpoint.product:
            continue
        n, sqls = count_queries(endpoint.paths[0], headers=auth_headers, user=user)
        endpoint.product["queries"] = None if n is None else data_queries(sqls)
        endpoint.product["auth_queries"] = None if n is None else n - data_queries(sqls)


def flatness(samples: dict, auth_headers: dict | None, user) -> dict:
    """Does the product's query count stay the same with a bigger limit and more children?"""
    busiest = samples["busiest_customer"]

    def count(path):
        n, sqls = count_queries(path, headers=auth_headers, user=user)
        return None if n is None else data_queries(sqls)

    def mine(limit):
        return query(
            "/api/orders",
            [("where[customer][equals]", busiest), ("limit", limit), ("depth", 1)],
        )

    result = {"limit_10": count(mine(10)), "limit_100": count(mine(100))}
    if samples["order_few_items"] and samples["order_many_items"]:
        result["order_1_item"] = count(f"/api/orders/{samples['order_few_items']}?depth=1")
        result["order_most_items"] = count(f"/api/orders/{samples['order_many_items']}?depth=1")
    if None in result.values():
        result["flat"] = None  # an endpoint did not answer
    else:
        result["flat"] = result["limit_10"] == result["limit_100"] and result.get(
            "order_1_item"
        ) == result.get("order_most_items")
    return result


def full_table_counts(sqls: list[str], table: str) -> int:
    """Statements that count every row of ``table``: a COUNT with no WHERE and no LIMIT (the
    admin's bounded ``COUNT(*) FROM (… LIMIT n)`` is fine: it stops after n rows)."""
    return sum(
        1
        for sql_text in sqls
        if re.search(rf'COUNT\(.*FROM "{table}"', sql_text, re.I | re.S)
        and not re.search(r"\b(WHERE|LIMIT)\b", sql_text, re.I)
    )


def measure_admin(
    product: Server, headers: dict | None, samples: dict, repeat: int, user
) -> list[dict]:
    number = samples["order_numbers"][0] if samples["order_numbers"] else "0"
    pages = [
        ("first page", "/admin/orders/order/"),
        ("status filter", "/admin/orders/order/?status__exact=paid"),
        ("search by number", query("/admin/orders/order/", [("q", number)])),
        ("home", "/admin/"),
        ("busiest customer's page", f"/admin/shop/customer/{samples['busiest_customer']}/change/"),
        ("unfulfilled list", UNFULFILLED_LIST),
    ]
    results = []
    for title, path in pages:
        entry: dict = {"page": title, "path": path}
        results.append(entry)
        if headers is None:
            entry["missing"] = "could not log in to the admin"
            continue
        first = product.get(path, headers)
        if first.status != 200:
            entry["missing"] = (
                "page missing (404)" if first.status == 404 else f"HTTP {first.status}"
            )
            continue
        product.get(path, headers)
        times = [product.get(path, headers).seconds for _ in range(repeat)]
        entry.update(summary(times))
        n, sqls = count_queries(path, headers=None, user=user)
        entry["queries"] = n
        entry["full_table_counts"] = full_table_counts(sqls, "orders_order")
    return results


def make_carts(conn: psycopg.Connection, rng: random.Random, count: int) -> list[int]:
    """Carts ready to check out: 1–3 lines of catalog items (the units that hold the stock), a
    customer and the address the parcel goes to each."""
    units = conn.execute(
        "SELECT p.id, v.id, o.id FROM shop_product p "
        "LEFT JOIN shop_variant v ON v.product_id = p.id "
        "LEFT JOIN shop_option o ON o.variant_id = v.id"
    ).fetchall()
    customers = conn.execute("SELECT max(id) FROM shop_customer").fetchone()[0] or 1
    cart_ids = []
    with conn.cursor() as cur:
        for _ in range(count):
            (cart_id,) = cur.execute(
                "INSERT INTO shop_cart (created_at, updated_at, currency, customer_id, "
                "shipping_recipient_name, shipping_phone, shipping_postal_code, "
                "shipping_address1) VALUES (now(), now(), 'KRW', %s, 'Bench Buyer', "
                "'010-0000-0000', '06123', '1 Bench St') RETURNING id",
                [rng.randrange(1, customers + 1)],
            ).fetchone()
            for product_id, variant_id, option_id in rng.sample(units, rng.randrange(1, 4)):
                cur.execute(
                    "INSERT INTO shop_cartitem (created_at, updated_at, cart_id, product_id, "
                    "variant_id, option_id, quantity) VALUES (now(), now(), %s, %s, %s, %s, %s)",
                    [cart_id, product_id, variant_id, option_id, rng.randrange(1, 3)],
                )
            cart_ids.append(cart_id)
    conn.commit()
    return cart_ids


def drop_carts(conn: psycopg.Connection, cart_ids: list[int]) -> None:
    conn.execute("DELETE FROM shop_cartitem WHERE cart_id = ANY(%s)", [cart_ids])
    conn.execute("DELETE FROM shop_cart WHERE id = ANY(%s)", [cart_ids])
    conn.commit()


def measure_checkout(
    product: Server,
    headers: dict | None,
    conn: psycopg.Connection,
    rng: random.Random,
    *,
    carts: int,
    clients: int,
    seconds: float,
    path: str = "/api/checkout",
    idempotency_keys: bool = False,
) -> dict:
    """Checkouts of fresh carts from concurrent clients against ``path`` (the product's, or the
    write floor's beside it), each sent with an ``Idempotency-Key`` when asked, as a client that
    retries sends it."""
    if headers is None:
        return {"missing": "no way to authenticate to the API"}
    tag = secrets.token_hex(4)
    post_headers = {**headers, "Content-Type": "application/json"}

    def checkout(cart_id: int) -> Response:
        body = json.dumps({"cartId": cart_id, "paymentId": f"bench-{tag}-{cart_id}"})
        sent = post_headers
        if idempotency_keys:
            sent = {**post_headers, "Idempotency-Key": f"bench-{tag}-{cart_id}"}
        return product.request("POST", path, headers=sent, body=body)

    probe = make_carts(conn, rng, 1)
    first = checkout(probe[0])
    if first.status not in (200, 201):
        drop_carts(conn, probe)
        reason = "endpoint missing (404)" if first.status == 404 else f"HTTP {first.status}"
        return {"missing": reason, "body": first.body[:300].decode(errors="replace")}

    cart_ids = make_carts(conn, rng, carts)
    work: queue.Queue[int] = queue.Queue()
    for cart_id in cart_ids:
        work.put(cart_id)
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            try:
                cart_id = work.get_nowait()
            except queue.Empty:
                return
            try:
                answer = checkout(cart_id)
                status, took = answer.status, answer.seconds
            except OSError:
                status, took = 599, 0.0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    sent = sum(statuses.values())
    created = statuses.get(201, 0) + statuses.get(200, 0)
    attempted = cart_ids[:sent]
    orders, distinct_carts, payments, distinct_numbers = conn.execute(
        "SELECT count(*), count(DISTINCT o.cart_id), "
        "  (SELECT count(*) FROM orders_transaction t WHERE t.payment_id = ANY(%s)), "
        "  count(DISTINCT o.order_number) "
        "FROM orders_order o WHERE o.cart_id = ANY(%s)",
        [[f"bench-{tag}-{cart_id}" for cart_id in attempted], attempted],
    ).fetchone()
    conn.commit()
    return {
        "clients": clients,
        "requests": sent,
        "seconds": round(elapsed, 2),
        "orders_per_second": round(created / elapsed, 1) if elapsed else 0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "latency": summary(latencies),
        "orders_in_db": orders,
        # One order per successful checkout and per cart, one payment per order, unique numbers.
        "duplicates": max(orders - created, 0)
        + (orders - distinct_carts)
        + (orders - distinct_numbers)
        + max(payments - orders, 0),
        "payments_in_db": payments,
        # The answer's shape (its keys, nested), to check the write floor answers alike.
        "answer_shape": answer_shape(first.json()),
        # The write floor says how many statements its checkout took (the product's are
        # counted apart, ``checkout_statements``).
        **(
            {"statements": int(first.headers["X-Query-Count"])}
            if "X-Query-Count" in first.headers
            else {}
        ),
    }


def checkout_statements(conn: psycopg.Connection, rng: random.Random, api_key: str | None):
    """The round trips to the database of one product checkout (BEGIN, COMMIT and savepoints
    included, as the write floor counts its own), through Django's test client in this
    process, as a server checks a fresh cart out with an Idempotency-Key."""
    if not api_key:
        return None
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    (cart_id,) = make_carts(conn, rng, 1)
    client = Client(headers={"Authorization": f"Bearer {api_key}",
                             "Idempotency-Key": f"count-{cart_id}"})  # fmt: skip
    body = json.dumps({"cartId": cart_id, "paymentId": f"count-{secrets.token_hex(4)}"})
    with CaptureQueriesContext(connection) as captured:
        answer = client.post("/api/checkout", body, content_type="application/json")
    connection.close()  # the harness's own connection is not kept across phases
    return len(captured) if answer.status_code == 201 else None


def answer_shape(doc):
    """A JSON document's keys, nested (a list by its first element's), values left out: two
    checkouts of different carts answer alike when their keys are the same."""
    if isinstance(doc, dict):
        return {key: answer_shape(value) for key, value in doc.items()}
    if isinstance(doc, list):
        return [answer_shape(doc[0])] if doc else []
    return None


def _call(fn, *args, **kwargs):
    """Call ``fn`` with the keyword arguments its signature takes."""
    accepted = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return fn(*args, **kwargs)


def measure_import(url: str, rows: int, user) -> dict:
    try:
        imports = importlib.import_module("fulfillment.imports")
    except ModuleNotFoundError:
        return {"missing": "fulfillment.imports does not exist yet"}
    steps = [name for name in ("parse", "plan", "apply") if callable(getattr(imports, name, None))]
    if steps != ["parse", "plan", "apply"]:
        return {"missing": f"fulfillment.imports has no parse/plan/apply (found {steps})"}
    from shop.actors import Actor

    orders = append_orders(url, rows, status="paid")
    text = "order_number,carrier,tracking_number\n" + "".join(
        f"{number},cj,{7_000_000_000_000 + pk}\n" for pk, number, _ in orders
    )
    actor = Actor.staff(user)
    timings = {}
    try:
        started = time.perf_counter()
        parsed = _call(imports.parse, text)
        timings["parse"] = time.perf_counter() - started
        t = time.perf_counter()
        planned = _call(imports.plan, parsed, actor=actor, user=user)
        timings["plan"] = time.perf_counter() - t
        t = time.perf_counter()
        _call(imports.apply, planned, actor=actor, user=user)
        timings["apply"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - started
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}", "rows": rows}
    with psycopg.connect(url) as conn:
        shipped = conn.execute(
            "SELECT count(DISTINCT f.order_id) FROM fulfillment_fulfillment f "
            "WHERE f.order_id = ANY(%s) AND f.status = 'shipped'",
            [[pk for pk, _, _ in orders]],
        ).fetchone()[0]
    return {
        "rows": rows,
        "orders_shipped": shipped,
        **{f"{k}_seconds": round(v, 2) for k, v in timings.items()},
    }


# ---------------------------------------------------------------------------------------------
# Report


def code_version() -> str:
    """The commit the measured code is at, when it is a git checkout."""
    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    import django

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        # Other work on the machine skews every figure: the 1-minute load when the run ended.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "django": django.get_version(),
    }


def print_report(result: dict) -> None:
    print()
    print(
        f"Benchmark {result['date']} on {result['machine']['cores']} cores, "
        f"{result['orders']:,} orders, PostgreSQL {result['postgres']}, auth: {result['auth']}"
    )
    head = (
        f"{'endpoint':32} {'median':>8} {'p95':>8} {'floor':>8} {'fl.p95':>8} "
        f"{'ratio':>6} {'queries':>8}"
    )
    print(head)
    print("-" * len(head))
    for e in result["reads"]:
        p, f = e["product"], e["floor"]
        queries = f"{_or_dash(p.get('queries'))}/{_or_dash(f.get('queries'))}"
        if "missing" in p:
            print(
                f"{e['title']:32} {'—':>8} {'—':>8} {f.get('median_ms', 0):8.1f} "
                f"{f.get('p95_ms', 0):8.1f} {'':>6} {queries:>8}  {p['missing']}"
            )
            continue
        note = "" if p.get("same_json_as_floor") else "  JSON differs from the floor"
        if e.get("spread", {}).get("runs", 1) > 1:
            note = f"  ratio {e['spread']['min']:.2f}–{e['spread']['max']:.2f}" + note
        print(
            f"{e['title']:32} {p['median_ms']:8.1f} {p['p95_ms']:8.1f} {f['median_ms']:8.1f} "
            f"{f['p95_ms']:8.1f} {e['ratio']:6.2f} {queries:>8}{note}"
        )
    print(
        "(ms; queries = SQL statements reading data per request, product/floor; the product's "
        "session or API-key lookups come on top and are in the JSON)"
    )
    flat = result.get("query_count_flatness")
    if flat:
        print(f"query count vs limit and children: {flat}")
    print()
    for page in result["admin"]:
        if "missing" in page:
            print(f"5. admin {page['page']:24} {page['missing']}")
        else:
            print(
                f"5. admin {page['page']:24} median {page['median_ms']:.1f} ms, "
                f"p95 {page['p95_ms']:.1f} ms, {page['queries']} queries, "
                f"{page['full_table_counts']} full-table COUNT(*){_runs(page)}"
            )
    checkout = result["checkout"]
    if "missing" in checkout:
        print(f"6. checkout: {checkout['missing']}")
    else:
        print(
            f"6. checkout: {checkout['orders_per_second']} orders/s with {checkout['clients']} "
            f"clients, {checkout['requests']} requests, statuses {checkout['statuses']}, "
            f"{checkout['duplicates']} duplicates{_runs(checkout)}"
        )
        floor = checkout.get("floor", {})
        if "orders_per_second" in floor:
            print(
                f"   write floor: {floor['orders_per_second']} orders/s, {floor['requests']} "
                f"requests, statuses {floor['statuses']}, {floor['duplicates']} duplicates"
                f"{_runs(floor)}; product ÷ floor {checkout['ratio_to_floor']}; statements "
                f"product {checkout.get('statements')}, floor {floor.get('statements')}"
                + ("" if floor.get("same_answer_shape", True) else "; ANSWER SHAPE DIFFERS")
            )
    imported = result["tracking_import"]
    if "missing" in imported or "error" in imported:
        print(f"7. tracking import: {imported.get('missing') or imported.get('error')}")
    else:
        print(
            f"7. tracking import: {imported['rows']:,} rows in {imported['total_seconds']} s, "
            f"{imported['orders_shipped']:,} orders shipped{_runs(imported)}"
        )
    if result.get("targets"):
        print("\nTargets (median of the runs; spread: lowest–highest run)")
        print("\n".join(stats.targets_table(result["targets"])))


def _runs(entry: dict) -> str:
    spread = entry.get("spread") or {}
    if spread.get("runs", 1) < 2:
        return ""
    return f" (runs {spread['min']:g}–{spread['max']:g})"


def _or_dash(value) -> str:
    return "—" if value is None else str(value)


def _conn_max_age(settings: dict) -> str:
    age = settings.get("conn_max_age")
    return f" (CONN_MAX_AGE {age})" if age else ""


def _requests(settings: dict) -> str:
    """Requests per endpoint and side, and runs (older results called the requests "repeat")."""
    if "requests" not in settings:
        return f"{settings['repeat']} requests per endpoint and side"
    runs = settings["repeat"]
    return (
        f"{settings['requests']} requests per endpoint and side in each of {runs} "
        f"run{'s' if runs > 1 else ''} (medians of the runs)"
    )


def _auth(product: dict) -> str:
    return f" (+{product['auth_queries']})" if product.get("auth_queries") else ""


def markdown(result: dict) -> str:
    """The results as the Markdown table of bench/README.md."""
    m = result["machine"]
    lines = [
        f"Measured {result['date']}: {result['orders']:,} orders, PostgreSQL "
        f"{result['postgres'].split()[0]}, {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}, Django {m['django']}, "
        f"{result['settings']['workers']} gunicorn sync workers a server"
        f"{_conn_max_age(result['settings'])}, "
        f"{_requests(result['settings'])}, "
        f"load average {m.get('load_average_1m', '?')} at the end. Auth: {result['auth']}. "
        f"Code: {result.get('code', 'unknown')}.",
        "",
        "| endpoint | product median (p95), ms | floor median (p95), ms | ratio | SQL queries, "
        "product (+ auth) / floor |",
        "|---|---|---|---|---|",
    ]
    for e in result["reads"]:
        p, f = e["product"], e["floor"]
        product = p["missing"] if "missing" in p else f"{p['median_ms']:.1f} ({p['p95_ms']:.1f})"
        ratio = f"{e['ratio']:.2f}{_runs(e)}" if "ratio" in e else "—"
        lines.append(
            f"| {e['title']} | {product} | {f['median_ms']:.1f} ({f['p95_ms']:.1f}) | {ratio} "
            f"| {_or_dash(p.get('queries'))}{_auth(p)} / {_or_dash(f.get('queries'))} |"
        )
    flat = result.get("query_count_flatness")
    if flat:
        verdict = {True: "the same", False: "NOT the same", None: "not measured"}[flat["flat"]]
        lines += [
            "",
            f"Data queries of the product with `limit` 10 and 100 (busiest customer, depth 1): "
            f"{flat['limit_10']} and {flat['limit_100']}; for an order with one line and one "
            f"with the most lines (depth 1): {flat.get('order_1_item')} and "
            f"{flat.get('order_most_items')}: {verdict}.",
        ]
    lines += ["", "| measurement | result |", "|---|---|"]
    for page in result["admin"]:
        value = page.get("missing") or (
            f"median {page['median_ms']:.1f} ms, p95 {page['p95_ms']:.1f} ms, "
            f"{page['queries']} queries, {page['full_table_counts']} full-table COUNT(*)"
            f"{_runs(page)}"
        )
        lines.append(f"| 5. admin, {page['page']} | {value} |")
    c = result["checkout"]
    value = c.get("missing") or (
        f"{c['orders_per_second']} orders/s, {c['clients']} clients, {c['requests']} requests, "
        f"{c['errors_5xx']} 5xx, {c['duplicates']} duplicates, "
        f"median {c['latency'].get('median_ms', 0):.0f} ms"
    )
    lines.append(f"| 6. checkout | {value}{_runs(c)} |")
    floor = c.get("floor", {})
    if "orders_per_second" in floor:
        lines.append(
            f"| 6. checkout, write floor (hand-written SQL, same server) | "
            f"{floor['orders_per_second']} orders/s, {floor['errors_5xx']} 5xx, "
            f"{floor['duplicates']} duplicates{_runs(floor)}; product ÷ floor "
            f"**{c['ratio_to_floor']}**; round trips to the database a checkout: product "
            f"{_or_dash(c.get('statements'))}, floor {_or_dash(floor.get('statements'))} |"
        )
    t = result["tracking_import"]
    value = (
        t.get("missing")
        or t.get("error")
        or (
            f"{t['rows']:,} rows in {t['total_seconds']} s (parse {t['parse_seconds']}, plan "
            f"{t['plan_seconds']}, apply {t['apply_seconds']}), "
            f"{t['orders_shipped']:,} orders shipped"
        )
    )
    lines.append(f"| 7. bulk tracking import | {value}{_runs(t)} |")
    if "generation" in result:
        g = result["generation"]["seconds"]
        lines.append(f"| data set built (`--generate`) | {g['total']:.0f} s |")
    found = result.get("targets") or stats.targets(result)  # an older file: judged now
    if found:
        lines += ["", *stats.targets_markdown(found)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The command


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    url = database_url(args.server, args.database)
    result: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": args.code or code_version(),
    }
    if args.generate:
        result["generation"] = generate(
            orders=args.orders, database=args.database, server=args.server
        )
    with psycopg.connect(url) as conn:
        result["orders"] = conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]
        result["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
        samples = pick_samples(conn, rng, args.samples)

    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="shop.settings",
        DATABASE_URL=django_url(url),
        BENCH_DATABASE_URL=django_url(url),
        DEBUG="0",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        LOG_LEVEL="ERROR",
        # Persistent connections, as in production: a connection per worker, kept open.
        CONN_MAX_AGE=str(args.conn_max_age),
    )
    # Events on, as in production: a checkout writes its outbox rows and asks the broker for a
    # relay after its commit (no worker runs meanwhile). Keys under a prefix of this run's.
    broker = redis_broker(args.redis_url)
    if broker:
        env.update(REDIS_URL=broker, CELERY_BROKER_URL=broker,
                   CELERY_KEY_PREFIX=f"bench_{secrets.token_hex(4)}:")  # fmt: skip
    result["events"] = {
        "shop_events": env.get("SHOP_EVENTS", "true"),
        "broker": "redis" if broker else "none: relays run in the request (eager)",
    }
    setup_django(env)

    collect_static()
    password = secrets.token_urlsafe(16)
    user = staff_user(password)
    api_key, auth_note = create_api_key()

    product = floor = None
    # The write floor is served beside the product by the same server (bench.write_floor wraps
    # the product's WSGI application and adds only its own path).
    served = "bench.write_floor:served()" if args.product_app == PRODUCT_APP else args.product_app
    try:
        product = start_gunicorn("product", served, args.port or free_port(), env, args.workers)
        floor = start_gunicorn(
            "floor", "bench.floor:application", args.floor_port or free_port(), env, args.workers
        )
        admin_headers = login_admin(product, password)
        probe = query("/api/orders", [("limit", 1), ("depth", 0)])
        api_headers, count_headers, count_user = None, None, None
        candidates = []
        if api_key:
            candidates.append(({"Authorization": f"Bearer {api_key}"}, auth_note, None))
        if admin_headers:
            candidates.append((admin_headers, "staff session (admin login)", user))
        for headers, note, session_user in candidates:
            if product.get(probe, headers).status == 200:
                api_headers, result["auth"] = headers, note
                count_headers = headers if session_user is None else None
                count_user = session_user
                break
        if api_headers is None:
            result["auth"] = f"none that the API accepts ({auth_note})"
            # Still ask, so a missing API is reported as 404 rather than as "no auth".
            api_headers = candidates[0][0] if candidates else {}
            count_user = user

        profiler = Profiler(args.profile, f"{datetime.now(UTC):%Y-%m-%d-%H%M}")
        skipped = {"missing": "not run (--only)"}
        result.update(reads=[], admin=[], checkout=skipped, tracking_import=skipped)

        repeat = args.repeat
        if "reads" in args.only:
            cutoff = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            runs = []
            for n in range(repeat):
                endpoints = read_endpoints(samples, cutoff)
                print(f"Measuring reads, run {n + 1} of {repeat} ({args.requests} requests per "
                      "endpoint and side)…", flush=True)  # fmt: skip
                with profiler.phase(f"reads-{n + 1}", product.process.pid):
                    measure_reads(endpoints, product, floor, api_headers, args.requests)
                if n == 0:
                    product_query_counts(endpoints, count_headers, count_user)
                    counted = {e.key: e.product for e in endpoints}
                entries = []
                for e in endpoints:
                    for name in ("queries", "auth_queries"):
                        if name in counted[e.key]:
                            e.product[name] = counted[e.key][name]
                    entry = {"key": e.key, "title": e.title, "sample_path": e.paths[0],
                             "product": e.product, "floor": e.floor_result}  # fmt: skip
                    if "median_ms" in e.product and e.floor_result.get("median_ms"):
                        entry["ratio"] = round(
                            e.product["median_ms"] / e.floor_result["median_ms"], 2
                        )
                    entries.append(entry)
                runs.append(entries)
            result["reads"] = stats.combine_reads(runs)
            if any("missing" not in e.product for e in endpoints):
                result["query_count_flatness"] = flatness(samples, count_headers, count_user)
                result["plans"] = record_plans(
                    url,
                    {e.key: e.paths[0] for e in endpoints if "missing" not in e.product},
                    headers=count_headers,
                    user=count_user,
                )

        if "admin" in args.only:
            runs = []
            for n in range(repeat):
                print(f"Measuring the admin pages, run {n + 1} of {repeat}…", flush=True)
                with profiler.phase(f"admin-{n + 1}", product.process.pid):
                    runs.append(
                        measure_admin(
                            product, admin_headers, samples, max(args.requests // 4, 3), user
                        )
                    )
            result["admin"] = stats.combine_admin(runs)

        if "checkout" in args.only:
            runs = []
            with_floor = served != args.product_app
            for n in range(repeat):
                # Side by side: the product and the write floor in turn, who goes first
                # alternating, each with fresh carts.
                sides = ["product", "floor"] if with_floor else ["product"]
                if n % 2:
                    sides.reverse()
                one: dict = {}
                for side in sides:
                    print(f"Measuring checkout, run {n + 1} of {repeat}: {side} "
                          f"({args.clients} clients)…", flush=True)  # fmt: skip
                    with (
                        psycopg.connect(url) as conn,
                        profiler.phase(f"checkout-{side}-{n + 1}", product.process.pid),
                    ):
                        one[side] = measure_checkout(
                            product, api_headers, conn, rng, carts=args.checkout_orders,
                            clients=args.clients, seconds=args.checkout_seconds,
                            path=WRITE_FLOOR_PATH if side == "floor" else "/api/checkout",
                            idempotency_keys=args.idempotency_keys,
                        )  # fmt: skip
                if "answer_shape" in one.get("floor", {}):
                    one["floor"]["same_answer_shape"] = one["floor"]["answer_shape"] == one[
                        "product"
                    ].get("answer_shape")
                runs.append(one)
            result["checkout"] = stats.combine_checkout(runs)
            if "missing" not in result["checkout"]:
                with psycopg.connect(url) as conn:
                    result["checkout"]["statements"] = checkout_statements(conn, rng, api_key)

        if "import" in args.only:
            runs = []
            for n in range(repeat):
                print(f"Measuring the tracking import, run {n + 1} of {repeat} "
                      f"({args.import_rows:,} rows)…", flush=True)  # fmt: skip
                with profiler.phase(f"import-{n + 1}", os.getpid()):  # the import runs here
                    runs.append(measure_import(url, args.import_rows, user))
            result["tracking_import"] = stats.combine_import(runs)
    finally:
        stop(product)
        stop(floor)
        if broker:
            drop_keys(broker, env["CELERY_KEY_PREFIX"])
    result["targets"] = stats.targets(result)
    result["machine"] = machine()
    result["settings"] = {
        "workers": args.workers,
        "conn_max_age": args.conn_max_age,
        "requests": args.requests,
        "repeat": args.repeat,
        "clients": args.clients,
        "idempotency_keys": args.idempotency_keys,
        "served": served,
        "database": args.database,
        "product_app": args.product_app,
        "phases": sorted(args.only),
        # py-spy samples the servers while they are measured: figures a little slower.
        "profiled": args.profile is not None,
    }
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="for --generate")
    parser.add_argument("--generate", action="store_true", help="(re)build the database first")
    parser.add_argument("--database", default="bench")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER),
        help="a database URL on the PostgreSQL server to use (env BENCH_SERVER_URL)",
    )
    parser.add_argument(
        "--requests", type=int, default=100, help="requests per endpoint and side, in each run"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs of each phase on the same build, reported as their median and spread "
        "(default 3; 1 with --quick)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        help="the broker checkout's events ask for relays on (keys under a prefix of the run's, "
        "removed at the end); without one, relays run in the request",
    )
    parser.add_argument(
        "--no-idempotency-keys",
        dest="idempotency_keys",
        action="store_false",
        help="send checkouts without an Idempotency-Key (sent by default, as a retrying client "
        "sends it)",
    )
    parser.add_argument("--samples", type=int, default=25, help="customers and orders asked about")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"gunicorn sync workers per server (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=600,
        help="seconds the product keeps a database connection open (CONN_MAX_AGE, > 0)",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent checkout clients")
    parser.add_argument("--checkout-orders", type=int, default=2000)
    parser.add_argument("--checkout-seconds", type=float, default=60.0)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument(
        "--product-app",
        default=PRODUCT_APP,
        help="the WSGI app measured as the product; bench.floor:application for an A/A check "
        "of the harness itself (every ratio should then be close to 1)",
    )
    parser.add_argument("--port", type=int, default=0, help="product port (default: a free one)")
    parser.add_argument("--floor-port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--code", default="", help="what code is measured (default: the git commit, if any)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument(
        "--only",
        type=lambda value: set(value.split(",")),
        default=set(PHASES),
        help=f"comma-separated phases to run, of {','.join(PHASES)} (default: all)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        nargs="?",
        const=RESULTS / "profiles",
        help="record flame graphs of the product with py-spy (py-spy on PATH, or through uvx) "
        "during each phase, into this folder (default bench/results/profiles)",
    )
    parser.add_argument(
        "--table", type=Path, help="print a saved result file as the README's table, and stop"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 5 samples, 5 requests, 20 checkouts, 100 import rows, one run",
    )
    args = parser.parse_args(argv)
    if args.conn_max_age <= 0:
        parser.error("--conn-max-age must be positive (persistent connections, as in production)")
    if args.table:
        print(markdown(json.loads(args.table.read_text())))
        return {}
    if args.quick:
        args.samples, args.requests, args.checkout_orders, args.import_rows = 5, 5, 20, 100
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{result['date'][:10]}-{result['orders']}"
    if args.product_app != PRODUCT_APP:  # a check of the harness, not a result
        name += "-" + re.sub(r"[^A-Za-z0-9]+", "-", args.product_app.split(":")[0])
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print_report(result)
    print(f"\nRaw figures: {path}\n\nFor bench/README.md:\n\n{markdown(result)}")
    return result


if __name__ == "__main__":
    main()
