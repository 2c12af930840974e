"""How a REST collection maps onto a model: the one declaration every part of the API reads.

Each app's ``api.py`` declares its collections with these classes: the camelCase field names and
the model columns behind them, groups (nested objects), relations (ids at depth 0, documents
deeper), joins (a parent's children), which paths may be queried and sorted, and which service a
write calls. The query parser, the document builder, the writers and the OpenAPI schema all work
from the same declaration, so a collection is described once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from django.db import models
from django.db.models import CharField, Func
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.module_loading import autodiscover_modules


class CoercionError(ValueError):
    """A value that cannot be read as the field's type; the message says what was expected."""


# A whole number as text: ASCII digits only (str.isdigit() also takes "³" and "١", which int()
# refuses or reads), an optional sign, and few enough digits to fit a bigint column.
_WHOLE_NUMBER = re.compile(r"[-+]?[0-9]{1,18}")
BIGINT = 2**63


def whole_number(text: Any) -> int | None:
    """The integer ``text`` spells (surrounding spaces allowed), or None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else None


# Operators by the kind of field they make sense on (API.md, "where").
EQUALITY = frozenset({"equals", "not_equals", "in", "not_in", "exists"})
COMPARISON = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
TEXT_SEARCH = frozenset({"like", "not_like", "contains"})


def iso_timestamp(value: datetime | str) -> str:
    """UTC, milliseconds, ``Z``: ``2026-11-23T02:41:07.215Z``."""
    if isinstance(value, str):  # already formatted by the database (IsoTimestamp)
        return value
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class IsoTimestamp(Func):
    """A timestamp formatted by the database as the API writes it, so rows need neither a
    driver-side parse nor a Python-side format (timestamps are most of a document's cost)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]": cut, never round, the fraction.
        column, params = compiler.compile(self.source_expressions[0])
        sql = f"(substr({column}, 1, 10) || 'T' || substr({column} || '.000000', 12, 12) || 'Z')"
        return sql, [*params, *params]

    def as_sql(self, compiler, connection, template=None, **extra):
        if template is None:  # other databases: the value itself, formatted in Python
            return compiler.compile(self.source_expressions[0])
        return super().as_sql(compiler, connection, template=template, **extra)


class Field:
    """A scalar field: one model column, one camelCase name."""

    kind = "text"
    operators: frozenset[str] = EQUALITY | TEXT_SEARCH
    openapi_type: dict = {"type": "string"}

    def __init__(
        self,
        name: str,
        column: str | None = None,
        *,
        query: bool = True,
        sort: bool = True,
        nullable: bool = False,
        private: bool = False,
        description: str = "",
        writes: tuple[str, ...] = (),
    ):
        self.name = name
        self.column = column or name
        self.queryable = query
        self.sortable = sort
        self.nullable = nullable
        # Private: only staff and servers read, query or sort it (see shop.api.access).
        self.private = private
        self.description = description
        # The writes that take it as it is (``Write``s by name: create, update, checkout…).
        self.writes = writes

    # Reading: database value → JSON value.
    to_api: Callable[[Any], Any] | None = None

    # Querying and writing: JSON or query-string value → Python value for the ORM.
    def coerce(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            raise CoercionError("expected a single value")
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value)
        if "\x00" in text:
            raise CoercionError("text cannot contain NUL characters")
        return text

    def schema(self) -> dict:
        schema = dict(self.openapi_type)
        if self.nullable:
            schema["nullable"] = True
        description = self.description
        if self.private:
            description = f"{description} Staff and servers only.".strip()
        if description:
            schema["description"] = description
        return schema

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Text(Field):
    pass


class Choice(Field):
    kind = "choice"

    def __init__(self, name: str, column: str | None = None, *, choices, **kwargs):
        super().__init__(name, column, **kwargs)
        self.choices = [value for value, _label in choices]

    def coerce_choice(self, value: Any) -> str:
        text = self.coerce(value)
        if text not in self.choices:
            raise CoercionError(f"expected one of {', '.join(self.choices)}")
        return text

    def schema(self) -> dict:
        return {**super().schema(), "enum": list(self.choices)}


class Integer(Field):
    kind = "integer"
    operators = EQUALITY | COMPARISON
    openapi_type = {"type": "integer", "format": "int64"}

    def __init__(self, name: str, column: str | None = None, *, min_value: int | None = None, **kw):
        super().__init__(name, column, **kw)
        self.min_value = min_value

    def coerce(self, value: Any) -> int:
        if isinstance(value, bool | dict | list):
            raise CoercionError("expected a whole number")
        if isinstance(value, float) and value.is_integer() and abs(value) < BIGINT:
            value = int(value)
        if isinstance(value, int):
            if abs(value) >= BIGINT:
                raise CoercionError("expected a whole number of at most 18 digits")
            return value
        number = whole_number(str(value))
        if number is None:
            raise CoercionError("expected a whole number")
        return number


class Id(Integer):
    kind = "id"

    def __init__(self, name: str = "id", column: str = "id", **kwargs):
        super().__init__(name, column, **kwargs)


class Boolean(Field):
    kind = "boolean"
    operators = EQUALITY
    openapi_type = {"type": "boolean"}

    def coerce(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise CoercionError("expected true or false")


class DateTime(Field):
    kind = "datetime"
    operators = EQUALITY | COMPARISON
    openapi_type = {"type": "string", "format": "date-time"}
    to_api = staticmethod(iso_timestamp)

    def coerce(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            parsed = value
        else:
            if isinstance(value, dict | list | bool) or value is None:
                raise CoercionError("expected an ISO 8601 date")
            text = str(value).strip()
            try:
                parsed = parse_datetime(text)
                day = None if parsed else parse_date(text)
            except ValueError:
                parsed = day = None
            if parsed is None and day is None:
                raise CoercionError("expected an ISO 8601 date")
            if parsed is None:
                parsed = datetime.combine(day, time.min)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed


class Relation(Integer):
    """A foreign key: the id at depth 0, the related collection's document deeper."""

    kind = "relation"
    operators = EQUALITY

    def __init__(self, name: str, column: str | None = None, *, to: str, **kwargs):
        super().__init__(name, column, **kwargs)
        self.to = to
        self.id_column = f"{self.column}_id"

    def coerce(self, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and value.strip() == "null"):
            return None
        if isinstance(value, dict) and "id" in value:
            value = value["id"]
        try:
            return super().coerce(value)
        except CoercionError:
            raise CoercionError("expected an id (a whole number) or null") from None

    def schema(self) -> dict:
        ref = {"$ref": f"#/components/schemas/{schema_name(self.to)}"}
        schema = {
            "oneOf": [{"type": "integer", "format": "int64"}, ref],
            "description": self.description
            or f"The {self.to} id at depth 0, the document at depth ≥ 1.",
        }
        if self.nullable:
            schema["nullable"] = True
        return schema


class Computed:
    """A read-only value computed from the row (a tracking link, a carrier's name)."""

    def __init__(
        self, name: str, func: Callable[[dict], Any], *, columns: Iterable[str], schema: dict
    ):
        self.name = name
        self.func = func
        self.columns = tuple(columns)
        self._schema = schema

    def schema(self) -> dict:
        return {**self._schema, "readOnly": True}


class Group:
    """A nested object of scalar fields stored as columns on the row (``shippingAddress``)."""

    def __init__(
        self,
        name: str,
        members: list[Field],
        *,
        description: str = "",
        writes: tuple[str, ...] = (),
        nullable: bool = False,
    ):
        self.name = name
        self.members = members
        self.description = description
        self.writes = writes
        self.nullable = nullable  # a write may send null: not given

    def schema(self) -> dict:
        schema = {
            "type": "object",
            "properties": {m.name: m.schema() for m in self.members},
        }
        if self.nullable:
            schema["nullable"] = True
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass
class Join:
    """A parent's children, rendered as ``{docs, hasNextPage[, totalDocs]}`` on the parent."""

    name: str
    to: str  # the child collection's slug
    fk: str  # the child's foreign key to the parent
    limit: int | None = 10  # None: every child unless the request limits it
    sort: str | None = None  # default: the child collection's default sort


Writer = Callable[..., Any]


@dataclass(eq=False)
class Collection:
    slug: str
    model: type[models.Model]
    singular: str
    plural: str
    fields: list[Field | Group | Computed]
    joins: list[Join] = field(default_factory=list)
    aliases: tuple[str, ...] = ()
    default_sort: str = "-createdAt"
    description: str = ""
    # Writes. ``create(request, data)`` and ``update(request, instance_pk, data)`` return the
    # pk of the written document (a create may return a ``documents.Written`` instead, to be
    # answered without reading back what it stored); None means the method is not offered (405).
    create: Writer | None = None
    update: Writer | None = None
    delete: Writer | None = None
    deletable: bool = False  # False: DELETE is refused with 403 (history is never deleted)
    # What each write accepts (``shop.api.writes.Write`` by name: create, update).
    writes: dict = field(default_factory=dict)
    routed: bool = True
    # Who may do what (``shop.api.access`` reads these; each app declares its own).
    public: bool = False  # a publishable key alone reads it (the catalog)
    owner: str | None = None  # the ORM path from a row to its customer: a customer's own rows
    customer_writes: dict[str, frozenset[str]] = field(default_factory=dict)  # action → fields
    owned_on_create: str | None = None  # a customer's new row gets them in this relation
    view_permission: str | None = None  # what staff need to read it (default: the model's)
    transition_permission: str | None = None  # its writes run transitions: this, not the model's
    status_permissions: dict[str, str] = field(default_factory=dict)  # PATCH {status}: by target
    status_fields: frozenset[str] = frozenset()  # what a status permission alone may write

    def __post_init__(self):
        self.paths: dict[str, tuple[str, Field]] = {}
        self.columns: list[str] = []
        self.expressions: dict[str, Func] = {}
        self.plan: list[tuple] = []
        for item in self.fields:
            if isinstance(item, Group):
                members = []
                for member in item.members:
                    self.paths[f"{item.name}.{member.name}"] = (member.column, member)
                    members.append((member.name, self._read(member), member.to_api))
                self.plan.append((GROUP, item.name, None, tuple(members)))
            elif isinstance(item, Computed):
                self.columns.extend(item.columns)
                self.plan.append((COMPUTED, item.name, None, item.func))
            elif isinstance(item, Relation):
                self.paths[item.name] = (item.column, item)
                self.columns.append(item.id_column)
                self.plan.append((RELATION, item.name, item.id_column, item.to))
            else:
                self.paths[item.name] = (item.column, item)
                self.plan.append((SCALAR, item.name, self._read(item), item.to_api))
        self.columns = list(dict.fromkeys(self.columns))
        self.joins_by_name = {j.name: j for j in self.joins}
        self.private = frozenset(
            item.name for item in self.fields if getattr(item, "private", False)
        )

    @property
    def statement_key(self) -> str:
        """How ``shop.statements`` tells collections apart in what a query closes over (one
        declaration per slug, made once per process)."""
        return self.slug

    def _read(self, field: Field) -> str:
        """The key a field's value has in ``values()`` rows (timestamps come formatted)."""
        if isinstance(field, DateTime):
            alias = f"{field.column}_iso"
            self.expressions[alias] = IsoTimestamp(field.column)
            return alias
        self.columns.append(field.column)
        return field.column

    def values(self, queryset, columns: list[str] | None = None):
        """``queryset.values()`` with every column a document needs (or just ``columns``)."""
        if columns is not None:
            return queryset.values(*columns)
        return queryset.values(*self.columns, **self.expressions)

    @property
    def app_label(self) -> str:
        return self.model._meta.app_label

    @property
    def model_name(self) -> str:
        return self.model._meta.model_name

    def field(self, name: str) -> Field | None:
        found = self.paths.get(name)
        return found[1] if found else None


@dataclass
class Action:
    path: str
    collection: Collection
    run: Writer
    write: Any  # shop.api.writes.Write: what it accepts


@dataclass
class Nested:
    """``GET /api/<parent>/<id>/<name>``: the documents of ``collection`` that belong to one
    document of ``parent`` (an order's timeline), listed like a collection. ``fk`` is the
    ``where`` path from such a document to its parent."""

    parent: str
    name: str
    collection: Collection
    fk: str
    description: str = ""
    depth: int = 0  # the default depth


# Kinds of entries in a collection's rendering plan.
SCALAR, GROUP, RELATION, COMPUTED = range(4)


def schema_name(slug: str) -> str:
    """The OpenAPI component name of a collection's documents: ``Order``, ``OrderItem``."""
    found = registry.find(slug)
    words = found.singular.split() if found else slug.split("-")
    return "".join(word.capitalize() for word in words)


class Registry:
    """Every collection by slug (aliases included) and by model."""

    def __init__(self):
        self._by_slug: dict[str, Collection] = {}
        self._by_model: dict[type[models.Model], Collection] = {}
        self._actions: dict[str, Action] = {}
        self._nested: list[Nested] = []
        self._loaded = False

    def action(self, path: str, collection: Collection, run: Writer, write) -> None:
        """A server API endpoint, ``POST /api/<path>``, that creates a document of
        ``collection`` (``run(request, data)`` returns its id) from a body ``write`` accepts."""
        self._actions[path] = Action(path, collection, run, write)

    def actions(self) -> list[Action]:
        self.load()
        return list(self._actions.values())

    def nest(self, nested: Nested) -> None:
        """Serve ``nested`` under each document of its parent collection."""
        self._nested.append(nested)

    def nested(self) -> list[Nested]:
        self.load()
        return list(self._nested)

    def register(self, *collections: Collection) -> None:
        for collection in collections:
            for slug in (collection.slug, *collection.aliases):
                if slug in self._by_slug and self._by_slug[slug] is not collection:
                    raise ValueError(f"Collection slug {slug!r} is declared twice.")
                self._by_slug[slug] = collection
            self._by_model.setdefault(collection.model, collection)

    def load(self) -> None:
        """Import every app's ``api`` module once (the catalog's own collections register when
        the shop app is ready, ``ShopConfig.ready``)."""
        if self._loaded:
            return
        self._loaded = True
        autodiscover_modules("api")

    def get(self, slug: str) -> Collection:
        self.load()
        return self._by_slug[slug]

    def find(self, slug: str) -> Collection | None:
        self.load()
        return self._by_slug.get(slug)

    def for_model(self, model: type[models.Model]) -> Collection | None:
        self.load()
        return self._by_model.get(model)

    def routes(self) -> list[tuple[str, Collection]]:
        """(slug, collection) for every routed slug, aliases included."""
        self.load()
        return [(slug, c) for slug, c in self._by_slug.items() if c.routed]

    def collections(self) -> list[Collection]:
        self.load()
        return list(dict.fromkeys(self._by_slug.values()))


registry = Registry()


def timestamps() -> list[Field]:
    return [
        DateTime("createdAt", "created_at", description="UTC, ISO 8601 with milliseconds."),
        DateTime("updatedAt", "updated_at", description="UTC, ISO 8601 with milliseconds."),
    ]


__all__ = [
    "Boolean",
    "Choice",
    "CoercionError",
    "Collection",
    "Computed",
    "DateTime",
    "Field",
    "Group",
    "Id",
    "Integer",
    "Join",
    "Nested",
    "Relation",
    "Text",
    "iso_timestamp",
    "registry",
    "timestamps",
]
