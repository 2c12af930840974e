"""The transition log as documents: ``GET /api/orders/<id>/timeline``."""

from django.contrib.contenttypes.models import ContentType

from orders.models import TransitionLog
from shop.api.collections import (
    Collection,
    Computed,
    DateTime,
    Group,
    Id,
    Integer,
    Relation,
    Text,
    registry,
)


def _collection(row: dict):
    model = ContentType.objects.get_for_id(row["content_type_id"]).model_class()
    return registry.for_model(model) if model is not None else None


def _collection_of(row: dict) -> str | None:
    found = _collection(row)
    return found.slug if found else None


def _changes(row: dict) -> dict:
    """The entry's ``{field: {from, to}}`` under the changed collection's API field names."""
    changes = row["changes"] or {}
    found = _collection(row) if changes else None
    names = {column: name for name, (column, _field) in found.paths.items()} if found else {}
    return {names.get(column, column): change for column, change in changes.items()}


timeline = Collection(
    slug="timeline",
    model=TransitionLog,
    singular="Transition",
    plural="Transitions",
    routed=False,
    description="Every state change of an order and of everything under it, newest first, and "
    "every correction of a detail a state was reached with (a parcel's carrier or tracking "
    "number: from and to are the same state, changes says what changed).",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Computed(
            "collection",
            _collection_of,
            columns=["content_type_id"],
            schema={"type": "string", "description": "The slug of the changed document."},
        ),
        Integer("doc", "object_id", description="The changed document's id."),
        Text("transition"),
        Text("from", "source"),
        Text("to", "target"),
        Group("actor", [Text("kind", "actor_kind"), Text("label", "actor_label")]),
        Text("reason"),
        Computed(
            "changes",
            _changes,
            columns=["content_type_id", "changes"],
            schema={
                "type": "object",
                "description": "The details the entry set or corrected, each as {from, to} "
                "(e.g. a parcel's carrier and trackingNumber); empty when none.",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
                },
            },
        ),
        DateTime("createdAt", "created_at"),
    ],
)

registry.register(timeline)
