"""The Idempotency-Key header on the real API: a retried checkout, order or transition is answered
with the first response and done once; the same key with another body is a 422."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from fulfillment import services as fulfillment_services
from orders.models import Order
from shop.models import IdempotencyKey
from tests.helpers import ADDRESS, place_order
from tests.reliability.data import option_stock, order_body, stocked_cart, transitions

pytestmark = pytest.mark.django_db


def send(client, method, path, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.generic(
        method, path, data=json.dumps(body), content_type="application/json", **headers
    )


def test_a_retried_checkout_gets_the_first_answer_and_makes_one_order(staff_client):
    cart = stocked_cart(stock=5)
    body = {"cartId": cart.pk, "shippingAddress": ADDRESS}
    first = send(staff_client, "POST", "/api/checkout", body, key="checkout-1")
    again = send(staff_client, "POST", "/api/checkout", body, key="checkout-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Order.objects.filter(cart=cart).count() == 1
    assert option_stock(cart) == [3, 4]
    # Without the key, the cart's own rule answers: it checks out once.
    plain = send(staff_client, "POST", "/api/checkout", body)
    assert plain.status_code == 409
    assert plain.json()["errors"][0]["data"]["id"] == first.json()["doc"]["id"]


def test_a_retried_order_is_made_once_and_a_changed_body_is_a_422(staff_client):
    cart = stocked_cart(stock=5)
    body = order_body(cart)  # no payment id: nothing else would stop a second order
    first = send(staff_client, "POST", "/api/orders", body, key="order-1")
    again = send(staff_client, "POST", "/api/orders", body, key="order-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()

    changed = send(staff_client, "POST", "/api/orders", {**body, "orderNumber": "X-1"}, "order-1")
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["name"] == "IdempotencyError"
    assert Order.objects.count() == 1
    assert option_stock(cart) == [3, 4]


def test_a_retried_transition_is_replayed_not_refused(staff_client):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    body = {"status": "shipped", "carrier": "cj", "trackingNumber": "6401"}
    path = f"/api/fulfillments/{parcel.pk}"
    first = send(staff_client, "PATCH", path, body, key="ship-1")
    again = send(staff_client, "PATCH", path, body, key="ship-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert transitions(parcel, "ship") == 1
    # The same click without a key is a second move, which the state refuses.
    assert send(staff_client, "PATCH", path, body).status_code == 409


def test_a_refusal_is_replayed_too(staff_client):
    order = place_order()  # paid
    first = send(staff_client, "PATCH", f"/api/orders/{order.pk}", {"status": "paid"}, key="p")
    again = send(staff_client, "PATCH", f"/api/orders/{order.pk}", {"status": "paid"}, key="p")
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_keys_belong_to_their_caller(staff_client):
    other = Client()
    other.force_login(get_user_model().objects.create_superuser("kim", "k@example.com", "pw"))
    cart_one, cart_two = stocked_cart(), stocked_cart()
    one = send(staff_client, "POST", "/api/checkout", {"cartId": cart_one.pk}, key="same")
    two = send(other, "POST", "/api/checkout", {"cartId": cart_two.pk}, key="same")
    assert one.status_code == two.status_code == 201
    assert one.json()["doc"]["id"] != two.json()["doc"]["id"]
    assert IdempotencyKey.objects.filter(key="same").count() == 2


def test_reads_and_requests_without_a_key_store_nothing(staff_client):
    cart = stocked_cart()
    staff_client.get("/api/orders", HTTP_IDEMPOTENCY_KEY="read")
    send(staff_client, "POST", "/api/checkout", {"cartId": cart.pk})
    assert not IdempotencyKey.objects.exists()
