"""The tracking import ships a batch's new parcels in one service call
(``ship_new_fulfillments``): it writes exactly what one call per row writes, a row the services
refuse is reported while the others apply, and its statements do not grow with the rows."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import OutboxEvent
from fulfillment import imports
from fulfillment import services as fulfillment_services
from fulfillment.imports import Action
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders import services as order_services
from orders.models import OrderStatus, TransitionLog
from shop.actors import SYSTEM
from tests.factories import ProductFactory
from tests.helpers import assert_consistent, place_order

pytestmark = pytest.mark.django_db

# Values that differ between two identical sets of orders: ids, order numbers, moments.
VARYING = {
    "id",
    "order",
    "orderItem",
    "fulfillment",
    "product",
    "variant",
    "option",
    "customer",
    "exchange",
    "orderNumber",
    "createdAt",
    "updatedAt",
    "shippedAt",
    "timestamp",
    "sku",
    "title",
    "paymentId",
}


def shop_orders():
    """Orders of every shape a file meets, named by role."""
    products = [ProductFactory() for _ in range(2)]
    split = place_order(quantities=(3, 1), products=products)
    waiting = place_order(quantities=(1,))
    fulfillment_services.create_fulfillment(order=waiting)
    return {
        "whole": place_order(quantities=(2, 1)),
        "split": split,
        "waiting": waiting,
        "second": place_order(quantities=(1,)),
        "canceled": place_order(quantities=(1,)),
    }


def tracking_file(orders) -> str:
    split_skus = [item.sku for item in orders["split"].items.order_by("pk")]
    rows = [
        (orders["whole"].order_number, "cj", "W1"),
        (orders["split"].order_number, "cj", "S1", split_skus[0], "2"),
        (orders["second"].order_number, "hanjin", "X 1"),
        (orders["waiting"].order_number, "cj", "P1"),  # ships the waiting parcel
        (orders["split"].order_number, "cj", "S2"),  # the rest of the order
        (orders["canceled"].order_number, "cj", "C1"),
        ("NO-SUCH-ORDER", "cj", "N1"),
        (orders["whole"].order_number, "cj", "W1"),  # the same parcel again: refused at plan
    ]
    return "\n".join(",".join(row) for row in rows)


def scrub(value):
    if isinstance(value, dict):
        return {k: "*" if k in VARYING and not isinstance(v, dict | list) else scrub(v)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def written(orders) -> dict:
    """Everything the import wrote for these orders, ids replaced by roles."""
    role_of = {order.pk: role for role, order in orders.items()}
    parcels = Fulfillment.objects.filter(order__in=orders.values()).order_by("pk")
    parcel_role = {p.pk: f"{role_of[p.order_id]}#{n}" for n, p in enumerate(parcels)}
    result = {"orders": {}, "parcels": [], "logs": [], "events": []}
    for role, order in orders.items():
        order.refresh_from_db()
        result["orders"][role] = order.status
        assert_consistent(order)
    lines = {
        item.pk: (role_of[item.order_id], n)
        for role, order in orders.items()
        for n, item in enumerate(order.items.order_by("pk"))
    }
    for parcel in parcels:
        result["parcels"].append(
            (
                parcel_role[parcel.pk],
                parcel.status,
                parcel.carrier,
                parcel.tracking_number,
                parcel.shipped_at is not None,
                sorted((lines[i.order_item_id], i.quantity) for i in parcel.items.all()),
            )
        )
    for log in TransitionLog.objects.filter(order__in=orders.values()).order_by("pk"):
        kind = log.content_type.model
        if kind == "order":
            subject = role_of[log.object_id]
        elif kind == "fulfillment":
            subject = parcel_role[log.object_id]
        else:  # the payment's entries: named by their order
            subject = f"{kind} of {role_of[log.order_id]}"
        result["logs"].append(
            (subject, log.transition, log.source, log.target, log.reason, log.changes)
        )
    events = OutboxEvent.objects.filter(collection="fulfillments", document_id__in=parcel_role)
    for event in events.order_by("pk"):
        payload = json.loads(event.payload)
        result["events"].append(
            (event.type, parcel_role[event.document_id], scrub(payload["data"]))
        )
    return result


def messages(report, orders) -> list[tuple[str, str]]:
    """Each row's outcome, the order numbers and line titles of this set replaced by roles."""
    names = {order.order_number: role for role, order in orders.items()}
    names.update({f"order {order.pk} ": f"order {role} " for role, order in orders.items()})
    for role, order in orders.items():
        names.update(
            {item.title: f"{role} line {n}" for n, item in enumerate(order.items.order_by("pk"))}
        )
    found = []
    for row in report.rows:
        message = str(row.message)
        for name, role in names.items():
            message = message.replace(name, role)
        if row.action == Action.SHIP:
            message = message.replace(str(orders["waiting"].fulfillments.get().pk), "waiting#0")
        found.append((row.action, message))
    return found


def run_import(batched: bool):
    orders = shop_orders()
    planned = imports.plan(imports.parse(tracking_file(orders)))
    # The order changes between the dry run and the import: its row is refused then.
    order_services.cancel_order(order=orders["canceled"])
    before = OutboxEvent.objects.count()
    report = imports.apply(planned, actor=SYSTEM, batched=batched)
    return orders, report, OutboxEvent.objects.count() - before


def test_the_batch_path_writes_exactly_what_one_call_per_row_writes(settings):
    settings.SHOP_EVENTS = True
    one_by_one, report_rows, events_rows = run_import(batched=False)
    together, report_batch, events_batch = run_import(batched=True)
    assert messages(report_batch, together) == messages(report_rows, one_by_one)
    assert [r.action for r in report_batch.rows] == [
        Action.NEW,
        Action.NEW,
        Action.NEW,
        Action.SHIP,
        Action.NEW,
        Action.ERROR,  # canceled after the dry run
        Action.ERROR,  # no such order
        Action.ERROR,  # the same tracking number twice in the file
    ]
    assert events_batch == events_rows == 5  # one per parcel shipped
    expected = written(one_by_one)
    assert written(together) == expected
    assert expected["orders"] == {
        "whole": OrderStatus.SHIPPED,
        "split": OrderStatus.SHIPPED,
        "waiting": OrderStatus.SHIPPED,
        "second": OrderStatus.SHIPPED,
        "canceled": OrderStatus.CANCELED,
    }


def test_a_refused_row_in_a_batch_is_reported_and_the_others_apply():
    orders = [place_order(quantities=(1,)) for _ in range(5)]
    text = "\n".join(f"{o.order_number},cj,R{n}" for n, o in enumerate(orders))
    planned = imports.plan(imports.parse(text))
    assert all(entry.action == Action.NEW for entry in planned)
    order_services.cancel_order(order=orders[2])
    logs_before = TransitionLog.objects.filter(order=orders[2]).count()
    report = imports.apply(planned)
    assert [r.action for r in report.rows] == [Action.NEW] * 2 + [Action.ERROR] + [Action.NEW] * 2
    assert "canceled" in report.rows[2].message
    assert report.rows[2].fulfillment_id is None
    assert not Fulfillment.objects.filter(order=orders[2]).exists()
    assert TransitionLog.objects.filter(order=orders[2]).count() == logs_before
    for n, order in enumerate(orders):
        assert_consistent(order)
        if n != 2:
            parcel = Fulfillment.objects.get(order=order)
            assert (parcel.status, parcel.tracking_number) == (FulfillmentStatus.SHIPPED, f"R{n}")
            assert report.rows[n].fulfillment_id == parcel.pk
            assert order.status == OrderStatus.SHIPPED
    # Importing the file again ships nothing twice.
    again = imports.import_tracking(text)
    assert [r.action for r in again.rows] == [Action.SKIP] * 2 + [Action.ERROR] + [Action.SKIP] * 2
    assert Fulfillment.objects.filter(order__in=orders).count() == 4


def test_a_batch_of_new_parcels_takes_the_same_statements_whatever_its_rows():
    def statements(count: int) -> int:
        orders = [place_order(quantities=(1, 2)) for _ in range(count)]
        text = "\n".join(f"{o.order_number},cj,Q{o.pk}" for o in orders)
        planned = imports.plan(imports.parse(text))
        with CaptureQueriesContext(connection) as captured:
            report = imports.apply(planned)
        assert report.applied == count
        return len(captured.captured_queries)

    assert statements(3) == statements(20)
