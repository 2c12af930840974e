"""OpenAPI 3 for the API, built from the same collection declarations as the API itself.

Every collection gets its document schema (``components.schemas.<Name>``) and its operations:
the list with ``where`` (a deepObject in qs bracket syntax), ``sort``, ``limit``, ``page``,
``pagination``, ``depth`` and ``joins``; the document by id; count; create and update with their
bodies; delete; bulk update and delete. Errors share one ``Error`` schema.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from shop.api.collections import Collection, Group, Join, Relation, registry, schema_name
from shop.api.query import DEFAULT_DEPTH, DEFAULT_LIMIT, MAX_DEPTH, OPERATORS
from shop.api.views import offers

ERROR_REF = {"$ref": "#/components/schemas/Error"}

WHERE_HELP = (
    "Payload's where, in qs bracket syntax: where[<path>][<operator>]=value, e.g. "
    "where[customer][equals]=7, where[or][0][status][equals]=paid, "
    "where[shippingAddress.postalCode][like]=061, where[status][in][0]=paid. Paths: a field, "
    "a group member (dot), or across a relation (order.orderNumber). Operators: "
    + ", ".join(OPERATORS)
    + ". May also be one JSON string."
)


def _where_parameter(*, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(
        "where",
        {"type": "object", "additionalProperties": True},
        style="deepObject",
        explode=True,
        required=required,
        description=WHERE_HELP
        + (" Required: a bulk change without a where is refused." if required else ""),
    )


def _depth_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        "depth",
        {"type": "integer", "minimum": 0, "default": DEFAULT_DEPTH},
        description="Relations as ids (0) or documents populated this many levels, at most "
        f"{MAX_DEPTH} (a larger depth counts as {MAX_DEPTH}). Joins are ids at depth 0, "
        "documents from depth 1.",
    )


def _joins_parameter(collection: Collection) -> list[OpenApiParameter]:
    if not collection.joins:
        return []
    names = ", ".join(j.name for j in collection.joins)
    return [
        OpenApiParameter(
            "joins",
            {"type": "object", "additionalProperties": True},
            style="deepObject",
            explode=True,
            description=f"Tune the joins ({names}): joins[<join>][limit|page|sort|count|where]; "
            "joins=false leaves them out.",
        )
    ]


def _select_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "select",
            {"type": "object", "additionalProperties": True},
            style="deepObject",
            explode=True,
            description="select[<field>]=true keeps only those fields (and id); "
            "select[<field>]=false leaves those out; a group takes select[<group>][<member>].",
        ),
        OpenApiParameter(
            "populate",
            {"type": "object", "additionalProperties": True},
            style="deepObject",
            explode=True,
            description="populate[<collection>][<field>]=true|false: the select of every "
            "populated document of that collection (relations and joins).",
        ),
    ]


def list_parameters(collection: Collection) -> list[OpenApiParameter]:
    return [
        _where_parameter(),
        OpenApiParameter(
            "sort",
            str,
            description="Fields, comma-separated, '-' for descending (default -createdAt); "
            "unknown fields are ignored.",
        ),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 0, "default": DEFAULT_LIMIT},
            description="Documents per page (a larger one than the server maximum is lowered "
            "to it); 0 for every match, refused with 400 past the server maximum.",
        ),
        OpenApiParameter(
            "page", {"type": "integer", "minimum": 0, "default": 1}, description="From 1."
        ),
        OpenApiParameter(
            "pagination",
            {"type": "boolean", "default": True},
            description="false without a limit: every match, no count (as limit=0).",
        ),
        _depth_parameter(),
        *_joins_parameter(collection),
        *_select_parameters(),
    ]


def _ref(collection: Collection) -> dict:
    return {"$ref": f"#/components/schemas/{schema_name(collection.slug)}"}


def envelope(items: dict) -> dict:
    nullable_int = {"type": "integer", "nullable": True}
    return {
        "type": "object",
        "properties": {
            "docs": {"type": "array", "items": items},
            "totalDocs": {"type": "integer"},
            "limit": {"type": "integer"},
            "totalPages": {"type": "integer"},
            "page": {"type": "integer"},
            "pagingCounter": {"type": "integer"},
            "hasPrevPage": {"type": "boolean"},
            "hasNextPage": {"type": "boolean"},
            "prevPage": nullable_int,
            "nextPage": nullable_int,
        },
        "required": ["docs", "totalDocs", "limit", "totalPages", "page", "hasNextPage"],
    }


def _written(collection: Collection) -> dict:
    return {
        "type": "object",
        "properties": {"doc": _ref(collection), "message": {"type": "string"}},
        "required": ["doc", "message"],
    }


def _bulk(collection: Collection) -> dict:
    return {
        "type": "object",
        "properties": {
            "docs": {"type": "array", "items": _ref(collection)},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "message": {"type": "string"}},
                },
            },
            "message": {"type": "string"},
        },
    }


def _errors(*codes: int) -> dict:
    text = {
        400: "Invalid query or body (QueryError, ValidationError) or malformed JSON.",
        403: "Not allowed.",
        404: "No such document (or one the caller may not see).",
        405: "Not offered at this path (e.g. a change sent to `/<collection>/count`).",
        409: "A transition the state does not allow, or a duplicate.",
    }
    from drf_spectacular.utils import OpenApiResponse

    return {code: OpenApiResponse(ERROR_REF, description=text[code]) for code in codes}


def _pk_parameter() -> OpenApiParameter:
    return OpenApiParameter("id", int, OpenApiParameter.PATH, description="The document's id.")


class CollectionSchema(AutoSchema):
    """Operations of the generic views, described from their collection."""

    @property
    def collection(self) -> Collection | None:
        return getattr(self.view, "collection", None) or getattr(
            getattr(self.view, "action", None), "collection", None
        )

    def _is_list_view(self, serializer=None) -> bool:
        # Every answer is one JSON object (a list is the paginated envelope), never an array.
        return False

    def is_excluded(self) -> bool:
        """Leave out the methods a collection does not offer (they answer 405)."""
        collection = self.collection
        if collection is None or self._action == "server_action":
            return False
        return not offers(collection, self._action)

    @property
    def _action(self) -> str:
        action = getattr(self.view, "action", None)
        if isinstance(action, str):
            return action
        if hasattr(self.view, "action") and action is not None:
            return "server_action"
        return type(self.view).__name__

    def _slug(self) -> str:
        return getattr(self.view, "slug", None) or getattr(self.collection, "slug", "api")

    @property
    def nested(self):
        return getattr(self.view, "nested", None)

    def get_tags(self):
        if self.nested is not None:
            return [self.nested.parent]
        return [self._slug()]

    def get_operation_id(self):
        if self.nested is not None:
            return f"{self.nested.parent}_{self.nested.name}".replace("-", "_")
        if self._action == "server_action":
            return f"{self.view.action.path}_create"
        return f"{self._slug().replace('-', '_')}_{self._action}"

    def get_description(self):
        collection = self.collection
        if self.nested is not None:
            return self.nested.description
        if self._action == "server_action":
            return self.view.action.write.description
        return collection.description if collection else ""

    def get_override_parameters(self):
        collection = self.collection
        if self.nested is not None:
            return [_pk_parameter(), *list_parameters(self.nested.collection)[:5]]
        if collection is None:
            return []
        action = self._action
        if action == "list":
            return list_parameters(collection)
        if action == "count":
            return [_where_parameter()]
        if action == "retrieve":
            return [
                _pk_parameter(),
                _depth_parameter(),
                *_joins_parameter(collection),
                *_select_parameters(),
            ]
        if action in ("partial_update", "destroy"):
            return [_pk_parameter(), _depth_parameter()]
        if action in ("create", "server_action"):
            return [_depth_parameter()]
        if action in ("bulk_update", "bulk_destroy"):
            return [
                _where_parameter(required=True),
                OpenApiParameter("limit", int, description="At most this many documents."),
                _depth_parameter(),
            ]
        return []

    def get_request_serializer(self):
        schema = self._request_schema()
        return {"application/json": schema} if schema is not None else None

    def _request_schema(self):
        collection = self.collection
        action = self._action
        if action == "server_action":
            return self.view.action.write.schema()
        if collection is None:
            return None
        if action == "create":
            write = collection.writes.get("create")
        elif action in ("partial_update", "bulk_update"):
            write = collection.writes.get("update")
        else:
            return None
        return write.schema() if write is not None else {"type": "object"}

    def get_response_serializers(self):
        collection = self.collection
        if self.nested is not None:
            return {200: envelope(_ref(self.nested.collection)), **_errors(400, 403, 404)}
        if self._action == "server_action":
            return {201: _written(collection), **_errors(400, 403, 404, 409)}
        if collection is None:
            return {404: ERROR_REF}
        action = self._action
        if action == "list":
            return {200: envelope(_ref(collection)), **_errors(400, 403)}
        if action == "count":
            count = {"type": "object", "properties": {"totalDocs": {"type": "integer"}}}
            return {200: count, **_errors(400, 403)}
        if action == "retrieve":
            return {200: _ref(collection), **_errors(400, 403, 404)}
        if action == "create":
            return {201: _written(collection), **_errors(400, 403, 404, 409)}
        if action in ("partial_update", "destroy"):
            # The id ``count`` names the count path, which only answers GET.
            return {200: _written(collection), **_errors(400, 403, 404, 405, 409)}
        if action in ("bulk_update", "bulk_destroy"):
            return {200: _bulk(collection), **_errors(400, 403)}
        return {200: {"type": "object"}}


def document_schema(collection: Collection) -> dict:
    properties: dict = {}
    for item in collection.fields:
        properties[item.name] = item.schema()
        if isinstance(item, Relation | Group):
            continue
    for join in collection.joins:
        properties[join.name] = join_schema(join)
    return {
        "type": "object",
        "description": collection.description or collection.plural,
        "properties": properties,
        "required": [f.name for f in collection.fields if not isinstance(f, Group)][:1],
    }


def join_schema(join: Join) -> dict:
    child = registry.get(join.to)
    return {
        "type": "object",
        "description": f"The {child.plural.lower()} of this document: ids at depth 0, "
        "documents from depth 1.",
        "properties": {
            "docs": {
                "type": "array",
                "items": {"oneOf": [{"type": "integer", "format": "int64"}, _ref(child)]},
            },
            "hasNextPage": {"type": "boolean"},
            "totalDocs": {"type": "integer", "description": "With joins[<join>][count]=true."},
        },
    }


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "name": {"type": "string"},
                    "data": {},
                },
                "required": ["message"],
            },
        }
    },
    "required": ["errors"],
}


def add_collection_components(result, generator, request, public):
    """Postprocessing hook: every collection's document schema and the error schema; query
    parameters may be sent empty."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for collection in registry.collections():
        schemas[schema_name(collection.slug)] = document_schema(collection)
    schemas["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    # "depth=" or "where=" (as qs writes an empty value) means "not given".
                    parameter["allowEmptyValue"] = True
    return result
