"""The buyer's delivery note: sent with createOrder or checkout, stored, returned in the order's
document, and shown to staff on the order page and to the warehouse on the packing slip."""

import pytest
from django.urls import reverse

from orders.models import Order
from tests.api.shop_data import cart_with_options
from tests.factories import ProductFactory
from tests.helpers import ADDRESS, SNAPSHOT, db_snapshot

pytestmark = pytest.mark.django_db

NOTE = "Leave it with the concierge <b>after 6pm</b>"


def create_body(product, **extra) -> dict:
    return {
        "customerSnapshot": SNAPSHOT,
        "shippingAddress": ADDRESS,
        "orderProducts": [{"product": product.pk, "quantity": 1, "unitPrice": product.price}],
        **extra,
    }


def test_a_note_sent_with_create_order_is_stored_returned_and_shown_to_staff(api, http_client):
    answer = api.from_("orders").create(create_body(ProductFactory(), deliveryNote=f"  {NOTE} "))
    assert answer.status == 201, answer.json
    assert answer.json["doc"]["deliveryNote"] == NOTE  # stripped, as stored
    order = Order.objects.get(pk=answer.json["doc"]["id"])
    assert order.delivery_note == NOTE
    assert api.from_("orders").find_by_id(order.pk)["deliveryNote"] == NOTE
    escaped = "Leave it with the concierge &lt;b&gt;after 6pm&lt;/b&gt;"

    page = http_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert escaped in page.content.decode()

    slips = http_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "print_packing_slips", "_selected_action": [order.pk]},
    )
    assert escaped in slips.content.decode()


def test_an_order_without_a_note_has_an_empty_one(api):
    answer = api.from_("orders").create(create_body(ProductFactory()))
    assert answer.status == 201, answer.json
    assert answer.json["doc"]["deliveryNote"] == ""


def test_checkout_takes_the_note_from_its_body(api):
    cart = cart_with_options()
    answer = api.post(
        "/api/checkout",
        {"cartId": cart.pk, "shippingAddress": ADDRESS, "deliveryNote": "Ring twice"},
    )
    assert answer.status == 201, answer.json
    assert answer.json["doc"]["deliveryNote"] == "Ring twice"
    assert Order.objects.get(cart=cart).delivery_note == "Ring twice"


@pytest.mark.parametrize("path", ["/api/orders", "/api/checkout"])
def test_a_note_too_long_is_refused_and_nothing_is_created(api, path):
    body = create_body(ProductFactory(), deliveryNote="x" * 501)
    if path == "/api/checkout":
        body = {"cartId": cart_with_options().pk, "shippingAddress": ADDRESS, **body}
        del body["orderProducts"], body["customerSnapshot"]
    before = db_snapshot()
    answer = api.post(path, body)
    assert answer.status == 400, answer.json
    assert db_snapshot() == before
    (error,) = answer.json["errors"]
    assert error["message"] == "deliveryNote is longer than 500 characters (501)."
    assert error["data"]["errors"][0]["path"] == "deliveryNote"


def test_a_note_that_is_not_text_is_refused(api):
    body = create_body(ProductFactory(), deliveryNote=["x"])
    before = db_snapshot()
    answer = api.from_("orders").create(body)
    assert answer.status == 400, answer.json
    assert db_snapshot() == before
    assert "deliveryNote" in str(answer.json)
