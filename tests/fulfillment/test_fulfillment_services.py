"""Parcels: create, pack, ship, deliver, fail, retry, and the order following them."""

import pytest

from fulfillment import services
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders import services as order_services
from orders.api import unit_lines
from orders.models import OrderStatus
from orders.values import ItemUnits
from returns.selectors import item_quantities
from shop.errors import DomainError, NotFound, TransitionError
from tests.helpers import (
    assert_consistent,
    leaves_db_unchanged,
    log_of,
    place_order,
    ship,
    status_of,
)

pytestmark = pytest.mark.django_db

FS = FulfillmentStatus


def units(order, *quantities):
    """Units of the order's lines in order, skipping zero quantities."""
    lines = order.items.order_by("pk")
    return [
        ItemUnits(order_item=line.pk, quantity=q)
        for line, q in zip(lines, quantities, strict=True)
        if q
    ]


def test_first_parcel_moves_a_paid_order_to_preparing_with_all_remaining_units():
    order = place_order(quantities=(2, 3))
    parcel = services.create_fulfillment(order=order, carrier=" cj ", note="fragile")
    assert parcel.status == FS.PENDING and parcel.carrier == "cj"
    assert sorted(parcel.items.values_list("quantity", flat=True)) == [2, 3]
    assert status_of(order) == OrderStatus.PREPARING
    assert all(q.remaining == 0 for q in item_quantities(order).values())
    assert_consistent(order)


def test_partial_fulfilment_and_split_shipments():
    order = place_order(quantities=(2, 1))
    first = services.create_fulfillment(order=order, items=units(order, 1, 0))
    assert status_of(order) == OrderStatus.PREPARING
    ship(first)
    # one unit of three shipped: still preparing
    assert status_of(order) == OrderStatus.PREPARING
    assert_consistent(order)
    second = services.create_fulfillment(order=order)  # the remaining 1 + 1
    assert sorted(second.items.values_list("quantity", flat=True)) == [1, 1]
    services.pack_fulfillment(fulfillment=second)
    services.deliver_fulfillment(fulfillment=first)
    assert status_of(order) == OrderStatus.PREPARING
    ship(second, tracking_number="6402")
    assert status_of(order) == OrderStatus.SHIPPED
    assert_consistent(order)
    services.deliver_fulfillment(fulfillment=second)
    assert status_of(order) == OrderStatus.DELIVERED
    assert_consistent(order)


def test_shipped_only_when_every_unit_is_in_a_shipped_parcel():
    order = place_order(quantities=(2,))
    first = services.create_fulfillment(order=order, items=units(order, 1))
    second = services.create_fulfillment(order=order, items=units(order, 1))
    ship(first)
    services.deliver_fulfillment(fulfillment=first)
    assert status_of(order) == OrderStatus.PREPARING
    ship(second)
    assert status_of(order) == OrderStatus.SHIPPED
    services.deliver_fulfillment(fulfillment=second)
    assert status_of(order) == OrderStatus.DELIVERED


def test_no_unit_goes_in_two_parcels():
    order = place_order(quantities=(2,))
    services.create_fulfillment(order=order, items=units(order, 2))
    with leaves_db_unchanged(DomainError, match="no units left|every unit|left to fulfil"):
        services.create_fulfillment(order=order)
    with leaves_db_unchanged(DomainError, match="Only 0 unit"):
        services.create_fulfillment(order=order, items=units(order, 1))


def test_too_many_units_are_refused_naming_the_item():
    order = place_order(quantities=(2,))
    title = order.items.get().title
    with leaves_db_unchanged(DomainError, match=f"Only 2 unit.*{title}.*not 3"):
        services.create_fulfillment(order=order, items=units(order, 3))
    # the same line twice adds up
    line = order.items.get().pk
    twice = [ItemUnits(order_item=line, quantity=2), ItemUnits(order_item=line, quantity=1)]
    with leaves_db_unchanged(DomainError, match="not 3"):
        services.create_fulfillment(order=order, items=twice)


@pytest.mark.parametrize("paid", [False, "failed", "canceled"])
def test_unpaid_or_canceled_orders_get_no_parcel(paid):
    order = place_order(paid=paid is not False and paid != "failed")
    if paid == "failed":
        order_services.fail_payment(order=order)
    if paid == "canceled":
        order_services.cancel_order(order=order)
    with leaves_db_unchanged(TransitionError) as caught:
        services.create_fulfillment(order=order)
    assert caught.value.current == status_of(order)


def test_shipping_needs_a_tracking_number():
    order = place_order()
    parcel = services.create_fulfillment(order=order)
    with leaves_db_unchanged(DomainError, match="tracking number") as caught:
        services.ship_fulfillment(fulfillment=parcel, carrier="cj")
    assert caught.value.field == "trackingNumber"
    with leaves_db_unchanged(DomainError, match="tracking number"):
        services.ship_fulfillment(fulfillment=parcel, tracking_number="   ")
    parcel = services.ship_fulfillment(fulfillment=parcel.pk, carrier="FedEx", tracking_number="9")
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == (FS.SHIPPED, "FedEx", "9")
    assert parcel.shipped_at is not None
    assert parcel.tracking_url == "https://www.fedex.com/fedextrack/?trknbr=9"


def test_a_tracking_number_given_at_creation_is_enough_to_ship():
    order = place_order()
    parcel = services.create_fulfillment(order=order, carrier="cj", tracking_number="6401")
    parcel = services.ship_fulfillment(fulfillment=parcel)
    assert parcel.status == FS.SHIPPED and parcel.tracking_number == "6401"


def test_lost_parcel_fails_and_is_retried():
    order = place_order(quantities=(1,))
    parcel = services.create_fulfillment(order=order)
    ship(parcel)
    assert status_of(order) == OrderStatus.SHIPPED
    services.fail_fulfillment(fulfillment=parcel, reason="lost in transit")
    assert status_of(parcel) == FS.FAILED
    # the units stay with the failed parcel: no second parcel for them
    with leaves_db_unchanged(DomainError):
        services.create_fulfillment(order=order)
    services.retry_fulfillment(fulfillment=parcel, reason="resend")
    assert status_of(parcel) == FS.PENDING
    ship(parcel, tracking_number="6402")
    services.deliver_fulfillment(fulfillment=parcel)
    assert status_of(order) == OrderStatus.DELIVERED
    reasons = [log.reason for log in log_of(parcel)]
    assert "lost in transit" in reasons and "resend" in reasons
    assert_consistent(order)


def test_parcels_of_a_canceled_order_stay_failed():
    order = place_order()
    parcel = services.create_fulfillment(order=order)
    order_services.cancel_order(order=order)
    assert status_of(parcel) == FS.FAILED
    with leaves_db_unchanged(DomainError, match="canceled"):
        services.retry_fulfillment(fulfillment=parcel)


@pytest.mark.parametrize(
    ("service", "from_status"),
    [
        ("pack_fulfillment", FS.SHIPPED),
        ("ship_fulfillment", FS.DELIVERED),
        ("deliver_fulfillment", FS.PENDING),
        ("fail_fulfillment", FS.DELIVERED),
        ("retry_fulfillment", FS.SHIPPED),
    ],
)
def test_parcel_services_refuse_moves_their_state_does_not_allow(service, from_status):
    order = place_order(quantities=(1,))
    parcel = services.create_fulfillment(order=order)
    if from_status in (FS.SHIPPED, FS.DELIVERED):
        ship(parcel)
    if from_status == FS.DELIVERED:
        services.deliver_fulfillment(fulfillment=parcel)
    with leaves_db_unchanged(TransitionError) as caught:
        getattr(services, service)(fulfillment=parcel)
    assert caught.value.current == from_status


def test_unknown_parcels_are_not_found():
    for service in ("pack_fulfillment", "ship_fulfillment", "deliver_fulfillment"):
        with leaves_db_unchanged(NotFound):
            getattr(services, service)(fulfillment=424242)
    with leaves_db_unchanged(NotFound):
        services.update_status(fulfillment=424242, status="packed")
    with leaves_db_unchanged(DomainError, match="whole number"):
        services.pack_fulfillment(fulfillment="five")


def test_update_status_runs_the_service_for_each_status():
    order = place_order(quantities=(1,))
    parcel = services.create_fulfillment(order=order)
    services.update_status(fulfillment=parcel, status="packed", reason="ignored")
    assert status_of(parcel) == FS.PACKED
    services.update_status(fulfillment=parcel.pk, status="failed", reason="damaged")
    assert log_of(parcel).first().reason == "damaged"
    services.update_status(fulfillment=parcel, status="pending", reason="again")
    services.update_status(
        fulfillment=parcel, status="shipped", carrier="hanjin", tracking_number="77"
    )
    parcel.refresh_from_db()
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == (FS.SHIPPED, "hanjin", "77")
    services.update_status(fulfillment=parcel, status="delivered")
    assert status_of(order) == OrderStatus.DELIVERED


def test_update_status_to_a_state_no_move_reaches_is_refused():
    order = place_order(quantities=(1,))
    parcel = services.create_fulfillment(order=order)
    with leaves_db_unchanged(TransitionError) as caught:
        services.update_status(fulfillment=parcel, status="delivered")
    assert set(caught.value.allowed) == {FS.PACKED, FS.SHIPPED, FS.FAILED}
    assert "from pending to delivered" in caught.value.message
    with leaves_db_unchanged(TransitionError):
        services.update_status(fulfillment=parcel, status="teleported")
    with leaves_db_unchanged(DomainError, match="tracking number"):
        services.update_status(fulfillment=parcel, status="shipped")


def test_carrier_and_tracking_number_longer_than_their_columns_are_refused():
    order = place_order()
    with leaves_db_unchanged(DomainError, match="carrier is longer"):
        services.create_fulfillment(order=order, carrier="x" * 101)
    parcel = services.create_fulfillment(order=order)
    with leaves_db_unchanged(DomainError, match="trackingNumber is longer"):
        services.ship_fulfillment(fulfillment=parcel, tracking_number="1" * 101)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ("all", "items must be a list"),
        (["x"], "items must be a list"),
        ([{"quantity": 1}], "orderItem must be a whole number"),
        ([{"orderItem": 999999, "quantity": 1}], "not part of order"),
        ([{"orderItem": "line", "quantity": 0}], "quantity must be at least 1"),
        ([{"orderItem": "line", "quantity": -1}], "quantity must be at least 1"),
        ([{"orderItem": "line", "quantity": 1.5}], "whole number"),
    ],
)
def test_bad_items_are_refused(items, message):
    order = place_order()
    line = order.items.get().pk
    if isinstance(items, list):
        items = [
            {k: (line if v == "line" else v) for k, v in raw.items()}
            if isinstance(raw, dict)
            else raw
            for raw in items
        ]
    with leaves_db_unchanged(DomainError, match=message):
        # As the API receives them: mapped from the wire, then checked against the order.
        asked = [ItemUnits(**line) for line in unit_lines(items)]
        services.create_fulfillment(order=order, items=asked)
    assert not Fulfillment.objects.exists()


def test_a_parcel_note_must_be_text():
    order = place_order()
    with leaves_db_unchanged(DomainError, match="note must be text"):
        services.create_fulfillment(order=order, note=["fragile"])


def test_change_fulfillment_moves_corrects_or_refuses_the_same_move_again():
    order = place_order(quantities=(1,))
    parcel = services.create_fulfillment(order=order)
    services.change_fulfillment(
        fulfillment=parcel.pk, status="shipped", carrier="cj", tracking_number="1-2"
    )
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (FS.SHIPPED, "12")
    # The same move again with nothing else: refused, nothing written.
    with leaves_db_unchanged(TransitionError):
        services.change_fulfillment(fulfillment=parcel.pk, status="shipped", tracking_number="12")
    # The document sent back with a corrected number: a correction with its reason, no move.
    services.change_fulfillment(
        fulfillment=parcel.pk, status="shipped", tracking_number="99", reason="typo"
    )
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (FS.SHIPPED, "99")
    correction = log_of(parcel).first()
    assert (correction.transition, correction.reason) == (services.CORRECT_TRACKING, "typo")
