"""One generic view set for every collection; each collection's declaration supplies the rest.

Every action asks ``access`` first (may the caller do this?), scopes rows by the caller before
any ``where``, and answers in Payload's shapes. Writes call the collection's writer, which calls
the owning app's services, as one ``shop.db.service`` call: one transaction, run again from the
start on a deadlock or serialization failure.
"""

from __future__ import annotations

from rest_framework import status as http
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from shop.api import access
from shop.api.collections import Collection, Nested, registry, whole_number
from shop.api.documents import (
    DocumentBuilder,
    Matching,
    base_queryset,
    get_document,
    get_documents,
    parse_pk,
    written_document,
)
from shop.api.errors import APIError, Forbidden, NotFound, ValidationError
from shop.api.pagination import PayloadPagination, too_many
from shop.api.query import (
    WhereFilter,
    compile_where,
    max_limit,
    parse_depth,
    parse_joins,
    request_params,
)
from shop.api.renderers import JSONNegotiation
from shop.db import service
from shop.errors import DomainError


def query_params(request) -> dict:
    return request_params(request)


class CollectionMetadata(SimpleMetadata):
    """OPTIONS names the view, what it renders and parses, as DRF's own; the writes each
    collection accepts are documented in the OpenAPI schema (``/api/schema``), not here (there
    is no serializer to describe them)."""

    def determine_actions(self, request, view):
        return {}


class ListMixin:
    """A list in Payload's shapes through DRF's extension points: the rows the caller sees
    (``get_queryset``), ``where`` and ``sort`` by the filter backend, the page and its envelope
    by the pagination class, then the documents at the requested depth with their joins."""

    filter_backends = [WhereFilter]
    pagination_class = PayloadPagination
    metadata_class = CollectionMetadata

    def get_queryset(self) -> Matching:
        if getattr(self, "swagger_fake_view", False):  # the schema generator asks for a model
            return self.collection.model.objects.none()
        return Matching(self.request, self.collection)

    def list(self, request):
        access.check(request, self.collection, "view")
        params = query_params(request)
        depth = parse_depth(params)
        public = not access.sees_private_fields(request)
        rows = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # At depth 0 too, as ids (Payload's join field at depth 0).
        joins = parse_joins(self.collection, params, public=public)
        docs = DocumentBuilder(request, params).build(
            self.collection, rows, depth=depth, joins=joins
        )
        return self.get_paginated_response(docs)


def body(request, collection: Collection) -> dict:
    data = request.data
    if not isinstance(data, dict):
        raise ValidationError(
            collection.slug,
            [{"path": "", "message": "The request body must be a JSON object."}],
            message="The request body must be a JSON object.",
        )
    return data


# The collection attribute that writes for each view action.
WRITERS = {
    "create": "create",
    "partial_update": "update",
    "bulk_update": "update",
    "destroy": "delete",
    "bulk_destroy": "delete",
}


def offers(collection: Collection, action: str) -> bool:
    """Whether the collection answers ``action`` at all (else it is a 405, left out of the
    schema and of the Allow header). A delete of what is never deleted is offered: a 403."""
    writer = WRITERS.get(action)
    if writer is None or getattr(collection, writer) is not None:
        return True
    return writer == "delete" and not collection.deletable


class CollectionViewSet(ListMixin, GenericViewSet):
    """``/api/<slug>``, ``/api/<slug>/count`` and ``/api/<slug>/<id>`` for one collection."""

    collection: Collection
    content_negotiation_class = JSONNegotiation
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @property
    def allowed_methods(self) -> list[str]:
        actions = getattr(self, "action_map", None) or {}
        return [
            method
            for method in super().allowed_methods
            if offers(self.collection, actions.get(method.lower(), ""))
        ]

    # Reads (the list: ListMixin)

    def retrieve(self, request, pk=None):
        access.check(request, self.collection, "view")
        return Response(get_document(request, self.collection, pk, query_params(request)))

    def count(self, request):
        access.check(request, self.collection, "view")
        return Response({"totalDocs": self.filter_queryset(self.get_queryset()).count()})

    # Writes

    def _writer(self, name: str):
        writer = getattr(self.collection, name)
        if writer is None:
            if name == "delete" and not self.collection.deletable:
                raise Forbidden()
            raise APIError(
                f"{self.collection.plural} cannot be {_PAST[name]} through the API.",
                status=http.HTTP_405_METHOD_NOT_ALLOWED,
            )
        return writer

    def _visible_pk(self, request, pk) -> int:
        pk = parse_pk(pk)
        if not base_queryset(request, self.collection).filter(pk=pk).exists():
            raise NotFound()
        return pk

    def _depth(self, request) -> int:
        return parse_depth(query_params(request))

    def create(self, request):
        access.check(request, self.collection, "add")
        writer = self._writer("create")
        data = body(request, self.collection)
        depth = self._depth(request)
        written = service(writer)(request, data)
        doc = written_document(request, self.collection, written, depth=depth)
        message = f"{self.collection.singular} successfully created."
        return Response({"doc": doc, "message": message}, status=http.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        access.check(request, self.collection, "change")
        writer = self._writer("update")
        data = body(request, self.collection)
        depth = self._depth(request)
        pk = self._visible_pk(request, pk)
        service(writer)(request, pk, data)
        doc = get_document(request, self.collection, pk, depth=depth)
        return Response({"doc": doc, "message": "Updated successfully."})

    def destroy(self, request, pk=None):
        access.check(request, self.collection, "delete")
        writer = self._writer("delete")
        depth = self._depth(request)
        pk = self._visible_pk(request, pk)
        doc = get_document(request, self.collection, pk, depth=depth)
        service(writer)(request, pk)
        return Response({"doc": doc, "message": "Deleted successfully."})

    def _bulk_targets(self, request, verb: str) -> tuple[list[int], int]:
        params = query_params(request)
        if params.get("where") in (None, "", {}):
            # Payload's words (collections/operations/update.ts, delete.ts).
            raise APIError(f"Missing 'where' query of documents to {verb}.")
        limit = whole_number(params.get("limit")) or 0
        every = limit <= 0  # no limit: every match, up to the maximum (else a 400, not a part)
        limit = min(limit, max_limit()) if not every else max_limit() + 1
        queryset = self.filter_queryset(base_queryset(request, self.collection))
        pks = list(queryset.values_list("pk", flat=True)[:limit])
        if every and len(pks) > max_limit():
            raise too_many()
        return pks, parse_depth(params)

    def _bulk(self, request, verb: str, run) -> Response:
        pks, depth = self._bulk_targets(request, verb)
        done, errors, before = [], [], {}
        if verb == "delete":
            before = {d["id"]: d for d in get_documents(request, self.collection, pks, depth=depth)}
        for pk in pks:
            try:
                service(run)(pk)
            except (APIError, DomainError) as error:
                message = getattr(error, "message", str(error))
                # Public: the message is the API's own (anything else is a 500).
                errors.append({"id": pk, "isPublic": True, "message": message})
            else:
                done.append(pk)
        if verb == "delete":
            docs = [before[pk] for pk in done if pk in before]
        else:
            docs = get_documents(request, self.collection, done, depth=depth)
        past = "Updated" if verb == "update" else "Deleted"
        if errors:  # Payload's messages (collections/endpoints/update.ts, delete.ts)
            label = self.collection.singular if len(pks) == 1 else self.collection.plural
            message = f"Unable to {verb} {len(errors)} out of {len(pks)} {label}."
            return Response({"docs": docs, "errors": errors, "message": message}, status=400)
        label = self.collection.singular if len(done) == 1 else self.collection.plural
        message = f"{past} {len(done)} {label} successfully."
        return Response({"docs": docs, "errors": [], "message": message})

    def bulk_update(self, request):
        access.check(request, self.collection, "change")
        writer = self._writer("update")
        data = body(request, self.collection)
        return self._bulk(request, "update", lambda pk: writer(request, pk, data))

    def bulk_destroy(self, request):
        access.check(request, self.collection, "delete")
        writer = self._writer("delete")
        return self._bulk(request, "delete", lambda pk: writer(request, pk))


_PAST = {"create": "created", "update": "changed", "delete": "deleted"}


def viewset_for(slug: str, collection: Collection) -> type[CollectionViewSet]:
    """A view set class per routed slug (its name and schema are the collection's)."""
    name = "".join(part.capitalize() for part in slug.split("-")) + "ViewSet"
    return type(name, (CollectionViewSet,), {"collection": collection, "slug": slug})


class ActionView(APIView):
    """A server API endpoint (``POST /api/checkout``): creates a document, answers like a create."""

    action = None
    content_negotiation_class = JSONNegotiation

    def post(self, request):
        collection = self.action.collection
        access.check(request, collection, "add")
        data = body(request, collection)
        depth = parse_depth(query_params(request))
        written = service(self.action.run)(request, data)
        doc = written_document(request, collection, written, depth=depth)
        message = f"{collection.singular} successfully created."
        return Response({"doc": doc, "message": message}, status=http.HTTP_201_CREATED)


class NestedView(ListMixin, GenericAPIView):
    """``GET /api/<parent>/<id>/<name>``: the documents under one parent (an order's
    timeline), listed like a collection; a parent the caller cannot see is a 404."""

    nested: Nested = None
    content_negotiation_class = JSONNegotiation

    @property
    def collection(self) -> Collection:
        return self.nested.collection

    def get_queryset(self) -> Matching:
        if getattr(self, "swagger_fake_view", False):
            return super().get_queryset()
        nested = self.nested
        pk = parse_pk(self.kwargs.get("pk"))
        if not base_queryset(self.request, registry.get(nested.parent)).filter(pk=pk).exists():
            raise NotFound()
        under = compile_where(nested.collection, {nested.fk: {"equals": str(pk)}})
        return super().get_queryset().filter(under)

    def get(self, request, pk=None):
        params = query_params(request)
        params.setdefault("depth", str(self.nested.depth))
        return self.list(request)


class NotFoundView(APIView):
    """Any other path under ``/api/``: a JSON 404."""

    schema = None  # not an operation of the API

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs, self.request = args, kwargs, self.initialize_request(request)
        self.headers = self.default_response_headers
        response = self.handle_exception(NotFound())
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
