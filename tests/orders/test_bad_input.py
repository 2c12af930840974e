"""Bad input to the order services: one DomainError with a clear message, and no row changed.

(Parcels, returns and exchanges have their own bad-input tests beside their services.)
"""

import pytest

from fulfillment import services as fulfillment_services
from orders import api, services
from orders.values import OrderDraft, OrderLine
from shop.errors import DomainError
from shop.values import MAX_AMOUNT, MAX_QUANTITY
from tests.factories import CustomerFactory, OptionFactory, ProductFactory, VariantFactory
from tests.helpers import ADDRESS, SNAPSHOT, leaves_db_unchanged, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    styled = ProductFactory(price=10000)  # sold by its variant's option
    variant = VariantFactory(product=styled)
    option = OptionFactory(variant=variant)
    return {
        "product": ProductFactory(price=10000),  # sold as it is
        "styled": styled,
        "variant": variant,
        "option": option,
        "other_variant": VariantFactory(),
        "other_option": OptionFactory(),
        "inactive": ProductFactory(is_active=False),
    }


def line(catalog, **overrides):
    return {"product": catalog["product"].pk, "quantity": 1, **overrides}


CREATE_CASES = {
    "no items": (lambda c: {"items": []}, "at least one item"),
    "items not a list": (lambda c: {"items": {"product": 1}}, "at least one item"),
    "item not an object": (lambda c: {"items": [7]}, "must be an object"),
    "no product": (lambda c: {"items": [{"quantity": 1}]}, "names no product"),
    "unknown product": (lambda c: {"items": [{"product": 99999999}]}, "Product 99999999 does"),
    "product not a number": (lambda c: {"items": [{"product": "mug"}]}, "product must be a whole"),
    "zero quantity": (lambda c: {"items": [line(c, quantity=0)]}, "quantity must be at least 1"),
    "negative quantity": (lambda c: {"items": [line(c, quantity=-2)]}, "at least 1.*not -2"),
    "double minus quantity": (lambda c: {"items": [line(c, quantity="--2")]}, "whole number"),
    "fractional quantity": (lambda c: {"items": [line(c, quantity=1.5)]}, "whole number"),
    "boolean quantity": (lambda c: {"items": [line(c, quantity=True)]}, "whole number"),
    "huge quantity": (
        lambda c: {"items": [line(c, quantity=MAX_QUANTITY + 1)]},
        "at most",
    ),
    "negative price": (lambda c: {"items": [line(c, unitPrice=-1)]}, "unitPrice must be between"),
    "huge price": (
        lambda c: {"items": [line(c, unitPrice=MAX_AMOUNT + 1)]},
        "unitPrice must be between",
    ),
    "line total too large": (
        lambda c: {"items": [line(c, unitPrice=MAX_AMOUNT, quantity=2)]},
        "line total is too large",
    ),
    "variant of another product": (
        lambda c: {"items": [line(c, variant=c["other_variant"].pk)]},
        "is not a variant of product",
    ),
    "unknown variant": (lambda c: {"items": [line(c, variant=99999999)]}, "not a variant"),
    "option of another variant": (
        lambda c: {
            "items": [
                line(
                    c,
                    product=c["styled"].pk,
                    variant=c["variant"].pk,
                    option=c["other_option"].pk,
                )
            ]
        },
        "is not an option of variant",
    ),
    "option without variant": (
        lambda c: {"items": [line(c, product=c["styled"].pk, option=c["option"].pk)]},
        "is not an option of variant",
    ),
    "product with variants, none named": (
        lambda c: {"items": [line(c, product=c["styled"].pk)]},
        "comes in variants",
    ),
    "variant with options, none named": (
        lambda c: {"items": [line(c, product=c["styled"].pk, variant=c["variant"].pk)]},
        "comes in options",
    ),
    "inactive product": (
        lambda c: {"items": [line(c, product=c["inactive"].pk)]},
        "is not for sale",
    ),
    "no shipping address": (
        lambda c: {"items": [line(c)], "shipping_address": None},
        "missing: shippingAddress.recipientName, shippingAddress.phone, "
        "shippingAddress.postalCode, shippingAddress.address1",
    ),
    "no customer name": (
        lambda c: {"items": [line(c)], "customer_snapshot": {"email": "kim@example.com"}},
        "missing: customerSnapshot.name",
    ),
    "totals disagree": (
        lambda c: {"items": [line(c)], "total_amount": 9999},
        "totalAmount 9999 does not match the computed total 10000",
    ),
    "total not a number": (
        lambda c: {"items": [line(c)], "total_amount": "ten"},
        "totalAmount must be a whole number",
    ),
    "negative shipping": (
        lambda c: {"items": [line(c)], "shipping_amount": -1},
        "shippingAmount must be between",
    ),
    "discount larger than order": (
        lambda c: {"items": [line(c)], "discount_amount": 10001},
        "discount .*10001.* is larger",
    ),
    "unknown customer": (lambda c: {"items": [line(c)], "customer": 99999999}, "Customer 999"),
    "snapshot not an object": (
        lambda c: {"items": [line(c)], "customer_snapshot": "Kim"},
        "customerSnapshot must be an object",
    ),
    "snapshot unknown field": (
        lambda c: {"items": [line(c)], "customer_snapshot": {"age": 3}},
        "unknown fields: age",
    ),
    "snapshot value not text": (
        lambda c: {"items": [line(c)], "customer_snapshot": {"name": ["Kim"]}},
        "customerSnapshot.name must be text",
    ),
    "address too long": (
        lambda c: {"items": [line(c)], "shipping_address": {"postalCode": "1" * 21}},
        "shippingAddress.postalCode is longer than 20",
    ),
    "order number too long": (
        lambda c: {"items": [line(c)], "order_number": "N" * 41},
        "orderNumber is longer than 40",
    ),
    "payment id too long": (
        lambda c: {"items": [line(c)], "payment_id": "p" * 201},
        "paymentId is longer than 200",
    ),
    "bad currency": (lambda c: {"items": [line(c)], "currency": "W0N"}, "must be KRW"),
    "currency too long": (lambda c: {"items": [line(c)], "currency": "EURO"}, "must be KRW"),
    "another currency": (lambda c: {"items": [line(c)], "currency": "VND"}, "must be KRW"),
}


def create(
    *,
    items,
    customer=None,
    customer_snapshot=SNAPSHOT,
    shipping_address=ADDRESS,
    total_amount=None,
    shipping_amount=None,
    discount_amount=None,
    **text,
):
    """createOrder as the API receives it: the wire's shapes mapped by ``orders.api`` (once),
    then the service's rules."""
    draft = OrderDraft(
        lines=api.order_lines(items),
        customer_snapshot=api.customer_snapshot(customer_snapshot),
        shipping_address=api.shipping_address(shipping_address),
        total_amount=api.amount(total_amount, "totalAmount"),
        shipping_amount=api.amount(shipping_amount, "shippingAmount", 0),
        discount_amount=api.amount(discount_amount, "discountAmount", 0),
        **text,
    )
    return services.create_order(draft=draft, customer=customer)


@pytest.mark.parametrize("case", CREATE_CASES, ids=list(CREATE_CASES))
def test_create_order_refuses_bad_input(catalog, case):
    build, message = CREATE_CASES[case]
    with leaves_db_unchanged(DomainError, match=message):
        create(**build(catalog))


def test_the_error_names_the_field():
    product = ProductFactory()
    with pytest.raises(DomainError) as caught:
        services.create_order(draft=OrderDraft(lines=[OrderLine(product.pk)], total_amount=1))
    assert caught.value.field == "totalAmount"
    assert caught.value.data == {"given": 1, "computed": product.price}


def test_numbers_may_come_as_text():
    product = ProductFactory(price=500)
    order = create(
        items=[{"product": str(product.pk), "quantity": " 2 ", "unitPrice": "500"}],
        total_amount="4000",
        shipping_amount="3000",
        customer=str(CustomerFactory().pk),
        shipping_address=ADDRESS,
    ).order
    assert (order.items.get().quantity, order.total_amount) == (2, 4000)


PAYMENT_CASES = {
    "zero amount": ({"amount": 0}, "between 1 and 20000, not 0"),
    "negative amount": ({"amount": -5}, "between 1 and 20000, not -5"),
    "too much": ({"amount": 20001}, "between 1 and 20000"),
    "payment method too long": ({"payment_method": "m" * 41}, "paymentMethod is longer"),
    "payment id not text": ({"payment_id": ["x"]}, "paymentId must be text"),
}


@pytest.mark.parametrize("case", PAYMENT_CASES, ids=list(PAYMENT_CASES))
def test_record_payment_refuses_bad_input(case):
    kwargs, message = PAYMENT_CASES[case]
    order = place_order(paid=False)
    with leaves_db_unchanged(DomainError, match=message):
        services.record_payment(order=order, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": -1}, "amount must be between 0"),
        ({"payment_method": "m" * 41}, "paymentMethod is longer"),
    ],
)
def test_fail_payment_refuses_bad_input(kwargs, message):
    order = place_order(paid=False)
    with leaves_db_unchanged(DomainError, match=message):
        services.fail_payment(order=order, **kwargs)


def test_confirm_delivered_orders_refuses_negative_days():
    with leaves_db_unchanged(DomainError, match="days cannot be negative"):
        fulfillment_services.confirm_delivered_orders(days=-1)
