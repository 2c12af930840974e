"""``record_event``: the one call a service makes to report a change, inside the change's own
transaction, so the event row exists exactly when the change committed.

The event's ``data`` is the document as the API renders it for a server (the same JSON a client
reads with ``GET /api/<collection>/<id>`` at the default depth), taken at the moment of the change.
Once the transaction commits, a task relays the new rows (``events.tasks.relay``); a rolled-back
change leaves neither a row nor a task.
"""

from collections.abc import Iterable
from types import SimpleNamespace

import orjson
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from events import tasks
from events.models import OutboxEvent
from shop.api.access import SERVER, Caller
from shop.api.collections import iso_timestamp, registry
from shop.api.documents import Written, get_document, written_document

# Events carry what a server reads (private fields included), at the API's default depth.
READER = SimpleNamespace(auth=Caller(SERVER))
DEPTH = 1


def record_event(
    types: str | Iterable[str | None],
    obj: models.Model,
    *,
    related: Iterable[models.Model | None] = (),
    joins: dict[str, list] | None = None,
) -> list[OutboxEvent]:
    """Write one outbox row per type in ``types`` about ``obj``, all with the same document.

    A service that has just written the document's rows whole can pass them (``related``: the
    rows its relations point to, ``joins``: every join's children) so the document is rendered
    from them, as the API answers a write, instead of being read back.
    """
    events = _outbox_rows(types, obj, related=related, joins=joins)
    if events:
        OutboxEvent.objects.bulk_create(events)
        _relay_after_commit()
    return events


def record_events(
    entries: Iterable[tuple[str, models.Model, Iterable[models.Model | None], dict | None]],
) -> list[OutboxEvent]:
    """``record_event`` for many changes at once (``(types, obj, related, joins)`` each): the
    rows go in with one INSERT, in the order given."""
    events = [
        event
        for types, obj, related, joins in entries
        for event in _outbox_rows(types, obj, related=related, joins=joins)
    ]
    if events:
        OutboxEvent.objects.bulk_create(events)
        _relay_after_commit()
    return events


def _outbox_rows(types, obj, *, related, joins) -> list[OutboxEvent]:
    types = [types] if isinstance(types, str) else [t for t in types if t]
    if not types or not settings.SHOP_EVENTS:
        return []
    collection = registry.for_model(type(obj))
    if joins is not None:
        written = Written(obj, related=[r for r in related if r is not None], joins=joins)
        document = written_document(READER, collection, written, depth=DEPTH)
    else:
        document = get_document(READER, collection, obj.pk, depth=DEPTH)
    now = timezone.now()
    events = []
    for event_type in types:
        event = OutboxEvent(
            type=event_type, collection=collection.slug, document_id=obj.pk, created_at=now
        )
        envelope = {
            "id": event.event_id,
            "type": event_type,
            "timestamp": iso_timestamp(now),
            "data": document,
        }
        event.payload = orjson.dumps(envelope, option=orjson.OPT_NON_STR_KEYS).decode()
        events.append(event)
    return events


def _relay_after_commit() -> None:
    """Ask for one relay when the current transaction commits, however many events it holds."""
    connection = transaction.get_connection()
    callback = getattr(connection, "_outbox_relay", None)
    if connection.in_atomic_block and any(
        func is callback for _ids, func, _robust in connection.run_on_commit
    ):
        return

    def relay_committed_events():
        tasks.request_relay()

    connection._outbox_relay = relay_committed_events
    # robust: a broker that cannot be reached never fails a change that has committed; the
    # periodic sweep relays what is left.
    transaction.on_commit(relay_committed_events, robust=True)
