"""Shortcuts that walk orders through the real services, for tests of later stages."""

import itertools

from fulfillment import services as fulfillment_services
from orders import services as order_services
from tests.factories import ProductFactory

ADDRESS = {
    "recipientName": "John Doe",
    "phone": "010-1234-5678",
    "postalCode": "06123",
    "address1": "123 Main St",
    "address2": "Apt 4B",
}


_payment_ids = itertools.count(1)


def place_order(*, quantities=(2,), price=10000, paid=True, customer=None, products=None):
    products = products or [ProductFactory(price=price) for _ in quantities]
    items = [
        {"product": p.pk, "quantity": q, "unitPrice": p.price}
        for p, q in zip(products, quantities, strict=True)
    ]
    result = order_services.create_order(
        items=items,
        customer=customer,
        customer_snapshot=None if customer else {"name": "John Doe", "email": "john@example.com"},
        shipping_address=ADDRESS,
        payment_id=f"pay_test_{next(_payment_ids)}" if paid else None,
    )
    return result.order


def deliver_everything(order):
    parcel = fulfillment_services.create_fulfillment(order=order)
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="6401")
    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    order.refresh_from_db()
    return parcel
