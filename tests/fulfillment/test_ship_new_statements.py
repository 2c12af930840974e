"""A row of the tracking import in a fixed handful of statements: the parcel is inserted shipped,
the order is written once in the state it ends in, the log entries go in together in the order
the moves ran, and the order's units after the parcel come from what was read under its lock."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment import imports
from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders.models import OrderStatus, TransitionLog
from orders.values import ItemUnits
from returns.selectors import item_quantities
from tests.helpers import place_order

pytestmark = pytest.mark.django_db


def moves(order):
    logs = TransitionLog.objects.filter(order=order).order_by("id")
    return [(log.content_type.model, log.transition, log.source, log.target) for log in logs]


def test_shipping_a_new_parcel_logs_every_move_in_order_and_writes_each_row_once():
    order = place_order(quantities=(2, 1))
    before = moves(order)
    with CaptureQueriesContext(connection) as captured:
        parcel = fulfillment_services.ship_new_fulfillment(
            order=order, carrier="cj", tracking_number="T1"
        )
    sqls = [q["sql"] for q in captured.captured_queries]
    assert moves(order)[len(before) :] == [
        ("order", "start_preparing", "paid", "preparing"),
        ("fulfillment", "ship", "pending", "shipped"),
        ("order", "ship", "preparing", "shipped"),
    ]
    assert sum('INTO "orders_transitionlog"' in sql for sql in sqls) == 1
    assert not any(sql.startswith('UPDATE "fulfillment_fulfillment"') for sql in sqls)
    assert sum(sql.startswith('UPDATE "orders_order"') for sql in sqls) == 1
    order.refresh_from_db()
    parcel.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and parcel.status == FulfillmentStatus.SHIPPED
    assert parcel.shipped_at is not None and order.updated_at >= parcel.created_at


def test_units_after_a_partial_parcel_are_what_the_database_then_holds():
    order = place_order(quantities=(2, 3))
    first, second = order.items.order_by("pk")
    fulfillment_services.ship_new_fulfillment(
        order=order, carrier="cj", tracking_number="P1", items=[ItemUnits(order_item=first.pk)]
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PREPARING  # the second line is still to ship
    quantities = item_quantities(order)
    assert (quantities[first.pk].shipped, quantities[second.pk].shipped) == (2, 0)
    fulfillment_services.ship_new_fulfillment(
        order=order,
        carrier="cj",
        tracking_number="P2",
        items=[ItemUnits(order_item=second.pk, quantity=1)],
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PREPARING  # two units of the second line left
    fulfillment_services.ship_new_fulfillment(order=order, carrier="cj", tracking_number="P3")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert {q.shipped for q in item_quantities(order).values()} == {2, 3}
    assert [t for _m, t, _s, _t in moves(order)].count("ship") == 4  # three parcels, the order


def test_an_order_already_preparing_is_written_only_when_it_moves():
    order = place_order(quantities=(1, 1))
    first = order.items.order_by("pk").first()
    fulfillment_services.ship_new_fulfillment(
        order=order, carrier="cj", tracking_number="Q1", items=[ItemUnits(order_item=first.pk)]
    )
    order.refresh_from_db()
    stamp = order.updated_at
    with CaptureQueriesContext(connection) as captured:
        fulfillment_services.ship_new_fulfillment(order=order, carrier="cj", tracking_number="Q2")
    assert sum(q["sql"].startswith('UPDATE "orders_order"') for q in captured) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.updated_at > stamp


def test_import_rows_run_a_fixed_number_of_statements_whatever_the_lines(
    django_assert_max_num_queries,
):
    small = [place_order(quantities=(1,)) for _ in range(3)]
    big = [place_order(quantities=(1, 2, 3, 1)) for _ in range(3)]

    def planned(orders, prefix):
        text = "\n".join(f"{o.order_number},cj,{prefix}{i}" for i, o in enumerate(orders))
        return imports.plan(imports.parse(text))

    assert imports.apply(planned(small[:1], "W")).applied == 1  # statements compiled once
    rows = planned(small[1:], "S")
    with CaptureQueriesContext(connection) as captured:
        assert imports.apply(rows).applied == 2
    rows = planned(big[1:], "B")
    with django_assert_max_num_queries(len(captured)):
        assert imports.apply(rows).applied == 2
    assert Fulfillment.objects.filter(status=FulfillmentStatus.SHIPPED).count() == 5
