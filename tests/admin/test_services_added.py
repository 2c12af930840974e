"""The two small services the staff screens needed: a staff note, and preparing before a parcel."""

import pytest

from orders import services as order_services
from orders.models import OrderStatus, TransitionLog
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
