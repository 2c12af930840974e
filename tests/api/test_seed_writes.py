"""The create snippets of both product documents, sent over HTTP to a live server: the current
seed's server API (createOrder, checkout) and the previous seed's create({customer, cart,
shippingAddress}); and a server setting a shop up over the API before checking out."""

import pytest

from orders.models import Order
from tests.api.shop_data import cart_with_options
from tests.factories import CustomerFactory, OptionFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

SNAPSHOT = {"name": "John Doe", "email": "john@example.com", "phone": "010-1234-5678"}
ADDRESS = {
    "recipientName": "John Doe",
    "phone": "010-1234-5678",
    "postalCode": "06123",
    "address1": "123 Main St",
    "address2": "Apt 4B",
}


def test_create_order_directly(live_api):
    """serverClient.api.createOrder({ orderNumber: generateOrderNumber(), customerSnapshot,
    shippingAddress, orderProducts: [{ product, variant, option, quantity: 2, unitPrice: 10000 }],
    totalAmount: 20000, paymentId: 'pay_123456' })"""
    option = OptionFactory()
    variant, product = option.variant, option.variant.product
    answer = live_api.from_("orders").create(
        {
            "orderNumber": "ORD-20261125-7K2Q",
            "customerSnapshot": SNAPSHOT,
            "shippingAddress": ADDRESS,
            "orderProducts": [
                {
                    "product": product.pk,
                    "variant": variant.pk,
                    "option": option.pk,
                    "quantity": 2,
                    "unitPrice": 10000,
                }
            ],
            "totalAmount": 20000,
            "paymentId": "pay_123456",
        }
    )
    assert answer.status == 201, answer.json
    assert answer.json["message"] == "Order successfully created."
    doc = answer.json["doc"]
    assert doc["orderNumber"] == "ORD-20261125-7K2Q"
    assert doc["customerSnapshot"] == SNAPSHOT
    assert doc["shippingAddress"] == ADDRESS
    assert doc["status"] == "paid"
    assert doc["totalAmount"] == doc["subtotalAmount"] == 20000
    (line,) = doc["items"]["docs"]  # depth 1: the joins are documents
    assert (line["product"], line["variant"], line["option"]) == (product.pk, variant.pk, option.pk)
    assert line["quantity"] == 2 and line["unitPrice"] == 10000 and line["totalPrice"] == 20000
    (payment,) = doc["transactions"]["docs"]
    assert payment["status"] == "paid" and payment["amount"] == 20000
    assert payment["paymentId"] == "pay_123456"

    again = live_api.from_("orders").create(
        {
            "orderNumber": "ORD-OTHER",
            "orderProducts": [{"product": product.pk, "quantity": 2, "unitPrice": 10000}],
            "paymentId": "pay_123456",
        }
    )
    assert again.status == 409
    assert again.json["errors"][0]["data"]["id"] == doc["id"]
    assert Order.objects.count() == 1


def test_create_order_refuses_a_total_that_does_not_add_up(live_api):
    product = ProductFactory()
    answer = live_api.from_("orders").create(
        {
            "customerSnapshot": SNAPSHOT,
            "shippingAddress": ADDRESS,
            "orderProducts": [{"product": product.pk, "quantity": 2, "unitPrice": 10000}],
            "totalAmount": 25000,
        }
    )
    assert answer.status == 400
    error = answer.json["errors"][0]
    assert "25000" in error["message"] and "20000" in error["message"]
    assert error["data"]["errors"][0]["path"] == "totalAmount"
    assert Order.objects.count() == 0


def test_checkout_a_cart(live_api):
    """serverClient.api.checkout({ cartId, orderNumber: generateOrderNumber(),
    customerSnapshot: { name, email }, paymentId: 'pay_789' })"""
    customer = CustomerFactory(phone="010-9999-0000")
    cart = cart_with_options(customer, quantities=(2, 1))
    answer = live_api.post(
        "/api/checkout",
        {
            "cartId": cart.pk,
            "orderNumber": "ORD-20261125-CART",
            "customerSnapshot": {"name": "John Doe", "email": "john@example.com"},
            "paymentId": "pay_789",
        },
    )
    assert answer.status == 201, answer.json
    doc = answer.json["doc"]
    assert doc["orderNumber"] == "ORD-20261125-CART"
    assert doc["cart"]["id"] == cart.pk and doc["customer"]["id"] == customer.pk
    assert doc["customerSnapshot"] == {
        "name": "John Doe",
        "email": "john@example.com",
        "phone": "010-9999-0000",  # not given: captured from the customer
    }
    assert doc["status"] == "paid"
    lines = list(cart.items.order_by("id"))
    assert [(d["product"], d["quantity"]) for d in doc["items"]["docs"]] == [
        (line.product_id, line.quantity) for line in lines
    ]
    assert doc["totalAmount"] == 30000  # catalog prices: 10000 each
    assert doc["transactions"]["docs"][0]["paymentId"] == "pay_789"

    twice = live_api.post("/api/checkout", {"cartId": cart.pk, "paymentId": "pay_790"})
    assert twice.status == 409
    assert twice.json["errors"][0]["data"]["orderNumber"] == "ORD-20261125-CART"


def test_previous_seed_creates_an_order_from_customer_and_cart(live_api):
    """client.from('orders').create({ customer: customerId, cart: cartId, shippingAddress })
    // order.orderNumber → auto-generated; customerSnapshot captures the customer"""
    customer = CustomerFactory(name="Kim Minji", email="minji@example.com", phone="010-2345-6789")
    cart = cart_with_options(customer, quantities=(1,))
    answer = live_api.from_("orders").create(
        {"customer": customer.pk, "cart": cart.pk, "shippingAddress": ADDRESS}
    )
    assert answer.status == 201, answer.json
    doc = answer.json["doc"]
    assert doc["orderNumber"]  # generated
    assert Order.objects.get(pk=doc["id"]).order_number == doc["orderNumber"]
    assert doc["customerSnapshot"] == {
        "name": "Kim Minji",
        "email": "minji@example.com",
        "phone": "010-2345-6789",
    }
    assert doc["status"] == "pending" and doc["totalAmount"] == 10000
    assert len(doc["items"]["docs"]) == 1


def test_a_server_sets_up_a_shop_over_the_api(live_api):
    product = live_api.from_("products").create(
        {"title": "Linen Shirt", "sku": "LINEN", "price": 59000}
    )
    assert product.status == 201, product.json
    product_id = product.json["doc"]["id"]
    variant = live_api.from_("variants").create({"product": product_id, "title": "M"})
    option = live_api.from_("options").create(
        {"variant": variant.json["doc"]["id"], "title": "Navy", "price": 61000, "stock": 3}
    )
    assert option.status == 201, option.json
    customer = live_api.from_("customers").create(
        {"name": "Alex Morgan", "email": "alex@example.com", "password": "s3cret pass"}
    )
    assert "password" not in customer.json["doc"]
    cart = live_api.from_("carts").create(
        {"customer": customer.json["doc"]["id"], "shippingAddress": ADDRESS}
    )
    line = live_api.from_("cart-items").create(
        {
            "cart": cart.json["doc"]["id"],
            "product": product_id,
            "variant": variant.json["doc"]["id"],
            "option": option.json["doc"]["id"],
            "quantity": 2,
        }
    )
    assert line.status == 201, line.json
    order = live_api.post("/api/checkout", {"cartId": cart.json["doc"]["id"]})
    assert order.status == 201, order.json
    assert order.json["doc"]["totalAmount"] == 122000  # the option's price
    assert live_api.from_("options").find_by_id(option.json["doc"]["id"])["stock"] == 1
    closed = live_api.from_("cart-items").create(
        {"cart": cart.json["doc"]["id"], "product": product_id}
    )
    assert closed.status == 409
