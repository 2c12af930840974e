"""Every state change of fulfilments: create, pack, ship, deliver, fail, retry, and corrections
of a parcel's tracking details.

Each service locks the order first, then the parcel, and moves the order along with its
parcels in the same transaction: it tells the order its units as they now are
(``orders.services.sync_order_after_shipping``). A replacement parcel of an exchange that
arrives is the exchange's business: the returns app registers what follows
(``REPLACEMENT_DELIVERED``), as fulfilment does not import it. Tracking numbers
are stored in one spelling (``fulfillment.carriers.normalize_tracking_number``), whoever sends
them.
"""

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from events.outbox import record_event, record_events
from fulfillment.carriers import normalize_tracking_number
from fulfillment.models import Fulfillment, FulfillmentItem, FulfillmentStatus
from fulfillment.selectors import parcel_units, parcel_units_of_orders
from orders.models import Order, OrderItem, OrderStatus
from orders.services import confirm_order, lock_order, sync_order_after_shipping
from orders.transitions import record_change, refused, run_transition, save_status, write_logs
from orders.values import ItemUnits
from shop.actors import SYSTEM, Actor
from shop.db import service
from shop.errors import DomainError, NotFound
from shop.values import MAX_NOTE, as_int, as_quantity, as_text, pk_or_none

# Parcels can be made for an order in these states.
FULFILLABLE = (OrderStatus.PAID, OrderStatus.PREPARING)
# Orders not (or no longer) meant to be sent: making a parcel is a refused transition.
NOT_SENDABLE = (OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.CANCELED)
# A parcel in these states can be handed to a carrier.
SHIPPABLE = (FulfillmentStatus.PENDING, FulfillmentStatus.PACKED)

CARRIER_MAX = Fulfillment._meta.get_field("carrier").max_length
TRACKING_MAX = Fulfillment._meta.get_field("tracking_number").max_length
# The log entry of a change of carrier or tracking number that leaves the parcel's state.
CORRECT_TRACKING = "correct_tracking"

# What follows when an exchange's replacement parcel is delivered (``returns`` registers its
# service here from its AppConfig.ready): called with the locked order, the parcel, the actor.
REPLACEMENT_DELIVERED: list[Callable[..., None]] = []


def _as_tracking_number(value: Any) -> str:
    """A tracking number as stored: normalised (no spaces or dashes, upper case), then checked
    against its column."""
    if isinstance(value, str):
        value = normalize_tracking_number(value)
    return as_text(value, "trackingNumber", TRACKING_MAX)


def _tracking_changes(parcel: Fulfillment, carrier: str, tracking_number: str) -> dict:
    """``{field: {"from": stored, "to": new}}`` for the tracking details that differ."""
    return {
        name: {"from": getattr(parcel, name), "to": value}
        for name, value in (("carrier", carrier), ("tracking_number", tracking_number))
        if value != getattr(parcel, name)
    }


def lock_fulfillment(fulfillment: Fulfillment | int) -> tuple[Order, Fulfillment]:
    """Lock the parcel's order, then the parcel (the project's fixed lock order)."""
    pk = (
        fulfillment.pk
        if isinstance(fulfillment, Fulfillment)
        else pk_or_none(fulfillment, "fulfillment")
    )
    order_id = Fulfillment.objects.filter(pk=pk).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound(f"Fulfillment {pk} does not exist.", field="fulfillment")
    order = lock_order(order_id)
    return order, Fulfillment.objects.select_for_update().get(pk=pk)


@service
def create_fulfillment(
    *,
    order: Order | int,
    actor: Actor = SYSTEM,
    items: Sequence[ItemUnits] | None = None,
    carrier: str = "",
    tracking_number: str = "",
    note: str = "",
) -> Fulfillment:
    """A parcel for some of the order's remaining units (all of them when ``items`` is empty).

    The first parcel moves a paid order to preparing. No unit is ever put in two parcels.
    """
    order = lock_order(order)
    _check_fulfillable(order)
    carrier = as_text(carrier, "carrier", CARRIER_MAX)
    tracking_number = _as_tracking_number(tracking_number)
    wanted = _wanted_units(order, items, parcel_units(order))
    fulfillment = Fulfillment.objects.create(
        order=order,
        carrier=carrier,
        tracking_number=tracking_number,
        note=as_text(note, "note", MAX_NOTE),
    )
    FulfillmentItem.objects.bulk_create(
        FulfillmentItem(fulfillment=fulfillment, order_item_id=pk, quantity=qty)
        for pk, qty in wanted.items()
    )
    if order.status == OrderStatus.PAID:
        run_transition(order, "start_preparing", actor=actor, order_id=order.pk)
    return fulfillment


def _check_fulfillable(order: Order) -> None:
    """Parcels are made for paid orders until every unit is in one."""
    if order.status in FULFILLABLE:
        return
    if order.status in NOT_SENDABLE:
        raise refused(order, OrderStatus.PREPARING)
    raise DomainError(
        f"Order {order.order_number} is {order.status}: every unit is already in a parcel.",
        field="order",
    )


def _wanted_units(
    order: Order, items: Sequence[ItemUnits] | None, quantities: dict
) -> dict[int, int]:
    if not items:
        wanted = {pk: q.remaining for pk, q in quantities.items() if q.remaining > 0}
        if not wanted:
            raise DomainError(f"Order {order.order_number} has no units left to fulfil.")
        return wanted
    wanted: dict[int, int] = {}
    for units in items:
        item_id = units.order_item
        if item_id not in quantities:
            raise DomainError(
                f"Order item {item_id} is not part of order {order.order_number}.",
                field="orderItem",
            )
        quantity = as_quantity(
            quantities[item_id].remaining if units.quantity is None else units.quantity
        )
        wanted[item_id] = wanted.get(item_id, 0) + quantity
    for item_id, quantity in wanted.items():
        remaining = quantities[item_id].remaining
        if quantity > remaining:
            title = OrderItem.objects.get(pk=item_id).title
            raise DomainError(
                f"Only {remaining} unit(s) of {title} are left to fulfil, not {quantity}.",
                field="quantity",
            )
    return wanted


@service
def pack_fulfillment(*, fulfillment: Fulfillment | int, actor: Actor = SYSTEM) -> Fulfillment:
    order, parcel = lock_fulfillment(fulfillment)
    run_transition(parcel, "pack", actor=actor, order_id=order.pk)
    return parcel


@service
def ship_fulfillment(
    *,
    fulfillment: Fulfillment | int,
    actor: Actor = SYSTEM,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> Fulfillment:
    """Hand the parcel to a carrier. A tracking number is required.

    The log entry records the carrier and number the parcel left with where this call set them.
    """
    order, parcel = lock_fulfillment(fulfillment)
    changes = _tracking_changes(
        parcel,
        parcel.carrier if carrier is None else as_text(carrier, "carrier", CARRIER_MAX),
        parcel.tracking_number if tracking_number is None else _as_tracking_number(tracking_number),
    )
    for name, change in changes.items():
        setattr(parcel, name, change["to"])
    if parcel.status in SHIPPABLE and not parcel.tracking_number:
        raise DomainError(
            f"Fulfillment {parcel.pk} needs a tracking number to ship.",
            field="trackingNumber",
        )
    parcel.shipped_at = timezone.now()
    run_transition(
        parcel,
        "ship",
        actor=actor,
        order_id=order.pk,
        update_fields=["carrier", "tracking_number", "shipped_at"],
        changes=changes,
    )
    sync_order_after_shipping(order, quantities=parcel_units(order), actor=actor)
    record_event("fulfillment.shipped", parcel)
    return parcel


@service
def deliver_fulfillment(*, fulfillment: Fulfillment | int, actor: Actor = SYSTEM) -> Fulfillment:
    order, parcel = lock_fulfillment(fulfillment)
    parcel.delivered_at = timezone.now()
    run_transition(
        parcel, "deliver", actor=actor, order_id=order.pk, update_fields=["delivered_at"]
    )
    if parcel.exchange_id:
        for follow in REPLACEMENT_DELIVERED:
            follow(order, parcel, actor=actor)
    else:
        sync_order_after_shipping(order, quantities=parcel_units(order), actor=actor)
    record_event("fulfillment.delivered", parcel)
    return parcel


@service
def fail_fulfillment(
    *, fulfillment: Fulfillment | int, actor: Actor = SYSTEM, reason: str = ""
) -> Fulfillment:
    """The parcel could not be sent or got lost; its units stay with it until it is retried."""
    order, parcel = lock_fulfillment(fulfillment)
    run_transition(parcel, "fail", actor=actor, order_id=order.pk, reason=reason)
    record_event("fulfillment.failed", parcel)
    return parcel


@service
def retry_fulfillment(
    *, fulfillment: Fulfillment | int, actor: Actor = SYSTEM, reason: str = ""
) -> Fulfillment:
    order, parcel = lock_fulfillment(fulfillment)
    if order.status == OrderStatus.CANCELED:
        raise DomainError(f"Order {order.order_number} is canceled: its parcels stay failed.")
    run_transition(parcel, "retry", actor=actor, order_id=order.pk, reason=reason)
    return parcel


# The service behind each status a parcel can be moved to, and the fields it takes.
_STATUS_SERVICES = {
    FulfillmentStatus.PACKED: (pack_fulfillment, ()),
    FulfillmentStatus.SHIPPED: (ship_fulfillment, ("carrier", "tracking_number")),
    FulfillmentStatus.DELIVERED: (deliver_fulfillment, ()),
    FulfillmentStatus.FAILED: (fail_fulfillment, ("reason",)),
    FulfillmentStatus.PENDING: (retry_fulfillment, ("reason",)),
}


def update_status(
    *,
    fulfillment: Fulfillment | int,
    status: str,
    actor: Actor = SYSTEM,
    carrier: str | None = None,
    tracking_number: str | None = None,
    reason: str | None = None,
) -> Fulfillment:
    """Move a parcel to ``status`` through the service for that move (PATCH {status} and the
    admin's buttons come this way). What the move does not use is ignored: ``carrier`` and
    ``tracking_number`` go with shipping, ``reason`` with failing and retrying."""
    if status not in _STATUS_SERVICES:
        pk = fulfillment.pk if isinstance(fulfillment, Fulfillment) else fulfillment
        parcel = Fulfillment.objects.filter(pk=pk_or_none(pk, "fulfillment")).first()
        if parcel is None:
            raise NotFound(f"Fulfillment {pk} does not exist.", field="fulfillment")
        raise refused(parcel, status)
    move, accepted = _STATUS_SERVICES[status]
    given = {"carrier": carrier, "tracking_number": tracking_number, "reason": reason}
    kwargs = {name: given[name] for name in accepted if given[name] is not None}
    return move(fulfillment=fulfillment, actor=actor, **kwargs)


@service
def change_fulfillment(
    *,
    fulfillment: Fulfillment | int,
    actor: Actor = SYSTEM,
    status: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    note: str | None = None,
    reason: str = "",
) -> Fulfillment:
    """A parcel changed as a whole (PATCH of its document): a move to ``status``, corrections of
    its tracking details or note, or both. ``None`` leaves a detail as it is.

    Decided under the locks (order, then parcel): of two equal moves sent at once, the second
    sees the first's result and is refused, never run twice. The status it already has is no
    move when something else changes (a document sent back with corrections), and refused when
    nothing does. Shipping takes ``carrier`` and ``tracking_number`` with it; a correction alone
    takes ``reason`` (with a move, the reason is the move's).
    """
    _order, parcel = lock_fulfillment(fulfillment)
    edits = {"carrier": carrier, "tracking_number": tracking_number, "note": note}
    changed = {k: v for k, v in edits.items() if v is not None and v != getattr(parcel, k)}
    if status is not None and status == parcel.status:
        if not changed:
            raise refused(parcel, status)
        status = None
    moving = status is not None
    details = {key: changed.get(key) for key in ("carrier", "tracking_number")}
    if moving and status == FulfillmentStatus.SHIPPED:
        details = {}
    if "note" in changed or any(v is not None for v in details.values()):
        update_tracking(
            fulfillment=parcel.pk,
            actor=actor,
            note=changed.get("note"),
            **details,
            reason="" if moving else reason,
        )
    if moving:
        update_status(
            fulfillment=parcel.pk,
            status=status,
            actor=actor,
            carrier=carrier,
            tracking_number=tracking_number,
            reason=reason or None,
        )
    parcel.refresh_from_db()
    return parcel


@service
def update_tracking(
    *,
    fulfillment: Fulfillment | int,
    actor: Actor = SYSTEM,
    carrier: str | None = None,
    tracking_number: str | None = None,
    note: str | None = None,
    reason: str = "",
) -> Fulfillment:
    """Correct a parcel's carrier or tracking number (until it is delivered) or its note,
    without moving its state.

    A carrier or number that changes is logged in the order's timeline (``correct_tracking``:
    who, and each detail from what to what, with ``reason``); one sent as it is stored changes
    and logs nothing.
    """
    reason = as_text(reason, "reason", MAX_NOTE)
    order, parcel = lock_fulfillment(fulfillment)
    for name, value in (("carrier", carrier), ("tracking_number", tracking_number)):
        if value is not None and parcel.status == FulfillmentStatus.DELIVERED:
            raise DomainError(
                f"Fulfillment {parcel.pk} is delivered: its tracking details no longer change.",
                field="trackingNumber" if name == "tracking_number" else name,
            )
    changes = _tracking_changes(
        parcel,
        parcel.carrier if carrier is None else as_text(carrier, "carrier", CARRIER_MAX),
        parcel.tracking_number if tracking_number is None else _as_tracking_number(tracking_number),
    )
    for name, change in changes.items():
        setattr(parcel, name, change["to"])
    if parcel.status == FulfillmentStatus.SHIPPED and not parcel.tracking_number:
        raise DomainError(
            f"Fulfillment {parcel.pk} has shipped: it keeps a tracking number.",
            field="trackingNumber",
        )
    fields = list(changes)
    if note is not None:
        parcel.note = as_text(note, "note", MAX_NOTE)
        fields.append("note")
    if fields:
        parcel.save(update_fields=[*fields, "updated_at"])
    if changes:
        record_change(
            parcel,
            CORRECT_TRACKING,
            actor=actor,
            order_id=order.pk,
            changes=changes,
            reason=reason,
        )
    return parcel


@service
def ship_new_fulfillment(
    *,
    order: Order | int,
    carrier: str,
    tracking_number: str,
    actor: Actor = SYSTEM,
    items: Sequence[ItemUnits] | None = None,
) -> Fulfillment:
    """Create a parcel and hand it to the carrier in one step (a row of a tracking import).

    The same rules as ``create_fulfillment`` then ``ship_fulfillment``, under one lock of the
    order: units come from what is left to fulfil (all of it when ``items`` is empty), and a
    tracking number is required.
    """
    order = lock_order(order)
    tracking_number = _as_tracking_number(tracking_number)
    if not tracking_number:
        raise DomainError("A parcel needs a tracking number to ship.", field="trackingNumber")
    _check_fulfillable(order)
    quantities = parcel_units(order)
    wanted = _wanted_units(order, items, quantities)
    # The parcel is inserted shipped, the order is written once in the state it ends in, and
    # the log entries go in together, in the order the moves ran.
    logs: list = []
    moves = {"actor": actor, "order_id": order.pk, "logs": logs}
    before = order.status
    if order.status == OrderStatus.PAID:
        run_transition(order, "start_preparing", save=False, **moves)
    parcel = Fulfillment(order=order, shipped_at=timezone.now())
    changes = _tracking_changes(parcel, as_text(carrier, "carrier", CARRIER_MAX), tracking_number)
    for name, change in changes.items():
        setattr(parcel, name, change["to"])
    run_transition(parcel, "ship", changes=changes, **moves)
    parcel_items = FulfillmentItem.objects.bulk_create(
        FulfillmentItem(fulfillment=parcel, order_item_id=pk, quantity=qty)
        for pk, qty in wanted.items()
    )
    # The order is locked: its units are what was read plus this parcel's, shipped.
    now = {
        pk: replace(q, allocated=q.allocated + sent, shipped=q.shipped + sent)
        for pk, q in quantities.items()
        for sent in [wanted.get(pk, 0)]
    }
    sync_order_after_shipping(order, actor=actor, quantities=now, logs=logs, save=False)
    if order.status != before:
        save_status(order)
    write_logs(logs)
    record_event("fulfillment.shipped", parcel, related=[order], joins={"items": parcel_items})
    return parcel


@dataclass(frozen=True)
class NewShipment:
    """A parcel to create and hand to a carrier at once: ``ship_new_fulfillment``'s arguments."""

    order: int
    carrier: str
    tracking_number: str
    items: tuple[ItemUnits, ...] = ()


@service
def ship_new_fulfillments(
    *, shipments: Sequence[NewShipment], actor: Actor = SYSTEM
) -> list[Fulfillment | DomainError]:
    """``ship_new_fulfillment`` for many parcels, of many orders, in one transaction.

    Writes what the one-by-one calls would, in the same order (parcels, their items, order
    moves, log entries, outbox events), in a handful of statements whatever the number of
    parcels: every order is locked at once (``SELECT … FOR UPDATE``, in id order, the one lock
    order a batch can take beside services locking one order), their units are read in one
    query, and the rows go in with one INSERT per table. Each shipment is checked as the single
    call checks it, against the orders as the earlier shipments of the batch left them; a refused
    one writes nothing and its error takes its place in the answer (one ``Fulfillment`` or
    ``DomainError`` per shipment, in order).
    """
    order_ids = sorted({s.order for s in shipments if isinstance(s.order, int)})
    locked = Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk")
    orders = {order.pk: order for order in locked}
    before = {pk: order.status for pk, order in orders.items()}
    units = parcel_units_of_orders(orders)
    outcome: list[Fulfillment | DomainError] = []
    done = []  # (the order as this shipment left it, parcel, units, its log's place, logs)
    shipped_at = timezone.now()
    for shipment in shipments:
        try:
            done.append(_plan_shipment(shipment, orders, units, actor, shipped_at))
        except DomainError as error:
            outcome.append(error)
        else:
            outcome.append(done[-1][1])
    if not done:
        return outcome
    Fulfillment.objects.bulk_create([parcel for _o, parcel, *_rest in done])
    items = FulfillmentItem.objects.bulk_create(
        FulfillmentItem(fulfillment=parcel, order_item_id=pk, quantity=qty)
        for _o, parcel, wanted, *_rest in done
        for pk, qty in wanted.items()
    )
    items_of: dict[int, list] = {}
    for item in items:
        items_of.setdefault(item.fulfillment_id, []).append(item)
    logs = []
    for _o, parcel, _w, parcel_log_at, row_logs in done:
        row_logs[parcel_log_at].object_id = parcel.pk
        logs += row_logs
    moved = [order for pk, order in orders.items() if order.status != before[pk]]
    if moved:
        stamp = timezone.now()
        for order in moved:
            order.updated_at = stamp
        for order, *_rest in done:
            if order.status != before[order.pk]:
                order.updated_at = stamp
        by_status: dict[str, list[int]] = {}
        for order in moved:
            by_status.setdefault(order.status, []).append(order.pk)
        for status, pks in by_status.items():  # one UPDATE per status the orders end in
            Order.objects.filter(pk__in=pks).update(status=status, updated_at=stamp)
    write_logs(logs)
    record_events(
        ("fulfillment.shipped", parcel, [order], {"items": items_of.get(parcel.pk, [])})
        for order, parcel, *_rest in done
    )
    return outcome


def _plan_shipment(shipment, orders, units, actor, shipped_at):
    """One shipment of ``ship_new_fulfillments``, checked and moved in memory."""
    order = orders.get(shipment.order)
    if order is None:
        raise NotFound(f"Order {shipment.order} does not exist.", field="order")
    tracking_number = _as_tracking_number(shipment.tracking_number)
    if not tracking_number:
        raise DomainError("A parcel needs a tracking number to ship.", field="trackingNumber")
    _check_fulfillable(order)
    quantities = units[order.pk]
    wanted = _wanted_units(order, shipment.items, quantities)
    carrier = as_text(shipment.carrier, "carrier", CARRIER_MAX)
    logs: list = []
    moves = {"actor": actor, "order_id": order.pk, "logs": logs}
    if order.status == OrderStatus.PAID:
        run_transition(order, "start_preparing", save=False, **moves)
    parcel = Fulfillment(order=order, shipped_at=shipped_at)
    changes = _tracking_changes(parcel, carrier, tracking_number)
    for name, change in changes.items():
        setattr(parcel, name, change["to"])
    parcel_log_at = len(logs)
    run_transition(parcel, "ship", changes=changes, save=False, **moves)
    units[order.pk] = {
        pk: replace(q, allocated=q.allocated + sent, shipped=q.shipped + sent)
        for pk, q in quantities.items()
        for sent in [wanted.get(pk, 0)]
    }
    sync_order_after_shipping(order, actor=actor, quantities=units[order.pk], logs=logs, save=False)
    # The parcel's event shows the order as this shipment left it, as the single call's does.
    return copy.copy(order), parcel, wanted, parcel_log_at, logs


def call_off_parcels(order: Order, *, actor: Actor) -> list[tuple[str, Fulfillment]]:
    """A canceled order's parcels not yet sent fail (``orders.services.cancel_order`` calls
    this through ``orders.services.CHILDREN``); returns the events to record after the
    order's."""
    called_off = list(
        Fulfillment.objects.select_for_update()
        .filter(order=order, status__in=SHIPPABLE)
        .order_by("pk")
    )
    for parcel in called_off:
        run_transition(parcel, "fail", actor=actor, order_id=order.pk, reason="order canceled")
    return [("fulfillment.failed", parcel) for parcel in called_off]


@service
def create_replacement_fulfillment(
    *, order: Order, exchange: Any, units: dict[int, int], actor: Actor = SYSTEM
) -> Fulfillment:
    """The parcel that carries an exchange's replacement units (``units``: quantity per order
    item id). The caller holds the order's lock; these units do not count against the order's
    own."""
    parcel = Fulfillment.objects.create(
        order=order, exchange=exchange, note=f"Exchange {exchange.pk}"
    )
    FulfillmentItem.objects.bulk_create(
        FulfillmentItem(fulfillment=parcel, order_item_id=pk, quantity=quantity)
        for pk, quantity in units.items()
    )
    return parcel


def confirm_delivered_orders(*, days: int | None = None, actor: Actor = SYSTEM) -> int:
    """Confirm every delivered order whose last parcel arrived more than ``days`` ago."""
    days = settings.SHOP_AUTO_CONFIRM_DAYS if days is None else as_int(days, "days")
    if days < 0:
        raise DomainError(f"days cannot be negative ({days}).", field="days")
    cutoff = timezone.now() - timedelta(days=days)
    late_parcel = Fulfillment.objects.filter(order=OuterRef("pk"), delivered_at__gt=cutoff)
    due = (
        Order.objects.filter(status=OrderStatus.DELIVERED)
        .annotate(last=Max("fulfillments__delivered_at"))
        .filter(last__lte=cutoff)
        .exclude(Exists(late_parcel))
        .values_list("pk", flat=True)
    )
    confirmed = 0
    for pk in list(due):
        with transaction.atomic():
            order = lock_order(pk)
            if order.status == OrderStatus.DELIVERED:
                reason = f"delivered more than {days} days ago"
                confirm_order(order=order, actor=actor, reason=reason)
                confirmed += 1
    return confirmed
