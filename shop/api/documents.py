"""Documents: rows rendered as camelCase JSON, relations populated to the requested depth, and a
parent's joins attached, with a fixed number of queries whatever the number of rows.

Rows come from ``.values()`` with the collection's precomputed column list (no model instances,
no serializer per row). Relations are collected level by level: every id a level needs from one
collection is fetched in one ``id IN (…)`` query, so the query count depends on the depth and the
collections involved, never on the row count. A join (an order's items, transactions…) is one
query for all parents on the page, limited per parent with a window function.

Each of these queries is compiled by the ORM once per shape and process and then run with the
request's values (``shop.statements``, which names a shape by the query itself): the caller's
scope is part of the shape, the caller's own id and the ids and ``where`` values are the
statement's parameters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, IntegerField, Q, Value, Window
from django.db.models.functions import RowNumber

from shop import statements
from shop.api import access
from shop.api.collections import (
    COMPUTED,
    GROUP,
    RELATION,
    SCALAR,
    Collection,
    iso_timestamp,
    registry,
)
from shop.api.errors import NotFound
from shop.api.query import (
    JoinOptions,
    parse_depth,
    parse_joins,
    parse_populate,
    parse_select,
    parse_sort,
)


def _order_expressions(order_by: list[str]):
    return [F(term[1:]).desc() if term.startswith("-") else F(term).asc() for term in order_by]


class DocumentBuilder:
    """Renders rows of one request; relations wait in ``pending`` until ``populate`` runs."""

    def __init__(self, request, params: dict | None = None):
        self.request = request
        self.pending: dict[str, list[tuple[int, int, dict, str]]] = defaultdict(list)
        self.public = not access.sees_private_fields(request)
        # Payload's select (the documents asked for) and populate (documents of a collection
        # reached through a relation or a join).
        self.select = parse_select((params or {}).get("select"))
        self.populate_select = parse_populate((params or {}).get("populate"))

    def build(
        self,
        collection: Collection,
        rows: list[dict],
        *,
        depth: int,
        joins: dict[str, JoinOptions] | None = None,
    ) -> list[dict]:
        docs = [self.render(collection, row, depth) for row in rows]
        if self.select is not None:  # before populating: what is left out is not read
            docs = [self.select.apply(doc) for doc in docs]
            if joins:
                joins = {name: o for name, o in joins.items() if self.select.wants(name)}
        if joins and docs:
            self.attach_joins(collection, docs, depth, joins)
        self.populate()
        return docs

    def related(self, collection: Collection, row: dict, depth: int) -> dict:
        """A document reached through a relation or a join, as ``populate`` selects it."""
        doc = self.render(collection, row, depth)
        selection = self.populate_select.get(collection.slug)
        return doc if selection is None else selection.apply(doc)

    def render(self, collection: Collection, row: dict, depth: int) -> dict:
        doc: dict = {}
        for kind, key, column, extra in collection.plan:
            if kind == SCALAR:
                value = row[column]
                doc[key] = value if extra is None or value is None else extra(value)
            elif kind == RELATION:
                value = row[column]
                doc[key] = value
                if value is not None and depth > 0:
                    self.pending[extra].append((depth - 1, value, doc, key))
            elif kind == GROUP:
                doc[key] = {
                    name: (row[col] if conv is None or row[col] is None else conv(row[col]))
                    for name, col, conv in extra
                }
            elif kind == COMPUTED:
                doc[key] = extra(row)
        if self.public and collection.private:
            for key in collection.private:
                doc.pop(key, None)
        return doc

    def populate(self) -> None:
        """Replace relation ids by documents, one query per collection per level."""
        while self.pending:
            pending, self.pending = self.pending, defaultdict(list)
            for slug, wanted in pending.items():
                # A relation a select or populate left out is not read.
                wanted = [entry for entry in wanted if entry[3] in entry[2]]
                if not wanted:
                    continue
                target = registry.get(slug)
                ids = sorted({pk for _depth, pk, _holder, _key in wanted})
                rule, scope_args = scope_of(self.request, target)

                def build(ids, *owner, target=target, rule=rule):
                    queryset = target.model.objects.filter(pk__any_of=ids).order_by()
                    return target.values(scoped(queryset, rule, owner))

                found = statements.fetch(build, [ids, *scope_args])
                rows = {row["id"]: row for row in found}
                for remaining, pk, holder, key in wanted:
                    row = rows.get(pk)
                    if row is not None:  # not visible to the caller: the id stays
                        holder[key] = self.related(target, row, remaining)

    @staticmethod
    def _join_query(child, join, options: JoinOptions, depth: int, rule, order_by, where):
        """The ORM query of a join's children: ``build(parent_ids, *owner, *where values)``."""
        fk_column = f"{join.fk}_id"
        owners = 1 if rule[0] == access.OWNER else 0
        # Closed over: the shape of the query, never a where's values (unless it has no shape).
        limit, page, count = options.limit, options.page, options.count
        unshaped = options.where if where is None else None

        def build(parent_ids, *args):
            queryset = child.model.objects.filter(**{f"{join.fk}__any_of": parent_ids})
            queryset = scoped(queryset, rule, args[:owners])
            if where is None:
                queryset = queryset.filter(unshaped)
            elif where[0]:
                queryset = queryset.filter(statements.q_from_shape(where[0], args[owners:]))
            annotations = {}
            if limit:
                annotations["join_rank"] = Window(
                    RowNumber(), partition_by=F(fk_column), order_by=_order_expressions(order_by)
                )
            if count:
                annotations["join_total"] = Window(Count("pk"), partition_by=F(fk_column))
            if annotations:
                queryset = queryset.annotate(**annotations)
            if limit:
                offset = (page - 1) * limit
                queryset = queryset.filter(join_rank__gt=offset, join_rank__lte=offset + limit + 1)
            ordered = queryset.order_by(fk_column, *order_by)
            total = ["join_total"] if count else []
            if depth < 1:
                return ordered.values("id", fk_column, *total)
            return ordered.values(*child.columns, *total, **child.expressions)

        return build

    def attach_joins(
        self, collection: Collection, docs: list[dict], depth: int, joins: dict[str, JoinOptions]
    ) -> None:
        parent_ids = [doc["id"] for doc in docs]
        if depth < 1:
            self._attach_join_ids(collection, docs, joins)
            return
        for name, options in joins.items():
            join = collection.joins_by_name[name]
            child = registry.get(join.to)
            fk_column = f"{join.fk}_id"
            order_by = tuple(options.sort or parse_sort(child, join.sort))
            rule, scope_args = scope_of(self.request, child)
            where = statements.q_shape(options.where) if options.where is not None else ((), [])
            build = self._join_query(child, join, options, depth, rule, order_by, where)
            args = [parent_ids, *scope_args, *(where[1] if where else ())]
            rows = statements.fetch(build, args, cache=where is not None)
            by_parent: dict[int, list[dict]] = defaultdict(list)
            for row in rows:
                by_parent[row[fk_column]].append(row)
            for doc in docs:
                rows = by_parent.get(doc["id"], [])
                has_next = bool(options.limit) and len(rows) > options.limit
                if options.limit:
                    rows = rows[: options.limit]
                entry: dict = {
                    "docs": [self.related(child, row, depth - 1) for row in rows]
                    if depth >= 1
                    else [row["id"] for row in rows],
                    "hasNextPage": has_next,
                }
                if options.count:
                    entry["totalDocs"] = rows[0]["join_total"] if rows else 0
                doc[name] = entry

    def _attach_join_ids(
        self, collection: Collection, docs: list[dict], joins: dict[str, JoinOptions]
    ) -> None:
        """At depth 0, every join as ``{docs: [ids], hasNextPage}`` (Payload's join field at
        depth 0), all joins of all parents in one query: a UNION ALL of each join's children,
        numbered per parent in the join's order and cut to its page."""
        parts, answers, cache = [], [], True
        args: list = [[doc["id"] for doc in docs]]
        for name, options in joins.items():
            join = collection.joins_by_name[name]
            child = registry.get(join.to)
            order_by = tuple(options.sort or parse_sort(child, join.sort))
            rule, scope_args = scope_of(self.request, child)
            where = statements.q_shape(options.where) if options.where is not None else ((), [])
            cache = cache and where is not None
            args += [*scope_args, *(where[1] if where else ())]
            offset = (options.page - 1) * options.limit if options.limit else 0
            # What the build reads, and so all that its statement is cached by: the where's
            # shape, not its values (the where itself only when it has no shape).
            unshaped = options.where if where is None else None
            shape = (join.fk, child, order_by, rule, len(scope_args), where, unshaped)
            parts.append((*shape, options.count, options.limit, offset))
            answers.append((name, options.limit, options.count))

        def build(parent_ids, *rest):
            querysets, used = [], 0
            for index, part in enumerate(parts):
                fk, child, order_by, rule, owners, where, unshaped, count, limit, offset = part
                fk_column = f"{fk}_id"
                queryset = child.model.objects.filter(**{f"{fk}__any_of": parent_ids})
                queryset = scoped(queryset, rule, rest[used : used + owners])
                used += owners
                if where is None:
                    queryset = queryset.filter(unshaped)
                elif where[0]:
                    values = rest[used : used + len(where[1])]
                    queryset = queryset.filter(statements.q_from_shape(where[0], values))
                    used += len(where[1])
                by_parent = {"partition_by": F(fk_column)}
                total = (
                    Window(Count("pk"), **by_parent)
                    if count
                    else Value(0, output_field=IntegerField())
                )
                queryset = queryset.annotate(
                    join_key=Value(index, output_field=IntegerField()),
                    join_parent=F(fk_column),
                    join_rank=Window(
                        RowNumber(), order_by=_order_expressions(order_by), **by_parent
                    ),
                    join_total=total,
                )
                if limit:
                    queryset = queryset.filter(
                        join_rank__gt=offset, join_rank__lte=offset + limit + 1
                    )
                querysets.append(
                    queryset.order_by().values(
                        "join_key", "join_parent", "id", "join_rank", "join_total"
                    )
                )
            first, *others = querysets
            return first.union(*others, all=True) if others else first

        rows = sorted(
            statements.fetch(build, args, cache=cache),
            key=lambda row: (row["join_key"], row["join_parent"], row["join_rank"]),
        )
        found: dict[tuple[int, int], list[dict]] = defaultdict(list)
        for row in rows:
            found[(row["join_key"], row["join_parent"])].append(row)
        for index, (name, limit, count) in enumerate(answers):
            for doc in docs:
                children = found.get((index, doc["id"]), [])
                has_next = bool(limit) and len(children) > limit
                if limit:
                    children = children[:limit]
                entry: dict = {"docs": [row["id"] for row in children], "hasNextPage": has_next}
                if count:
                    entry["totalDocs"] = children[0]["join_total"] if children else 0
                doc[name] = entry


def scope_of(request, collection: Collection) -> tuple[tuple, list]:
    """The caller's scope of a collection as a statement's shape (rule and path) and its
    arguments (the customer's id, when the rows are one customer's)."""
    rule, path, owner = access.scope_rule(request, collection)
    return (rule, path), ([owner] if rule == access.OWNER else [])


def scoped(queryset, rule: tuple, owner) -> object:
    """``queryset`` narrowed by a scope's rule; ``owner`` holds the customer's id for a rule
    that keeps one customer's rows (the statement's parameter), else nothing."""
    return access.narrow(queryset, *rule, owner[0] if owner else None)


def base_queryset(request, collection: Collection):
    """The caller's rows of the collection, before any ``where``."""
    return access.scope(request, collection, collection.model.objects.all())


def _matching(request, collection: Collection, where, order_by: list[str] | None):
    """``(cache, build, args)`` for the caller's rows of ``collection`` matching ``where``:
    ``build(*args)`` is the QuerySet (ordered by ``order_by``, or not at all); ``cache`` is
    False when the ``where`` holds values that cannot be the statement's arguments."""
    rule, scope_args = scope_of(request, collection)
    owners = len(scope_args)
    shape = statements.q_shape(where)
    order = tuple(order_by or ())
    if shape is None:

        def build(*args):
            queryset = scoped(collection.model.objects.all(), rule, args[:owners])
            return queryset.filter(where).order_by(*order)

        return False, build, scope_args
    # What the build closes over is the statement's shape only, never the where's values.
    tree = shape[0]

    def build(*args):
        queryset = scoped(collection.model.objects.all(), rule, args[:owners])
        queryset = queryset.filter(statements.q_from_shape(tree, args[owners:]))
        return queryset.order_by(*order)

    return True, build, [*scope_args, *shape[1]]


class Matching:
    """The caller's rows of a collection as a list view reads them: ``filter`` and
    ``order_by`` as on a QuerySet (what DRF's filter backend calls), then a slice of rows
    (dicts with every column a document needs) or ``count()``, each one statement compiled
    once per shape (``shop.statements``)."""

    def __init__(self, request, collection: Collection, where: Q | None = None, order_by=()):
        self.request = request
        self.collection = collection
        self.where = Q() if where is None else where
        self.ordering = tuple(order_by)

    def filter(self, where: Q) -> Matching:
        return Matching(self.request, self.collection, self.where & where, self.ordering)

    def order_by(self, *terms: str) -> Matching:
        return Matching(self.request, self.collection, self.where, terms)

    def count(self) -> int:
        cache, build, args = _matching(self.request, self.collection, self.where, None)
        return statements.count(lambda *a: build(*a).values("pk"), args, cache=cache)

    def __getitem__(self, window: slice) -> list[dict]:
        cache, build, args = _matching(self.request, self.collection, self.where, self.ordering)
        start = window.start or 0
        collection = self.collection  # closed over by the build (not the request's Matching)
        return statements.fetch(
            lambda *a: collection.values(build(*a)),
            args,
            limit=window.stop - start,
            offset=start,
            cache=cache,
        )


def parse_pk(value) -> int:
    """A document id from a URL; anything that is not one is a 404."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise NotFound()
    return int(text)


def get_document(
    request, collection: Collection, pk, params: dict | None = None, *, depth: int | None = None
) -> dict:
    """``GET /api/<slug>/<id>``: the bare document, or 404 when the caller cannot see it."""
    params = params or {}
    pk = parse_pk(pk)
    depth = parse_depth(params) if depth is None else depth
    joins = parse_joins(collection, params, public=not access.sees_private_fields(request))
    rule, scope_args = scope_of(request, collection)

    def build(pk, *owner):
        queryset = collection.model.objects.filter(pk=pk).order_by()
        return collection.values(scoped(queryset, rule, owner))

    rows = statements.fetch(build, [pk, *scope_args])
    if not rows:
        raise NotFound()
    return DocumentBuilder(request, params).build(collection, rows, depth=depth, joins=joins)[0]


def get_documents(request, collection: Collection, pks: list[int], *, depth: int) -> list[dict]:
    """Several documents by id, in the order given (bulk write answers)."""
    if not pks:
        return []
    rows = base_queryset(request, collection).filter(pk__in=pks).order_by()
    by_id = {row["id"]: row for row in collection.values(rows)}
    ordered = [by_id[pk] for pk in pks if pk in by_id]
    joins = parse_joins(collection, {})
    return DocumentBuilder(request).build(collection, ordered, depth=depth, joins=joins)


# ---------------------------------------------------------------------------------------------
# Answering a write with what it stored


@dataclass
class Written:
    """A document a write has just stored, with the rows it points to and every join's
    children, as the write stored them (its answer need not read them back)."""

    instance: object
    related: list = field(default_factory=list)
    joins: dict[str, list] = field(default_factory=dict)

    @property
    def pk(self) -> int:
        return self.instance.pk


def row_of(collection: Collection, instance) -> dict:
    """The row ``collection.values()`` reads for ``instance``, from the instance itself."""
    row = {column: getattr(instance, column) for column in collection.columns}
    for alias, expression in collection.expressions.items():
        value = getattr(instance, expression.source_expressions[0].name)
        row[alias] = None if value is None else iso_timestamp(value)
    return row


def written_document(request, collection: Collection, written, *, depth: int) -> dict:
    """The answer to a write: the document as ``get_document`` reads it. A ``Written`` is
    rendered from what the write holds when that is the whole document (depth 0 or 1, the
    default joins, a caller who sees every row of every collection involved); anything else,
    and a bare id, is read back."""
    if isinstance(written, Written):
        doc = _render_written(request, collection, written, depth)
        if doc is not None:
            return doc
    pk = written.pk if isinstance(written, Written) else written
    return get_document(request, collection, pk, depth=depth)


def _render_written(request, collection: Collection, written: Written, depth: int):
    if depth > 1:
        return None
    joins = parse_joins(collection, {})
    involved = {collection.slug: collection}
    for kind, _key, _column, target in collection.plan:
        if kind == RELATION:
            involved[target] = registry.get(target)
    for name in joins:
        child = registry.get(collection.joins_by_name[name].to)
        involved[child.slug] = child
    if any(access.scope_rule(request, c)[0] != access.ALL for c in involved.values()):
        return None
    related = {(type(obj), obj.pk): obj for obj in written.related}
    builder = DocumentBuilder(request)
    doc = builder.render(collection, row_of(collection, written.instance), depth)
    pending, builder.pending = builder.pending, defaultdict(list)
    for slug, wanted in pending.items():
        target = registry.get(slug)
        for remaining, pk, holder, key in wanted:
            obj = related.get((target.model, pk))
            if obj is None or remaining > 0:
                return None
            holder[key] = builder.render(target, row_of(target, obj), remaining)
    for name, options in joins.items():
        if name not in written.joins:
            return None
        join = collection.joins_by_name[name]
        child = registry.get(join.to)
        children = list(written.joins[name])
        for term in reversed(options.sort or parse_sort(child, join.sort)):
            attribute = term.lstrip("-")
            if any(getattr(c, attribute) is None for c in children):
                return None
            children.sort(key=lambda c, a=attribute: getattr(c, a), reverse=term[0] == "-")
        has_next = bool(options.limit) and len(children) > options.limit
        if options.limit:
            children = children[: options.limit]
        doc[name] = {
            "docs": [builder.render(child, row_of(child, c), depth - 1) for c in children]
            if depth >= 1
            else [c.pk for c in children],
            "hasNextPage": has_next,
        }
    return doc
