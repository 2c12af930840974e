"""The daily path without a browser: bad input to "Mark paid", the order page's Fulfil panel
and the Unfulfilled list is refused with its reason and leaves the database as it was; the
services record what staff gave; the Unfulfilled list runs the same statements at 10 or 200
orders."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders import services as order_services
from orders.models import Order, OrderStatus, Transaction, TransitionLog
from shop.errors import DomainError
from tests.admin.shortcuts import place_order

pytestmark = pytest.mark.django_db

UNFULFILLED = reverse("admin:fulfillment_unfulfilled")


def snapshot(order) -> tuple:
    """What a refused change must leave as it was."""
    order.refresh_from_db()
    return (
        order.status,
        Fulfillment.objects.filter(order=order).count(),
        Transaction.objects.filter(order=order).count(),
        TransitionLog.objects.filter(order_id=order.pk).count(),
    )


def fulfil_ship_url(order) -> str:
    return reverse("admin:orders_order_fulfil_ship", args=[order.pk])


# -- Mark paid ---------------------------------------------------------------------------------


def test_pay_order_records_method_and_reference_in_the_payment_and_timeline():
    order = place_order(quantities=(2,), price=10000, paid=False)
    order_services.pay_order(order=order, amount=20000, method="bank_transfer", reference="김민지")
    txn = Transaction.objects.get(order=order)
    assert (txn.payment_method, txn.reference, txn.amount) == ("bank_transfer", "김민지", 20000)
    entry = TransitionLog.objects.get(object_id=txn.pk, transition="mark_paid")
    assert entry.changes == {
        "payment_method": {"from": "", "to": "bank_transfer"},
        "reference": {"from": "", "to": "김민지"},
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.parametrize("amount", [5000, 25000, 0])
def test_mark_paid_with_the_wrong_amount_changes_nothing(as_role, amount):
    order = place_order(quantities=(2,), price=10000, paid=False)
    before = snapshot(order)
    client = as_role("payments")
    url = reverse("admin:orders_order_run", args=[order.pk, "pay"])
    response = client.post(url, {"amount": amount, "method": "bank_transfer", "reference": "x"})
    assert response.status_code == 200  # the form again, with why
    if amount:
        assert "has 20,000 KRW due, not" in response.content.decode()
    else:
        assert response.context["form"].errors["amount"]
    assert snapshot(order) == before


def test_mark_paid_form_is_prefilled_with_what_is_due(as_role):
    order = place_order(quantities=(3,), price=7000, paid=False)
    response = as_role("payments").get(reverse("admin:orders_order_run", args=[order.pk, "pay"]))
    assert response.context["form"].initial == {"amount": 21000, "method": "bank_transfer"}


# -- The order page's Fulfil panel ----------------------------------------------------------------


def test_the_panel_ships_every_remaining_unit_in_one_parcel(as_role):
    order = place_order(quantities=(2, 1))
    page = as_role("warehouse").get(reverse("admin:orders_order_change", args=[order.pk]))
    form = page.context["fulfil_panel"]["form"]
    data = {name: field.initial for name, field in form.fields.items() if name.startswith("qty_")}
    assert sorted(data.values()) == [1, 2]
    response = as_role("warehouse").post(
        fulfil_ship_url(order), {**data, "carrier": "cj", "tracking_number": "6123-4567"}
    )
    assert response.status_code == 302
    parcel = Fulfillment.objects.get(order=order)
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == ("shipped", "cj", "61234567")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tracking_number": ""}, "needs a tracking number"),
        ({"over": 1}, "Only 2 unit(s)"),
        ({"none": True}, "Choose at least one unit."),
        ({"negative": True}, "greater than or equal to 0"),
    ],
)
def test_the_panel_refuses_bad_input_and_writes_nothing(as_role, change, message):
    order = place_order(quantities=(2,))
    item = order.items.get()
    quantity = 2 + change.get("over", 0)
    if change.get("none"):
        quantity = 0
    if change.get("negative"):
        quantity = -1
    data = {
        f"qty_{item.pk}": quantity,
        "carrier": "cj",
        "tracking_number": change.get("tracking_number", "6401"),
    }
    before = snapshot(order)
    response = as_role("warehouse").post(fulfil_ship_url(order), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot(order) == before


def test_only_fulfilment_staff_may_ship(as_role):
    order = place_order()
    client = as_role("payments")
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert "fulfil_panel" not in page.context
    before = snapshot(order)
    assert client.post(fulfil_ship_url(order), {"tracking_number": "1"}).status_code == 403
    assert client.get(UNFULFILLED).status_code == 403
    assert snapshot(order) == before


# -- The Unfulfilled list ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tracking_number": ""}, "needs a tracking number"),
        ({"qty": 5}, "Only 2 unit(s)"),
        ({"qty": "two"}, "whole number"),
        ({"qty": 0}, "Choose at least one unit."),
    ],
)
def test_the_list_refuses_bad_rows_and_writes_nothing(as_role, extra, message):
    order = place_order(quantities=(2,))
    tracking_number = extra.get("tracking_number", "9")
    data = {"order": order.pk, "carrier": "cj", "tracking_number": tracking_number}
    if "qty" in extra:
        data[f"qty_{order.items.get().pk}"] = extra["qty"]
    before = snapshot(order)
    response = as_role("warehouse").post(UNFULFILLED, data, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert order.order_number in text and message in text
    assert snapshot(order) == before


def test_the_list_is_paid_and_preparing_orders_oldest_first(as_role):
    first, second = place_order(), place_order(quantities=(2, 1))
    place_order(paid=False)
    shipped = place_order()
    fulfillment_services.ship_new_fulfillment(order=shipped, carrier="cj", tracking_number="1")
    preparing = place_order(quantities=(2,))
    fulfillment_services.create_fulfillment(
        order=preparing, items=[], carrier="", tracking_number=""
    )
    order_services.start_preparing(order=second)
    response = as_role("warehouse").get(UNFULFILLED)
    listed = [o.order_number for o in response.context["orders"]]
    # ``preparing`` has every unit in a parcel not shipped yet: listed, pointing to its order.
    assert listed == [first.order_number, second.order_number, preparing.order_number]
    assert [line["remaining"] for line in response.context["orders"][1].remaining_lines] == [2, 1]
    html = response.content.decode()
    row = html[html.index(f'data-order="{preparing.order_number}"') :]
    row = row[: row.index("</tr>")]
    assert "Every unit is in a parcel waiting to ship" in row and "<form" not in row


def _statements(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(UNFULFILLED)
    assert response.status_code == 200
    # The same statement whatever ids and how many of them it names.
    return [
        re.sub(r"\d+", "N", re.sub(r"IN \([^)]*\)", "IN (…)", q["sql"]))
        for q in captured.captured_queries
    ], response


@pytest.mark.postgres
def test_the_list_runs_the_same_statements_at_10_and_200_orders(as_role):
    assert connection.vendor == "postgresql"
    client = as_role("warehouse")
    for _ in range(10):
        place_order(quantities=(2, 1))
    small, _ = _statements(client)
    for _ in range(190):
        place_order(quantities=(1, 1))
    large, response = _statements(client)
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 200
    assert len(response.context["orders"]) == 50
    assert large == small
    assert len(small) <= 8


def test_the_service_refuses_a_parcel_without_tracking_number_and_writes_nothing():
    order = place_order()
    before = snapshot(order)
    with pytest.raises(DomainError):
        fulfillment_services.ship_new_fulfillment(order=order, carrier="cj", tracking_number=" ")
    assert snapshot(order) == before
    assert not Fulfillment.objects.filter(status=FulfillmentStatus.SHIPPED).exists()
