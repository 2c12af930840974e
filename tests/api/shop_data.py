"""Orders in realistic states for API tests, made through the real services."""

import itertools

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.values import CustomerSnapshot, OrderDraft, OrderLine
from returns import services as return_services
from returns.values import ReturnLine
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CustomerFactory,
    OptionFactory,
    ProductFactory,
)
from tests.helpers import ADDRESS_VALUE


def cart_with_options(customer=None, quantities=(2, 1)):
    """A customer's cart with one line per quantity, each a product → variant → option."""
    customer = customer or CustomerFactory()
    cart = CartFactory(customer=customer)
    for quantity in quantities:
        option = OptionFactory()
        CartItemFactory(
            cart=cart,
            product=option.variant.product,
            variant=option.variant,
            option=option,
            quantity=quantity,
        )
    return cart


def delivered_order(customer=None, *, carrier="CJ Logistics", tracking="640112345678"):
    """Checked out from a cart (paid by card), shipped in one parcel and delivered."""
    cart = cart_with_options(customer)
    order = order_services.checkout_cart(
        cart=cart.pk,
        draft=OrderDraft(
            payment_id=f"pay_{cart.pk}", payment_method="card", shipping_address=ADDRESS_VALUE
        ),
    ).order
    parcel = fulfillment_services.create_fulfillment(order=order)
    fulfillment_services.ship_fulfillment(
        fulfillment=parcel, carrier=carrier, tracking_number=tracking
    )
    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    order.refresh_from_db()
    return order


def order_with_requests(customer=None, *, complete=False):
    """A delivered order with a return of one unit of its first line and an exchange of its
    second line; ``complete`` runs both to the end (a refund, a replacement parcel)."""
    order = delivered_order(customer)
    first, second = order.items.order_by("id")
    request = return_services.request_return(
        order=order, reason="defective", items=[ReturnLine(order_item=first.pk, quantity=1)]
    )
    exchange = return_services.request_exchange(
        order=order, reason="wrong_size", items=[ReturnLine(order_item=second.pk, quantity=1)]
    )
    if complete:
        for approve, receive, finish, obj in (
            (
                return_services.approve_return,
                return_services.receive_return,
                return_services.complete_return,
                request,
            ),
            (
                return_services.approve_exchange,
                return_services.receive_exchange,
                return_services.complete_exchange,
                exchange,
            ),
        ):
            approve(request=obj)
            receive(request=obj)
            finish(request=obj)
    order.refresh_from_db()
    return order


_payments = itertools.count(1)


def paid_order(*, quantities=(2,), price=10000, customer=None, paid=True):
    """An order of one new product per quantity, paid (with a payment id of its own) or not."""
    products = [ProductFactory(price=price) for _ in quantities]
    result = order_services.create_order(
        customer=customer,
        draft=OrderDraft(
            lines=[
                OrderLine(product=p.pk, quantity=q, unit_price=p.price)
                for p, q in zip(products, quantities, strict=True)
            ],
            customer_snapshot=None
            if customer
            else CustomerSnapshot(name="John Doe", email="john@example.com"),
            shipping_address=ADDRESS_VALUE,
            payment_id=f"pay_api_{next(_payments)}" if paid else None,
        ),
    )
    assert result.created
    return result.order
