"""Create a PostgreSQL database full of a successful shop's history, fast.

    uv run python -m bench.generate --orders 1000000            # database "bench"
    uv run python -m bench.generate --orders 1000 --database bench_smoke

The database is dropped and created again, migrated with ``manage.py migrate``, then loaded with
COPY in dependency order: customers, the catalog, orders, order items, transactions, fulfilments
and their items, returns and their items. Every row obeys the domain rules the services enforce
(see ``bench/README.md``), so the benchmark reads data the product could have written itself.

Loading is fast because it is done the way ``pg_restore`` does it: foreign keys and secondary
indexes are dropped, the tables are truncated and filled with ``COPY … FREEZE`` in one
transaction, then the indexes are built and the foreign keys added back (which checks every
row), and the tables are analysed. Nothing is skipped: the finished database has every index and
constraint the migrations create.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_TZ = ZoneInfo("Asia/Seoul")  # order numbers carry the shop's local date, as the service does


# Tables in load order.
TABLES = (
    "shop_customer",
    "shop_product",
    "shop_variant",
    "shop_option",
    "shop_cart",
    "shop_cartitem",
    "orders_order",
    "orders_orderitem",
    "orders_transaction",
    "fulfillment_fulfillment",
    "fulfillment_fulfillmentitem",
    "returns_return",
    "returns_returnitem",
)
# The home screen's rollups, which triggers keep on every write; counted again after a load.
ROLLUPS = ("orders_rebuild_slot_totals", "fulfillment_rebuild_lead_slots")
ROLLUP_TABLES = ("orders_orderslottotal", "fulfillment_shipmentleadslot")


def _columns_from_models() -> dict[str, list[tuple[str, bool, object]]]:
    """Each table's columns as its model declares them: (column, required, default), the
    default being the one Django gives a new row (the field's own, NULL, or an empty text). A
    column with none (a number, a time, a callable default) is required: the generator says
    what it is."""
    from django.apps import apps
    from django.db.models.fields import NOT_PROVIDED

    models = {model._meta.db_table: model for model in apps.get_models()}
    found = {}
    for table in TABLES:
        columns = []
        for model_field in models[table]._meta.concrete_fields:
            default = model_field.default
            if default is not NOT_PROVIDED and not callable(default):
                columns.append((model_field.column, False, default))
            elif default is NOT_PROVIDED and model_field.null:
                columns.append((model_field.column, False, None))
            elif default is NOT_PROVIDED and model_field.empty_strings_allowed:
                columns.append((model_field.column, False, ""))  # Django's default for text
            else:
                columns.append((model_field.column, True, None))
        found[table] = columns
    return found


_table_columns: dict | None = None


def table_columns() -> dict[str, list[tuple[str, bool, object]]]:
    """The columns of every table we load, read from the models, the declaration the migrations
    come from: a field added to a model is written by the generator (with its default) without
    an edit here. Read in a Django process of its own unless this one has set Django up, so the
    generator never configures Django for whoever imports it."""
    global _table_columns
    if _table_columns is None:
        from django.apps import apps

        if apps.ready:
            _table_columns = _columns_from_models()
        else:
            script = (
                "import django, json; django.setup(); "
                "from bench.generate import _columns_from_models; "
                "print(json.dumps(_columns_from_models()))"
            )
            env = dict(os.environ, DJANGO_SETTINGS_MODULE="shop.settings", DEBUG="1")
            done = subprocess.run(
                [sys.executable, "-c", script],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            read = json.loads(done.stdout)
            _table_columns = {table: [tuple(c) for c in read[table]] for table in read}
    return _table_columns


_row_makers: dict[str, Callable[..., tuple]] = {}


def row(table: str, **values) -> tuple:
    """A row of ``table`` from its values by column name, in the table's column order; a column
    not given gets its model's default (a required one missing is a TypeError naming it)."""
    make = _row_makers.get(table)
    if make is None:
        columns = table_columns()[table]
        defaults = {f"d_{name}": default for name, _required, default in columns}
        params = ", ".join(
            name if required else f"{name}=d_{name}" for name, required, _default in columns
        )
        names = ", ".join(name for name, _required, _default in columns)
        source = f"def make(*, {params}):\n    return ({names},)\n"
        exec(compile(source, f"<row of {table}>", "exec"), defaults)
        make = _row_makers[table] = defaults["make"]
    return make(**values)


# The tables that order rows go to (the others are the customers and the catalog).
ORDER_TABLES = [
    t for t in TABLES if t.startswith(("shop_cart", "orders_", "fulfillment_", "returns_"))
]
# Where each Counters field takes its next id from.
COUNTED = {
    "cart": "shop_cart", "cart_item": "shop_cartitem", "item": "orders_orderitem",
    "txn": "orders_transaction", "fulfillment": "fulfillment_fulfillment",
    "fulfillment_item": "fulfillment_fulfillmentitem", "ret": "returns_return",
    "return_item": "returns_returnitem",
}  # fmt: skip

FIRST_NAMES = [
    "Minji", "Junho", "Seoyeon", "Hyunwoo", "Yuna", "Jiwoo", "Dohyun", "Sumin", "Alex", "Sam",
    "Jisoo", "Taeyang", "Haeun", "Eunwoo", "Chloe", "Daniel", "Mina", "Joon", "Hana", "Noah",
]  # fmt: skip
LAST_NAMES = [
    "Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Oh",
    "Seo", "Shin", "Kwon", "Hwang", "Ahn", "Song", "Morgan", "Smith",
]  # fmt: skip
ADDRESSES = [
    ("06123", "123 Teheran-ro, Gangnam-gu, Seoul", "Apt 4B"),
    ("04524", "55 Sejong-daero, Jung-gu, Seoul", "12F"),
    ("48058", "30 Haeundae-ro, Busan", ""),
    ("13487", "235 Pangyoyeok-ro, Bundang-gu, Seongnam", "Tower B 7F"),
    ("61475", "10 Geumnam-ro, Dong-gu, Gwangju", ""),
    ("34126", "99 Daehak-ro, Yuseong-gu, Daejeon", "Room 301"),
    ("03187", "1 Jong-ro, Jongno-gu, Seoul", ""),
    ("21999", "8 Songdo-dong, Yeonsu-gu, Incheon", "Apt 1203"),
    ("94105", "500 Howard St, San Francisco, CA", "Suite 300"),
    ("10001", "350 5th Ave, New York, NY", "Floor 21"),
]
PRODUCT_WORDS = [
    "Linen", "Canvas", "Wool", "Cotton", "Ceramic", "Leather", "Everyday", "Travel", "Classic",
    "Organic", "Denim", "Silk", "Bamboo", "Recycled", "Studio",
]  # fmt: skip
PRODUCT_KINDS = [
    "Shirt", "Tote", "Mug", "Sneakers", "Cap", "Scarf", "Notebook", "Hand Cream", "Candle",
    "Socks", "Jacket", "Wallet", "Bottle", "Blanket", "Backpack",
]  # fmt: skip
SIZES = ["S", "M", "L", "XL"]
COLOURS = ["White", "Navy", "Black", "Grey", "Sand"]
CARRIERS = ["cj", "cj", "cj", "hanjin", "lotte", "epost", "logen"]
PAYMENT_METHODS = ["card"] * 14 + ["bank_transfer"] * 3 + ["kakaopay"] * 2 + ["naverpay"]
RETURN_REASONS = ["change_of_mind", "defective", "wrong_delivery", "damaged", "other"]

# Where orders of a given age stand: (max age in days, [(status, weight), …]). Recent orders are
# still moving; older ones have been confirmed (the shop confirms delivered orders after 7 days),
# canceled or returned, with a thin tail of stragglers (a paid order nobody shipped, an
# abandoned payment) that staff screens exist to find.
STATUS_BY_AGE: list[tuple[float, list[tuple[str, float]]]] = [
    (1 / 24, [("pending", 30), ("failed", 5), ("paid", 60), ("canceled", 5)]),
    (1, [("pending", 5), ("failed", 3), ("paid", 35), ("preparing", 40), ("shipped", 10),
         ("canceled", 7)]),
    (3, [("paid", 5), ("preparing", 15), ("shipped", 65), ("delivered", 10), ("canceled", 5)]),
    (7, [("preparing", 1), ("shipped", 15), ("delivered", 70), ("return_requested", 3),
         ("return_processing", 2), ("returned", 2), ("canceled", 5), ("failed", 2)]),
    (21, [("shipped", 1), ("delivered", 6), ("confirmed", 76), ("return_requested", 1),
          ("return_processing", 2), ("returned", 4), ("canceled", 6), ("failed", 2),
          ("paid", 0.5)]),
    (10_000, [("confirmed", 87), ("delivered", 0.5), ("returned", 3.5), ("canceled", 6),
              ("failed", 2), ("pending", 0.3), ("paid", 0.05)]),
]  # fmt: skip

CART_SHARE = 0.6  # orders checked out from a cart; the others were created by a server

DELIVERED_FAMILY = {"delivered", "confirmed", "return_requested", "return_processing", "returned"}


def status_tables() -> list[tuple[float, list[str], list[float]]]:
    out = []
    for limit, choices in STATUS_BY_AGE:
        names = [name for name, _ in choices]
        total = sum(weight for _, weight in choices)
        cumulative, acc = [], 0.0
        for _, weight in choices:
            acc += weight / total
            cumulative.append(acc)
        out.append((limit, names, cumulative))
    return out


@dataclass
class Unit:
    """A sellable line: a product, or a variant of it, or an option of the variant."""

    product_id: int
    variant_id: int | None
    option_id: int | None
    title: str
    sku: str
    price: int


@dataclass
class Counters:
    """The last id given in each table the order rows go to."""

    cart: int = 0
    cart_item: int = 0
    item: int = 0
    txn: int = 0
    fulfillment: int = 0
    fulfillment_item: int = 0
    ret: int = 0
    return_item: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    def count(self, table: str, n: int = 1) -> None:
        self.rows[table] = self.rows.get(table, 0) + n


# ---------------------------------------------------------------------------------------------
# Database plumbing


def server_url(url: str) -> str:
    """The same server, connected to its maintenance database."""
    params = conninfo_to_dict(url)
    params["dbname"] = "postgres"
    return make_conninfo(**params)


def database_url(url: str, database: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo(**params)


def django_url(conninfo: str) -> str:
    """A postgres:// URL for DATABASE_URL (dj-database-url does not read key=value strings)."""
    p = conninfo_to_dict(conninfo)
    auth = p.get("user", "postgres") + (f":{p['password']}" if p.get("password") else "")
    return f"postgres://{auth}@{p.get('host', '127.0.0.1')}:{p.get('port', 5432)}/{p['dbname']}"


def recreate_database(server: str, database: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def drop_database(server: str, database: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def migrate(url: str) -> None:
    env = dict(os.environ, DATABASE_URL=django_url(url), DEBUG="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
        check=True,
        env=env,
        cwd=ROOT,
    )


def loading_ddl(conn: psycopg.Connection) -> tuple[list[str], list[str], list[str], list[str]]:
    """Statements to drop, then re-create, the foreign keys and secondary indexes of the tables
    we load (primary keys and unique constraints stay: they guard the load itself)."""
    tables = list(TABLES)
    fks = conn.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)
        ORDER BY 1, 2
        """,
        [tables],
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        [tables],
    ).fetchall()
    drop_fk = [f'ALTER TABLE "{t}" DROP CONSTRAINT "{name}"' for t, name, _ in fks]
    add_fk = [f'ALTER TABLE "{t}" ADD CONSTRAINT "{name}" {d}' for t, name, d in fks]
    drop_ix = [f'DROP INDEX "{name}"' for name, _ in indexes]
    add_ix = [definition for _, definition in indexes]
    return drop_fk, drop_ix, add_ix, add_fk


# ---------------------------------------------------------------------------------------------
# Rows


def catalog(rng: random.Random, now: datetime, products: int) -> tuple[dict, list[Unit]]:
    rows: dict[str, list[tuple]] = {"shop_product": [], "shop_variant": [], "shop_option": []}
    units: list[Unit] = []
    variant_id = option_id = 0
    created = now - timedelta(days=800)
    for pid in range(1, products + 1):
        title = f"{rng.choice(PRODUCT_WORDS)} {rng.choice(PRODUCT_KINDS)} {pid}"
        sku = f"P{pid:05d}"
        price = rng.randrange(50, 1500) * 100
        # Stock: most items are tracked, with room for the whole benchmark; some are made to order.
        stock = None if rng.random() < 0.3 else 10_000_000
        rows["shop_product"].append(
            row("shop_product", id=pid, created_at=created, updated_at=created, title=title,
                sku=sku, stock=stock, price=price, is_active=True)
        )  # fmt: skip
        shape = rng.random()
        if shape < 0.4:  # a plain product
            units.append(Unit(pid, None, None, title, sku, price))
            continue
        for size in SIZES[: rng.randrange(2, 5)]:
            variant_id += 1
            vsku = f"{sku}-{size}"
            vprice = None if rng.random() < 0.8 else price + 5000
            vstock = None if stock is None else 10_000_000
            rows["shop_variant"].append(
                row("shop_variant", id=variant_id, created_at=created, updated_at=created,
                    title=size, sku=vsku, stock=vstock, price=vprice, product_id=pid)
            )  # fmt: skip
            if shape < 0.7:  # variants without options
                units.append(
                    Unit(pid, variant_id, None, f"{title} / {size}", vsku, vprice or price)
                )
                continue
            for colour in COLOURS[: rng.randrange(1, 4)]:
                option_id += 1
                osku = f"{vsku}-{colour[:3].upper()}"
                ostock = None if stock is None else 10_000_000
                rows["shop_option"].append(
                    row("shop_option", id=option_id, created_at=created, updated_at=created,
                        title=colour, sku=osku, stock=ostock, price=None, variant_id=variant_id)
                )  # fmt: skip
                units.append(
                    Unit(
                        pid,
                        variant_id,
                        option_id,
                        f"{title} / {size} / {colour}",
                        osku,
                        vprice or price,
                    )
                )
    return rows, units


def customers(rng: random.Random, now: datetime, count: int, span: timedelta) -> Iterator[tuple]:
    start = now - span - timedelta(days=30)
    step = span / max(count, 1)
    for cid in range(1, count + 1):
        created = start + step * cid
        name, email, phone = customer_contact(cid)
        # The generated addresses are lower-case ASCII: their normal form is themselves.
        yield row("shop_customer", id=cid, created_at=created, updated_at=created, name=name,
                  email=email, normalized_email=email, phone=phone, password="", is_active=True,
                  token_generation=0)  # fmt: skip


def customer_contact(cid: int) -> tuple[str, str, str]:
    """A customer's name, email and phone, the same in their row and in their orders' snapshots."""
    return (
        f"{FIRST_NAMES[cid % 20]} {LAST_NAMES[cid // 20 % 20]}",
        f"customer{cid}@example.com",
        f"010-{cid // 10000 % 10000:04d}-{cid % 10000:04d}",
    )


def pick_status(tables, age_days: float, r: float) -> str:
    for limit, names, cumulative in tables:
        if age_days <= limit:
            for name, edge in zip(names, cumulative, strict=True):
                if r <= edge:
                    return name
            return names[-1]
    raise AssertionError("unreachable")


def order_chunks(
    rng: random.Random,
    now: datetime,
    *,
    first: int,
    last: int,
    total: int,
    span: timedelta,
    customer_count: int,
    units: list[Unit],
    counters: Counters,
    status: str | None = None,
    number_offset: int = 0,
    index_base: int = 1,
) -> dict[str, list[tuple]]:
    """The rows of orders ``first..last`` (inclusive) and everything under them.

    Orders spread evenly over ``span`` up to ``now``, oldest first; their status follows their
    age unless ``status`` forces one. Order ``n``'s number is
    ``n + number_offset``; order ``index_base`` is the oldest.
    """
    forced = status
    out: dict[str, list[tuple]] = {t: [] for t in ORDER_TABLES}
    carts = out["shop_cart"]
    cart_items = out["shop_cartitem"]
    orders = out["orders_order"]
    items_rows = out["orders_orderitem"]
    txns = out["orders_transaction"]
    parcels = out["fulfillment_fulfillment"]
    parcel_items = out["fulfillment_fulfillmentitem"]
    returns = out["returns_return"]
    return_items = out["returns_returnitem"]

    tables = status_tables()
    start = now - span
    step = span.total_seconds() / total
    whales = max(customer_count // 100, 1)
    for oid in range(first, last + 1):
        created = start + timedelta(seconds=step * (oid - index_base) + rng.random() * step)
        age = now - created
        age_days = age.total_seconds() / 86400
        status = forced or pick_status(tables, age_days, rng.random())

        # Who: 5% guests; one order in five from the 1% of customers who buy most.
        r = rng.random()
        if r < 0.05:
            customer_id = None
            snap = (f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    f"guest{oid}@example.net", "")  # fmt: skip
        else:
            if r < 0.25:
                customer_id = rng.randrange(1, whales + 1)
            else:
                customer_id = rng.randrange(1, customer_count + 1)
            snap = customer_contact(customer_id)
        postal, address1, address2 = ADDRESSES[rng.randrange(len(ADDRESSES))]

        # Where from: most orders are a storefront cart checked out, the rest come from a server.
        cart_id = None
        if rng.random() < CART_SHARE:
            counters.cart += 1
            cart_id = counters.cart
            filled = created - timedelta(seconds=rng.randrange(60, 7200))
            carts.append(row(
                "shop_cart", id=cart_id, created_at=filled, updated_at=created, currency="KRW",
                checked_out_at=created, customer_id=customer_id,
            ))  # fmt: skip

        # What: 1–5 lines (2.5 on average), 1–3 units each.
        r = rng.random()
        n_lines = 1 if r < 0.3 else 2 if r < 0.55 else 3 if r < 0.75 else 4 if r < 0.9 else 5
        lines = []  # (item id, unit price, quantity)
        subtotal = 0
        for unit in rng.sample(units, n_lines):
            counters.item += 1
            q = rng.random()
            quantity = 1 if q < 0.8 else 2 if q < 0.95 else 3
            total_price = unit.price * quantity
            subtotal += total_price
            items_rows.append(row(
                "orders_orderitem", id=counters.item, created_at=created, updated_at=created,
                order_id=oid, product_id=unit.product_id, variant_id=unit.variant_id,
                option_id=unit.option_id, title=unit.title, sku=unit.sku, unit_price=unit.price,
                quantity=quantity, total_price=total_price,
            ))  # fmt: skip
            lines.append((counters.item, unit.price, quantity))
            if cart_id is not None:
                counters.cart_item += 1
                cart_items.append(row(
                    "shop_cartitem", id=counters.cart_item, created_at=created,
                    updated_at=created, cart_id=cart_id, product_id=unit.product_id,
                    variant_id=unit.variant_id, option_id=unit.option_id, quantity=quantity,
                ))  # fmt: skip
        shipping = 0 if subtotal >= 50000 else 3000
        discount = (subtotal // 10 // 100 * 100) if rng.random() < 0.1 else 0
        total_amount = subtotal + shipping - discount
        updated = created + min(age, timedelta(days=10)) * 0.9
        local_day = created.astimezone(LOCAL_TZ)
        orders.append(row(
            "orders_order", id=oid, created_at=created, updated_at=updated,
            order_number=f"{local_day:%y%m%d}-{oid + number_offset:08d}",
            customer_id=customer_id, cart_id=cart_id,
            customer_name=snap[0], customer_email=snap[1], customer_phone=snap[2],
            shipping_recipient_name=snap[0], shipping_phone=snap[2] or "010-0000-0000",
            shipping_postal_code=postal, shipping_address1=address1, shipping_address2=address2,
            status=status, currency="KRW", subtotal_amount=subtotal, shipping_amount=shipping,
            discount_amount=discount, total_amount=total_amount,
        ))  # fmt: skip

        # Money: a payment for every order that got as far as asking for one.
        pay_time = created + min(age * 0.01, timedelta(minutes=2))
        method = rng.choice(PAYMENT_METHODS)
        payment_id = f"pay_{oid:010d}"
        txn_status = None
        if status == "pending":
            txn_status = "pending" if rng.random() < 0.5 else None
        elif status == "failed":
            txn_status = "failed"
        elif status == "canceled":
            r = rng.random()
            txn_status = None if r < 0.3 else "failed" if r < 0.5 else "canceled"
        elif total_amount > 0:
            txn_status = "paid"
        if txn_status is not None:
            counters.txn += 1
            txns.append(row(
                "orders_transaction", id=counters.txn, created_at=pay_time, updated_at=pay_time,
                order_id=oid, kind="payment", status=txn_status, amount=total_amount,
                payment_method=method, payment_id=payment_id,
            ))  # fmt: skip

        # Parcels: preparing has an unshipped one; shipped and later carry every unit.
        if status in ("preparing", "shipped") or status in DELIVERED_FAMILY:
            made = created + min(age * 0.1, timedelta(hours=6))
            shipped_at = created + min(age * 0.3, timedelta(days=2))
            delivered_at = created + min(age * 0.6, timedelta(days=4))
            if status == "preparing" or len(lines) == 1 or rng.random() < 0.85:
                groups = [lines]
            else:
                cut = rng.randrange(1, len(lines))
                groups = [lines[:cut], lines[cut:]]
            for index, group in enumerate(groups):
                counters.fulfillment += 1
                fid = counters.fulfillment
                if status == "preparing":
                    pstatus = "pending" if rng.random() < 0.6 else "packed"
                elif status == "shipped":
                    pstatus = "delivered" if index == 0 and len(groups) == 2 else "shipped"
                else:
                    pstatus = "delivered"
                shipped = pstatus in ("shipped", "delivered")
                carrier = rng.choice(CARRIERS) if shipped or rng.random() < 0.5 else ""
                tracking = f"{640_000_000_000 + fid}" if shipped else ""
                parcels.append(row(
                    "fulfillment_fulfillment", id=fid, created_at=made,
                    updated_at=delivered_at if pstatus == "delivered" else made, order_id=oid,
                    status=pstatus, carrier=carrier, tracking_number=tracking,
                    shipped_at=shipped_at if shipped else None,
                    delivered_at=delivered_at if pstatus == "delivered" else None,
                    exchange_id=None,
                ))  # fmt: skip
                for item_id, _, quantity in group:
                    counters.fulfillment_item += 1
                    parcel_items.append(row(
                        "fulfillment_fulfillmentitem", id=counters.fulfillment_item,
                        created_at=made, updated_at=made, fulfillment_id=fid,
                        order_item_id=item_id, quantity=quantity,
                    ))  # fmt: skip

        # Returns: only of delivered units. The order's after-sales status follows its requests.
        if status in DELIVERED_FAMILY:
            units_total = sum(q for _, _, q in lines)
            r = rng.random()
            request = None  # (status, [(item id, price, qty)])
            if status == "return_requested":
                request = ("requested", _some_lines(rng, lines))
            elif status == "return_processing":
                request = (rng.choice(["approved", "processing"]), _some_lines(rng, lines))
            elif status == "returned":
                request = ("completed", lines)
            elif r < 0.02:
                request = ("rejected", _some_lines(rng, lines))
            elif r < 0.03 and units_total >= 2:
                first_line = lines[0]
                request = ("completed", [(first_line[0], first_line[1], 1)])
            if request is not None:
                rstatus, rlines = request
                counters.ret += 1
                rid = counters.ret
                asked = created + min(age * 0.7, timedelta(days=6))
                received = asked + min(age * 0.1, timedelta(days=3))
                refund = min(sum(price * q for _, price, q in rlines), total_amount)
                refund_txn = None
                if rstatus == "completed" and refund > 0:
                    counters.txn += 1
                    refund_txn = counters.txn
                    txns.append(row(
                        "orders_transaction", id=refund_txn, created_at=received,
                        updated_at=received, order_id=oid, kind="refund", status="paid",
                        amount=refund, payment_method="", payment_id=None,
                    ))  # fmt: skip
                reason = rng.choice(RETURN_REASONS)
                done = rstatus in ("processing", "completed")
                returns.append(row(
                    "returns_return", id=rid, created_at=asked,
                    updated_at=received if done else asked, order_id=oid, status=rstatus,
                    reason=reason, note="",
                    rejection_reason="Outside the return policy." if rstatus == "rejected" else "",
                    received_at=received if done else None,
                    completed_at=received if rstatus == "completed" else None,
                    refund_amount=refund, refund_transaction_id=refund_txn,
                ))  # fmt: skip
                restock = reason in ("change_of_mind", "wrong_delivery")
                for item_id, _, quantity in rlines:
                    counters.return_item += 1
                    back = quantity if restock and done else 0
                    return_items.append(row(
                        "returns_returnitem", id=counters.return_item, created_at=asked,
                        updated_at=asked, return_id=rid, order_item_id=item_id,
                        quantity=quantity, restock_quantity=back,
                    ))  # fmt: skip
    return out


def _some_lines(rng: random.Random, lines: list[tuple]) -> list[tuple]:
    """A non-empty subset of an order's lines, with 1..all units of each."""
    chosen = rng.sample(lines, rng.randrange(1, len(lines) + 1))
    return [(pk, price, rng.randrange(1, q + 1)) for pk, price, q in chosen]


def copy_rows(cur: psycopg.Cursor, table: str, rows, *, freeze: bool = True) -> int:
    """COPY rows in; FREEZE (for tables truncated in this transaction) writes them as vacuumed."""
    columns = sql.SQL(", ").join(sql.Identifier(c[0]) for c in table_columns()[table])
    statement = sql.SQL("COPY {} ({}) FROM STDIN" + (" WITH (FREEZE)" if freeze else "")).format(
        sql.Identifier(table), columns
    )
    n = 0
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# The command


def generate(
    *,
    orders: int,
    database: str = "bench",
    server: str = DEFAULT_SERVER,
    customers_count: int | None = None,
    products: int | None = None,
    seed: int = 20251125,
    chunk: int = 50_000,
    now: datetime | None = None,
    log=print,
) -> dict:
    """Build the database; return what was made and how long each phase took (seconds)."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    customers_count = customers_count or max(orders // 10, 10)
    products = products or (500 if orders >= 100_000 else 50)
    span = timedelta(days=730)
    url = database_url(server, database)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def phase(name: str, since: float) -> float:
        timings[name] = round(time.perf_counter() - since, 2)
        log(f"  {name}: {timings[name]:.1f} s")
        return time.perf_counter()

    log(f"Generating {orders:,} orders for {customers_count:,} customers into {database!r}")
    t = time.perf_counter()
    recreate_database(server_url(server), database)
    migrate(url)
    t = phase("create and migrate", t)

    counters = Counters()
    with psycopg.connect(url) as conn:
        drop_fk, drop_ix, add_ix, add_fk = loading_ddl(conn)
        with conn.cursor() as cur:
            # No row triggers while loading (the home screen's rollups): they are counted once
            # from the loaded rows below, as pg_restore would leave them.
            cur.execute("SET LOCAL session_replication_role = replica")
            for statement in drop_fk + drop_ix:
                cur.execute(statement)
            cur.execute(
                sql.SQL("TRUNCATE {} CASCADE").format(
                    sql.SQL(", ").join(map(sql.Identifier, TABLES))
                )
            )
            counters.count(
                "shop_customer",
                copy_rows(cur, "shop_customer", customers(rng, now, customers_count, span)),
            )
            catalog_rows, units = catalog(rng, now, products)
            for table, rows in catalog_rows.items():
                counters.count(table, copy_rows(cur, table, rows))
            for first in range(1, orders + 1, chunk):
                last = min(first + chunk - 1, orders)
                rows = order_chunks(
                    rng, now, first=first, last=last, total=orders, span=span,
                    customer_count=customers_count, units=units, counters=counters,
                )  # fmt: skip
                for table, table_rows in rows.items():
                    counters.count(table, copy_rows(cur, table, table_rows))
                if last % (chunk * 4) == 0 or last == orders:
                    log(f"    {last:,} orders loaded ({time.perf_counter() - t:.0f} s)")
        conn.commit()
        t = phase("copy", t)

        with conn.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '1GB'")
            for statement in add_ix:
                cur.execute(statement)
            conn.commit()
            t = phase("indexes", t)
            for statement in add_fk:
                cur.execute(statement)
            conn.commit()
            t = phase("foreign keys", t)
            reset_id_sequences(cur)
            # New orders get numbers past every generated one.
            cur.execute("SELECT setval('orders_order_number_seq', %s)", [orders + 1])
            conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        # Statistics first: without them the rollups' rebuild joined a million parcels to
        # their payments row by row (minutes instead of seconds).
        conn.execute("ANALYZE")
        t = phase("analyze", t)
        for rebuild in ROLLUPS:
            conn.execute(f"SELECT {rebuild}()")
        conn.execute("ANALYZE " + ", ".join(ROLLUP_TABLES))
        t = phase("rollups", t)
    timings["total"] = round(time.perf_counter() - started, 2)
    log(
        f"Done in {timings['total']:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counters.rows.items())
    )
    return {"database": database, "orders": orders, "rows": counters.rows, "seconds": timings}


def reset_id_sequences(cur: psycopg.Cursor) -> None:
    """New rows made by the product get ids past every loaded one."""
    for table in TABLES:
        cur.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, 'id'), "
                "GREATEST((SELECT max(id) FROM {i}), 1))"
            ).format(t=sql.Literal(table), i=sql.Identifier(table))
        )


def append_orders(url: str, count: int, *, status: str, seed: int = 7, age_days: int = 2) -> list:
    """Add ``count`` orders in ``status`` placed over the last ``age_days`` days (the benchmark's
    fixtures: paid orders for the tracking import). Returns their ids, numbers and totals."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        # Lock the tables we add to, so ids and numbers cannot be taken under us.
        cur.execute(
            sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
                sql.SQL(", ").join(map(sql.Identifier, ORDER_TABLES))
            )
        )

        def last_id(table: str) -> int:
            query = sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))
            return cur.execute(query).fetchone()[0]

        counters = Counters(**{name: last_id(table) for name, table in COUNTED.items()})
        customer_count = cur.execute("SELECT count(*) FROM shop_customer").fetchone()[0]
        first = last_id("orders_order") + 1
        number_start = cur.execute("SELECT nextval('orders_order_number_seq')").fetchone()[0]
        cur.execute("SELECT setval('orders_order_number_seq', %s)", [number_start + count])
        units = [
            Unit(p, v, o, title, sku, price)
            for p, v, o, title, sku, price in cur.execute(
                "SELECT p.id, v.id, o.id, concat_ws(' / ', p.title, v.title, o.title), "
                "coalesce(o.sku, v.sku, p.sku), coalesce(o.price, v.price, p.price) "
                "FROM shop_product p LEFT JOIN shop_variant v ON v.product_id = p.id "
                "LEFT JOIN shop_option o ON o.variant_id = v.id"
            ).fetchall()
        ]
        rows = order_chunks(
            rng, now, first=first, last=first + count - 1, total=count,
            span=timedelta(days=age_days), customer_count=max(customer_count, 1), units=units,
            counters=counters, status=status, number_offset=number_start - first,
            index_base=first,
        )  # fmt: skip
        for table, table_rows in rows.items():
            copy_rows(cur, table, table_rows, freeze=False)
        reset_id_sequences(cur)
        conn.commit()
        return [(row[0], row[3], row[19]) for row in rows["orders_order"]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: orders / 10")
    parser.add_argument("--database", default="bench", help="dropped and created again")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER),
        help="any database URL on the PostgreSQL server to use (env BENCH_SERVER_URL)",
    )
    parser.add_argument("--seed", type=int, default=20251125)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results", help="where the timings go"
    )
    args = parser.parse_args(argv)
    info = generate(
        orders=args.orders,
        database=args.database,
        server=args.server,
        customers_count=args.customers,
        seed=args.seed,
    )
    info["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info["cores"] = os.cpu_count()
    info["load_average_1m"] = round(os.getloadavg()[0], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{info['date'][:10]}-{args.orders}-generate.json"
    path.write_text(json.dumps(info, indent=2) + "\n")
    print(f"Timings: {path}")


if __name__ == "__main__":
    main()
