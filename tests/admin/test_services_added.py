"""The two small services the staff screens needed: a staff note, and preparing before a parcel."""

import pytest

from orders import services as order_services
from orders.models import OrderStatus, TransitionLog
from orders.values import ItemUnits
from shop.actors import Actor
from shop.errors import DomainError, TransitionError
from tests.admin.shortcuts import place_order

pytestmark = pytest.mark.django_db


def test_set_staff_note_strips_and_saves_without_touching_the_status():
    order = place_order()
    order_services.set_staff_note(order=order.pk, note="  fragile  ")
    order.refresh_from_db()
    assert order.staff_note == "fragile"
    assert order.status == OrderStatus.PAID


def test_set_staff_note_refuses_what_is_not_text():
    order = place_order()
    with pytest.raises(DomainError):
        order_services.set_staff_note(order=order, note=None)
    order.refresh_from_db()
    assert order.staff_note == ""


def test_start_preparing_moves_a_paid_order_and_logs_who(django_user_model):
    user = django_user_model.objects.create_user("packer")
    order = place_order()
    order_services.start_preparing(order=order, actor=Actor.staff(user))
    order.refresh_from_db()
    assert order.status == OrderStatus.PREPARING
    log = TransitionLog.objects.get(order=order, transition="start_preparing")
    assert (log.source, log.target, log.actor_user) == ("paid", "preparing", user)


def test_start_preparing_refuses_an_unpaid_order():
    order = place_order(paid=False)
    with pytest.raises(TransitionError) as refused:
        order_services.start_preparing(order=order)
    assert refused.value.current == "pending"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_ship_new_fulfillment_creates_and_ships_under_one_lock():
    from fulfillment import services as fulfillment_services

    order = place_order(quantities=(2, 1))
    first = order.items.order_by("pk").first()
    parcel = fulfillment_services.ship_new_fulfillment(
        order=order, carrier="cj", tracking_number=" 777 ", items=[ItemUnits(order_item=first.pk)]
    )
    parcel.refresh_from_db()
    order.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == ("shipped", "777")
    assert parcel.shipped_at is not None
    assert [(i.order_item_id, i.quantity) for i in parcel.items.all()] == [(first.pk, 2)]
    assert order.status == OrderStatus.PREPARING  # one line is still to ship
    rest = fulfillment_services.ship_new_fulfillment(order=order, carrier="", tracking_number="8")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert rest.items.get().quantity == 1
    moves = list(
        TransitionLog.objects.filter(order=order).order_by("pk").values_list("transition", "target")
    )
    assert ("start_preparing", "preparing") in moves and moves[-1] == ("ship", "shipped")


@pytest.mark.parametrize(
    ("paid", "tracking", "quantity", "message"),
    [
        (True, "  ", 1, "needs a tracking number"),
        (False, "1", 1, "from pending to preparing"),
        (True, "1", 5, "Only 2 unit(s)"),
    ],
)
def test_ship_new_fulfillment_refuses_and_writes_nothing(paid, tracking, quantity, message):
    from fulfillment import services as fulfillment_services
    from fulfillment.models import Fulfillment

    order = place_order(quantities=(2,), paid=paid)
    item = order.items.get()
    logs = TransitionLog.objects.count()
    with pytest.raises(DomainError) as refused:
        fulfillment_services.ship_new_fulfillment(
            order=order,
            carrier="cj",
            tracking_number=tracking,
            items=[ItemUnits(order_item=item.pk, quantity=quantity)],
        )
    assert message in refused.value.message
    assert not Fulfillment.objects.filter(order=order).exists()
    assert TransitionLog.objects.count() == logs
