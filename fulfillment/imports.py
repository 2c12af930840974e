"""Bulk tracking import: CSV rows of (order number, carrier, tracking number[, sku, quantity]).

Three steps, each usable without the admin:

- ``parse(text)`` reads the rows and flags the malformed ones;
- ``plan(rows)`` says, row by row and without writing anything, what applying would do: create a
  parcel and ship it, ship a parcel that waits (pending or packed), skip a row already applied,
  or refuse it with the reason. It reads everything it needs in a handful of queries, whatever
  the number of rows;
- ``apply(planned, actor=…)`` runs the good rows through the fulfilment services, each row
  atomic on its own: a row the services refuse (the order changed since the dry run) is rolled
  back and reported, and the others still apply. Commits are batched, and the new parcels of a
  batch go to the services together (``ship_new_fulfillments``), which write what one call per
  row would in one statement per table.

A row without a SKU ships the order's oldest waiting parcel, or else a new parcel with all its
remaining units. A row with a SKU ships that many units of that line (all its remaining units
when the quantity is left out) in a new parcel. Importing the same file twice ships nothing twice:
a tracking number already shipped for the order is skipped. Tracking numbers are compared as
stored (``normalize_tracking_number``): ``6123 4567 8901`` in a file is the parcel shipped as
``6123-4567-8901``.
"""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import islice

from django.db import transaction
from django.utils.translation import gettext as _

from fulfillment import services
from fulfillment.carriers import normalize_tracking_number
from fulfillment.models import Fulfillment, FulfillmentItem, FulfillmentStatus
from orders.models import Order, OrderItem
from orders.values import ItemUnits
from shop.actors import SYSTEM, Actor
from shop.errors import DomainError

MAX_ROWS = 50_000
HEADER_WORDS = {"order", "order number", "order_number", "ordernumber", "order no", "주문번호"}
WAITING = (FulfillmentStatus.PENDING, FulfillmentStatus.PACKED)
SENT = (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED)
BATCH_SIZE = 200  # rows per commit when applying
CHUNK = 2000  # ids per IN (…) list: well under SQLite's and PostgreSQL's limits


class Action:
    NEW = "new"  # create a parcel and ship it
    SHIP = "ship"  # ship a parcel that is waiting
    SKIP = "skip"  # already done: nothing to write
    ERROR = "error"


@dataclass
class Row:
    line: int
    order_number: str = ""
    carrier: str = ""
    tracking_number: str = ""
    sku: str = ""
    quantity: int | None = None
    error: str = ""


@dataclass
class PlannedRow:
    row: Row
    action: str
    message: str
    order_id: int | None = None
    fulfillment_id: int | None = None
    items: list[ItemUnits] = field(default_factory=list)  # for NEW; empty = all remaining

    @property
    def ok(self) -> bool:
        return self.action in (Action.NEW, Action.SHIP)


@dataclass
class AppliedRow:
    row: Row
    action: str
    message: str
    fulfillment_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.action in (Action.NEW, Action.SHIP)


@dataclass
class Report:
    rows: list

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def applied(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def errors(self) -> list:
        return [r for r in self.rows if r.action == Action.ERROR]


# ---------------------------------------------------------------------------------------------
# parse


def parse(text: str | bytes) -> list[Row]:
    """The rows of a CSV (comma, semicolon or tab separated; a header line is optional)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(_("The file is not UTF-8 text.")) from None
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(("\t", ";", ","), key=first.count) if first else ","
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for number, cells in enumerate(reader, start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if not rows and number == _first_line(text) and cells[0].lower() in HEADER_WORDS:
            continue
        if len(rows) >= MAX_ROWS:
            raise DomainError(
                _("At most %(max)s rows can be imported at once.") % {"max": f"{MAX_ROWS:,}"}
            )
        rows.append(_row(number, cells))
    return rows


def _first_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            return number
    return 1


def _row(number: int, cells: list[str]) -> Row:
    cells = [*cells, "", "", "", "", ""][:5]
    order_number, carrier, tracking, sku, quantity = cells
    row = Row(number, order_number, carrier[:100], normalize_tracking_number(tracking)[:100], sku)
    if not order_number or not row.tracking_number:
        row.error = _("Expected: order number, carrier, tracking number[, SKU, quantity].")
    elif quantity:
        if not (quantity.isascii() and quantity.isdigit()) or int(quantity) < 1:
            row.error = _("Quantity must be a whole number of at least 1, not %(value)s.") % {
                "value": quantity
            }
        elif not sku:
            row.error = _("A quantity needs a SKU: which line of the order?")
        else:
            row.quantity = int(quantity)
    return row


# ---------------------------------------------------------------------------------------------
# plan


def _chunks(values, size=CHUNK):
    values = list(values)
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass
class _OrderState:
    """What one order looks like to the plan, updated as earlier rows of the file use it."""

    order: Order
    lines: list[dict] = field(default_factory=list)  # {id, sku, title, remaining}
    waiting: list[int] = field(default_factory=list)  # parcels (pending/packed) not yet claimed
    sent: dict[str, int] = field(default_factory=dict)  # shipped tracking number → parcel id
    claimed: dict[str, int] = field(default_factory=dict)  # tracking number → line of the file

    @property
    def remaining(self) -> int:
        return sum(line["remaining"] for line in self.lines)


def _load(numbers: set[str]) -> dict[str, _OrderState]:
    """Every order the rows name, with its lines, parcels and allocated units: four queries per
    2,000 orders."""
    states: dict[str, _OrderState] = {}
    for batch in _chunks(sorted(numbers)):
        for order in Order.objects.filter(order_number__in=batch).only(
            "pk", "order_number", "status"
        ):
            states[order.order_number] = _OrderState(order)
    by_id = {state.order.pk: state for state in states.values()}
    allocated: dict[int, int] = defaultdict(int)
    for batch in _chunks(by_id):
        for item_id, quantity in FulfillmentItem.objects.filter(
            fulfillment__order_id__in=batch, fulfillment__exchange__isnull=True
        ).values_list("order_item_id", "quantity"):
            allocated[item_id] += quantity
        for item in (
            OrderItem.objects.filter(order_id__in=batch)
            .order_by("pk")
            .values("pk", "order_id", "sku", "title", "quantity")
        ):
            by_id[item["order_id"]].lines.append(
                {
                    "id": item["pk"],
                    "sku": item["sku"],
                    "title": item["title"],
                    "remaining": item["quantity"] - allocated[item["pk"]],
                }
            )
        parcels = (
            Fulfillment.objects.filter(order_id__in=batch)
            .order_by("created_at", "pk")
            .values_list("pk", "order_id", "status", "tracking_number")
        )
        for pk, order_id, status, tracking in parcels:
            state = by_id[order_id]
            if status in WAITING:
                state.waiting.append(pk)
            elif status in SENT and tracking:
                state.sent.setdefault(tracking, pk)
    return states


def plan(rows: list[Row]) -> list[PlannedRow]:
    """What applying each row would do, in file order, each row seeing the rows before it."""
    states = _load({row.order_number for row in rows if not row.error})
    return [_plan_row(row, states.get(row.order_number)) for row in rows]


def _plan_row(row: Row, state: _OrderState | None) -> PlannedRow:
    def error(message: str) -> PlannedRow:
        return PlannedRow(row, Action.ERROR, message, state.order.pk if state else None)

    if row.error:
        return PlannedRow(row, Action.ERROR, row.error)
    if state is None:
        return error(_("Order %(number)s does not exist.") % {"number": row.order_number})
    order = state.order
    if row.tracking_number in state.sent:
        return PlannedRow(
            row,
            Action.SKIP,
            _("Already shipped with this tracking number (fulfilment %(id)s).")
            % {"id": state.sent[row.tracking_number]},
            order.pk,
            state.sent[row.tracking_number],
        )
    if row.tracking_number in state.claimed:
        return error(
            _("Line %(line)s already ships a parcel of this order with this tracking number.")
            % {"line": state.claimed[row.tracking_number]}
        )
    fulfillable = order.status in services.FULFILLABLE
    if row.sku:
        lines = [line for line in state.lines if line.get("sku") == row.sku]
        if not lines:
            return error(
                _("Order %(number)s has no line with SKU %(sku)s.")
                % {"number": order.order_number, "sku": row.sku}
            )
        if not fulfillable:
            return error(_not_fulfillable(order))
        line = max(lines, key=lambda candidate: candidate["remaining"])
        quantity = row.quantity or line["remaining"]
        if quantity < 1 or quantity > line["remaining"]:
            return error(
                _("Only %(remaining)s unit(s) of %(sku)s are left to ship, not %(quantity)s.")
                % {"remaining": line["remaining"], "sku": row.sku, "quantity": quantity}
            )
        line["remaining"] -= quantity
        state.claimed[row.tracking_number] = row.line
        return PlannedRow(
            row,
            Action.NEW,
            _("New parcel with %(quantity)s × %(title)s, shipped.")
            % {"quantity": quantity, "title": line["title"]},
            order.pk,
            items=[ItemUnits(line["id"], quantity)],
        )
    if state.waiting:
        parcel = state.waiting.pop(0)
        state.claimed[row.tracking_number] = row.line
        return PlannedRow(
            row,
            Action.SHIP,
            _("Ship waiting fulfilment %(id)s.") % {"id": parcel},
            order.pk,
            parcel,
        )
    if not fulfillable:
        return error(_not_fulfillable(order))
    units = state.remaining
    if units < 1:
        return error(
            _("Order %(number)s has no units left to ship.") % {"number": order.order_number}
        )
    items = [
        ItemUnits(line["id"], line["remaining"]) for line in state.lines if line["remaining"] > 0
    ]
    for line in state.lines:
        line["remaining"] = 0
    state.claimed[row.tracking_number] = row.line
    return PlannedRow(
        row,
        Action.NEW,
        _("New parcel with all %(units)s remaining unit(s), shipped.") % {"units": units},
        order.pk,
        items=items,
    )


def _not_fulfillable(order: Order) -> str:
    return _("Order %(number)s is %(status)s: it cannot be shipped.") % {
        "number": order.order_number,
        "status": order.get_status_display(),
    }


# ---------------------------------------------------------------------------------------------
# apply


def apply(
    planned: list[PlannedRow],
    *,
    actor: Actor = SYSTEM,
    batch_size: int = BATCH_SIZE,
    batched: bool = True,
) -> Report:
    """Run every good row through the services.

    Each row is atomic on its own: a row the services refuse is rolled back alone and reported,
    and the others apply. Rows are committed in batches, so a big file does not pay for one
    commit, and one disk flush, per row. Within a batch, consecutive rows that make new parcels
    go to the services together (``services.ship_new_fulfillments``: one lock of all their
    orders, one INSERT per table), which write what one call per row would; ``batched=False``
    makes one service call per row (a savepoint each).
    """
    results = []
    for start in range(0, len(planned), batch_size):
        with transaction.atomic():
            results += _apply_batch(planned[start : start + batch_size], actor, batched)
    return Report(results)


def _apply_batch(entries: list[PlannedRow], actor: Actor, batched: bool) -> list[AppliedRow]:
    results: list[AppliedRow] = []
    run: list[PlannedRow] = []  # consecutive NEW rows, applied together
    for entry in [*entries, None]:
        if batched and entry is not None and entry.action == Action.NEW:
            run.append(entry)
            continue
        if run:
            results += _apply_new(run, actor)
            run = []
        if entry is not None:
            results.append(_apply_entry(entry, actor))
    return results


def _apply_new(run: list[PlannedRow], actor: Actor) -> list[AppliedRow]:
    """New parcels of consecutive rows in one service call; a refused row is reported alone."""
    shipments = [
        services.NewShipment(
            order=entry.order_id,
            carrier=entry.row.carrier,
            tracking_number=entry.row.tracking_number,
            items=tuple(entry.items),
        )
        for entry in run
    ]
    outcome = services.ship_new_fulfillments(shipments=shipments, actor=actor)
    return [
        AppliedRow(entry.row, Action.ERROR, result.message)
        if isinstance(result, DomainError)
        else AppliedRow(entry.row, entry.action, entry.message, result.pk)
        for entry, result in zip(run, outcome, strict=True)
    ]


def _apply_entry(entry: PlannedRow, actor: Actor) -> AppliedRow:
    if not entry.ok:
        return AppliedRow(entry.row, entry.action, entry.message, entry.fulfillment_id)
    try:
        parcel_id = _apply_row(entry, actor)
    except DomainError as error:
        return AppliedRow(entry.row, Action.ERROR, error.message)
    return AppliedRow(entry.row, entry.action, entry.message, parcel_id)


def _apply_row(entry: PlannedRow, actor: Actor) -> int:
    row = entry.row
    if entry.action == Action.SHIP:
        return services.ship_fulfillment(
            fulfillment=entry.fulfillment_id,
            actor=actor,
            carrier=row.carrier,
            tracking_number=row.tracking_number,
        ).pk
    return services.ship_new_fulfillment(
        order=entry.order_id,
        actor=actor,
        items=entry.items,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
    ).pk


def import_tracking(text: str | bytes, *, actor: Actor = SYSTEM, dry_run: bool = False) -> Report:
    """Parse, plan and (unless ``dry_run``) apply in one call."""
    planned = plan(parse(text))
    return Report(planned) if dry_run else apply(planned, actor=actor)
