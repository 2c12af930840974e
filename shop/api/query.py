"""Reading a request's query string the way Payload's clients write it, and compiling ``where``
and ``sort`` to the ORM against a collection's declared paths.

The query string is read as the ``qs`` library Payload's clients encode with reads it (brackets,
indices, depth 10, arrays up to 1000), in time linear in its length (see ``decode_query_string``).
A ``where`` tree becomes one ``Q``:
keys of an object and operators on one path are ANDed, ``and``/``or`` take arrays and nest.
Every path must have filters in the collection's ``FilterSet`` (``shop.api.filters``: a group
member with a dot, or across a relation into the related collection's), the operator must be one
of them, and the filter cleans each value to the field's type. Anything that cannot run is a 400
``QueryError`` that names the path or the value. ``WhereFilter`` is the DRF filter backend that
applies ``where`` and ``sort`` to a view's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import qs_codec
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from qs_codec.utils.decode_utils import DecodeUtils
from rest_framework.filters import BaseFilterBackend

from shop.api import access
from shop.api.collections import Collection, Field, Id, Relation, registry, whole_number
from shop.api.errors import QueryError
from shop.api.filters import PathFilter, path_filters

MAX_PARAMETERS = 2000  # key=value pairs in one query string
MAX_ARRAY = 1000  # elements of one array (qs's arrayLimit as Payload sets it)
MAX_KEY_DEPTH = 10  # bracket groups in one key; more stay one literal key
# What the query language lets one condition ask (API.md, "where"), so that no request can make
# the database match a long list or hundreds of patterns per row.
MAX_IN_VALUES = MAX_ARRAY  # values of one in / not_in
MAX_LIKE_WORDS = 10  # words of one like
MAX_TEXT_LENGTH = 200  # characters of one like / not_like / contains

# Whether the caller sees any rows of a collection (a path through a join needs it).
Seen = Callable[[Collection], bool]

# The same reading as qs-codec's decode with these options (the tests compare the two).
QS_OPTIONS = qs_codec.DecodeOptions(
    depth=MAX_KEY_DEPTH,
    list_limit=MAX_ARRAY,
    parameter_limit=MAX_PARAMETERS,
    allow_empty_lists=True,
)

OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "exists",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "like",
    "not_like",
    "contains",
)
# Payload has these for array, point and geometry fields; no field here is one.
UNSUPPORTED_OPERATORS = ("all", "near", "within", "intersects")
MAX_RELATION_HOPS = 3

DEFAULT_LIMIT = 10
DEFAULT_DEPTH = 1
MAX_DEPTH = 10


def max_limit() -> int:
    return int(getattr(settings, "API_MAX_LIMIT", 1000))


def decode_query_string(query_string: str) -> dict:
    """The query string as ``qs`` reads it: ``where[or][0][status][in][]=paid`` becomes nested
    objects and arrays. qs-codec's own decode merges every ``key=value`` pair into a copy of
    what it has built so far, which takes time growing with the square of an array's length
    (a second for a thousand ids); here each pair is put in its place once, with qs-codec's
    percent-decoding and key splitting. A query string that qs would read as something odd
    (a key that is both a value and an object, an array past 1000 elements, more than 2000
    pairs, a key with no name before its first bracket) is a QueryError instead."""
    parts = [part for part in query_string.split("&") if part]
    if len(parts) > MAX_PARAMETERS:
        raise QueryError(
            f"The query string has more than {MAX_PARAMETERS} parameters.",
            data=[{"limit": MAX_PARAMETERS}],
        )
    pairs: dict[str, Any] = {}  # decoded key: its value, or its values when repeated
    for part in parts:
        part = part.replace("%5B", "[").replace("%5b", "[").replace("%5D", "]").replace("%5d", "]")
        bracket_equals = part.find("]=")
        equals = part.find("=") if bracket_equals == -1 else bracket_equals + 1
        raw_key, raw_value = (part, "") if equals == -1 else (part[:equals], part[equals + 1 :])
        key = DecodeUtils.decode(raw_key)
        if not key:
            continue
        value = DecodeUtils.decode(raw_value) if raw_value else ""
        if key not in pairs:
            pairs[key] = value
        elif isinstance(pairs[key], list):
            pairs[key].append(value)
        else:
            pairs[key] = [pairs[key], value]
    root = _Node()
    for key, value in pairs.items():
        if isinstance(value, list) and len(value) > MAX_ARRAY:
            raise _too_long(key)
        if key.startswith("["):
            raise QueryError(
                f"The query string cannot be read: {key} starts with a bracket, not a name.",
                data=[{"path": key}],
            )
        segments = DecodeUtils.split_key_into_segments(
            original_key=key, allow_dots=False, max_depth=MAX_KEY_DEPTH, strict_depth=False
        )
        keys = [_segment_key(segment) for segment in segments]
        # qs spreads an array into a "[]" that holds it: a[][]=x and a[][0]=x are a[]=x, a[0]=x.
        keys = [
            k
            for k, following in zip(keys, [*keys[1:], None], strict=True)
            if not (k is _PUSH and (following is _PUSH or isinstance(following, int)))
        ]
        _place(root, key, keys, value)
    return root.build(as_object=True)


_PUSH = object()  # the segment "[]": the next element of an array
_MISSING = object()


class _Node:
    """An object or an array being read: members by name, elements by index (an array that
    also gets a named member is an object, its indices becoming names, as in qs)."""

    __slots__ = ("members", "named", "next_index")

    def __init__(self):
        self.members: dict[str | int, Any] = {}
        self.next_index = 0
        self.named = False

    def put(self, key: str | int, value: Any) -> None:
        if isinstance(key, int):
            self.next_index = max(self.next_index, key + 1)
        else:
            self.named = True
        self.members[key] = value

    def build(self, *, as_object: bool = False) -> dict | list:
        if as_object or self.named:
            return {str(k): _built(v) for k, v in self.members.items()}
        return [_built(self.members[k]) for k in sorted(self.members)]


def _built(value: Any) -> Any:
    return value.build() if isinstance(value, _Node) else value


def _segment_key(segment: str) -> str | int | object:
    """A member name, an array index (``[3]``) or ``_PUSH`` (``[]``)."""
    if not (segment.startswith("[") and segment.endswith("]")):
        return segment  # the key's first part, before any bracket: always a name
    inner = segment[1:-1]
    if not inner:
        return _PUSH
    if inner.isascii() and inner.isdigit() and str(int(inner)) == inner:
        return int(inner)
    return inner


def _too_long(key: str) -> QueryError:
    return QueryError(
        f"The query string cannot be read: {key} has more than {MAX_ARRAY} elements.",
        data=[{"path": key, "limit": MAX_ARRAY}],
    )


def _conflict(key: str) -> QueryError:
    return QueryError(
        f"The query string cannot be read: {key} is both a value and an object.",
        data=[{"path": key}],
    )


def _push(node: _Node, key: str, value: Any) -> None:
    if node.next_index >= MAX_ARRAY:
        raise _too_long(key)
    node.put(node.next_index, value)


def _place(root: _Node, key: str, segments: list, value: Any) -> None:
    """Put ``value`` at the path ``segments`` as qs merges it: a position already taken in an
    array gets the new element after the last one; ``[]`` appends (``a[]=`` alone is an empty
    array); a name taken by a value of another kind is a QueryError."""
    node = root
    last = len(segments) - 1
    for position, segment in enumerate(segments):
        if segment is _PUSH:
            if position == last:
                values = value if isinstance(value, list) else [] if value == "" else [value]
                for item in values:
                    _push(node, key, item)
                return
            segment = 0  # a[][b]=1: qs reads it as the array's first element
        if isinstance(segment, int) and segment >= MAX_ARRAY:
            raise _too_long(key)
        existing = node.members.get(segment, _MISSING)
        if position < last and isinstance(existing, _Node):
            node = existing
            continue
        placed = value if position == last else _Node()
        if existing is _MISSING:
            node.put(segment, placed)
        elif isinstance(segment, int):
            _push(node, key, placed)
        else:
            raise _conflict(key)
        if position == last:
            return
        node = placed


# ---------------------------------------------------------------------------------------------
# Paths


def resolve_path(collection: Collection, path: str, *, for_sort: bool = False, public=False):
    """``(orm_path, field, filters)`` for a camelCase path, or None when it cannot be queried
    (sorted). ``filters`` are the path's filters in its collection's ``FilterSet``, by operator:
    a path is queryable when it has some.

    ``public``: the caller may not see private fields, so they cannot be queried either."""
    if not isinstance(path, str) or not path:
        return None
    direct = collection.paths.get(path)
    if direct is not None:
        column, found = direct
        filters = path_filters(collection, path)
        allowed = found.sortable if for_sort else filters is not None
        if public and found.private:
            return None
        return (column, found, filters) if allowed else None
    head, _, rest = path.partition(".")
    relation = collection.paths.get(head)
    if relation is None or not isinstance(relation[1], Relation) or not rest:
        return None
    column, found = relation
    filters = path_filters(collection, head)
    if filters is None or (for_sort and not found.sortable):
        return None
    if rest == "id":
        return column, found, filters
    if path.count(".") > MAX_RELATION_HOPS:
        return None
    target = registry.find(found.to)
    if target is None:
        return None
    inner = resolve_path(target, rest, for_sort=for_sort, public=public)
    if inner is None:
        return None
    return f"{column}__{inner[0]}", inner[1], inner[2]


# ---------------------------------------------------------------------------------------------
# where


def parse_where_value(raw: Any) -> dict:
    """``where`` as qs decoded it: an object, or one JSON string (``where={"a":{...}}``)."""
    if raw in (None, "", []):
        return {}
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise QueryError("where is neither bracket syntax nor valid JSON.") from None
    if not isinstance(raw, dict):
        raise QueryError("where must be an object: where[field][operator]=value.")
    return raw


def compile_where(
    collection: Collection, where: Any, *, public: bool = False, seen: Seen | None = None
) -> Q:
    """One Q for a Payload ``where`` tree; QueryError names every path that cannot be queried.

    ``seen(collection)``: whether the caller sees any rows of a collection; with it, a path may
    go through a join (``items.sku``: the documents with a child that matches)."""
    where = parse_where_value(where)
    unknown: list[str] = []
    q = _compile_node(collection, where, unknown, depth=0, public=public, seen=seen)
    if unknown:
        paths = list(dict.fromkeys(unknown))
        plural = "s" if len(paths) > 1 else ""
        raise QueryError(
            f"The following path{plural} cannot be queried: {', '.join(paths)}",
            data=[{"path": p} for p in paths],
        )
    return q


def _as_list(value: Any, what: str) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(whole_number(str(k)) is not None for k in value):
        return [value[k] for k in sorted(value, key=lambda k: whole_number(str(k)))]
    raise QueryError(f"{what} must be an array of conditions.")


def _join_path(collection: Collection, path: Any, seen: Seen | None):
    """``(join, child collection, rest)`` for a path through a join the caller may query."""
    if seen is None or not isinstance(path, str):
        return None
    head, _, rest = path.partition(".")
    join = collection.joins_by_name.get(head)
    if join is None or not rest:
        return None
    child = registry.get(join.to)
    return (join, child, rest) if seen(child) else None


def _compile_node(
    collection: Collection,
    node: Any,
    unknown: list[str],
    depth: int,
    public: bool,
    seen: Seen | None = None,
) -> Q:
    if depth > 10:
        raise QueryError("where is nested too deeply (at most 10 levels).")
    if not isinstance(node, dict):
        raise QueryError("Each condition in where must be an object.")
    q = Q()
    for key, value in node.items():
        lowered = key.lower() if isinstance(key, str) else key
        if lowered in ("and", "or"):
            parts = [
                _compile_node(collection, item, unknown, depth + 1, public, seen)
                for item in _as_list(value, lowered)
            ]
            if not parts:
                continue
            combined = parts[0]
            for part in parts[1:]:
                combined = (combined | part) if lowered == "or" else (combined & part)
            q &= combined
            continue
        resolved = resolve_path(collection, key, public=public)
        joined = _join_path(collection, key, seen) if resolved is None else None
        if joined is not None:
            # Through a join (Payload queries join fields' children): the documents that have
            # a child matching the rest of the path, children the caller sees.
            join, child, rest = joined
            before = len(unknown)
            inner = _compile_node(child, {rest: value}, unknown, depth + 1, public, seen)
            unknown[before:] = [f"{join.name}.{path}" for path in unknown[before:]]
            children = child.model.objects.filter(inner).values(f"{join.fk}_id")
            q &= Q(pk__in=children)
            continue
        if resolved is None:
            unknown.append(str(key))
            continue
        orm_path, found, filters = resolved
        if not isinstance(value, dict):
            raise QueryError(
                f"where[{key}] needs an operator, e.g. where[{key}][equals]=…",
                data=[{"path": key}],
            )
        if not value:
            raise QueryError(f"where[{key}] has no operator.", data=[{"path": key}])
        for operator, operand in value.items():
            q &= condition(key, orm_path, found, operator, operand, filters)
    return q


def _coerce(path: str, cleaner: PathFilter, operator: str, value: Any) -> Any:
    """``value`` cleaned by the path's filter for ``operator``; a QueryError naming it if not."""
    try:
        return cleaner.clean(value)
    except ValidationError as error:
        shown = value if isinstance(value, str | int | float | bool) or value is None else "…"
        raise QueryError(
            f"Invalid value for {path} ({operator}): {shown!r}, {error.messages[0]}.",
            data=[{"path": path, "operator": operator, "value": shown}],
        ) from None


def _values(path: str, cleaner: PathFilter, operator: str, value: Any, *, also: int = 0) -> list:
    """The values of an ``in``/``not_in`` (``also``: how many nulls it has besides)."""
    if isinstance(value, str):
        items = [] if value == "" else [part.strip() for part in value.split(",")]
    elif isinstance(value, list):
        items = value
    elif isinstance(value, dict) and all(whole_number(str(k)) is not None for k in value):
        items = [value[k] for k in sorted(value, key=lambda k: whole_number(str(k)))]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        items = [value]
    else:
        raise QueryError(
            f"{operator} on {path} takes an array or a comma-separated list.",
            data=[{"path": path, "operator": operator}],
        )
    if len(items) + also > MAX_IN_VALUES:
        raise QueryError(
            f"{operator} on {path} takes at most {MAX_IN_VALUES} values, not {len(items) + also}.",
            data=[{"path": path, "operator": operator, "limit": MAX_IN_VALUES}],
        )
    return [_coerce(path, cleaner, operator, item) for item in items]


def _is_null_value(found: Field, value: Any) -> bool:
    if value is None:
        return True
    return isinstance(found, Relation | Id) and isinstance(value, str) and value.strip() == "null"


def _blank(orm_path: str, found: Field) -> Q:
    """Empty: NULL, and for text columns (stored blank, never NULL) the empty string too."""
    q = Q(**{f"{orm_path}__isnull": True})
    if found.kind in ("text", "choice"):
        q |= Q(**{orm_path: ""})
    return q


def condition(
    path: str,
    orm_path: str,
    found: Field,
    operator: str,
    value: Any,
    filters: dict[str, PathFilter],
) -> Q:
    """One ``path operator value`` as a Q (API.md, "where"); ``filters`` are the path's
    filters by operator (those it may use, each cleaning its values)."""
    if operator in UNSUPPORTED_OPERATORS:
        raise QueryError(
            f"The operator {operator} cannot be used on {path}: no field here is an array, "
            "point or geometry.",
            data=[{"path": path, "operator": operator}],
        )
    if operator not in OPERATORS:
        # Payload's words (validateQueryPaths.ts): the operator is part of the path.
        raise QueryError(
            f"The following path cannot be queried: {path}.{operator}",
            data=[{"path": f"{path}.{operator}"}],
        )
    if operator == "like" and found.kind in ("integer", "id", "relation"):
        operator = "equals"  # as Payload's drizzle parseParams.ts does for numbers and ids
    if operator not in filters:
        raise QueryError(
            f"The operator {operator} cannot be used on {path} ({found.kind}).",
            data=[{"path": path, "operator": operator}],
        )

    if operator == "exists":
        if isinstance(value, dict | list):
            raise QueryError(
                f"exists on {path} takes true or false.",
                data=[{"path": path, "operator": operator}],
            )
        present = value is True or (isinstance(value, str) and value.strip().lower() == "true")
        return ~_blank(orm_path, found) if present else _blank(orm_path, found)

    if operator in ("equals", "not_equals"):
        if isinstance(value, list | dict):
            raise QueryError(
                f"{operator} on {path} takes one value; use in / not_in for several.",
                data=[{"path": path, "operator": operator}],
            )
        if _is_null_value(found, value):
            is_null = Q(**{f"{orm_path}__isnull": True})
            return is_null if operator == "equals" else ~is_null
        coerced = _coerce(path, filters[operator], operator, value)
        match = Q(**{orm_path: coerced})
        if operator == "equals":
            return match
        return ~match | Q(**{f"{orm_path}__isnull": True})

    if operator in ("in", "not_in"):
        raw_items = value if isinstance(value, list) else None
        nulls = [v for v in (raw_items or []) if _is_null_value(found, v)]
        items = _values(
            path,
            filters[operator],
            operator,
            [v for v in raw_items if not _is_null_value(found, v)] if raw_items else value,
            also=len(nulls),
        )
        match = Q(**{f"{orm_path}__in": items}) if items else Q(pk__in=[])
        if nulls:
            match |= Q(**{f"{orm_path}__isnull": True})
        if operator == "in":
            return match
        if not items and not nulls:
            return Q()
        return ~match | (Q() if nulls else Q(**{f"{orm_path}__isnull": True}))

    if operator in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        lookup = {
            "greater_than": "gt",
            "greater_than_equal": "gte",
            "less_than": "lt",
            "less_than_equal": "lte",
        }[operator]
        return Q(**{f"{orm_path}__{lookup}": _coerce(path, filters[operator], operator, value)})

    # like, not_like, contains: text only.
    text = _coerce(path, filters[operator], operator, value)
    words = list(dict.fromkeys(text.split())) if operator == "like" else []
    if len(words) > MAX_LIKE_WORDS:
        raise QueryError(
            f"like on {path} takes at most {MAX_LIKE_WORDS} words, not {len(words)}.",
            data=[{"path": path, "operator": operator, "limit": MAX_LIKE_WORDS}],
        )
    if len(text) > MAX_TEXT_LENGTH:
        raise QueryError(
            f"{operator} on {path} takes at most {MAX_TEXT_LENGTH} characters, not {len(text)}.",
            data=[{"path": path, "operator": operator, "limit": MAX_TEXT_LENGTH}],
        )
    if operator == "like":
        q = Q()
        for word in words:
            q &= Q(**{f"{orm_path}__icontains": word})
        return q
    if operator == "not_like":
        return ~Q(**{f"{orm_path}__icontains": text}) if text else Q(pk__in=[])
    return Q(**{f"{orm_path}__icontains": text})


# ---------------------------------------------------------------------------------------------
# sort


def parse_sort(
    collection: Collection, raw: Any, default: str | None = None, *, public: bool = False
) -> list[str]:
    """ORM ``order_by`` terms; unknown or unsortable fields are ignored (as Payload does).

    ``-id`` is always the last tie-breaker, so pages never overlap.
    """
    terms: list[str] = []
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                terms.extend(item.split(","))
    elif isinstance(raw, str):
        terms = raw.split(",")
    order: list[str] = []
    for term in terms:
        term = term.strip()
        descending = term.startswith("-")
        name = term.lstrip("-+").strip()
        resolved = resolve_path(collection, name, for_sort=True, public=public)
        if resolved is None:
            continue
        column = resolved[0]
        if isinstance(resolved[1], Relation):
            column = f"{column}_id"  # the id, not the related model's default ordering
        entry = f"-{column}" if descending else column
        if entry not in order and entry.lstrip("-") not in (o.lstrip("-") for o in order):
            order.append(entry)
    if not order:
        if default is None:
            default = collection.default_sort
        return parse_sort(collection, default, default="") if default else ["-id"]
    if not any(o.lstrip("-") in ("id", "pk") for o in order):
        order.append("-id")
    return order


class WhereFilter(BaseFilterBackend):
    """DRF's filter backend for Payload's ``where`` and ``sort``: the view's rows (a QuerySet,
    or anything with ``filter`` and ``order_by`` like one) narrowed by the ``where`` and ordered
    by the ``sort``, both read against the view's collection as the caller may query it."""

    def filter_queryset(self, request, queryset, view):
        collection = view.collection
        params = request_params(request)
        public = not access.sees_private_fields(request)
        where = compile_where(
            collection, params.get("where"), public=public, seen=access.sees(request)
        )
        return queryset.filter(where).order_by(
            *parse_sort(collection, params.get("sort"), public=public)
        )


def request_params(request) -> dict:
    """The request's query string as ``qs`` reads it (decoded once per request; callers that
    change it take a copy)."""
    found = getattr(request, "_payload_params", None)
    if found is None:
        found = decode_query_string(request.META.get("QUERY_STRING", ""))
        request._payload_params = found
    return found


# ---------------------------------------------------------------------------------------------
# The rest of a list request


def _single(params: dict, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, list):
        if not value:
            return None
        value = value[-1]
    return value


def integer_param(params: dict, name: str, *, default: int, minimum: int = 0) -> int:
    value = _single(params, name)
    if value in (None, ""):
        return default
    if isinstance(value, dict):
        raise QueryError(f"{name} must be a whole number.", data=[{"path": name}])
    text = str(value).strip()
    number = whole_number(text) if len(text) <= 9 else None
    if number is None:
        raise QueryError(f"{name} must be a whole number, not {text!r}.", data=[{"path": name}])
    if number < minimum:
        raise QueryError(f"{name} must be at least {minimum}, not {number}.", data=[{"path": name}])
    return number


def boolean_param(params: dict, name: str, default: bool) -> bool:
    value = _single(params, name)
    if value in (None, ""):
        return default
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise QueryError(f"{name} must be true or false, not {value!r}.", data=[{"path": name}])


def parse_depth(params: dict) -> int:
    return min(integer_param(params, "depth", default=DEFAULT_DEPTH), MAX_DEPTH)


@dataclass
class JoinOptions:
    limit: int | None
    page: int = 1
    sort: list[str] | None = None
    where: Q | None = None
    count: bool = False
    explicit: bool = False  # the request named this join (it is included even at depth 0)


def parse_joins(
    collection: Collection, params: dict, *, public: bool = False
) -> dict[str, JoinOptions]:
    """``joins[<field>][limit|page|sort|where|count]``; ``joins=false`` turns every join off."""
    raw = params.get("joins")
    result: dict[str, JoinOptions] = {}
    if isinstance(raw, str | bool) and str(raw).lower() == "false":
        return result
    if raw not in (None, "") and not isinstance(raw, dict):
        raise QueryError("joins must be false or joins[<field>][option]=value.")
    raw = raw or {}
    # A name that is no join of the collection is ignored, as Payload does.
    for join in collection.joins:
        options = raw.get(join.name)
        if isinstance(options, str | bool) and str(options).lower() == "false":
            continue
        if options not in (None, "") and not isinstance(options, dict):
            raise QueryError(f"joins[{join.name}] must be false or an object of options.")
        options = options or {}
        child = registry.get(join.to)
        limit = integer_param(options, "limit", default=join.limit if join.limit is not None else 0)
        result[join.name] = JoinOptions(
            limit=min(limit, max_limit()) if limit else None,
            page=max(integer_param(options, "page", default=1), 1),
            sort=parse_sort(child, options.get("sort"), default=join.sort, public=public)
            if options.get("sort") or join.sort
            else None,
            where=compile_where(child, options.get("where"), public=public)
            if options.get("where")
            else None,
            count=boolean_param(options, "count", False),
            explicit=bool(options),
        )
    return result


# ---------------------------------------------------------------------------------------------
# select and populate


@dataclass(frozen=True)
class Selection:
    """Payload's ``select``: which fields a document keeps. ``include``: only the fields set to
    true (and ``id``); ``exclude``: every field but those set to false. A group takes a nested
    selection (``select[shippingAddress][postalCode]=true``)."""

    fields: dict
    mode: str  # "include" or "exclude"

    def wants(self, name: str) -> bool:
        value = self.fields.get(name)
        if self.mode == "include":
            return bool(value)
        return value is not False

    def apply(self, doc: dict, *, top: bool = True) -> dict:
        """Trims ``doc`` in place (a populated document may still be filled in later by the
        level below it) and returns it."""
        for name in list(doc):
            value = self.fields.get(name)
            if top and name == "id":
                continue  # a document always keeps its id
            if self.mode == "include":
                if not value:
                    del doc[name]
                    continue
            elif value is False:
                del doc[name]
                continue
            if isinstance(value, dict) and _is_group(doc[name]):
                Selection(value, self.mode).apply(doc[name], top=False)
        return doc


def _is_group(value: Any) -> bool:
    """A group's object (not a populated relation, not a join's ``{docs, …}``)."""
    return isinstance(value, dict) and "id" not in value and "docs" not in value


def _select_values(raw: dict, depth: int = 0) -> dict:
    """``select`` as qs decoded it, with Payload's reading of its values
    (``packages/payload/src/utilities/sanitizeSelectParam.ts``): "true" and "false" are
    booleans, objects nest."""
    if depth > 5:
        raise QueryError("select is nested too deeply.")
    values = {}
    for name, value in raw.items():
        if isinstance(value, dict):
            values[name] = _select_values(value, depth + 1)
        elif isinstance(value, str) and value.strip().lower() in ("false", "0"):
            values[name] = False
        elif isinstance(value, bool):
            values[name] = value
        else:
            values[name] = True
    return values


def _select_mode(select: dict) -> str:
    """Payload's ``getSelectMode``: exclude when the first false (looking into the first
    nested object) comes before anything else decides."""
    for value in select.values():
        if value is False:
            return "exclude"
        if isinstance(value, dict):
            return _select_mode(value)
    return "include"


def parse_select(raw: Any) -> Selection | None:
    """``select[<field>]=true|false`` (or one JSON object); None when absent."""
    if raw in (None, "", {}):
        return None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise QueryError("select must be select[field]=true or false.") from None
    if not isinstance(raw, dict):
        raise QueryError("select must be select[field]=true or false.")
    fields = _select_values(raw)
    return Selection(fields, _select_mode(fields))


def parse_populate(raw: Any) -> dict[str, Selection]:
    """``populate[<collection>][<field>]=true``: the selection each populated document of that
    collection gets (``packages/payload/src/utilities/sanitizePopulateParam.ts``)."""
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, dict):
        raise QueryError("populate must be populate[collection][field]=true or false.")
    found = {}
    for slug, select in raw.items():
        selection = parse_select(select)
        collection = registry.find(slug)
        if selection is not None and collection is not None:
            found[collection.slug] = selection
    return found
