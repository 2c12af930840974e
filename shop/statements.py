"""Read statements compiled once per shape, then run with each call's values (PostgreSQL).

The API asks the same few queries over and over with other values: a page of a collection for a
``where`` of a given shape, the rows a level of relations needs by id, a join's children by
parent id, the key a server calls with; services ask where an order's units are on every
change. Django compiles a QuerySet to SQL every time one is evaluated, and for these indexed
queries compiling costs more than PostgreSQL takes to answer them. ``fetch`` compiles the ORM
query of a shape once per process and runs that SQL again with the new values:

- a shape is named by the query itself, never by its caller: ``build`` is called with stand-in
  values (the same for every call of a shape) and the key is the database (alias and vendor)
  with the whole query the ORM then holds, serialized (``pickle``): its tables, joins, lookups,
  selected columns, ordering, annotations, the caller's scope. Two queries that differ in
  anything but the values differ in the key, so no call site names (or forgets) what its SQL
  depends on;
- ``SHOP_STATEMENTS_VERIFY`` (on in the test suite) compiles every call's query afresh with its
  real values and raises ``StatementMismatch`` if the SQL, the values or the columns differ
  from what the cache served: what stand-ins could not reveal (SQL that depends on one value
  only) or an internals change in a new Django fails the tests loudly;

- the SQL is exactly what the ORM writes for the query (the ORM stays the one place SQL comes
  from, scoping and ``where`` included); only the values change;
- results are never kept: every call runs its statement;
- a shape is compiled twice, with two sets of stand-in values. Only when the two SQL texts are
  identical and every value that differs between them is a stand-in, found untransformed, is the
  shape reused; anything else (a value the ORM rewrites, like ``%word%`` for ``contains``, or
  SQL that depends on a value) runs through the ORM every time, as before;
- a list of ids is one array parameter (``id = ANY(%s)``, the ``any_of`` lookup), so a shape's
  SQL is the same for any number of ids;
- each statement is prepared once per database connection (server-side parameters), so
  PostgreSQL parses and plans it once too; ``DATABASE_PREPARED_STATEMENTS=false`` turns that
  off (a connection pooler in transaction mode that does not keep prepared statements).

Other databases (SQLite, the first-run default) run the ORM every time.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import operator
import pickle
import types
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router
from django.db.models import Field, ForeignObject, Lookup, Model, Q, QuerySet
from django.db.models.expressions import BaseExpression
from django.db.models.sql.where import WhereNode
from django.utils.functional import cached_property

try:
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
except ImportError:  # no psycopg: PostgreSQL is not used
    CursorDebugWrapper = ServerBindingCursor = None
else:

    class PreparedDebugWrapper(CursorDebugWrapper):
        """Logs a prepared statement with its values, as Django logs every other query (the
        server-side statement itself has only placeholders)."""

        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params)):
                return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


class AnyOf(Lookup):
    """``field__any_of=[…]``: ``field = ANY(%s)`` with the whole list as one array parameter on
    PostgreSQL, so the statement's text does not change with the number of values; ``IN (…)``
    elsewhere."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        field = self.lhs.output_field
        return [field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own


# ---------------------------------------------------------------------------------------------
# Arguments and their stand-ins

INT_RANGE = (-(2**31), 2**31)  # every integer column's range: no lookup treats these specially


def kind_of(value: Any) -> str | None:
    """The kind of a value a statement takes as a parameter, or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "int" if INT_RANGE[0] <= value < INT_RANGE[1] else None
    if isinstance(value, str):
        return "str"
    if isinstance(value, datetime):
        return "datetime" if value.utcoffset() is not None else None
    if isinstance(value, list) and all(kind_of(item) == "int" for item in value):
        return "ids"
    return None


def _stand_in(kind: str, index: int, variant: int) -> Any:
    """A value of ``kind``, different for every (index, variant), that no query holds itself."""
    number = 1_900_000_000 + index * 2 + variant
    if kind == "int":
        return number
    if kind == "ids":
        return [number]
    if kind == "str":
        return f"\x00stand-in-{variant}-{index}"
    return datetime(2001 + variant, 1, 1, tzinfo=UTC) + timedelta(seconds=index)


class StandIns:
    """Where each stand-in value went in, found by value in one step (a shape may take a
    thousand values: ``in`` lists)."""

    def __init__(self, stand_ins: Sequence):
        self.index = {_hashable(value): i for i, value in enumerate(stand_ins)}

    def position(self, value: Any) -> int | None:
        try:
            return self.index.get(_hashable(value))
        except TypeError:  # a value no stand-in can be (unhashable)
            return None


def _hashable(value: Any) -> tuple:
    if isinstance(value, list):
        return (list, tuple(value))
    return (type(value), value)


# ---------------------------------------------------------------------------------------------
# Compiled statements


class Compiled:
    """One shape's SQL, its constant parameters and where each argument goes."""

    def __init__(
        self, sql: str, params: list, slots: list[tuple[int, int]], names, converters, model
    ):
        self.model = model  # whose rows: the database router chooses where they are read
        self.sql = sql
        self.params = params
        self.slots = slots  # (parameter position, argument index)
        self.names = names
        self.converters = converters  # [(column, converters, expression)]

    def bind(self, args: Sequence) -> list:
        params = list(self.params)
        for position, index in self.slots:
            params[position] = args[index]
        return params


EMPTY = object()  # the shape matches nothing whatever the values (a scope with no rows)
UNCACHEABLE = object()

MAX_SHAPES = 1000
_shapes: OrderedDict[tuple, Any] = OrderedDict()


def _sql(queryset: QuerySet, using: str):
    query = queryset.query
    compiler = query.get_compiler(using)
    sql, params = compiler.as_sql()
    if query.selected:
        names = list(query.selected)
    else:
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
    return sql, list(params), names, compiler


def _compile(build: Callable[..., QuerySet], kinds: tuple[str, ...], using: str):
    first = [_stand_in(kind, i, 0) for i, kind in enumerate(kinds)]
    second = [_stand_in(kind, i, 1) for i, kind in enumerate(kinds)]
    try:
        sql, params, names, compiler = _sql(build(*first), using)
        other_sql, other_params, _names, _compiler = _sql(build(*second), using)
    except EmptyResultSet:
        return EMPTY
    except Exception:  # the ORM says so again, with the real values, when it runs
        return UNCACHEABLE
    if sql != other_sql or len(params) != len(other_params):
        return UNCACHEABLE
    slots = []
    first_positions, second_positions = StandIns(first), StandIns(second)
    for position, (value, other) in enumerate(zip(params, other_params, strict=True)):
        index, other_index = first_positions.position(value), second_positions.position(other)
        if index is None and other_index is None:
            if type(value) is not type(other) or value != other:
                return UNCACHEABLE  # a value the ORM derived from an argument
            continue
        if index != other_index:
            return UNCACHEABLE
        slots.append((position, index))
    if {index for _position_, index in slots} != set(range(len(kinds))):
        return UNCACHEABLE  # an argument went in transformed (or not at all)
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = [
        (column, convs, expression)
        for column, (convs, expression) in compiler.get_converters(fields).items()
    ]
    return Compiled(sql, params, slots, names, converters, compiler.query.model)


class StatementMismatch(AssertionError):
    """The statement the cache served is not what the ORM compiles for the call (verify mode)."""


def _new(cls):
    return cls.__new__(cls)


def _reduce_field(field: Field):
    """A model's field by its name (as Django pickles it); a field of no model (an
    expression's output field) by its state without ``creation_counter``, which every new
    field instance increments and which says nothing about the SQL."""
    if hasattr(field, "model"):
        return field.__reduce__()
    state = dict(field.__dict__)
    state.pop("creation_counter", None)
    return _new, (type(field),), state


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    for subclass in cls.__subclasses__():
        found |= _subclasses(subclass)
    return found


_cached_names: dict[type, frozenset[str]] = {}


def _reduce_node(node):
    """An expression or a where node by its state without what it caches about itself on
    first use (``contains_aggregate``, ``output_field``…): a model field's column expression
    is shared by every query, and its caches say nothing about the SQL."""
    cls = type(node)
    names = _cached_names.get(cls)
    if names is None:
        names = _cached_names[cls] = frozenset(
            name
            for klass in cls.__mro__
            for name, value in vars(klass).items()
            if isinstance(value, cached_property | functools.cached_property)
        )
    state = node.__getstate__() if hasattr(node, "__getstate__") else node.__dict__
    if isinstance(state, dict):
        state = {key: value for key, value in state.items() if key not in names}
    return _new, (cls,), state


_dispatch: dict[type, Callable] = {}


def _dispatch_table() -> dict[type, Callable]:
    if not _dispatch:
        _dispatch.update(dict.fromkeys(_subclasses(BaseExpression), _reduce_node))
        _dispatch.update(dict.fromkeys(_subclasses(WhereNode), _reduce_node))
        _dispatch.update(dict.fromkeys(_subclasses(Field), _reduce_field))
    return _dispatch


def shape_key(queryset: QuerySet, using: str) -> tuple | None:
    """The key of a query built with stand-in values: the database alias and vendor, and the
    whole query, serialized. None when the query cannot be serialized (it then runs through
    the ORM)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _dispatch_table()
    try:
        pickler.dump(queryset.query)
    except Exception:
        return None
    return (using, connections[using].vendor, buffer.getvalue())


def cached_statements() -> int:
    """How many statements are compiled and kept (what ``forget`` drops)."""
    return len(_shapes)


class Unfrozen(Exception):
    """A value ``freeze`` cannot hold as it is."""


# A dataclass's fields, by class: a getter of their values as a tuple (``dataclasses.fields``
# is slow to ask each time, and one ``attrgetter`` reads them all in C).
_dataclass_fields: dict[type, Callable[[Any], tuple]] = {}


def _fields_getter(value: Any) -> Callable[[Any], tuple]:
    names = tuple(f.name for f in dataclasses.fields(value))
    if len(names) == 1:  # attrgetter of one name answers the value, not a tuple
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    return operator.attrgetter(*names) if names else lambda obj: ()


def freeze(value: Any) -> Any:
    """``value`` as a hashable, comparable value that equals another only when the two are the
    same: plain values with their type, containers item by item, a function as its code, its
    defaults and what it closes over, an object with a ``statement_key`` by that key (a
    collection by its slug), a Q by its tree, a dataclass by its fields, a model class as
    itself. Anything else raises ``Unfrozen``."""
    # Runs for every call of every cached statement (a few times a request): the common kinds
    # first, compared by identity, and ``map`` rather than generators.
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is int or kind is bool or kind is float:
        return (kind, value)
    if kind is tuple or kind is list:
        return (kind, tuple(map(freeze, value)))
    if kind is types.FunctionType:
        closure = value.__closure__
        cells = tuple([freeze(cell.cell_contents) for cell in closure]) if closure else ()
        defaults = freeze(value.__defaults__), freeze(value.__kwdefaults__)
        return (value.__code__, defaults, cells)
    if isinstance(value, str | bytes):
        return value
    if kind is dict:
        return (dict, tuple([(freeze(k), freeze(v)) for k, v in value.items()]))
    if kind is set or kind is frozenset:
        return (kind, frozenset(map(freeze, value)))
    key = getattr(value, "statement_key", None)
    if key is not None and not isinstance(value, type):
        return (kind, freeze(key))
    if kind is Q:
        return (Q, value.connector, value.negated, freeze(value.children))
    if isinstance(value, type) and issubclass(value, Model):
        return value
    fields = _dataclass_fields.get(kind)
    if fields is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = _dataclass_fields[kind] = _fields_getter(value)
    if fields is not None:
        return (kind, tuple(map(freeze, fields(value))))
    raise Unfrozen(kind)


def _call_key(build, kinds: tuple, using: str) -> tuple | None:
    """What a call's statement follows from when ``build`` depends on nothing but its
    arguments and what it closes over: the build itself, frozen (None when it cannot be)."""
    try:
        return (using, kinds, freeze(build))
    except (Unfrozen, ValueError):  # ValueError: a closure cell not yet filled
        return None


# Calls already seen: the build, frozen, to its shape's statement (what ``_shapes`` holds).
_calls: OrderedDict[tuple, Any] = OrderedDict()


def _shape(build, kinds: tuple, using: str):
    """The compiled statement of ``build`` called with values of ``kinds`` (or ``EMPTY``,
    ``UNCACHEABLE``); None when the query has no key.

    The statement is found by the query itself (``shape_key``). A build seen before, frozen
    the same way (its code and everything it closes over), finds it without building the
    query again: the query of a build depends on nothing else (the verify mode checks it)."""
    call = _call_key(build, kinds, using)
    if call is not None:
        found = _calls.get(call)
        if found is not None:
            _calls.move_to_end(call)
            return found
    try:
        key = shape_key(build(*[_stand_in(kind, i, 0) for i, kind in enumerate(kinds)]), using)
    except Exception:  # the ORM says so again, with the real values, when it runs
        key = None
    if key is None:
        return None
    found = _shapes.get(key)
    if found is None:
        found = _compile(build, kinds, using)
        _shapes[key] = found
        if len(_shapes) > MAX_SHAPES:
            _shapes.popitem(last=False)
    else:
        _shapes.move_to_end(key)
    if call is not None:
        _calls[call] = found
        if len(_calls) > MAX_SHAPES:
            _calls.popitem(last=False)
    return found


def forget() -> None:
    """Drop every compiled statement (the next call of each shape compiles it again)."""
    _shapes.clear()
    _calls.clear()


def _verify(compiled, build, args: Sequence, using: str) -> None:
    """Raise ``StatementMismatch`` unless ``compiled`` is what the ORM compiles now for
    ``build(*args)``: the same SQL text, values and columns (or, for a shape that matches
    nothing, nothing)."""
    try:
        sql, params, names, _compiler = _sql(build(*args), using)
    except EmptyResultSet:
        if compiled is EMPTY:
            return
        raise StatementMismatch(
            f"The cache served a statement for a query that matches nothing:\n{compiled.sql}"
        ) from None
    if compiled is EMPTY:
        raise StatementMismatch(f"The cache served no statement for:\n{sql}")
    served = compiled.bind(args)
    if sql != compiled.sql or params != served or names != compiled.names:
        raise StatementMismatch(
            "The cache served another statement than the ORM compiles:\n"
            f"served:   {compiled.sql}\n          {served!r} {compiled.names!r}\n"
            f"compiled: {sql}\n          {params!r} {names!r}"
        )


def _cached(build, args: Sequence, using: str, cache: bool):
    """The compiled statement of ``build(*args)`` (``EMPTY`` when it matches nothing), or None
    when it runs through the ORM: not PostgreSQL, a value no statement takes, no key, or SQL
    that cannot take other values."""
    connection = connections[using]
    kinds = tuple(kind_of(arg) for arg in args)
    if not cache or connection.vendor != "postgresql" or None in kinds:
        return None
    compiled = _shape(build, kinds, using)
    if compiled is None or compiled is UNCACHEABLE:
        return None
    if getattr(settings, "SHOP_STATEMENTS_VERIFY", False):
        _verify(compiled, build, args, using)
    return compiled


def _execute(connection, sql: str, params: list) -> list[tuple]:
    """Run a statement and return its rows, logged, counted and error-wrapped as Django does
    every query. On PostgreSQL it is prepared on first use: server-side parameters, so
    PostgreSQL parses and plans it once per connection (Django's own cursors bind on the client
    and never prepare, so nothing else changes).

    With ``CONN_HEALTH_CHECKS``, the first statement of a request outside a transaction is its
    own health check: instead of a ``SELECT 1`` first, a statement that finds the connection
    broken (the server restarted, a proxy closed it) reconnects and runs again, which is what
    the check is for. Statements here only read, so running one again is safe."""
    if not getattr(settings, "DATABASE_PREPARED_STATEMENTS", True):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    if (
        connection.connection is None
        or not connection.health_check_enabled
        or connection.health_check_done
        or connection.in_atomic_block
        or not connection.autocommit
    ):
        connection.close_if_health_check_failed()
        return _execute_prepared(connection, sql, params)
    try:
        rows = _execute_prepared(connection, sql, params)
    except DatabaseError:
        raw = connection.connection
        if raw is not None and not (raw.closed or raw.broken):
            raise
        connection.close()
        rows = _execute_prepared(connection, sql, params)
    connection.health_check_done = True
    return rows


def _execute_prepared(connection, sql: str, params: list) -> list[tuple]:
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 0  # only server-side-binding cursors prepare: ours
    if connection.queries_logged or connection.execute_wrappers:
        # Through Django's cursor wrapper: query logs, counts and execute wrappers see it.
        cursor = ServerBindingCursor(raw)
        with connection.wrap_database_errors:
            if connection.queries_logged:
                wrapped = PreparedDebugWrapper(cursor, connection)
            else:
                wrapped = connection.make_cursor(cursor)
        with wrapped:
            wrapped.execute(sql, params)
            return wrapped.fetchall()
    # What Django's wrapper does, without building one per statement: one cursor a connection.
    cached = connection.__dict__.get("_statement_cursor")
    if cached is None or cached[0] is not raw:
        cached = connection.__dict__["_statement_cursor"] = (raw, ServerBindingCursor(raw))
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        cached[1].execute(sql, params)
        return cached[1].fetchall()


def _run(connection, compiled: Compiled, sql: str, params: list) -> list[tuple]:
    rows = _execute(connection, sql, params)
    if compiled.converters:
        converted = []
        for row in rows:
            row = list(row)
            for column, convs, expression in compiled.converters:
                value = row[column]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[column] = value
            converted.append(row)
        rows = converted
    return rows


def fetch(
    build: Callable[..., QuerySet],
    args: Sequence = (),
    *,
    limit: int | None = None,
    offset: int = 0,
    using: str | None = None,
    cache: bool = True,
) -> list[dict]:
    """The rows (dicts) of ``build(*args)``, a ``values()`` QuerySet, sliced by ``limit`` and
    ``offset``. The values that change from call to call are ``args``; ``cache=False`` runs
    the ORM (a query that holds values of its own, which would make a shape of each). Without
    ``using``, the database router chooses the database, as it does for the ORM (a replica for
    an API read, shop/db_routing.py); a shape is compiled once for every database (they are one
    server version)."""
    compiled = _cached(build, args, DEFAULT_DB_ALIAS, cache)
    if compiled is EMPTY:
        return []
    if compiled is None:
        queryset = build(*args)
        if limit is not None:
            queryset = queryset[offset : offset + limit]
        return list(queryset)
    sql, params = compiled.sql, compiled.bind(args)
    if limit is not None:
        sql, params = f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset]
    names = compiled.names
    rows = _run(connections[using or router.db_for_read(compiled.model)], compiled, sql, params)
    return [dict(zip(names, row, strict=True)) for row in rows]


def fetch_instances(model, build: Callable[..., QuerySet], args: Sequence = (), **options) -> list:
    """Model instances of ``build(*args)``, a QuerySet of ``model``, through ``fetch``."""
    names = [field.attname for field in model._meta.concrete_fields]
    rows = fetch(lambda *a: build(*a).values(*names), args, **options)
    using = options.get("using") or router.db_for_read(model)
    return [model.from_db(using, names, [row[name] for name in names]) for row in rows]


def count(
    build: Callable[..., QuerySet],
    args: Sequence = (),
    *,
    using: str | None = None,
    cache: bool = True,
) -> int:
    """``build(*args).count()``, compiled once per shape like ``fetch``; ``build`` returns the
    QuerySet to count with ``values("pk")`` applied."""
    compiled = _cached(build, args, DEFAULT_DB_ALIAS, cache)
    if compiled is EMPTY:
        return 0
    if compiled is None:
        return build(*args).count()
    sql = f'SELECT COUNT(*) FROM ({compiled.sql}) "counted"'
    connection = connections[using or router.db_for_read(compiled.model)]
    return _execute(connection, sql, compiled.bind(args))[0][0]


# ---------------------------------------------------------------------------------------------
# A ``where`` as a shape and its values


class NotAShape(Exception):
    pass


def q_shape(q: Q) -> tuple[tuple, list] | None:
    """``(shape, values)`` of a Q made of lookups on plain values (what ``compile_where``
    builds): the shape keeps the tree, the lookups, the number of values of each ``in`` and
    any None or boolean; the values are the rest, in order. None for anything else."""
    values: list = []

    def walk(node):
        if isinstance(node, Q):
            children = tuple(walk(child) for child in node.children)
            return ("q", node.connector, node.negated, children)
        if not (isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], str)):
            raise NotAShape
        lookup, value = node
        if value is None or isinstance(value, bool):
            return ("literal", lookup, value)
        if isinstance(value, list | tuple):
            if any(kind_of(item) not in ("int", "str", "datetime") for item in value):
                raise NotAShape
            values.extend(value)
            return ("list", lookup, len(value))
        if kind_of(value) not in ("int", "str", "datetime"):
            raise NotAShape
        values.append(value)
        return ("value", lookup, None)

    try:
        return walk(q), values
    except NotAShape:
        return None


def q_from_shape(shape: tuple, values: Sequence) -> Q:
    """The Q of ``shape`` with ``values`` in its places (the inverse of ``q_shape``)."""
    remaining = iter(values)

    def build(node):
        tag = node[0]
        if tag == "q":
            _tag, connector, negated, children = node
            return Q(*(build(child) for child in children), _connector=connector, _negated=negated)
        _tag, lookup, extra = node
        if tag == "literal":
            return (lookup, extra)
        if tag == "list":
            return (lookup, [next(remaining) for _ in range(extra)])
        return (lookup, next(remaining))

    return build(shape)
