"""Many clients at once, over real HTTP: double clicks, retries, and callbacks racing each other.

Every test sends its requests from threads released together by a barrier to a live server (its
own threads and database connections, PostgreSQL row locks), then checks the answers (one
success, the rest a 409 naming what won) and that the database holds the work exactly once.
"""

import itertools

import pytest
from django.db.models import Sum

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentItem
from orders.models import Order, OrderItem, Transaction
from returns import services as return_services
from returns.models import Return
from returns.values import ReturnLine
from tests.helpers import ADDRESS, deliver_everything, place_order
from tests.reliability.data import option_stock, order_body, stocked_cart, transitions
from tests.reliability.http import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_ids = itertools.count(1)


def statuses(answers) -> list[int]:
    return sorted(answer.status for answer in answers)


def test_twenty_checkouts_of_one_cart_make_one_order_and_name_it_to_the_others(http):
    cart = stocked_cart(stock=10)
    answers = at_once(
        20, lambda i: http.post("/api/checkout", {"cartId": cart.pk, "shippingAddress": ADDRESS})
    )

    assert statuses(answers) == [201] + [409] * 19
    order = Order.objects.get(cart=cart)
    assert Order.objects.count() == 1
    assert OrderItem.objects.filter(order=order).count() == 2
    assert option_stock(cart) == [8, 9]  # reserved once
    winner = next(a for a in answers if a.status == 201)
    assert winner.json["doc"]["id"] == order.pk
    for answer in answers:
        if answer.status == 409:
            data = answer.error["data"]
            assert (data["id"], data["orderNumber"]) == (order.pk, order.order_number)
            assert "already been checked out" in answer.error["message"]


def test_twenty_orders_with_one_payment_id_make_one_order(http):
    cart = stocked_cart(stock=50)
    body = order_body(cart, payment_id="pay_race_1")
    answers = at_once(20, lambda i: http.post("/api/orders", body))

    assert statuses(answers) == [201] + [409] * 19
    order = Order.objects.get()
    assert order.status == "paid"
    assert Transaction.objects.filter(payment_id="pay_race_1").count() == 1
    assert transitions(order, "pay") == 1
    assert option_stock(cart) == [48, 49]
    for answer in answers:
        if answer.status == 409:
            data = answer.error["data"]
            assert (data["id"], data["orderNumber"]) == (order.pk, order.order_number)


def test_twenty_orders_without_numbers_get_twenty_distinct_numbers(http):
    cart = stocked_cart(stock=100)
    answers = at_once(
        20, lambda i: http.post("/api/orders", order_body(cart, payment_id=f"pay_n{i}"))
    )

    assert statuses(answers) == [201] * 20
    numbers = [answer.json["doc"]["orderNumber"] for answer in answers]
    assert len(set(numbers)) == 20
    assert set(Order.objects.values_list("order_number", flat=True)) == set(numbers)
    assert option_stock(cart) == [100 - 40, 100 - 20]


def test_a_payment_callback_racing_the_checkout_that_carries_it_pays_one_order(http):
    """The storefront checks the cart out with the payment id while the payment provider's
    callback creates the order for the same payment: one order, one payment, whoever wins."""
    cart = stocked_cart(stock=10)
    checkout = {"cartId": cart.pk, "paymentId": "pay_cb", "shippingAddress": ADDRESS}
    callback = order_body(cart, payment_id="pay_cb")
    answers = at_once(
        20,
        lambda i: (
            http.post("/api/checkout", checkout) if i % 2 else http.post("/api/orders", callback)
        ),
    )

    assert statuses(answers) == [201] + [409] * 19
    order = Order.objects.get()
    assert Transaction.objects.filter(payment_id="pay_cb").count() == 1
    assert Transaction.objects.get(payment_id="pay_cb").order_id == order.pk
    assert option_stock(cart) == [8, 9]
    assert all(a.error["data"]["id"] == order.pk for a in answers if a.status == 409)


def test_ten_payment_callbacks_for_one_payment_record_it_once(http):
    order = place_order(paid=False)
    body = {"order": order.pk, "paymentId": "pay_twice", "paymentMethod": "card"}
    answers = at_once(10, lambda i: http.post("/api/transactions", body))

    assert set(statuses(answers)) <= {201, 409}
    payment = Transaction.objects.get(payment_id="pay_twice")
    assert {a.json["doc"]["id"] for a in answers if a.status == 201} == {payment.pk}
    assert Transaction.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.status == "paid" and transitions(order, "pay") == 1


def test_ten_clicks_on_ship_make_one_transition_and_nine_409s(http):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    body = {"status": "shipped", "carrier": "cj", "trackingNumber": "640100002222"}
    answers = at_once(10, lambda i: http.patch(f"/api/fulfillments/{parcel.pk}", body))

    assert statuses(answers) == [200] + [409] * 9
    assert all(a.error["name"] == "TransitionError" for a in answers if a.status == 409)
    assert transitions(parcel, "ship") == 1
    order.refresh_from_db()
    assert order.status == "shipped" and transitions(order, "ship") == 1


def test_ten_clicks_on_approve_make_one_transition_and_nine_409s(http):
    order = place_order(quantities=(2,))
    deliver_everything(order)
    line = order.items.get()
    request = return_services.request_return(
        order=order, reason="defective", items=[ReturnLine(order_item=line.pk, quantity=1)]
    )
    answers = at_once(
        10, lambda i: http.patch(f"/api/returns/{request.pk}", {"status": "approved"})
    )

    assert statuses(answers) == [200] + [409] * 9
    assert all(a.error["data"]["status"] == "approved" for a in answers if a.status == 409)
    assert Return.objects.get(pk=request.pk).status == "approved"
    assert transitions(request, "approve") == 1


@pytest.mark.parametrize("round_", range(5))
def test_two_parcels_racing_for_the_last_units_never_fulfil_more_than_ordered(http, round_):
    order = place_order(quantities=(3,))
    line = order.items.get()
    body = {"order": order.pk, "items": [{"orderItem": line.pk, "quantity": 2}]}
    answers = at_once(2, lambda i: http.post("/api/fulfillments", body))

    assert statuses(answers) == [201, 400]
    refused = next(a for a in answers if a.status == 400)
    assert "left to fulfil" in refused.error["message"]
    assert Fulfillment.objects.filter(order=order).count() == 1
    fulfilled = FulfillmentItem.objects.filter(order_item=line).aggregate(n=Sum("quantity"))["n"]
    assert fulfilled == 2 <= line.quantity


def test_ten_requests_with_one_idempotency_key_do_the_work_once(http):
    cart = stocked_cart(stock=30)
    body = order_body(cart)  # no payment id: only the key keeps this from making ten orders
    answers = at_once(10, lambda i: http.post("/api/orders", body, **{"Idempotency-Key": "k-1"}))

    order = Order.objects.get()
    assert set(statuses(answers)) <= {201, 409}
    done = [a for a in answers if a.status == 201]
    assert done and all(a.json == done[0].json for a in done)
    assert done[0].json["doc"]["id"] == order.pk
    busy = [a for a in answers if a.status == 409]
    assert all(a.error["name"] == "IdempotencyError" for a in busy)
    assert option_stock(cart) == [28, 29]
