"""The floor: the read endpoints the benchmark measures, answered the cheapest honest way.

A bare WSGI app (no framework on the request path) that answers the same URLs with the same
JSON as the product's REST API (Payload's REST format: the list envelope, camelCase, ISO UTC
timestamps, groups, relations populated by ``depth``, an order's joins as ``{docs,
hasNextPage}``), with one hand-written SQL query per relation level through psycopg, one
connection per worker process, and orjson. What each collection's document holds (columns,
groups, relations, joins) is read from the product's declarations once, at start
(``declared``). It is benchmark-only and never mounted in the product's URLs:

    DEBUG=1 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \
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
from typing import Any
from urllib.parse import parse_qsl

import django
import orjson
import psycopg
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

# The collections' declarations are read once, when the floor starts (never per request).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
if not apps.ready:
    django.setup()

from shop.api.collections import (
    Computed,
    DateTime,
    Group,
    registry,
)
from shop.api.collections import Relation as DeclaredRelation
from shop.api.query import parse_sort

DEFAULT_DEPTH = 1
MAX_DEPTH = 2  # the benchmark needs 0 and 1; 2 keeps the recursion honest
JOIN_LIMIT = 10


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------------------------
# Collections: the columns read, and how a row becomes a depth-0 document, from the product's
# declarations.


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
    parent: str  # the child's field holding the parent


@dataclass(frozen=True)
class Collection:
    table: str
    columns: str
    render: Callable[[tuple], dict]
    relations: tuple[Relation, ...] = ()
    joins: tuple[Join, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)  # where path → column


def declared(slug: str) -> Collection:
    """The floor's reading of a collection, made from the product's declaration of it
    (``shop.api.collections``): its table, the columns it reads, how a row becomes a depth-0
    document, its relations and joins. Adding a field to a collection adds it here too, with
    no column list or positional row to keep in step. The rendering is compiled into one
    function returning one dict literal, as fast as writing it out by hand."""
    collection = registry.get(slug)
    columns: dict[str, int] = {}
    names: dict[str, Any] = {"iso": iso}

    meta = collection.model._meta

    def column(name: str) -> str:
        """The row's value of a model field (by its name in the ORM), read by its column."""
        sql = meta.get_field(name).column
        return f"r[{columns.setdefault(sql, len(columns))}]"

    def value(item) -> str:
        if isinstance(item, DateTime):
            return f"iso({column(item.column)})"
        return column(item.column)  # a relation: its foreign key's column, the id

    entries = []
    for item in collection.fields:
        if isinstance(item, Group):
            members = ", ".join(f"{m.name!r}: {value(m)}" for m in item.members)
            entries.append(f"{item.name!r}: {{{members}}}")
        elif isinstance(item, Computed):
            func = names[f"computed_{len(names)}"] = item.func
            row = ", ".join(f"{c!r}: {column(c)}" for c in item.columns)
            entries.append(f"{item.name!r}: {_name_of(names, func)}({{{row}}})")
        else:
            entries.append(f"{item.name!r}: {value(item)}")
    source = "def render(r):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, f"<floor render of {slug}>", "exec"), names)
    relations = tuple(
        Relation(item.name, item.to)
        for item in collection.fields
        if isinstance(item, DeclaredRelation)
    )
    joins = []
    for join in collection.joins:
        child = registry.get(join.to)
        parent = next(f.name for f in child.fields if getattr(f, "column", None) == join.fk)
        order_by = ", ".join(
            f"{_sql_column(child.model, term[1:])} DESC"
            if term.startswith("-")
            else _sql_column(child.model, term)
            for term in parse_sort(child, join.sort)
        )
        fk_column = child.model._meta.get_field(join.fk).column
        joins.append(Join(join.name, join.to, fk_column, join.limit, order_by, parent))
    filters = {
        path: meta.get_field(column_name).column
        for path, (column_name, _found) in collection.paths.items()
    }
    return Collection(
        collection.model._meta.db_table,
        ", ".join(columns),
        names["render"],
        relations=relations,
        joins=tuple(joins),
        filters=filters,
    )


def _sql_column(model, name: str) -> str:
    """The column of a model field named as the ORM names it (a field or its ``_id``)."""
    try:
        return model._meta.get_field(name).column
    except FieldDoesNotExist:
        return next(f.column for f in model._meta.concrete_fields if f.attname == name)


def _name_of(names: dict, func) -> str:
    return next(name for name, found in names.items() if found is func)


NEWEST = "created_at DESC, id DESC"
COLLECTIONS: dict[str, Collection] = {
    slug: declared(slug)
    for slug in (
        "orders",
        "order-items",
        "transactions",
        "fulfillments",
        "fulfillment-items",
        "returns",
        "return-items",
        "exchanges",
        "exchange-items",
        "customers",
        "carts",
        "products",
        "variants",
        "options",
    )
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
            parent_key = join.parent
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
