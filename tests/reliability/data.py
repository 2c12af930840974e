"""Orders and carts for the reliability tests, made through the real services and factories."""

from django.contrib.contenttypes.models import ContentType

from orders.models import TransitionLog
from shop.models import Option
from tests.api.shop_data import cart_with_options
from tests.helpers import ADDRESS


def stocked_cart(stock: int = 10):
    """A customer's cart of two option lines (2 and 1 units), each option with ``stock``."""
    cart = cart_with_options(quantities=(2, 1))
    Option.objects.filter(pk__in=cart.items.values("option")).update(stock=stock)
    return cart


def option_stock(cart) -> list[int]:
    """The stock left of the cart's options, in option id order."""
    return list(
        Option.objects.filter(pk__in=cart.items.values("option"))
        .order_by("pk")
        .values_list("stock", flat=True)
    )


def order_body(cart, *, payment_id=None) -> dict:
    """The seed's createOrder body for the cart's lines at catalog prices."""
    lines, total = [], 0
    for item in cart.items.select_related("option", "variant", "product").order_by("id"):
        price = item.product.price
        lines.append(
            {
                "product": item.product_id,
                "variant": item.variant_id,
                "option": item.option_id,
                "quantity": item.quantity,
                "unitPrice": price,
            }
        )
        total += price * item.quantity
    body = {
        "customerSnapshot": {"name": "John Doe", "email": "john@example.com"},
        "shippingAddress": ADDRESS,
        "orderProducts": lines,
        "totalAmount": total,
    }
    if payment_id:
        body["paymentId"] = payment_id
    return body


def transitions(obj, name: str) -> int:
    """How many times the transition ``name`` ran on ``obj`` (by the transition log)."""
    return TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, transition=name
    ).count()
