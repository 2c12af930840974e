"""A short load test: gunicorn on loopback over a throw-away PostgreSQL database, driven by client
threads in this process with a mix of reads, cart checkouts and order transitions, bounded by
time and by a request count. It prints the figures, then checks the bookkeeping on the final
database, and exits non-zero on any 5xx, lost request or broken invariant.

    uv run python -m tests.reliability.loadtest --seconds 120

The database server is the one ``DATABASE_URL`` names (default postgres://postgres@127.0.0.1:5432);
a database named ``shop_load_<random>`` is created there, migrated, and dropped at the end
(``--keep`` leaves it). Clients use a staff session (a cookie, CSRF token included), as the admin
does, so no request pays for a password check.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import qs_codec

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "load test password"
ADDRESS = {
    "recipientName": "Load Test",
    "phone": "010-0000-0000",
    "postalCode": "06123",
    "address1": "1 Loopback-ro",
}
OK_REFUSALS = {400, 404, 409, 422}  # a rule said no (stock, state, a duplicate): expected


# ---------------------------------------------------------------------------------------------
# The throw-away database and the server


def server_url(database: str) -> str:
    """``DATABASE_URL`` (or the local default) with its database name replaced."""
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    if not base.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The load test needs PostgreSQL: set DATABASE_URL=postgres://…")
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", "", ""))


def admin_sql(statement: str) -> None:
    import psycopg

    url = server_url("postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "shop.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--timeout=60",
        "--log-level=warning",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited at start:\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


# ---------------------------------------------------------------------------------------------
# The shop to load


@dataclass
class Shop:
    customers: list[int]
    lines: list[dict]  # cart line bodies: product, variant?, option?
    initial_stock: dict[tuple[str, int], int]
    session: str
    csrf: str


def seed(size: int) -> Shop:
    """Customers, a catalog (tracked stock on most units, some of it scarce), a staff session."""
    from django.contrib.auth import get_user_model
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    from shop.models import Customer, Option, Product, Variant

    rng = random.Random(7)
    customers = [
        Customer.objects.create(name=f"Load {i}", email=f"load{i}@example.com").pk
        for i in range(size)
    ]
    lines: list[dict] = []
    stock: dict[tuple[str, int], int] = {}
    for p in range(size):
        product = Product.objects.create(title=f"Product {p}", sku=f"LP-{p}", price=1000 * (p + 1))
        if p % 3 == 0:  # stock kept on the product itself
            Product.objects.filter(pk=product.pk).update(stock=rng.choice([5, 500, 5000, 5000]))
            lines.append({"product": product.pk})
            continue
        for v in range(2):
            variant = Variant.objects.create(product=product, title=f"V{v}", sku=f"LP-{p}-{v}")
            for o in range(2):
                option = Option.objects.create(
                    variant=variant,
                    title=f"O{o}",
                    sku=f"LP-{p}-{v}-{o}",
                    stock=rng.choice([3, 300, 300, 3000, 3000, 3000, None, None]),
                )
                lines.append({"product": product.pk, "variant": variant.pk, "option": option.pk})
    for model in (Product, Variant, Option):
        for pk, value in model.objects.filter(stock__isnull=False).values_list("pk", "stock"):
            stock[(model.__name__, pk)] = value
    user = get_user_model().objects.create_superuser("load", "load@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    return Shop(customers, lines, stock, client.cookies["sessionid"].value, _get_new_csrf_string())


# ---------------------------------------------------------------------------------------------
# Clients


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    refusals: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    total: int = 0

    def record(self, kind: str, method: str, path: str, status: int, seconds: float, body):
        with self.lock:
            self.total += 1
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            if status in OK_REFUSALS and isinstance(body, dict) and body.get("errors"):
                reason = str(body["errors"][0].get("message", ""))
                self.refusals[(status, reason_of(reason))] += 1
            if status >= 500:
                self.server_errors.append(f"{status} {method} {path}: {str(body)[:200]}")
            elif status not in OK_REFUSALS and not 200 <= status < 300:
                self.unexpected.append(f"{status} {method} {path}: {str(body)[:200]}")


def reason_of(message: str) -> str:
    """A refusal's message without its numbers and names, to count refusals by kind."""
    words = [w for w in message.split() if not any(c.isdigit() for c in w)]
    return " ".join(words)[:70]


class Stop(Exception):
    """The time or request budget is spent."""


class Client:
    def __init__(self, port: int, shop: Shop, stats: Stats, budget, rng: random.Random):
        self.port = port
        self.shop = shop
        self.stats = stats
        self.budget = budget
        self.rng = rng
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {
            "Cookie": f"sessionid={shop.session}; csrftoken={shop.csrf}",
            "X-CSRFToken": shop.csrf,
            "Accept": "application/json",
        }

    def call(self, kind: str, method: str, path: str, body=None, **headers):
        if not self.budget():
            raise Stop
        data = json.dumps(body).encode() if body is not None else None
        sent = {**self.headers, **headers}
        if data is not None:
            sent["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=data, headers=sent)
                response = self.connection.getresponse()
                content = response.read()
                break
            except (http.client.HTTPException, OSError):
                # gunicorn's sync workers close the connection after each answer.
                self.connection.close()
                if attempt:
                    raise
        seconds = time.perf_counter() - started
        answer = json.loads(content) if content else None
        self.stats.record(kind, method, path, response.status, seconds, answer)
        return response.status, answer

    # Reads

    def read(self, orders: list[int]) -> None:
        rng = self.rng
        choice = rng.randrange(6)
        if choice == 0:
            query = {
                "where": {"status": {"in": rng.sample(["pending", "paid", "preparing"], 2)}},
                "sort": "-createdAt",
                "limit": str(rng.choice([5, 10, 50])),
                "depth": str(rng.randrange(3)),
            }
            self.call("read", "GET", "/api/orders?" + qs_codec.encode(query))
        elif choice == 1 and orders:
            self.call("read", "GET", f"/api/orders/{rng.choice(orders)}?depth={rng.randrange(3)}")
        elif choice == 2:
            query = {
                "where": {"or": [{"status": {"equals": "shipped"}}, {"carrier": {"like": "cj"}}]},
                "sort": "-updatedAt,id",
                "depth": "1",
            }
            self.call("read", "GET", "/api/fulfillments?" + qs_codec.encode(query))
        elif choice == 3:
            where = {"totalAmount": {"greater_than": str(rng.randrange(50000))}}
            self.call("read", "GET", "/api/orders/count?" + qs_codec.encode({"where": where}))
        elif choice == 4:
            self.call("read", "GET", f"/api/products?depth=2&limit=20&page={rng.randrange(1, 3)}")
        elif orders:
            self.call("read", "GET", f"/api/orders/{rng.choice(orders)}/timeline")

    # Checkouts

    def checkout(self, orders: list[int], lock: threading.Lock) -> None:
        rng = self.rng
        status, answer = self.call(
            "cart", "POST", "/api/carts", {"customer": rng.choice(self.shop.customers)}
        )
        if status != 201:
            return
        cart = answer["doc"]["id"]
        for line in rng.sample(self.shop.lines, rng.randrange(1, 3)):
            self.call(
                "cart",
                "POST",
                "/api/cart-items",
                {"cart": cart, **line, "quantity": rng.randrange(1, 3)},
            )
        body = {"cartId": cart, "shippingAddress": ADDRESS}
        if rng.random() < 0.5:  # paid at checkout
            body["paymentId"] = f"pay_{uuid.uuid4().hex}"
        key = {"Idempotency-Key": uuid.uuid4().hex}
        status, answer = self.call("checkout", "POST", "/api/checkout", body, **key)
        if status == 201:
            with lock:
                orders.append(answer["doc"]["id"])
        roll = rng.random()
        if roll < 0.15:  # a retry with the key: the first answer again, nothing done twice
            again, replay = self.call("checkout", "POST", "/api/checkout", body, **key)
            if (again, replay) != (status, answer):
                with self.stats.lock:
                    self.stats.unexpected.append(f"replay differs: {status} → {again}")
        elif roll < 0.25:  # a double click without a key: the cart's own rule answers
            self.call("checkout", "POST", "/api/checkout", body)

    # Transitions

    def transition(self, orders: list[int]) -> None:
        rng = self.rng
        if not orders:
            return
        pk = rng.choice(orders)
        status, order = self.call("read", "GET", f"/api/orders/{pk}?depth=1")
        if status != 200:
            return
        state = order["status"]
        parcels = order["fulfillments"]["docs"]
        returns = order["returns"]["docs"]
        items = order["items"]["docs"]
        move = "transition"
        if state == "pending":
            if rng.random() < 0.1:
                self.call(move, "PATCH", f"/api/orders/{pk}", {"status": "canceled"})
            else:
                payment = {"order": pk, "paymentId": f"pay_{uuid.uuid4().hex}"}
                self.call(move, "POST", "/api/transactions", payment)
                if rng.random() < 0.2:  # the provider calls back twice
                    self.call(move, "POST", "/api/transactions", payment)
        elif state in ("paid", "preparing"):
            waiting = [p for p in parcels if p["status"] in ("pending", "packed")]
            if waiting and rng.random() < 0.7:
                parcel = rng.choice(waiting)
                tracking = {"status": "shipped", "carrier": "cj", "trackingNumber": f"64{pk:010d}"}
                self.call(move, "PATCH", f"/api/fulfillments/{parcel['id']}", tracking)
            elif rng.random() < 0.05:
                self.call(move, "PATCH", f"/api/orders/{pk}", {"status": "canceled"})
            else:
                line = rng.choice(items)
                wanted = {"orderItem": line["id"], "quantity": rng.randrange(1, 3)}
                body = {"order": pk} if rng.random() < 0.6 else {"order": pk, "items": [wanted]}
                self.call(move, "POST", "/api/fulfillments", body)
        elif state == "shipped":
            for parcel in parcels:
                if parcel["status"] == "shipped":
                    body = {"status": "delivered"}
                    self.call(move, "PATCH", f"/api/fulfillments/{parcel['id']}", body)
                    break
        elif state == "delivered":
            if rng.random() < 0.3:
                self.call(move, "PATCH", f"/api/orders/{pk}", {"status": "confirmed"})
            else:
                line = rng.choice(items)
                body = {
                    "order": pk,
                    "reason": "defective",
                    "items": [{"orderItem": line["id"], "quantity": 1}],
                }
                self.call(move, "POST", "/api/returns", body)
        elif state in ("return_requested", "return_processing"):
            for request in returns:
                step = {
                    "requested": "approved",
                    "approved": "processing",
                    "processing": "completed",
                }
                target = step.get(request["status"])
                if target:
                    body = {"status": target}
                    if target == "approved" and rng.random() < 0.2:
                        body = {"status": "rejected", "rejectionReason": "not eligible"}
                    self.call(move, "PATCH", f"/api/returns/{request['id']}", body)
                    break

    def run(self, orders: list[int], lock: threading.Lock) -> None:
        try:
            while True:
                roll = self.rng.random()
                if roll < 0.45:
                    self.read(orders)
                elif roll < 0.7:
                    self.checkout(orders, lock)
                else:
                    self.transition(orders)
        except Stop:
            pass
        finally:
            self.connection.close()


# ---------------------------------------------------------------------------------------------
# Invariants on the final database


def broken_invariants(shop: Shop) -> list[str]:
    """The bookkeeping rules, checked over every order, payment and stock unit."""
    from django.db.models import Sum

    from orders.models import Order, OrderItem, OrderStatus
    from orders.selectors import order_money
    from returns.models import RequestStatus, ReturnItem
    from returns.selectors import item_quantities
    from shop.models import Option, Product, Variant
    from shop.stock import stock_unit

    broken: list[str] = []
    paid_states = {
        OrderStatus.PAID,
        OrderStatus.PREPARING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CONFIRMED,
        OrderStatus.RETURN_REQUESTED,
        OrderStatus.RETURN_PROCESSING,
        OrderStatus.RETURNED,
    }
    for order in Order.objects.all().iterator():
        name = f"order {order.pk} ({order.status})"
        quantities = item_quantities(order).values()
        money = order_money(order)
        for q in quantities:
            if not q.allocated <= q.ordered:
                broken.append(f"{name}: {q.allocated} units in parcels of {q.ordered} ordered")
            if not q.delivered <= q.shipped <= q.allocated:
                broken.append(f"{name}: delivered {q.delivered} > shipped {q.shipped}")
            if not q.returned <= q.claimed <= q.delivered:
                broken.append(f"{name}: returned {q.returned} / asked {q.claimed} > delivered")
        if not 0 <= money.refunded <= money.paid:
            broken.append(f"{name}: refunded {money.refunded} of {money.paid} paid")
        if order.status in paid_states and money.paid < order.total_amount:
            broken.append(f"{name}: paid {money.paid} of {order.total_amount}")
        if order.status in (OrderStatus.PENDING, OrderStatus.FAILED) and money.paid:
            broken.append(f"{name}: {money.paid} paid but the order is not")
        shipped_all = all(q.shipped >= q.ordered for q in quantities)
        delivered_all = all(q.delivered >= q.ordered for q in quantities)
        if order.status == OrderStatus.SHIPPED and not (shipped_all and not delivered_all):
            broken.append(f"{name}: not every unit shipped, or every unit delivered")
        if order.status in (OrderStatus.DELIVERED, OrderStatus.CONFIRMED) and not delivered_all:
            broken.append(f"{name}: not every unit delivered")
        waiting = order.status in (OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.PAID)
        if waiting and any(q.allocated for q in quantities):
            broken.append(f"{name}: has parcels")
        if order.status == OrderStatus.CANCELED and (
            any(q.shipped for q in quantities) or money.paid
        ):
            broken.append(f"{name}: canceled with shipped units or money kept")

    # Stock: what was there, less what live orders took, plus what completed returns put back.
    expected = dict(shop.initial_stock)
    taken = (
        OrderItem.objects.exclude(order__status=OrderStatus.CANCELED)
        .values("product_id", "variant_id", "option_id")
        .annotate(units=Sum("quantity"))
    )
    for row in taken:
        unit = stock_unit(**row_ids(row))
        key = (unit[0].__name__, unit[1])
        if key in expected:
            expected[key] -= row["units"]
    restocked = (
        ReturnItem.objects.filter(return_request__status=RequestStatus.COMPLETED)
        .values("order_item__product_id", "order_item__variant_id", "order_item__option_id")
        .annotate(units=Sum("restock_quantity"))
    )
    for row in restocked:
        unit = stock_unit(
            product_id=row["order_item__product_id"],
            variant_id=row["order_item__variant_id"],
            option_id=row["order_item__option_id"],
        )
        key = (unit[0].__name__, unit[1])
        if key in expected:
            expected[key] += row["units"]
    for model in (Product, Variant, Option):
        for pk, value in model.objects.filter(stock__isnull=False).values_list("pk", "stock"):
            if value < 0:
                broken.append(f"{model.__name__} {pk}: stock {value}")
            if expected.get((model.__name__, pk)) != value:
                wanted = expected.get((model.__name__, pk))
                broken.append(f"{model.__name__} {pk}: stock {value}, bookkeeping says {wanted}")
    return broken


def row_ids(row: dict) -> dict:
    return {
        "product_id": row["product_id"],
        "variant_id": row["variant_id"],
        "option_id": row["option_id"],
    }


# ---------------------------------------------------------------------------------------------
# Figures


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def report(stats: Stats, seconds: float, args, shop_size: int) -> None:
    print(
        f"\nLoad test: {args.clients} client threads, gunicorn {args.workers} sync workers, "
        f"{seconds:.1f} s, catalog of {shop_size} products"
    )
    print(f"requests: {stats.total} ({stats.total / seconds:.1f}/s)")
    print(f"{'kind':<11}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}  statuses")
    for kind in sorted(stats.latencies):
        values = stats.latencies[kind]
        codes = ", ".join(f"{code}×{n}" for code, n in sorted(stats.statuses[kind].items()))
        print(
            f"{kind:<11}{len(values):>9}{percentile(values, 0.5) * 1000:>9.1f}"
            f"{percentile(values, 0.95) * 1000:>9.1f}  {codes}"
        )
    print("most frequent refusals (expected: stock, states, duplicates):")
    for (status, reason), count in stats.refusals.most_common(6):
        print(f"  {count:>6} × {status} {reason}")
    print(f"5xx: {len(stats.server_errors)}")
    for line in stats.server_errors[:20]:
        print(f"  {line}")
    print(f"unexpected answers: {len(stats.unexpected)}")
    for line in stats.unexpected[:20]:
        print(f"  {line}")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="stop after this long")
    parser.add_argument("--max-requests", type=int, default=200_000, help="…or this many")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (2–4)")
    parser.add_argument("--size", type=int, default=12, help="products and customers to seed")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the clients")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    database = f"shop_load_{secrets.token_hex(4)}"
    url = server_url(database)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")})
    os.environ.update({k: env[k] for k in ("DEBUG", "ALLOWED_HOSTS", "LOG_LEVEL")})
    sys.path.insert(0, str(ROOT))
    import django

    admin_sql(f'CREATE DATABASE "{database}"')
    server = None
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"{database}-gunicorn.log"
    try:
        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        shop = seed(args.size)
        connections.close_all()
        port = free_port()
        server = start_gunicorn(env, port, args.workers, log)

        stats = Stats()
        started = time.monotonic()
        deadline = started + args.seconds

        def budget() -> bool:
            return time.monotonic() < deadline and stats.total < args.max_requests

        orders: list[int] = []
        lock = threading.Lock()
        master = random.Random(args.seed)
        clients = [
            Client(port, shop, stats, budget, random.Random(master.random()))
            for _ in range(args.clients)
        ]
        threads = [threading.Thread(target=c.run, args=(orders, lock)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started

        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        report(stats, elapsed, args, args.size)
        broken = broken_invariants(shop)
        from orders.models import Order

        print(f"orders: {Order.objects.count()}; invariants: {'ok' if not broken else 'BROKEN'}")
        for line in broken[:30]:
            print(f"  {line}")
        tracebacks = log.read_text(errors="replace").count("Traceback")
        if tracebacks:
            print(f"gunicorn logged {tracebacks} traceback(s): {log}")
        failed = stats.server_errors or stats.unexpected or broken or tracebacks
        if not failed and not args.keep:
            log.unlink(missing_ok=True)  # kept when something went wrong, for its tracebacks
        return 1 if failed else 0
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
