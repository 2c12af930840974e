"""Every read snippet of both product documents (the previous, 000, and the current, 001), sent
over HTTP to a live server the way a Payload client encodes it."""

import re

import pytest

from orders.models import OrderItem
from returns.models import Exchange, Return
from tests.api.shop_data import order_with_requests
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def shop(live_api):
    customer = CustomerFactory(name="John Doe", email="john@example.com", phone="010-1234-5678")
    order = order_with_requests(customer)
    other = order_with_requests()  # someone else's order, never in the answers
    return {"client": live_api, "customer": customer, "order": order, "other": other}


def test_my_orders(shop):
    """const { docs: orders } = await client.from('orders').find({
    where: { customer: { equals: customerId } }, sort: '-createdAt', limit: 10 })"""
    client, customer, order = shop["client"], shop["customer"], shop["order"]
    second = order_with_requests(customer)
    answer = client.from_("orders").find(
        where={"customer": {"equals": customer.pk}}, sort="-createdAt", limit=10
    )
    assert [doc["id"] for doc in answer["docs"]] == [second.pk, order.pk]
    assert answer["totalDocs"] == 2 and answer["limit"] == 10 and answer["page"] == 1
    doc = answer["docs"][1]
    assert doc["orderNumber"] == order.order_number
    assert doc["customerSnapshot"] == {
        "name": "John Doe",
        "email": "john@example.com",
        "phone": "010-1234-5678",
    }
    assert doc["status"] == "return_requested"
    assert doc["totalAmount"] == order.total_amount
    assert ISO.match(doc["createdAt"]) and ISO.match(doc["updatedAt"])
    assert doc["customer"]["id"] == customer.pk  # default depth 1 populates the customer


def test_order_detail_with_its_products(shop):
    """const order = await client.from('orders').findById(orderId, { depth: 1 })"""
    client, order = shop["client"], shop["order"]
    doc = client.from_("orders").find_by_id(order.pk, depth=1)
    assert doc["id"] == order.pk and doc["orderNumber"] == order.order_number
    lines = list(order.items.order_by("id"))
    assert [item["id"] for item in doc["items"]["docs"]] == [line.pk for line in lines]
    first = doc["items"]["docs"][0]
    assert first["title"] == lines[0].title and first["quantity"] == 2
    assert first["unitPrice"] == lines[0].unit_price
    assert doc["items"]["hasNextPage"] is False
    assert doc["transactions"]["docs"][0]["status"] == "paid"
    assert doc["fulfillments"]["docs"][0]["carrier"] == "CJ Logistics"
    assert doc["returns"]["docs"][0]["reason"] == "defective"
    assert doc["exchanges"]["docs"][0]["reason"] == "wrong_size"


@pytest.mark.parametrize("slug", ["order-items", "order-products"])
def test_order_items_with_product_variant_and_option(shop, slug):
    """client.from('order-items' | 'order-products').find({ where: { order: { equals: orderId } },
    depth: 1 })  // includes product, variant, option info"""
    client, order = shop["client"], shop["order"]
    answer = client.from_(slug).find(where={"order": {"equals": order.pk}}, depth=1)
    lines = {line.pk: line for line in OrderItem.objects.filter(order=order)}
    assert sorted(doc["id"] for doc in answer["docs"]) == sorted(lines)
    for doc in answer["docs"]:
        line = lines[doc["id"]]
        assert doc["product"]["id"] == line.product_id
        assert doc["product"]["title"] == line.product.title
        assert doc["variant"]["id"] == line.variant_id
        assert doc["variant"]["product"] == line.product_id  # one level only
        assert doc["option"]["id"] == line.option_id
        assert doc["option"]["sku"] == line.option.sku
        assert doc["totalPrice"] == line.unit_price * line.quantity


def test_payment_history(shop):
    """client.from('transactions').find({ where: { order: { equals: orderId } } })
    // transaction.status; 000: transaction.totalAmount, transaction.method;
    // 001: transaction.amount, transaction.paymentMethod"""
    client, order = shop["client"], shop["order"]
    answer = client.from_("transactions").find(where={"order": {"equals": order.pk}})
    assert len(answer["docs"]) == 1
    payment = answer["docs"][0]
    assert payment["status"] == "paid"
    assert payment["amount"] == payment["totalAmount"] == order.total_amount
    assert payment["paymentMethod"] == payment["method"] == "card"
    assert payment["kind"] == "payment"


def test_shipment_tracking(shop):
    """client.from('fulfillments').find({ where: { order: { equals: orderId } } })
    // fulfillment.carrier, fulfillment.trackingNumber, fulfillment.status"""
    client, order = shop["client"], shop["order"]
    answer = client.from_("fulfillments").find(where={"order": {"equals": order.pk}})
    assert len(answer["docs"]) == 1
    parcel = answer["docs"][0]
    assert parcel["carrier"] == "CJ Logistics"
    assert parcel["carrierName"] == "CJ Logistics"
    assert parcel["trackingNumber"] == "640112345678"
    assert parcel["trackingUrl"].endswith("640112345678")
    assert parcel["status"] == "delivered"
    assert ISO.match(parcel["shippedAt"]) and ISO.match(parcel["deliveredAt"])


def test_fulfillment_items(shop):
    """client.from('fulfillment-items').find({ where: { fulfillment: { equals: fulfillmentId } },
    depth: 1 })"""
    client, order = shop["client"], shop["order"]
    parcel = order.fulfillments.get()
    answer = client.from_("fulfillment-items").find(
        where={"fulfillment": {"equals": parcel.pk}}, depth=1
    )
    lines = {line.pk: line for line in order.items.all()}
    assert sorted(doc["orderItem"]["id"] for doc in answer["docs"]) == sorted(lines)
    for doc in answer["docs"]:
        assert doc["fulfillment"]["id"] == parcel.pk
        assert doc["fulfillment"]["trackingNumber"] == "640112345678"
        assert doc["quantity"] == lines[doc["orderItem"]["id"]].quantity


def test_returns(shop):
    """client.from('returns').find({ where: { order: { equals: orderId } } })
    // return.status, return.reason"""
    client, order = shop["client"], shop["order"]
    answer = client.from_("returns").find(where={"order": {"equals": order.pk}})
    assert len(answer["docs"]) == 1
    request = answer["docs"][0]
    assert request["status"] == "requested"
    assert request["reason"] == "defective"
    assert request["order"]["id"] == order.pk


@pytest.mark.parametrize("slug", ["return-items", "return-products"])
def test_return_items(shop, slug):
    """client.from('return-items' | 'return-products').find({
    where: { return: { equals: returnId } }, depth: 1 })"""
    client, order = shop["client"], shop["order"]
    request = Return.objects.get(order=order)
    answer = client.from_(slug).find(where={"return": {"equals": request.pk}}, depth=1)
    assert len(answer["docs"]) == 1
    item = answer["docs"][0]
    assert item["return"]["id"] == request.pk and item["return"]["reason"] == "defective"
    assert item["orderItem"]["id"] == order.items.order_by("id")[0].pk
    assert item["quantity"] == 1


def test_exchanges(shop):
    """client.from('exchanges').find({ where: { order: { equals: orderId } } })
    // exchange.reason"""
    client, order = shop["client"], shop["order"]
    answer = client.from_("exchanges").find(where={"order": {"equals": order.pk}})
    assert [doc["id"] for doc in answer["docs"]] == [Exchange.objects.get(order=order).pk]
    assert answer["docs"][0]["reason"] == "wrong_size"
    assert answer["docs"][0]["status"] == "requested"
    assert answer["docs"][0]["items"]["docs"][0]["quantity"] == 1
