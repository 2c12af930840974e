"""The transition log: every state change of every model, with actor, from, to, reason and time,
readable per order (everything under it) and per object, newest first."""

import pytest

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.models import Order, Transaction, TransitionLog
from orders.values import ItemUnits
from returns import services as return_services
from shop.actors import Actor
from tests.helpers import all_units, log_of, order_log, place_order, ship

pytestmark = pytest.mark.django_db


def moves(logs):
    return [(log.content_type.model, log.transition, log.source, log.target) for log in logs]


def test_the_order_timeline_holds_every_change_under_it_newest_first(django_user_model):
    staff = Actor.staff(django_user_model.objects.create_user("packer"))
    buyer_actor = Actor.api_key("storefront")
    order = place_order(quantities=(1,), paid=False)
    order_services.record_payment(order=order, actor=buyer_actor, payment_id="tl-1")
    parcel = fulfillment_services.create_fulfillment(order=order, actor=staff)
    fulfillment_services.pack_fulfillment(fulfillment=parcel, actor=staff)
    fulfillment_services.ship_fulfillment(
        fulfillment=parcel, actor=staff, carrier="cj", tracking_number="1"
    )
    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    request = return_services.request_return(
        order=order, actor=buyer_actor, reason="defective", items=all_units(order)
    )
    return_services.reject_return(request=request, actor=staff, reason="no defect found")

    logs = list(order_log(order))
    assert moves(logs) == [
        ("order", "reject_return", "return_requested", "delivered"),
        ("return", "reject", "requested", "rejected"),
        ("order", "request_return", "delivered", "return_requested"),
        ("order", "deliver", "shipped", "delivered"),
        ("fulfillment", "deliver", "shipped", "delivered"),
        ("order", "ship", "preparing", "shipped"),
        ("fulfillment", "ship", "packed", "shipped"),
        ("fulfillment", "pack", "pending", "packed"),
        ("order", "start_preparing", "paid", "preparing"),
        ("order", "pay", "pending", "paid"),
        ("transaction", "mark_paid", "pending", "paid"),
    ]
    times = [log.created_at for log in logs]
    assert times == sorted(times, reverse=True)
    assert logs[1].actor_kind == "staff" and logs[1].actor_user.username == "packer"
    assert logs[1].reason == "no defect found" and logs[1].subject == request
    assert (logs[2].actor_kind, logs[2].actor_label) == ("api_key", "storefront")
    assert (logs[4].actor_kind, logs[4].actor_label) == ("system", "system")
    assert logs[-1].subject == Transaction.objects.get(payment_id="tl-1")
    assert logs[-1].actor_label == "storefront"


def test_an_objects_log_is_that_object_only():
    order = place_order(quantities=(2,))
    first = fulfillment_services.create_fulfillment(
        order=order, items=[ItemUnits(order_item=order.items.get().pk, quantity=1)]
    )
    second = fulfillment_services.create_fulfillment(order=order)
    ship(first)
    fulfillment_services.fail_fulfillment(fulfillment=first, reason="lost")
    ship(second)
    assert moves(log_of(first)) == [
        ("fulfillment", "fail", "shipped", "failed"),
        ("fulfillment", "ship", "pending", "shipped"),
    ]
    assert moves(log_of(second)) == [("fulfillment", "ship", "pending", "shipped")]
    assert [log.target for log in log_of(order)] == ["preparing", "paid"]


def test_every_log_row_points_at_an_object_of_its_order():
    order = place_order(quantities=(1,))
    other = place_order(quantities=(1,))
    order_services.cancel_order(order=order, reason="duplicate order")
    assert {log.order_id for log in order_log(order)} == {order.pk}
    assert {log.order_id for log in order_log(other)} == {other.pk}
    for log in TransitionLog.objects.all():
        assert log.subject is not None
        subject_order = log.subject if isinstance(log.subject, Order) else log.subject.order
        assert subject_order.pk == log.order_id
