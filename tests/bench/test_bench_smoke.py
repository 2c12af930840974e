"""The benchmark's smoke: a small data set obeys the domain's rules, the floor answers the seeds'
queries in the API's shape, and the whole harness runs end to end without crashing."""

import json
import os
import re
import subprocess
import sys
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from bench import flat, floor
from bench.generate import append_orders, database_url, drop_database, generate

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.bench]

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 1000
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENVELOPE = {
    "docs",
    "totalDocs",
    "limit",
    "totalPages",
    "page",
    "pagingCounter",
    "hasPrevPage",
    "hasNextPage",
    "prevPage",
    "nextPage",
}
SHIPPED_OR_LATER = (
    "shipped",
    "delivered",
    "confirmed",
    "return_requested",
    "return_processing",
    "returned",
)
DELIVERED_FAMILY = ("delivered", "confirmed", "return_requested", "return_processing", "returned")


def server_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/postgres"


def side_database(purpose: str) -> str:
    """A database name of this run and this worker only: module fixtures run before the test
    database exists, and two workers (or two runs on one server) must never build the same."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"shop_{os.environ['SHOP_TEST_RUN']}_{worker}_{purpose}"


@pytest.fixture(scope="module")
def bench_db():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    name = side_database("benchsmoke")
    server = server_url()
    info = generate(orders=ORDERS, database=name, server=server, log=lambda *_: None)
    try:
        yield database_url(server, name), info, name
    finally:
        drop_database(server, name)


@pytest.fixture(scope="module")
def data(bench_db):
    with psycopg.connect(bench_db[0], autocommit=True) as conn:
        yield conn


def one(conn, sql, params=None):
    return conn.execute(sql, params or []).fetchone()[0]


def test_counts_and_proportions(data, bench_db):
    assert one(data, "SELECT count(*) FROM orders_order") == ORDERS
    assert one(data, "SELECT count(*) FROM shop_customer") == ORDERS // 10
    assert bench_db[1]["rows"]["orders_order"] == ORDERS
    items = one(data, "SELECT count(*) FROM orders_orderitem")
    assert 2.3 <= items / ORDERS <= 2.7
    assert (
        one(
            data,
            "SELECT count(*) FROM orders_order o WHERE NOT EXISTS "
            "(SELECT 1 FROM orders_orderitem i WHERE i.order_id = o.id)",
        )
        == 0
    )
    # Most orders of a two-year-old shop are done; every stage still has some.
    statuses = dict(data.execute("SELECT status, count(*) FROM orders_order GROUP BY 1").fetchall())
    assert statuses["confirmed"] > ORDERS * 0.7
    assert {"canceled", "failed", "returned"} <= set(statuses)
    assert one(data, "SELECT count(*) FROM fulfillment_fulfillment") > ORDERS * 0.8
    assert one(data, "SELECT count(*) FROM orders_transaction") >= ORDERS * 0.9
    assert 0 < one(data, "SELECT count(*) FROM returns_return") < ORDERS * 0.15


def test_money_adds_up(data):
    wrong_lines = "SELECT count(*) FROM orders_orderitem WHERE total_price <> unit_price * quantity"
    assert one(data, wrong_lines) == 0
    assert (
        one(
            data,
            """
        SELECT count(*) FROM orders_order o
        WHERE o.subtotal_amount <> (SELECT sum(total_price) FROM orders_orderitem i
                                    WHERE i.order_id = o.id)
           OR o.total_amount <> o.subtotal_amount + o.shipping_amount - o.discount_amount
    """,
        )
        == 0
    )


def test_payments_match_the_order_status(data):
    # Orders past payment have one paid payment for their total; the others have none.
    assert (
        one(
            data,
            """
        SELECT count(*) FROM orders_order o
        WHERE o.status NOT IN ('pending', 'failed', 'canceled') AND o.total_amount > 0
          AND (SELECT count(*) FROM orders_transaction t WHERE t.order_id = o.id
               AND t.kind = 'payment' AND t.status = 'paid' AND t.amount = o.total_amount) <> 1
    """,
        )
        == 0
    )
    assert (
        one(
            data,
            """
        SELECT count(*) FROM orders_transaction t JOIN orders_order o ON o.id = t.order_id
        WHERE o.status IN ('pending', 'failed', 'canceled') AND t.status = 'paid'
    """,
        )
        == 0
    )
    # Refunds never exceed what was paid.
    assert (
        one(
            data,
            """
        SELECT count(*) FROM orders_order o
        WHERE (SELECT coalesce(sum(amount), 0) FROM orders_transaction t WHERE t.order_id = o.id
               AND t.kind = 'refund' AND t.status = 'paid')
            > (SELECT coalesce(sum(amount), 0) FROM orders_transaction t WHERE t.order_id = o.id
               AND t.kind = 'payment' AND t.status = 'paid')
    """,
        )
        == 0
    )


def test_carts_checked_out_once_into_their_orders(data):
    # Most orders come from a cart, each cart makes at most one order (the database says so too).
    assert 0.5 < one(data, "SELECT count(cart_id) FROM orders_order") / ORDERS < 0.7
    assert one(data, "SELECT count(*) FROM shop_cart c WHERE NOT EXISTS "
                     "(SELECT 1 FROM orders_order o WHERE o.cart_id = c.id)") == 0  # fmt: skip
    # The cart was the buyer's, was checked out, and held exactly the order's lines.
    assert one(data, """
        SELECT count(*) FROM orders_order o JOIN shop_cart c ON c.id = o.cart_id
        WHERE c.customer_id IS DISTINCT FROM o.customer_id OR c.checked_out_at IS NULL
           OR c.created_at > o.created_at
    """) == 0  # fmt: skip
    lines = "SELECT {owner}, product_id, variant_id, option_id, quantity FROM {table}"
    order_lines = lines.format(
        owner="o.cart_id",
        table="orders_orderitem i JOIN orders_order o ON o.id = i.order_id "
        "WHERE o.cart_id IS NOT NULL",
    )
    cart_lines = lines.format(owner="cart_id", table="shop_cartitem")
    assert one(data, f"SELECT count(*) FROM (({order_lines}) EXCEPT ALL ({cart_lines})) d") == 0
    assert one(data, f"SELECT count(*) FROM (({cart_lines}) EXCEPT ALL ({order_lines})) d") == 0


def test_unique_order_numbers_and_payment_ids(data):
    assert one(data, "SELECT count(DISTINCT order_number) FROM orders_order") == ORDERS
    assert (
        one(data, "SELECT count(payment_id) - count(DISTINCT payment_id) FROM orders_transaction")
        == 0
    )


UNITS = """
    SELECT i.order_id, i.id, i.quantity AS ordered,
      coalesce(sum(fi.quantity), 0) AS allocated,
      coalesce(sum(fi.quantity) FILTER (WHERE f.status IN ('shipped', 'delivered')), 0) AS shipped,
      coalesce(sum(fi.quantity) FILTER (WHERE f.status = 'delivered'), 0) AS delivered
    FROM orders_orderitem i
    LEFT JOIN fulfillment_fulfillmentitem fi ON fi.order_item_id = i.id
    LEFT JOIN fulfillment_fulfillment f ON f.id = fi.fulfillment_id
    GROUP BY i.id
"""


def test_parcels_match_the_order_status(data):
    assert one(data, f"SELECT count(*) FROM ({UNITS}) u WHERE allocated > ordered") == 0
    # Shipped and later: every unit is in a shipped or delivered parcel.
    assert (
        one(
            data,
            f"""
        SELECT count(*) FROM ({UNITS}) u JOIN orders_order o ON o.id = u.order_id
        WHERE o.status = ANY(%s) AND u.shipped < u.ordered
    """,
            [list(SHIPPED_OR_LATER)],
        )
        == 0
    )
    # Delivered and later: every unit delivered. Shipped: not every unit yet.
    assert (
        one(
            data,
            f"""
        SELECT count(*) FROM ({UNITS}) u JOIN orders_order o ON o.id = u.order_id
        WHERE o.status = ANY(%s) AND u.delivered < u.ordered
    """,
            [list(DELIVERED_FAMILY)],
        )
        == 0
    )
    assert (
        one(
            data,
            """
        SELECT count(*) FROM orders_order o WHERE o.status = 'shipped' AND NOT EXISTS (
          SELECT 1 FROM fulfillment_fulfillment f WHERE f.order_id = o.id AND f.status = 'shipped')
    """,
        )
        == 0
    )
    # Before shipping: no parcel has left; before preparing: no parcel at all.
    assert (
        one(
            data,
            """
        SELECT count(*) FROM fulfillment_fulfillment f JOIN orders_order o ON o.id = f.order_id
        WHERE (o.status = 'preparing' AND f.status NOT IN ('pending', 'packed'))
           OR o.status IN ('pending', 'failed', 'paid', 'canceled')
    """,
        )
        == 0
    )
    # A shipped parcel has a tracking number and a shipping time.
    assert (
        one(
            data,
            """
        SELECT count(*) FROM fulfillment_fulfillment
        WHERE status IN ('shipped', 'delivered') AND (tracking_number = '' OR shipped_at IS NULL)
    """,
        )
        == 0
    )


def test_returns_only_of_delivered_units(data):
    assert (
        one(
            data,
            f"""
        SELECT count(*) FROM (
          SELECT ri.order_item_id, sum(ri.quantity) AS asked FROM returns_returnitem ri
          JOIN returns_return r ON r.id = ri.return_id WHERE r.status <> 'rejected'
          GROUP BY ri.order_item_id) claimed
        JOIN ({UNITS}) u ON u.id = claimed.order_item_id
        WHERE claimed.asked > u.delivered
    """,
        )
        == 0
    )
    assert (
        one(
            data,
            """
        SELECT count(*) FROM returns_return r JOIN orders_order o ON o.id = r.order_id
        WHERE NOT o.status = ANY(%s)
    """,
            [list(DELIVERED_FAMILY)],
        )
        == 0
    )
    # The order's after-sales status follows its return.
    for status, expected in [("return_requested", "requested"), ("returned", "completed")]:
        assert (
            one(
                data,
                """
            SELECT count(*) FROM orders_order o WHERE o.status = %s AND NOT EXISTS (
              SELECT 1 FROM returns_return r WHERE r.order_id = o.id AND r.status = %s)
        """,
                [status, expected],
            )
            == 0
        )
    # A returned order got every unit back; a completed return with money has its refund.
    assert (
        one(
            data,
            """
        SELECT count(*) FROM orders_orderitem i JOIN orders_order o ON o.id = i.order_id
        WHERE o.status = 'returned' AND i.quantity > (
          SELECT coalesce(sum(ri.quantity), 0) FROM returns_returnitem ri
          JOIN returns_return r ON r.id = ri.return_id
          WHERE ri.order_item_id = i.id AND r.status = 'completed')
    """,
        )
        == 0
    )
    assert (
        one(
            data,
            """
        SELECT count(*) FROM returns_return r LEFT JOIN orders_transaction t
          ON t.id = r.refund_transaction_id
        WHERE r.status = 'completed' AND r.refund_amount > 0
          AND (t.id IS NULL OR t.kind <> 'refund' OR t.amount <> r.refund_amount)
    """,
        )
        == 0
    )


@pytest.mark.django_db
def test_every_index_and_constraint_of_the_migrations_is_there(data):
    """The loader drops foreign keys and indexes to load fast; all of them must come back."""
    catalog = """
        SELECT conrelid::regclass::text || ' ' || conname FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace
        UNION ALL
        SELECT tablename || ' ' || indexname FROM pg_indexes WHERE schemaname = 'public'
    """
    generated = {row[0] for row in data.execute(catalog)}
    with connection.cursor() as cursor:  # the test database, built by the migrations
        cursor.execute(catalog)
        migrated = {row[0] for row in cursor.fetchall()}
    assert generated == migrated


def test_sequences_are_past_the_generated_rows(data, bench_db):
    for table in (
        "orders_order",
        "orders_orderitem",
        "orders_transaction",
        "fulfillment_fulfillment",
        "returns_return",
    ):
        assert one(
            data,
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) > "
            f"(SELECT max(id) FROM {table})",
        )
    assert one(data, "SELECT nextval('orders_order_number_seq')") > ORDERS


def test_appended_orders_follow_the_rules(bench_db):
    url = bench_db[0]
    added = append_orders(url, 20, status="paid")
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [pk for pk, _, _ in added]
        assert (
            one(
                conn,
                "SELECT count(*) FROM orders_order WHERE id = ANY(%s) AND status = 'paid'",
                [ids],
            )
            == 20
        )
        assert one(conn, "SELECT count(DISTINCT order_number) FROM orders_order") == one(
            conn, "SELECT count(*) FROM orders_order"
        )
        assert (
            one(
                conn,
                """SELECT count(*) FROM orders_transaction t JOIN orders_order o
                            ON o.id = t.order_id WHERE o.id = ANY(%s) AND t.status = 'paid'
                            AND t.amount = o.total_amount""",
                [ids],
            )
            == 20
        )
        # Django can still insert after them.
        assert one(conn, "SELECT nextval(pg_get_serial_sequence('orders_order', 'id'))") > max(ids)


# ---------------------------------------------------------------------------------------------
# The floor


@pytest.fixture
def ask(bench_db, monkeypatch):
    monkeypatch.setenv("BENCH_DATABASE_URL", bench_db[0])
    monkeypatch.setattr(floor, "_connection", None)

    def ask(path: str, params: list | None = None):
        captured = {}

        def start_response(status, headers):
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(headers)

        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": urlencode(params or []),
            "wsgi.input": BytesIO(),
        }
        body = b"".join(floor.application(environ, start_response))
        return captured["status"], json.loads(body), int(captured["headers"]["X-Query-Count"])

    yield ask
    if floor._connection is not None:
        floor._connection[1].close()


def busy_customer(data) -> int:
    return one(
        data,
        "SELECT customer_id FROM orders_order WHERE customer_id IS NOT NULL "
        "GROUP BY 1 HAVING count(*) > 12 ORDER BY 1 LIMIT 1",
    )


def test_floor_my_orders_depth_0(ask, data):
    customer = busy_customer(data)
    status, body, queries = ask(
        "/api/orders",
        [
            ("where[customer][equals]", customer),
            ("sort", "-createdAt"),
            ("limit", 10),
            ("depth", 0),
        ],
    )
    assert status == 200
    assert set(body) == ENVELOPE
    total = one(data, "SELECT count(*) FROM orders_order WHERE customer_id = %s", [customer])
    assert body["totalDocs"] == total
    assert body["totalPages"] == -(-total // 10)
    assert (body["page"], body["pagingCounter"], body["hasNextPage"], body["nextPage"]) == (
        1,
        1,
        True,
        2,
    )
    assert (body["hasPrevPage"], body["prevPage"]) == (False, None)
    expected = [
        r[0]
        for r in data.execute(
            "SELECT id FROM orders_order WHERE customer_id = %s "
            "ORDER BY created_at DESC, id DESC LIMIT 10",
            [customer],
        )
    ]
    assert [doc["id"] for doc in body["docs"]] == expected
    doc = body["docs"][0]
    assert doc["customer"] == customer
    assert set(doc["customerSnapshot"]) == {"name", "email", "phone"}
    assert set(doc["shippingAddress"]) == {
        "recipientName",
        "phone",
        "postalCode",
        "address1",
        "address2",
    }
    assert ISO_UTC.match(doc["createdAt"]) and ISO_UTC.match(doc["updatedAt"])
    # Joins as ids at depth 0, as the product answers them.
    items = [
        r[0]
        for r in data.execute(
            "SELECT id FROM orders_orderitem WHERE order_id = %s ORDER BY id", [doc["id"]]
        )
    ]
    assert doc["items"] == {"docs": items, "hasNextPage": False}
    assert set(doc) >= {"transactions", "fulfillments", "returns", "exchanges"}
    assert all(isinstance(pk, int) for pk in doc["transactions"]["docs"])
    assert queries == 3  # a full page: the page, the count and every join's ids


def test_floor_does_not_count_when_the_page_says_it_all(ask, data):
    customer = one(
        data,
        "SELECT customer_id FROM orders_order WHERE customer_id IS NOT NULL "
        "GROUP BY 1 HAVING count(*) BETWEEN 2 AND 9 ORDER BY 1 LIMIT 1",
    )
    params = [("where[customer][equals]", customer), ("limit", 10), ("depth", 0)]
    status, body, queries = ask("/api/orders", params)
    total = one(data, "SELECT count(*) FROM orders_order WHERE customer_id = %s", [customer])
    assert status == 200 and queries == 2  # the page and its joins' ids: no count
    assert body["totalDocs"] == len(body["docs"]) == total
    assert (body["totalPages"], body["hasNextPage"]) == (1, False)
    # Past the end: nothing on the page, so the total must be counted.
    status, body, queries = ask("/api/orders", [*params, ("page", 3)])
    assert (status, body["docs"], body["totalDocs"], queries) == (200, [], total, 2)
    assert (body["hasPrevPage"], body["prevPage"], body["hasNextPage"]) == (True, 2, False)


def test_floor_my_orders_depth_1_populates_and_joins(ask, data):
    customer = busy_customer(data)
    params = [("where[customer][equals]", customer), ("sort", "-createdAt"), ("depth", 1)]
    status, body, queries = ask("/api/orders", [*params, ("limit", 10)])
    assert status == 200
    for doc in body["docs"]:
        assert doc["customer"]["id"] == customer
        assert doc["customer"]["email"] == f"customer{customer}@example.com"
        assert doc["cart"] is None or doc["cart"]["customer"] == customer
        for join in ("items", "transactions", "fulfillments", "returns", "exchanges"):
            assert set(doc[join]) == {"docs", "hasNextPage"}
        items = doc["items"]["docs"]
        assert sum(item["totalPrice"] for item in items) == doc["subtotalAmount"]
        assert all(item["order"] == doc["id"] for item in items)
        assert len(items) == one(
            data, "SELECT count(*) FROM orders_orderitem WHERE order_id = %s", [doc["id"]]
        )
    # One query per relation level, whatever the limit.
    _, _, queries_50 = ask("/api/orders", [*params, ("limit", 50)])
    # Count and page, customers and carts, five joins.
    assert queries == queries_50 == 9


def test_floor_order_by_id_and_its_children(ask, data):
    order = one(data, "SELECT order_id FROM returns_return ORDER BY id LIMIT 1")
    status, doc, _ = ask(f"/api/orders/{order}", [("depth", 1)])
    assert status == 200 and doc["id"] == order
    assert [r["id"] for r in doc["returns"]["docs"]] == [
        r[0]
        for r in data.execute(
            "SELECT id FROM returns_return WHERE order_id = %s ORDER BY created_at DESC, id DESC",
            [order],
        )
    ]

    status, items, _ = ask("/api/order-items", [("where[order][equals]", order), ("depth", 1)])
    assert status == 200 and set(items) == ENVELOPE
    assert items["totalDocs"] == len(doc["items"]["docs"])
    for item in items["docs"]:
        assert item["order"]["id"] == order
        assert item["product"]["id"] and "title" in item["product"]

    status, parcels, _ = ask("/api/fulfillments", [("where[order][equals]", order)])
    assert status == 200
    assert parcels["totalDocs"] == one(
        data, "SELECT count(*) FROM fulfillment_fulfillment WHERE order_id = %s", [order]
    )
    for parcel in parcels["docs"]:
        assert parcel["order"]["id"] == order  # default depth 1
        assert parcel["trackingNumber"] and parcel["items"]["docs"]

    status, returns, _ = ask("/api/returns", [("where[order][equals]", order)])
    assert status == 200 and returns["totalDocs"] == len(doc["returns"]["docs"])
    assert all(r["items"]["docs"] for r in returns["docs"])


def test_floor_staff_query(ask, data):
    cutoff = one(
        data,
        "SELECT to_char((now() - interval '1 day') AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')',
    )
    status, body, _ = ask(
        "/api/orders",
        [
            ("where[status][equals]", "paid"),
            ("where[createdAt][less_than]", cutoff),
            ("sort", "createdAt"),
            ("limit", 50),
        ],
    )
    assert status == 200
    assert body["totalDocs"] == one(
        data,
        "SELECT count(*) FROM orders_order WHERE status = 'paid' AND created_at < %s::timestamptz",
        [cutoff],
    )
    created = [doc["createdAt"] for doc in body["docs"]]
    assert created == sorted(created) and all(c < cutoff for c in created)
    assert all(doc["status"] == "paid" for doc in body["docs"])


def test_floor_refuses_what_it_does_not_answer(ask):
    assert ask("/api/customers")[0] == 404
    assert ask("/api/orders/999999999")[0] == 404
    status, body, _ = ask("/api/orders", [("where[nope][equals]", 1)])
    assert status == 400 and "nope" in body["errors"][0]["message"]


# ---------------------------------------------------------------------------------------------
# The harness


def test_run_reports_every_item_and_writes_json(bench_db, tmp_path):
    """End to end on the small data set: servers start, every item is measured or reported as
    missing, and the raw figures are written."""
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--database",
        bench_db[2],
        "--server",
        server_url(),
        "--quick",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert saved["orders"] >= ORDERS
    assert [r["key"] for r in saved["reads"]] == [
        "my_orders_depth0",
        "my_orders_depth1",
        "order_depth1",
        "order_items",
        "fulfillments",
        "returns",
        "staff_paid",
    ]
    for read in saved["reads"]:
        assert read["floor"]["n"] == 5 and read["floor"]["median_ms"] > 0
        product = read["product"]
        assert "median_ms" in product or "missing" in product
        if "missing" not in product:
            # The floor is only a yardstick while it answers exactly what the product answers.
            assert product["same_json_as_floor"], product.get("json_differences")
    checkout = saved["checkout"]
    if "missing" not in checkout:
        assert (checkout["errors_5xx"], checkout["duplicates"]) == (0, 0)
        assert checkout["orders_in_db"] == checkout["requests"] == 20
        # The write floor, measured beside it on the same server: the same checkouts, all made.
        floor_checkout = checkout["floor"]
        assert (floor_checkout["errors_5xx"], floor_checkout["duplicates"]) == (0, 0)
        assert floor_checkout["orders_in_db"] == floor_checkout["requests"] == 20
        assert floor_checkout["statuses"] == {"201": 20}
        assert floor_checkout["same_answer_shape"] is True
        # Round trips to the database of one checkout, each side counted.
        assert 0 < floor_checkout["statements"] <= checkout["statements"]
        assert "unitPrice" in checkout["answer_shape"]["doc"]["items"]["docs"][0]
        assert checkout["ratio_to_floor"] == round(
            checkout["orders_per_second"] / floor_checkout["orders_per_second"], 3
        )
    # Every admin page the targets name, measured or reported missing.
    assert [page["page"] for page in saved["admin"]] == [
        "first page", "status filter", "search by number", "home", "busiest customer's page",
        "unfulfilled list",
    ]  # fmt: skip
    # --quick is one run; the targets are judged, each with its verdict.
    assert saved["settings"]["repeat"] == 1
    judged = {t["target"]: t for t in saved["targets"]}
    assert any(name.startswith("checkout ≥ 150 orders/s") for name in judged)
    assert all(t["met"] in (True, False, None) for t in judged.values())
    # The plan of every read's data statements is recorded (to compare builds of two sizes).
    assert set(saved["plans"]) == {
        r["key"] for r in saved["reads"] if "missing" not in r["product"]
    }
    assert all(saved["plans"][key] for key in saved["plans"])
    # The same run compared with itself is flat: every read the same speed, the same plans.
    saved_path = next(tmp_path.glob("*.json"))
    assert flat.main([str(saved_path), str(saved_path)]) == 0
    assert {"checkout", "tracking_import", "machine"} <= set(saved)
    # The product ran as in production: persistent connections.
    assert saved["settings"]["conn_max_age"] > 0
    assert "CONN_MAX_AGE" in done.stdout
    assert "1. my orders, depth 0" in done.stdout and "Raw figures" in done.stdout


def test_harness_measures_two_identical_servers_alike(bench_db, tmp_path):
    """An A/A check of the harness: with the floor measured as the product too, every read is
    answered on both sides, the JSON is found identical, and a ratio is computed."""
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--database",
        bench_db[2],
        "--server",
        server_url(),
        "--product-app",
        "bench.floor:application",
        "--only",
        "reads",
        "--samples",
        "5",
        "--requests",
        "10",
        "--repeat",
        "2",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = json.loads(next(tmp_path.glob("*-bench-floor.json")).read_text())
    for read in saved["reads"]:
        assert read["product"]["same_json_as_floor"] is True, read["product"]
        # Two runs of 10 requests a side; the ratio is the median of the runs' ratios.
        assert read["product"]["n"] == read["floor"]["n"] == 20
        runs = read["runs"]
        assert len(runs["ratio"]) == 2
        assert runs["ratio"] == [
            round(p / f, 2)
            for p, f in zip(runs["product_median_ms"], runs["floor_median_ms"], strict=True)
        ]
        assert read["ratio"] == round(sum(runs["ratio"]) / 2, 2)
        assert read["spread"] == {"min": min(runs["ratio"]), "max": max(runs["ratio"]), "runs": 2}
