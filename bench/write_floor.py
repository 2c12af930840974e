"""The write floor: the checkout by hand-written SQL in one transaction, behind the same server.

``POST /bench-floor/api/checkout`` takes what ``POST /api/checkout`` takes from a server
(``{cartId, paymentId?, paymentMethod?, totalAmount?}``, ``Authorization: Bearer sk_…``, an
optional ``Idempotency-Key``) and does what the product's checkout does, with the same locks, the
same rows and the same answer:

- the API key is looked up by its digest (and marked used at most once a minute);
- expired idempotency records are deleted (a statement of its own, as the product does); then,
  in one transaction: the key's advisory lock is taken and its record looked up (a replay is
  answered from it); the cart row is locked (``FOR UPDATE``) with its customer read alongside;
  an order already made from the cart is looked for after the lock; the cart's lines are read
  with their catalog rows (prices, titles, skus, whether a product has variants and a variant
  options) and the new rows' ids are drawn from their sequences;
- the stock rows the lines name are locked as ``shop.stock`` locks them (products, then
  variants, then options, each by id) and the tracked ones decremented, refusing past zero;
- one statement then writes every row: the order (paid at once when a payment id is given), its
  lines, the paid payment, the two transition log entries (the payment's, then the order's), the
  cart's ``checked_out_at``, the outbox rows ``order.created`` and ``order.paid`` (when
  ``SHOP_EVENTS`` is on) and the idempotency record with the answer; after the commit one relay is
  asked for, as ``events.outbox`` asks.

The answer is the API's: ``201 {"doc": <the order at depth 1>, "message": "Order successfully
created."}``, rendered from what was written, each document by its collection's declaration
(``bench.floor.declared``). It is benchmark-only: ``application`` wraps the
product's WSGI application (``shop.wsgi``) and serves this one path beside it, so the bench starts
one gunicorn that answers both; the product's URLs never include it. Statements go through
Django's own database connection (its psycopg connection, server-side binding, prepared once per
connection) inside Django's ``transaction.atomic``, so the connection, its settings and its
lifetime (``CONN_MAX_AGE``) are the product's.

What it does not take (``orderNumber``, ``customerSnapshot``, ``shippingAddress``): the benchmark
never sends them, and the floor refuses them rather than answering differently.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from psycopg import errors as pg_errors

PATH = "/bench-floor/api/checkout"
PRODUCT_PATH = "/api/checkout"
ACCEPTED = {"cartId", "paymentId", "paymentMethod", "totalAmount"}
# Where the parcel goes: every member but address2 is required (orders.services.PARCEL_NEEDS),
# in the order the cart's address columns are read.
PARCEL_NEEDS = ("recipientName", "phone", "postalCode", "address1")


class Refused(Exception):
    """An answer other than 201: status and the API's error body."""

    def __init__(self, status: int, message: str, name: str | None = None, data=None):
        super().__init__(message)
        error: dict = {"message": message}
        if name:
            error["name"] = name
        if data is not None:
            error["data"] = data
        self.status, self.body = status, {"errors": [error]}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def now_ms() -> datetime:
    """Now, cut to milliseconds as the product stores timestamps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


# ---------------------------------------------------------------------------------------------
# The statements


AUTH = (
    "SELECT id, name, last_used_at FROM shop_apikey "
    "WHERE secret_hash = %s AND revoked_at IS NULL LIMIT 1"
)
MARK_USED = "UPDATE shop_apikey SET last_used_at = %s WHERE id = %s"
EXPIRE_KEYS = "DELETE FROM shop_idempotencykey WHERE created_at < %s"
LOCK_KEY = (
    "SELECT pg_try_advisory_xact_lock(%s), k.request_hash, k.status_code, k.response_body "
    "FROM (SELECT 1) AS one LEFT JOIN shop_idempotencykey k ON k.caller = %s AND k.key = %s"
)
LOCK_CART = (
    "SELECT c.currency, c.customer_id, c.created_at, c.updated_at, c.shipping_recipient_name, "
    "c.shipping_phone, c.shipping_postal_code, c.shipping_address1, c.shipping_address2, "
    "u.name, u.email, u.phone, u.is_active, u.language, u.created_at, u.updated_at "
    "FROM shop_cart c LEFT JOIN shop_customer u ON u.id = c.customer_id "
    "WHERE c.id = %s FOR UPDATE OF c"
)
EXISTING = "SELECT id, order_number FROM orders_order WHERE cart_id = %s LIMIT 1"
# The cart's lines with what the order needs of the catalog, and the new rows' ids.
LINES = (
    "SELECT nextval(pg_get_serial_sequence('orders_orderitem', 'id')), ci.product_id, "
    "ci.variant_id, ci.option_id, ci.quantity, p.title, p.sku, p.price, p.is_active, "
    "v.product_id, v.title, v.sku, v.price, o.variant_id, o.title, o.sku, o.price, "
    "ci.variant_id IS NULL AND EXISTS (SELECT 1 FROM shop_variant x WHERE x.product_id = p.id), "
    "ci.variant_id IS NOT NULL AND ci.option_id IS NULL "
    "  AND EXISTS (SELECT 1 FROM shop_option y WHERE y.variant_id = ci.variant_id), "
    "(SELECT nextval(pg_get_serial_sequence('orders_order', 'id'))), "
    "(SELECT nextval('orders_order_number_seq')), "
    "(SELECT nextval(pg_get_serial_sequence('orders_transaction', 'id'))) "
    "FROM shop_cartitem ci JOIN shop_product p ON p.id = ci.product_id "
    "LEFT JOIN shop_variant v ON v.id = ci.variant_id "
    "LEFT JOIN shop_option o ON o.id = ci.option_id "
    "WHERE ci.cart_id = %s ORDER BY ci.created_at, ci.id"
)
# Lock every row named (tracked or not) in id order, then take the units from the tracked ones;
# a row the units would take below zero comes back with ok = false.
STOCK = (
    "WITH wanted AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS w(id, take)), "
    "locked AS (SELECT t.id, t.stock FROM {table} t WHERE t.id IN (SELECT id FROM wanted) "
    "  ORDER BY t.id FOR UPDATE), "
    "taken AS (UPDATE {table} t SET stock = t.stock - w.take FROM locked l, wanted w "
    "  WHERE t.id = l.id AND w.id = l.id AND l.stock IS NOT NULL AND l.stock >= w.take "
    "  RETURNING t.id) "
    "SELECT l.id, l.stock, l.stock IS NULL OR EXISTS (SELECT 1 FROM taken WHERE taken.id = l.id) "
    "FROM locked l ORDER BY l.id"
)
STOCK_TABLES = ("shop_product", "shop_variant", "shop_option")  # shop.stock's lock order


def _write_statement(paid: bool, logs: bool, events: int, remember: bool) -> str:
    """Every row of the checkout in one statement (data-modifying WITH parts)."""
    parts = [
        "o AS (INSERT INTO orders_order (id, created_at, updated_at, order_number, customer_id, "
        "cart_id, customer_name, customer_email, customer_phone, shipping_recipient_name, "
        "shipping_phone, shipping_postal_code, shipping_address1, shipping_address2, status, "
        "currency, subtotal_amount, shipping_amount, discount_amount, total_amount, staff_note) "
        "VALUES (%(order)s, %(now)s, %(now)s, %(number)s, %(customer)s, %(cart)s, %(name)s, "
        "%(email)s, %(phone)s, %(a_name)s, %(a_phone)s, %(a_postal)s, %(a1)s, %(a2)s, "
        "%(status)s, %(currency)s, %(subtotal)s, 0, 0, %(total)s, '') RETURNING id)",
        "i AS (INSERT INTO orders_orderitem (id, created_at, updated_at, order_id, product_id, "
        "variant_id, option_id, title, sku, unit_price, quantity, total_price) "
        "SELECT l.id, %(now)s, %(now)s, o.id, l.product, l.variant, l.option, l.title, l.sku, "
        "l.price, l.quantity, l.price * l.quantity FROM o, unnest(%(item_ids)s::bigint[], "
        "%(products)s::bigint[], %(variants)s::bigint[], %(options)s::bigint[], "
        "%(titles)s::text[], %(skus)s::text[], %(prices)s::bigint[], %(quantities)s::int[]) "
        "AS l(id, product, variant, option, title, sku, price, quantity))",
        "c AS (UPDATE shop_cart SET checked_out_at = %(now)s WHERE id = %(cart)s)",
    ]
    if paid:
        parts += [
            "t AS (INSERT INTO orders_transaction (id, created_at, updated_at, order_id, kind, "
            "status, amount, payment_method, payment_id) SELECT %(txn)s, %(now)s, %(now)s, o.id, "
            "'payment', 'paid', %(total)s, %(method)s, %(payment_id)s FROM o)",
        ]
    if logs:  # the payment's move, then the order's (an unpaid order has none)
        parts += [
            "g AS (INSERT INTO orders_transitionlog (order_id, content_type_id, object_id, "
            "transition, source, target, actor_kind, actor_user_id, actor_label, reason, "
            "changes, created_at) SELECT o.id, g.type, g.object, g.transition, 'pending', "
            "'paid', 'api_key', NULL, %(actor)s, g.reason, g.changes::jsonb, %(now)s "
            "FROM o, unnest(%(log_types)s::int[], %(log_objects)s::bigint[], "
            "%(log_transitions)s::text[], %(log_reasons)s::text[], %(log_changes)s::text[]) "
            "WITH ORDINALITY AS g(type, object, transition, reason, changes, n) ORDER BY g.n)",
        ]
    if events:
        parts.append(
            "e AS (INSERT INTO events_outboxevent (event_id, type, collection, document_id, "
            "payload, created_at) SELECT e.event_id, e.type, 'orders', o.id, e.payload, %(now)s "
            "FROM o, unnest(%(event_ids)s::text[], %(event_types)s::text[], "
            "%(payloads)s::text[]) WITH ORDINALITY AS e(event_id, type, payload, n) ORDER BY e.n)"
        )
    if remember:
        parts.append(
            "k AS (INSERT INTO shop_idempotencykey (caller, key, method, path, request_hash, "
            "status_code, response_body, created_at) VALUES (%(caller)s, %(key)s, 'POST', "
            "%(path)s, %(request_hash)s, 201, %(body)s, %(now)s))"
        )
    return "WITH " + ", ".join(parts) + " SELECT id FROM o"


# ---------------------------------------------------------------------------------------------
# The checkout


@dataclass
class Request:
    authorization: str
    idempotency_key: str | None
    body: bytes
    query: str = ""


@dataclass
class Answer:
    status: int
    body: bytes
    replayed: bool = False
    statements: int = 0  # round trips to the database, BEGIN and COMMIT included


_content_types: dict[int, tuple[int, int]] = {}


class Cursor(psycopg.Cursor):
    """Counts the statements it runs (the answer's ``X-Query-Count``)."""

    statements = 0

    def execute(self, *args, **kwargs):
        self.statements += 1
        return super().execute(*args, **kwargs)


def _cursor(connection) -> Cursor:
    """A server-side binding cursor on Django's psycopg connection (Django's own cursors bind
    on the client, which cannot prepare)."""
    connection.ensure_connection()
    return Cursor(connection.connection)


def _run(cur: psycopg.Cursor, sql: str, params) -> list[tuple]:
    cur.execute(sql, params, prepare=True)
    return cur.fetchall() if cur.description else []


def _content_type_ids(cur) -> tuple[int, int]:
    """(orders.order, orders.transaction) content type ids, read once per connection as Django's
    ContentType cache does."""
    key = id(cur.connection)
    if key not in _content_types:
        rows = dict(
            _run(
                cur,
                "SELECT model, id FROM django_content_type WHERE app_label = 'orders' "
                "AND model IN ('order', 'transaction')",
                [],
            )
        )
        _content_types[key] = (rows["order"], rows["transaction"])
    return _content_types[key]


def request_fingerprint(query: str, body: bytes) -> str:
    """As ``shop.idempotency.request_fingerprint`` makes it for ``POST /api/checkout``."""
    try:
        normal = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else body
    except orjson.JSONDecodeError:
        normal = body
    path = PRODUCT_PATH + (f"?{query}" if query else "")
    return hashlib.sha256(b"\n".join([b"POST", path.encode(), normal])).hexdigest()


def _parse(body: bytes) -> dict:
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise Refused(400, "The request body must be a JSON object.", "ValidationError") from None
    if not isinstance(data, dict):
        raise Refused(400, "The request body must be a JSON object.", "ValidationError")
    unknown = set(data) - ACCEPTED
    if unknown:
        raise Refused(400, f"The floor does not take {', '.join(sorted(unknown))}.")
    cart = data.get("cartId")
    if isinstance(cart, str) and cart.strip().isdigit():
        cart = int(cart)
    if not isinstance(cart, int) or isinstance(cart, bool):
        raise Refused(400, "cartId is required.", "ValidationError", {"path": "cartId"})
    payment_id = str(data.get("paymentId") or "").strip()[:201] or None
    if payment_id and len(payment_id) > 200:
        raise Refused(400, "paymentId is longer than 200 characters.", "ValidationError")
    method = str(data.get("paymentMethod") or "").strip()
    if len(method) > 40:
        raise Refused(400, "paymentMethod is longer than 40 characters.", "ValidationError")
    return {
        "cart": cart,
        "payment_id": payment_id,
        "method": method,
        "total": data.get("totalAmount"),
    }


def checkout(connection, request: Request, *, events: bool, currency: str, ttl: int) -> Answer:
    """The checkout by hand-written SQL on ``connection`` (Django's). Raises nothing the API
    would answer: refusals come back as their status and error body."""
    cur = _cursor(connection)
    answer = _answer(cur, request, events=events, currency=currency, ttl=ttl)
    answer.statements = cur.statements
    return answer


def _answer(cur: Cursor, request: Request, *, events: bool, currency: str, ttl: int) -> Answer:
    from django.db import transaction

    scheme, _, secret = request.authorization.partition(" ")
    secret = secret.strip()
    key_row = None
    if scheme.lower() == "bearer" and secret.startswith("sk_"):
        digest = hashlib.sha256(secret.encode()).hexdigest()
        found = _run(cur, AUTH, [digest])
        key_row = found[0] if found else None
    if key_row is None:
        body = {"errors": [{"message": "You are not allowed to perform this action."}]}
        return Answer(403, orjson.dumps(body))
    key_id, key_name, last_used = key_row
    now = now_ms()
    if last_used is None or now - last_used > timedelta(minutes=1):
        _run(cur, MARK_USED, [now, key_id])
    caller = f"key:{key_id}"
    try:
        wanted = _parse(request.body)
    except Refused as refused:
        return Answer(refused.status, orjson.dumps(refused.body))
    remember = request.idempotency_key is not None
    if remember:
        _run(cur, EXPIRE_KEYS, [datetime.now(UTC) - timedelta(seconds=ttl)])
    try:
        cur.statements += 2  # BEGIN and COMMIT (or ROLLBACK)
        with transaction.atomic():
            return _checkout(cur, request, wanted, caller, key_name, events, currency)
    except Refused as refused:
        return Answer(refused.status, orjson.dumps(refused.body))
    except pg_errors.UniqueViolation as error:
        field = "paymentId" if "payment_id" in str(error) else "cart"
        message = (
            "This payment has already paid for another order."
            if field == "paymentId"
            else "This cart has already been checked out."
        )
        body = {"errors": [{"message": message, "name": "Conflict", "data": {"path": field}}]}
        return Answer(409, orjson.dumps(body))


def _checkout(cur, request, wanted, caller, actor, events, currency) -> Answer:
    from django.db import transaction

    from shop.idempotency import lock_id

    key = request.idempotency_key
    fingerprint = ""
    if key is not None:
        fingerprint = request_fingerprint(request.query, request.body)
        locked, first_hash, first_status, first_body = _run(
            cur, LOCK_KEY, [lock_id(caller, key), caller, key]
        )[0]
        if not locked:
            raise Refused(
                409, "A request with this Idempotency-Key is still in progress.", "IdempotencyError"
            )
        if first_status is not None:
            if first_hash != fingerprint:
                raise Refused(
                    422,
                    "This Idempotency-Key was used for a different request; use a new key.",
                    "IdempotencyError",
                )
            return Answer(first_status, bytes(first_body or b""), replayed=True)

    cart_id = wanted["cart"]
    rows = _run(cur, LOCK_CART, [cart_id])
    if not rows:
        raise Refused(404, f"Cart {cart_id} does not exist.", "NotFound", {"path": "cartId"})
    (
        cart_currency,
        customer_id,
        cart_created,
        cart_updated,
        *address,
        c_name,
        c_email,
        c_phone,
        c_active,
        c_language,
        c_created,
        c_updated,
    ) = rows[0]
    existing = _run(cur, EXISTING, [cart_id])
    if existing:
        pk, number = existing[0]
        raise Refused(
            409,
            f"Cart {cart_id} has already been checked out as order {number}.",
            "Conflict",
            {"id": pk, "orderNumber": number, "path": "cart"},
        )
    lines = _run(cur, LINES, [cart_id])
    if not lines:
        raise Refused(400, f"Cart {cart_id} is empty.", "ValidationError", {"path": "cartId"})
    if cart_currency != currency:
        raise Refused(
            400,
            f"Cart {cart_id} is in {cart_currency}, not {currency}.",
            "ValidationError",
            {"path": "currency"},
        )
    order_id, number_value, txn_id = lines[0][-3:]

    items, take = [], defaultdict(lambda: defaultdict(int))
    for (
        item_id,
        product,
        variant,
        option,
        quantity,
        p_title,
        p_sku,
        p_price,
        p_active,
        v_product,
        v_title,
        v_sku,
        v_price,
        o_variant,
        o_title,
        o_sku,
        o_price,
        needs_variant,
        needs_option,
        *_ids,
    ) in lines:
        if not p_active:
            raise Refused(400, f"{p_title} is not for sale.", "ValidationError")
        if (variant and v_product != product) or (option and o_variant != variant):
            raise Refused(400, "A line names a unit of another product.", "ValidationError")
        if needs_variant or needs_option:
            raise Refused(400, f"{p_title}: a line must name the unit it sells.", "ValidationError")
        price = next((p for p in (o_price, v_price, p_price) if p is not None), 0)
        title = " / ".join(
            t
            for t in (p_title, v_title if variant else None, o_title if option else None)
            if t is not None
        )
        sku = next((s for s in (o_sku, v_sku, p_sku) if s), "")
        items.append((item_id, product, variant, option, title[:300], sku, price, quantity))
        table = 2 if option else 1 if variant else 0
        take[table][option or variant or product] += quantity

    subtotal = sum(item[6] * item[7] for item in items)
    total = subtotal
    if wanted["total"] not in (None, "") and wanted["total"] != total:
        raise Refused(
            400,
            f"totalAmount {wanted['total']} does not match the computed total {total}.",
            "ValidationError",
            {"path": "totalAmount"},
        )
    snapshot = {"name": c_name or "", "email": c_email or "", "phone": c_phone or ""}
    a_name, a_phone, a_postal, a1, a2 = address
    missing = [] if snapshot["name"] else ["customerSnapshot.name"]
    missing += [
        f"shippingAddress.{k}" for k, v in zip(PARCEL_NEEDS, address, strict=False) if not v
    ]
    if missing:
        raise Refused(
            400,
            f"An order needs a name and an address; missing: {', '.join(missing)}.",
            "ValidationError",
        )

    for table in (0, 1, 2):  # products, variants, options: shop.stock's lock order
        if not take[table]:
            continue
        ids = sorted(take[table])
        stock = _run(
            cur, STOCK.format(table=STOCK_TABLES[table]), [ids, [take[table][i] for i in ids]]
        )
        for pk, left, ok in stock:
            if not ok:
                raise Refused(
                    400,
                    f"Not enough stock: {left} left, {take[table][pk]} asked for.",
                    "ValidationError",
                    {"stock": left, "asked": take[table][pk]},
                )

    from django.utils import timezone

    now = now_ms()
    payment_id = wanted["payment_id"]
    paid = bool(payment_id) or total == 0
    order_type, txn_type = _content_type_ids(cur)
    number = f"{timezone.localdate():%y%m%d}-{number_value:08d}"
    status = "paid" if paid else "pending"
    doc = _document(
        order_id,
        number,
        status,
        currency,
        subtotal,
        total,
        now,
        snapshot,
        address,
        customer=None
        if customer_id is None
        else {
            "id": customer_id,
            "name": c_name,
            "email": c_email,
            "phone": c_phone,
            "is_active": c_active,
            "language": c_language,
            "created_at": c_created,
            "updated_at": c_updated,
        },
        cart={
            "id": wanted["cart"],
            "customer_id": customer_id,
            "currency": cart_currency,
            "checked_out_at": now,
            **dict(zip(ADDRESS_COLUMNS, address, strict=True)),
            "created_at": cart_created,
            "updated_at": cart_updated,
        },
        items=items,
        payment=(txn_id, total, wanted["method"], payment_id) if payment_id else None,
    )
    answer = orjson.dumps({"doc": doc, "message": "Order successfully created."})
    logs = []
    if payment_id:
        # As orders.services.payments.record_paid logs it: the method it was paid with (a
        # checkout takes no reference).
        paid_with = {"payment_method": {"from": "", "to": wanted["method"]}}
        logs.append((txn_type, txn_id, "mark_paid", "", paid_with if wanted["method"] else {}))
    if paid:
        reason = "paid at creation" if payment_id else "nothing to pay"
        logs.append((order_type, order_id, "pay", reason, {}))
    types = ["order.created", "order.paid"] if paid else ["order.created"]
    if not events:
        types = []
    event_ids = [f"evt_{uuid.uuid4().hex}" for _ in types]
    payloads = [
        orjson.dumps({"id": e, "type": t, "timestamp": iso(now), "data": doc}).decode()
        for e, t in zip(event_ids, types, strict=True)
    ]
    params = {
        "order": order_id,
        "now": now,
        "number": number,
        "customer": customer_id,
        "cart": wanted["cart"],
        "name": snapshot["name"],
        "email": snapshot["email"],
        "phone": snapshot["phone"],
        "a_name": a_name,
        "a_phone": a_phone,
        "a_postal": a_postal,
        "a1": a1,
        "a2": a2,
        "status": status,
        "currency": currency,
        "subtotal": subtotal,
        "total": total,
        "item_ids": [i[0] for i in items],
        "products": [i[1] for i in items],
        "variants": [i[2] for i in items],
        "options": [i[3] for i in items],
        "titles": [i[4] for i in items],
        "skus": [i[5] for i in items],
        "prices": [i[6] for i in items],
        "quantities": [i[7] for i in items],
        "txn": txn_id,
        "method": wanted["method"],
        "payment_id": payment_id,
        "actor": actor,
        "log_types": [g[0] for g in logs],
        "log_objects": [g[1] for g in logs],
        "log_transitions": [g[2] for g in logs],
        "log_reasons": [g[3] for g in logs],
        "log_changes": [orjson.dumps(g[4]).decode() for g in logs],
        "event_ids": event_ids,
        "event_types": types,
        "payloads": payloads,
        "caller": caller,
        "key": request.idempotency_key,
        "path": PRODUCT_PATH,
        "request_hash": fingerprint,
        "body": answer,
    }
    statement = _write_statement(bool(payment_id), bool(logs), len(event_ids), key is not None)
    _run(cur, statement, params)
    if events:
        from events.tasks import request_relay

        transaction.on_commit(request_relay, robust=True)
    return Answer(201, answer)


ADDRESS_COLUMNS = (
    "shipping_recipient_name",
    "shipping_phone",
    "shipping_postal_code",
    "shipping_address1",
    "shipping_address2",
)  # in the order the cart's address columns are read

_renderers: dict[str, Callable[[dict], dict]] = {}


def _renderer(slug: str) -> Callable[[dict], dict]:
    """How a row (``{column: value}``) of a collection becomes its depth-0 document, as the read
    floor renders it from the product's declaration (``bench.floor.declared``): a field added to
    a collection is in the answer with no edit here. A column the floor does not write takes the
    database default it is inserted with."""
    if slug not in _renderers:
        from django.db.models import NOT_PROVIDED, Value

        from bench.floor import declared

        collection = declared(slug)
        fields = {f.column: f for f in _model(slug)._meta.concrete_fields}
        columns = collection.columns.split(", ")
        defaults = {}
        for column in columns:
            default = fields[column].db_default
            if default is not NOT_PROVIDED:
                defaults[column] = default.value if isinstance(default, Value) else default

        def render(row: dict, columns=columns, defaults=defaults, draw=collection.render) -> dict:
            return draw(
                tuple(
                    _utc(row[column]) if column in row else defaults[column] for column in columns
                )
            )

        _renderers[slug] = render
    return _renderers[slug]


def _model(slug: str):
    from shop.api.collections import registry

    return registry.get(slug).model


def _utc(value):
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _document(
    order_id,
    number,
    status,
    currency,
    subtotal,
    total,
    now,
    snapshot,
    address,
    *,
    customer,
    cart,
    items,
    payment,
) -> dict:
    """The new order as the API renders it for a server at depth 1 (its own rows populated, its
    joins as ``{docs, hasNextPage}``; a new order has no parcel, return or exchange), each
    document rendered from its collection's declaration."""
    transactions = []
    if payment is not None:
        txn_id, amount, method, payment_id = payment
        transactions.append(
            _renderer("transactions")(
                {
                    "id": txn_id,
                    "order_id": order_id,
                    "kind": "payment",
                    "status": "paid",
                    "amount": amount,
                    "payment_method": method,
                    "payment_id": payment_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        )
    doc = _renderer("orders")(
        {
            "id": order_id,
            "order_number": number,
            "customer_id": customer and customer["id"],
            "cart_id": cart["id"],
            "customer_name": snapshot["name"],
            "customer_email": snapshot["email"],
            "customer_phone": snapshot["phone"],
            **dict(zip(ADDRESS_COLUMNS, address, strict=True)),
            "status": status,
            "currency": currency,
            "subtotal_amount": subtotal,
            "shipping_amount": 0,
            "discount_amount": 0,
            "total_amount": total,
            "staff_note": "",
            "created_at": now,
            "updated_at": now,
        }
    )
    doc["customer"] = customer and _renderer("customers")(customer)
    doc["cart"] = _renderer("carts")(cart)
    render_item = _renderer("order-items")
    doc["items"] = {
        "docs": [
            render_item(
                {
                    "id": item_id,
                    "order_id": order_id,
                    "product_id": product,
                    "variant_id": variant,
                    "option_id": option,
                    "title": title,
                    "sku": sku,
                    "unit_price": price,
                    "quantity": quantity,
                    "total_price": price * quantity,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for item_id, product, variant, option, title, sku, price, quantity in items
        ],
        "hasNextPage": False,
    }
    doc["transactions"] = {"docs": transactions, "hasNextPage": False}
    for join in ("fulfillments", "returns", "exchanges"):
        doc[join] = {"docs": [], "hasNextPage": False}
    return doc


# ---------------------------------------------------------------------------------------------
# The WSGI app: the product, and this one path beside it


_wsgi = None


def _product():
    global _wsgi
    if _wsgi is None:
        from shop.wsgi import application

        _wsgi = application
    return _wsgi


def floor_checkout(environ, *, manage_connection: bool = True) -> Answer:
    """One floor checkout for a WSGI request, on Django's connection, its lifetime handled as
    Django handles it around a request (``close_old_connections`` before and after; a test
    that holds the connection in its own transaction says not to)."""
    from django.conf import settings
    from django.db import close_old_connections, connection

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    request = Request(
        authorization=environ.get("HTTP_AUTHORIZATION", ""),
        idempotency_key=environ.get("HTTP_IDEMPOTENCY_KEY") or None,
        body=body,
        query=environ.get("QUERY_STRING", ""),
    )
    if manage_connection:
        close_old_connections()
    try:
        return checkout(
            connection,
            request,
            events=settings.SHOP_EVENTS,
            currency=settings.SHOP_CURRENCY,
            ttl=settings.SHOP_IDEMPOTENCY_TTL,
        )
    finally:
        if manage_connection:
            close_old_connections()


REASONS = {
    201: "Created",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
}


def application(environ, start_response, *, manage_connection: bool = True):
    product = _product()  # imported (and Django set up) on the worker's first request
    if environ.get("PATH_INFO") != PATH:
        return product(environ, start_response)
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Allow", "POST")])
        return [b""]
    answer = floor_checkout(environ, manage_connection=manage_connection)
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(answer.body))),
        ("X-Query-Count", str(answer.statements)),
    ]
    if answer.replayed:
        headers.append(("Idempotent-Replayed", "true"))
    start_response(f"{answer.status} {REASONS.get(answer.status, '')}".strip(), headers)
    return [answer.body]


def served():
    """gunicorn's application factory (``bench.write_floor:served()``): the product is imported
    as the worker boots, so a bad setting stops the server at its start as ``shop.wsgi`` does,
    instead of failing every request."""
    _product()
    return application
