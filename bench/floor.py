"""The floor: the read endpoints the benchmark measures, answered the cheapest honest way.

A bare WSGI app (no framework) that answers the same URLs with the same JSON as the product's
REST API (Payload's REST format: the list envelope, camelCase, ISO UTC timestamps, groups,
relations populated by ``depth``, an order's joins as ``{docs, hasNextPage}``), with one
hand-written SQL query per relation level through psycopg, one connection per worker process,
and orjson. It is benchmark-only and never mounted in the product's URLs:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \
        uv run gunicorn bench.floor:application -b 127.0.0.1:8101

What it answers (``GET`` only):

- ``/api/orders`` with ``where[customer][equals]``, ``where[status][equals]``,
  ``where[createdAt][less_than]``, ``sort`` (``createdAt`` or ``-createdAt``), ``limit``, ``page``,
  ``depth`` 0–2;
- ``/api/orders/<id>?depth=n``;
- ``/api/order-items``, ``/api/fulfillments``, ``/api/returns``, ``/api/transactions`` with
  ``where[order][equals]``.

Every response carries ``X-Query-Count``: the SQL statements it ran.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl

import orjson
import psycopg

# Carriers with a display name and a tracking link, as the product shows them.
from fulfillment.carriers import find_carrier, tracking_link

DEFAULT_DEPTH = 1
MAX_DEPTH = 2  # the benchmark needs 0 and 1; 2 keeps the recursion honest
JOIN_LIMIT = 10


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------------------------
# Collections: the columns read, and how a row becomes a depth-0 document.


@dataclass(frozen=True)
class Relation:
    field: str  # the document's key, holding an id at depth 0
    collection: str


@dataclass(frozen=True)
class Join:
    field: str
    collection: str
    column: str  # the child's column pointing at the parent
    limit: int | None  # None: every child
    order_by: str


@dataclass(frozen=True)
class Collection:
    table: str
    columns: str
    render: Callable[[tuple], dict]
    relations: tuple[Relation, ...] = ()
    joins: tuple[Join, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)  # where path → column


def _order(r: tuple) -> dict:
    return {
        "id": r[0],
        "orderNumber": r[1],
        "customer": r[2],
        "cart": r[3],
        "customerSnapshot": {"name": r[4], "email": r[5], "phone": r[6]},
        "shippingAddress": {
            "recipientName": r[7],
            "phone": r[8],
            "postalCode": r[9],
            "address1": r[10],
            "address2": r[11],
        },
        "status": r[12],
        "currency": r[13],
        "subtotalAmount": r[14],
        "shippingAmount": r[15],
        "discountAmount": r[16],
        "totalAmount": r[17],
        "staffNote": r[18],
        "createdAt": iso(r[19]),
        "updatedAt": iso(r[20]),
        "deliveryNote": r[21],
    }


def _order_item(r: tuple) -> dict:
    return {
        "id": r[0],
        "order": r[1],
        "product": r[2],
        "variant": r[3],
        "option": r[4],
        "title": r[5],
        "sku": r[6],
        "unitPrice": r[7],
        "quantity": r[8],
        "totalPrice": r[9],
        "createdAt": iso(r[10]),
        "updatedAt": iso(r[11]),
    }


def _transaction(r: tuple) -> dict:
    return {
        "id": r[0],
        "order": r[1],
        "kind": r[2],
        "status": r[3],
        "amount": r[4],
        "totalAmount": r[4],
        "paymentMethod": r[5],
        "method": r[5],
        "paymentId": r[6],
        "createdAt": iso(r[7]),
        "updatedAt": iso(r[8]),
    }


def _fulfillment(r: tuple) -> dict:
    known = find_carrier(r[3])
    return {
        "id": r[0],
        "order": r[1],
        "status": r[2],
        "carrier": r[3],
        "carrierName": known.name if known else r[3],
        "trackingNumber": r[4],
        "trackingUrl": tracking_link(r[3], r[4]),
        "shippedAt": iso(r[5]),
        "deliveredAt": iso(r[6]),
        "exchange": r[7],
        "note": r[8],
        "createdAt": iso(r[9]),
        "updatedAt": iso(r[10]),
    }


def _fulfillment_item(r: tuple) -> dict:
    return {
        "id": r[0],
        "fulfillment": r[1],
        "orderItem": r[2],
        "quantity": r[3],
        "createdAt": iso(r[4]),
        "updatedAt": iso(r[5]),
    }


def _request(r: tuple) -> dict:
    return {
        "id": r[0],
        "order": r[1],
        "status": r[2],
        "reason": r[3],
        "note": r[4],
        "rejectionReason": r[5],
        "receivedAt": iso(r[6]),
        "completedAt": iso(r[7]),
        "createdAt": iso(r[8]),
        "updatedAt": iso(r[9]),
    }


def _return(r: tuple) -> dict:
    doc = _request(r)
    doc["refundAmount"] = r[10]
    doc["refundTransaction"] = r[11]
    return doc


def _request_item(parent: str) -> Callable[[tuple], dict]:
    def render(r: tuple) -> dict:
        return {
            "id": r[0],
            parent: r[1],
            "orderItem": r[2],
            "quantity": r[3],
            "restockQuantity": r[4],
            "createdAt": iso(r[5]),
            "updatedAt": iso(r[6]),
        }

    return render


def _customer(r: tuple) -> dict:
    return {
        "id": r[0],
        "name": r[1],
        "email": r[2],
        "phone": r[3],
        "isActive": r[4],
        "language": r[7],
        "createdAt": iso(r[5]),
        "updatedAt": iso(r[6]),
    }


def _cart(r: tuple) -> dict:
    return {
        "id": r[0],
        "customer": r[1],
        "currency": r[2],
        "checkedOutAt": iso(r[3]),
        "shippingAddress": {
            "recipientName": r[6],
            "phone": r[7],
            "postalCode": r[8],
            "address1": r[9],
            "address2": r[10],
        },
        "createdAt": iso(r[4]),
        "updatedAt": iso(r[5]),
    }


def _stocked(parent: str | None) -> Callable[[tuple], dict]:
    def render(r: tuple) -> dict:
        doc = {"id": r[0], "title": r[1], "sku": r[2], "price": r[3], "stock": r[4]}
        if parent:
            doc[parent] = r[5]
        else:
            doc["isActive"] = r[5]
        doc["createdAt"] = iso(r[6])
        doc["updatedAt"] = iso(r[7])
        return doc

    return render


NEWEST = "created_at DESC, id DESC"
REQUEST_COLUMNS = (
    "id, order_id, status, reason, note, rejection_reason, received_at, completed_at, "
    "created_at, updated_at"
)

COLLECTIONS: dict[str, Collection] = {
    "orders": Collection(
        "orders_order",
        "id, order_number, customer_id, cart_id, customer_name, customer_email, customer_phone, "
        "shipping_recipient_name, shipping_phone, shipping_postal_code, shipping_address1, "
        "shipping_address2, status, currency, subtotal_amount, shipping_amount, discount_amount, "
        "total_amount, staff_note, created_at, updated_at, delivery_note",
        _order,
        relations=(Relation("customer", "customers"), Relation("cart", "carts")),
        joins=(
            Join("items", "order-items", "order_id", None, "id"),
            Join("transactions", "transactions", "order_id", JOIN_LIMIT, NEWEST),
            Join("fulfillments", "fulfillments", "order_id", JOIN_LIMIT, NEWEST),
            Join("returns", "returns", "order_id", JOIN_LIMIT, NEWEST),
            Join("exchanges", "exchanges", "order_id", JOIN_LIMIT, NEWEST),
        ),
        filters={"customer": "customer_id", "status": "status", "createdAt": "created_at"},
    ),
    "order-items": Collection(
        "orders_orderitem",
        "id, order_id, product_id, variant_id, option_id, title, sku, unit_price, quantity, "
        "total_price, created_at, updated_at",
        _order_item,
        relations=(
            Relation("order", "orders"),
            Relation("product", "products"),
            Relation("variant", "variants"),
            Relation("option", "options"),
        ),
        filters={"order": "order_id"},
    ),
    "transactions": Collection(
        "orders_transaction",
        "id, order_id, kind, status, amount, payment_method, payment_id, created_at, updated_at",
        _transaction,
        relations=(Relation("order", "orders"),),
        filters={"order": "order_id"},
    ),
    "fulfillments": Collection(
        "fulfillment_fulfillment",
        "id, order_id, status, carrier, tracking_number, shipped_at, delivered_at, exchange_id, "
        "note, created_at, updated_at",
        _fulfillment,
        relations=(Relation("order", "orders"), Relation("exchange", "exchanges")),
        joins=(Join("items", "fulfillment-items", "fulfillment_id", JOIN_LIMIT, "id"),),
        filters={"order": "order_id"},
    ),
    "fulfillment-items": Collection(
        "fulfillment_fulfillmentitem",
        "id, fulfillment_id, order_item_id, quantity, created_at, updated_at",
        _fulfillment_item,
        relations=(Relation("fulfillment", "fulfillments"), Relation("orderItem", "order-items")),
    ),
    "returns": Collection(
        "returns_return",
        REQUEST_COLUMNS + ", refund_amount, refund_transaction_id",
        _return,
        relations=(Relation("order", "orders"), Relation("refundTransaction", "transactions")),
        joins=(Join("items", "return-items", "return_id", JOIN_LIMIT, "id"),),
        filters={"order": "order_id"},
    ),
    "return-items": Collection(
        "returns_returnitem",
        "id, return_id, order_item_id, quantity, restock_quantity, created_at, updated_at",
        _request_item("return"),
        relations=(Relation("return", "returns"), Relation("orderItem", "order-items")),
    ),
    "exchanges": Collection(
        "returns_exchange",
        REQUEST_COLUMNS,
        _request,
        relations=(Relation("order", "orders"),),
        joins=(Join("items", "exchange-items", "exchange_id", JOIN_LIMIT, "id"),),
    ),
    "exchange-items": Collection(
        "returns_exchangeitem",
        "id, exchange_id, order_item_id, quantity, restock_quantity, created_at, updated_at",
        _request_item("exchange"),
        relations=(Relation("exchange", "exchanges"), Relation("orderItem", "order-items")),
    ),
    "customers": Collection(
        "shop_customer",
        "id, name, email, phone, is_active, created_at, updated_at, language",
        _customer,
    ),
    "carts": Collection(
        "shop_cart",
        "id, customer_id, currency, checked_out_at, created_at, updated_at, "
        "shipping_recipient_name, shipping_phone, shipping_postal_code, shipping_address1, "
        "shipping_address2",
        _cart,
        relations=(Relation("customer", "customers"),),
    ),
    "products": Collection(
        "shop_product",
        "id, title, sku, price, stock, is_active, created_at, updated_at",
        _stocked(None),
    ),
    "variants": Collection(
        "shop_variant",
        "id, title, sku, price, stock, product_id, created_at, updated_at",
        _stocked("product"),
        relations=(Relation("product", "products"),),
    ),
    "options": Collection(
        "shop_option",
        "id, title, sku, price, stock, variant_id, created_at, updated_at",
        _stocked("variant"),
        relations=(Relation("variant", "variants"),),
    ),
}


# ---------------------------------------------------------------------------------------------
# Reading


class Reader:
    """Runs the queries of one request and counts them."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.queries = 0

    def rows(self, query: str, params: list) -> list[tuple]:
        self.queries += 1
        return self.conn.execute(query, params).fetchall()

    def populate(self, collection: Collection, docs: list[dict], depth: int) -> None:
        """Replace relation ids by documents (depth − 1) and add the joins, one query each."""
        if depth < 1 or not docs:
            return
        for relation in collection.relations:
            ids = {doc[relation.field] for doc in docs} - {None}
            if not ids:
                continue
            target = COLLECTIONS[relation.collection]
            found = self.rows(
                f"SELECT {target.columns} FROM {target.table} WHERE id = ANY(%s)", [list(ids)]
            )
            children = [target.render(row) for row in found]
            self.populate(target, children, depth - 1)
            by_id = {child["id"]: child for child in children}
            for doc in docs:
                if doc[relation.field] is not None:
                    doc[relation.field] = by_id.get(doc[relation.field])
        parent_ids = [doc["id"] for doc in docs]
        for join in collection.joins:
            target = COLLECTIONS[join.collection]
            if join.limit is None:
                found = self.rows(
                    f"SELECT {target.columns} FROM {target.table} "
                    f"WHERE {join.column} = ANY(%s) ORDER BY {join.order_by}",
                    [parent_ids],
                )
                extra: set = set()
            else:
                found = self.rows(
                    f"SELECT * FROM (SELECT {target.columns}, {join.column}, row_number() OVER "
                    f"(PARTITION BY {join.column} ORDER BY {join.order_by}) AS n "
                    f"FROM {target.table} WHERE {join.column} = ANY(%s)) AS page "
                    f"WHERE n <= %s ORDER BY {join.order_by}",
                    [parent_ids, join.limit + 1],
                )
                extra = {row for row in found if row[-1] > join.limit}
            children = [target.render(row) for row in found if row not in extra]
            self.populate(target, children, depth - 1)
            parent_key = _parent_field(target)
            grouped: dict[int, list[dict]] = {pk: [] for pk in parent_ids}
            for child in children:
                owner = child[parent_key]
                grouped[owner if isinstance(owner, int) else owner["id"]].append(child)
            more = {row[-2] for row in extra}  # the parent id, selected before the row number
            for doc in docs:
                doc[join.field] = {"docs": grouped[doc["id"]], "hasNextPage": doc["id"] in more}

    def join_ids(self, collection: Collection, docs: list[dict]) -> None:
        """At depth 0, every join as ``{docs: [ids], hasNextPage}``: one query for all joins,
        each join's children numbered per parent and cut to its limit (+1, to tell whether
        there are more)."""
        if not collection.joins or not docs:
            return
        parent_ids = [doc["id"] for doc in docs]
        parts, params = [], []
        for index, join in enumerate(collection.joins):
            target = COLLECTIONS[join.collection]
            numbered = (
                f"SELECT {index} AS j, {join.column} AS parent, id, row_number() OVER "
                f"(PARTITION BY {join.column} ORDER BY {join.order_by}) AS n "
                f"FROM {target.table} WHERE {join.column} = ANY(%s)"
            )
            params.append(parent_ids)
            if join.limit is not None:
                numbered = f"SELECT * FROM ({numbered}) AS join_{index} WHERE n <= %s"
                params.append(join.limit + 1)
            parts.append(f"({numbered})")
        found: dict[tuple[int, int], list[int]] = {}
        rows = self.rows(" UNION ALL ".join(parts), params)
        for j, parent, pk, _n in sorted(rows, key=lambda row: (row[0], row[1], row[3])):
            found.setdefault((j, parent), []).append(pk)
        for index, join in enumerate(collection.joins):
            for doc in docs:
                ids = found.get((index, doc["id"]), [])
                more = join.limit is not None and len(ids) > join.limit
                doc[join.field] = {
                    "docs": ids[: join.limit] if join.limit is not None else ids,
                    "hasNextPage": more,
                }


def _parent_field(collection: Collection) -> str:
    """The first relation of a child collection is the parent it is joined on."""
    return collection.relations[0].field


# ---------------------------------------------------------------------------------------------
# The WSGI app


class BadRequest(Exception):
    pass


_connection: tuple[int, psycopg.Connection] | None = None


def connection() -> psycopg.Connection:
    """One connection per worker process, opened on its first request."""
    global _connection
    if _connection is None or _connection[0] != os.getpid() or _connection[1].closed:
        url = os.environ.get("BENCH_DATABASE_URL") or os.environ["DATABASE_URL"]
        conn = psycopg.connect(url, autocommit=True)
        conn.execute("SET TIME ZONE 'UTC'")
        _connection = (os.getpid(), conn)
    return _connection[1]


WHERE_KEY = re.compile(r"^where\[([A-Za-z.]+)\]\[([a-z_]+)\]$")
OPERATORS = {"equals": "=", "less_than": "<", "greater_than": ">"}


def list_docs(reader: Reader, slug: str, params: list[tuple[str, str]]) -> dict:
    collection = COLLECTIONS[slug]
    query = dict(params)
    conditions, values = [], []
    for key, value in params:
        match = WHERE_KEY.match(key)
        if not match:
            continue
        path, operator = match.groups()
        if path not in collection.filters or operator not in OPERATORS:
            raise BadRequest(f"The following path cannot be queried: {path}")
        column = collection.filters[path]
        conditions.append(f"{column} {OPERATORS[operator]} %s")
        values.append(datetime.fromisoformat(value) if column.endswith("_at") else value)
    where = " AND ".join(conditions) or "TRUE"
    sort = query.get("sort", "-createdAt")
    order_by = "created_at, id" if sort == "createdAt" else NEWEST
    limit = int(query.get("limit", 10))
    page = max(int(query.get("page", 1)), 1)
    depth = min(int(query.get("depth", DEFAULT_DEPTH)), MAX_DEPTH)

    offset = (page - 1) * limit
    rows = reader.rows(
        f"SELECT {collection.columns} FROM {collection.table} WHERE {where} "
        f"ORDER BY {order_by} LIMIT %s OFFSET %s",
        [*values, limit, offset],
    )
    if len(rows) < limit and (rows or page == 1):
        total = offset + len(rows)  # a short page is the last one: no need to count
    else:
        total = reader.rows(f"SELECT count(*) FROM {collection.table} WHERE {where}", values)[0][0]
    docs = [collection.render(row) for row in rows]
    reader.populate(collection, docs, depth)
    if depth < 1:
        reader.join_ids(collection, docs)
    pages = max(math.ceil(total / limit), 1) if limit else 1
    return {
        "docs": docs,
        "totalDocs": total,
        "limit": limit,
        "totalPages": pages,
        "page": page,
        "pagingCounter": (page - 1) * limit + 1,
        "hasPrevPage": page > 1,
        "hasNextPage": page < pages,
        "prevPage": page - 1 if page > 1 else None,
        "nextPage": page + 1 if page < pages else None,
    }


def one_doc(reader: Reader, slug: str, pk: int, params: list[tuple[str, str]]) -> dict | None:
    collection = COLLECTIONS[slug]
    depth = min(int(dict(params).get("depth", DEFAULT_DEPTH)), MAX_DEPTH)
    rows = reader.rows(f"SELECT {collection.columns} FROM {collection.table} WHERE id = %s", [pk])
    if not rows:
        return None
    docs = [collection.render(rows[0])]
    reader.populate(collection, docs, depth)
    if depth < 1:
        reader.join_ids(collection, docs)
    return docs[0]


PATH = re.compile(r"^/api/([a-z-]+)(?:/(\d+))?/?$")
LISTED = {"orders", "order-items", "transactions", "fulfillments", "returns"}


def application(environ, start_response):
    def answer(status: str, body: dict, queries: int = 0):
        payload = orjson.dumps(body)
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("X-Query-Count", str(queries)),
            ],
        )
        return [payload]

    match = PATH.match(environ.get("PATH_INFO", ""))
    if environ["REQUEST_METHOD"] != "GET" or not match or match.group(1) not in LISTED:
        return answer("404 Not Found", {"errors": [{"message": "Not Found"}]})
    slug, pk = match.groups()
    params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    reader = Reader(connection())
    try:
        if pk is None:
            body = list_docs(reader, slug, params)
        else:
            body = one_doc(reader, slug, int(pk), params)
            if body is None:
                return answer("404 Not Found", {"errors": [{"message": "Not Found"}]}, 1)
    except (BadRequest, ValueError) as error:
        body = {"errors": [{"name": "QueryError", "message": str(error)}]}
        return answer("400 Bad Request", body, reader.queries)
    return answer("200 OK", body, reader.queries)
