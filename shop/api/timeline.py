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


def _collection_of(row: dict) -> str | None:
    model = ContentType.objects.get_for_id(row["content_type_id"]).model_class()
    found = registry.for_model(model) if model is not None else None
    return found.slug if found else None


timeline = Collection(
    slug="timeline",
    model=TransitionLog,
    singular="Transition",
    plural="Transitions",
    routed=False,
    description="Every state change of an order and of everything under it, newest first.",
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
        DateTime("createdAt", "created_at"),
    ],
)

registry.register(timeline)
