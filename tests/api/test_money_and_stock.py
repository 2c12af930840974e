"""Rules about money and stock a client cannot bend, over HTTP as storefronts and servers call:
the currency is the shop's, a line names the unit that holds the stock, only what is for sale
is sold, and an order carries what its parcel needs. A refusal is a 400 in the validation shape
and leaves every row as it was."""

from dataclasses import dataclass

import pytest
from django.test import override_settings

from orders import services as order_services
from orders.models import Order
from orders.values import OrderDraft, OrderLine
from shop import keys
from shop.models import Cart, Customer
from tests.auth.world import CallerClient
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CustomerFactory,
    OptionFactory,
    ProductFactory,
    VariantFactory,
)
from tests.helpers import ADDRESS, ADDRESS_VALUE, db_snapshot, deliver_everything

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the customer factory's
SNAPSHOT = {"name": "John Doe", "email": "john@example.com", "phone": "010-1234-5678"}


@dataclass
class Callers:
    customer: Customer
    storefront: CallerClient  # the customer, logged in through a publishable key
    server: CallerClient  # a secret key


@pytest.fixture
def callers(db) -> Callers:
    storefront_key = keys.create_api_key(name="Storefront")
    server_key = keys.create_api_key(name="Server")
    customer = CustomerFactory(password=PASSWORD)
    publishable = {"X-Publishable-Key": storefront_key.key.publishable_key}
    login = CallerClient(publishable).request(
        "POST", "/api/customers/login", {"email": customer.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.json()
    return Callers(
        customer=customer,
        storefront=CallerClient({**publishable, "Authorization": f"JWT {login.json()['token']}"}),
        server=CallerClient({"Authorization": f"Bearer {server_key.secret_key}"}),
    )


def refused(answer, *paths: str, collection: str | None = None) -> str:
    """A 400 in the API's validation shape naming ``paths``; its message is returned."""
    assert answer.status_code == 400, answer.json()
    (error,) = answer.json()["errors"]
    assert error["name"] == "ValidationError"
    if collection is not None:
        assert error["data"]["collection"] == collection
    assert [e["path"] for e in error["data"]["errors"]] == list(paths), error
    return error["message"]


class Unchanged:
    """Every domain row (and every stock count) is the same after the block as before it."""

    def __enter__(self):
        self.before = db_snapshot()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            after = db_snapshot()
            for label, rows in self.before.items():
                assert after[label] == rows, f"{label} changed although the request was refused"


def option_line(option, quantity=1, **extra) -> dict:
    return {
        "product": option.variant.product_id,
        "variant": option.variant_id,
        "option": option.pk,
        "quantity": quantity,
        **extra,
    }


def order_body(*lines, **extra) -> dict:
    return {
        "customerSnapshot": SNAPSHOT,
        "shippingAddress": ADDRESS,
        "orderProducts": list(lines),
        **extra,
    }


def stock_of(*items):
    for item in items:
        item.refresh_from_db()
    return tuple(item.stock for item in items)


# ---------------------------------------------------------------------------------------------
# The currency is the shop's


def test_a_customer_cannot_put_their_cart_in_another_currency(callers):
    client = callers.storefront
    with Unchanged():
        refused(client.request("POST", "/api/carts", {"currency": "VND"}), "currency")
    made = client.request("POST", "/api/carts", {})
    assert made.status_code == 201 and made.json()["doc"]["currency"] == "KRW"
    cart_id = made.json()["doc"]["id"]
    with Unchanged():
        answer = client.request("PATCH", f"/api/carts/{cart_id}", {"currency": "VND"})
        message = refused(answer, "currency", collection="carts")
    assert "KRW" in message and "VND" in message
    # The shop's own currency may be sent back, in any case.
    same = client.request("PATCH", f"/api/carts/{cart_id}", {"currency": "krw"})
    assert same.status_code == 200 and same.json()["doc"]["currency"] == "KRW"

    option = OptionFactory()
    line = {"cart": cart_id, **option_line(option, 2)}
    assert client.request("POST", "/api/cart-items", line).status_code == 201
    body = {"cartId": cart_id, "shippingAddress": ADDRESS}
    order = callers.server.request("POST", "/api/checkout", body)
    assert order.status_code == 201, order.json()
    assert order.json()["doc"]["currency"] == "KRW"
    assert order.json()["doc"]["totalAmount"] == 20000


def test_a_server_cannot_order_in_another_currency(callers):
    option = OptionFactory(stock=5)
    with Unchanged():
        answer = callers.server.request(
            "POST", "/api/orders", {**order_body(option_line(option, 2)), "currency": "VND"}
        )
        refused(answer, "currency", collection="orders")
    assert stock_of(option) == (5,)
    sent_back = callers.server.request(
        "POST", "/api/orders", {**order_body(option_line(option, 2)), "currency": "KRW"}
    )
    assert sent_back.status_code == 201 and sent_back.json()["doc"]["currency"] == "KRW"


@override_settings(SHOP_CURRENCY="EUR")
def test_carts_and_orders_follow_the_shops_currency_setting(callers):
    cart = callers.storefront.request("POST", "/api/carts", {})
    assert cart.json()["doc"]["currency"] == "EUR"
    option = OptionFactory()
    order = callers.server.request("POST", "/api/orders", order_body(option_line(option)))
    assert order.json()["doc"]["currency"] == "EUR"
    with Unchanged():
        refused(
            callers.server.request(
                "POST", "/api/orders", {**order_body(option_line(option)), "currency": "KRW"}
            ),
            "currency",
        )


def test_a_cart_in_another_currency_does_not_check_out(callers):
    """A cart stored in another currency (before this rule, or the shop's currency changed
    since) is refused at checkout instead of charging its numbers in the wrong money."""
    option = OptionFactory(stock=3)
    cart = CartFactory(customer=callers.customer, currency="VND")
    CartItemFactory(cart=cart, **_names(option), quantity=1)
    with Unchanged():
        message = refused(
            callers.server.request("POST", "/api/checkout", checkout_body(cart)), "currency"
        )
    assert "VND" in message and "KRW" in message
    assert stock_of(option) == (3,)
    # Put back in the shop's currency, it checks out.
    back = callers.storefront.request("PATCH", f"/api/carts/{cart.pk}", {"currency": "KRW"})
    assert back.status_code == 200
    answer = callers.server.request("POST", "/api/checkout", checkout_body(cart))
    assert answer.status_code == 201, answer.json()


def _names(option) -> dict:
    return {"product": option.variant.product, "variant": option.variant, "option": option}


def checkout_body(cart) -> dict:
    return {"cartId": cart.pk, "shippingAddress": ADDRESS}


# ---------------------------------------------------------------------------------------------
# A line names the unit that holds the stock


def test_an_order_must_name_the_option_that_holds_the_stock(callers):
    """The oversell: 129 units of a product ordered where its one option holds 29."""
    product = ProductFactory(stock=None)
    variant = VariantFactory(product=product, stock=None)
    option = OptionFactory(variant=variant, stock=29)
    plain = ProductFactory(stock=10)
    with Unchanged():
        answer = callers.server.request(
            "POST",
            "/api/orders",
            order_body(
                {"product": plain.pk, "quantity": 1},
                {"product": product.pk, "quantity": 129},
            ),
        )
        message = refused(answer, "variant", collection="orders")
    assert product.title in message
    with Unchanged():
        answer = callers.server.request(
            "POST",
            "/api/orders",
            order_body({"product": product.pk, "variant": variant.pk, "quantity": 129}),
        )
        assert variant.title in refused(answer, "option")
    with Unchanged():
        answer = callers.server.request("POST", "/api/orders", order_body(option_line(option, 129)))
        assert "29 left, 129 asked for" in answer.json()["errors"][0]["message"]
    answer = callers.server.request("POST", "/api/orders", order_body(option_line(option, 29)))
    assert answer.status_code == 201, answer.json()
    assert stock_of(product, variant, option, plain) == (None, None, 0, 10)


def test_a_variant_without_options_and_a_plain_product_are_units_of_their_own(callers):
    product = ProductFactory(stock=None)
    variant = VariantFactory(product=product, stock=4)
    plain = ProductFactory(stock=4)
    answer = callers.server.request(
        "POST",
        "/api/orders",
        order_body(
            {"product": product.pk, "variant": variant.pk, "quantity": 3},
            {"product": plain.pk, "quantity": 2},
        ),
    )
    assert answer.status_code == 201, answer.json()
    assert stock_of(variant, plain) == (1, 2)


def test_a_cart_line_must_name_the_unit_that_holds_the_stock(callers):
    cart = CartFactory(customer=callers.customer)
    option = OptionFactory(stock=2)
    product, variant = option.variant.product, option.variant
    client = callers.storefront
    with Unchanged():
        refused(
            client.request("POST", "/api/cart-items", {"cart": cart.pk, "product": product.pk}),
            "variant",
            collection="cart-items",
        )
        refused(
            client.request(
                "POST",
                "/api/cart-items",
                {"cart": cart.pk, "product": product.pk, "variant": variant.pk},
            ),
            "option",
        )
    line = client.request("POST", "/api/cart-items", {"cart": cart.pk, **option_line(option)})
    assert line.status_code == 201, line.json()
    line_id = line.json()["doc"]["id"]
    with Unchanged():
        refused(client.request("PATCH", f"/api/cart-items/{line_id}", {"option": None}), "option")
        refused(
            client.request(
                "PATCH", f"/api/cart-items/{line_id}", {"variant": None, "option": None}
            ),
            "variant",
        )


def test_checkout_refuses_a_line_that_names_no_stocked_unit(callers):
    """A line stored before the rule (or before its product got variants) does not check out,
    and the option's stock is not oversold."""
    option = OptionFactory(stock=1)
    cart = CartFactory(customer=callers.customer)
    CartItemFactory(cart=cart, product=option.variant.product, quantity=5)
    with Unchanged():
        refused(callers.server.request("POST", "/api/checkout", checkout_body(cart)), "variant")
    assert stock_of(option) == (1,)
    assert Cart.objects.get(pk=cart.pk).checked_out_at is None


def test_an_exchange_names_the_replacement_option_that_holds_the_stock(callers):
    option = OptionFactory(stock=5)
    other_size = VariantFactory(product=option.variant.product)
    other_colour = OptionFactory(variant=other_size, stock=1)
    order = order_services.create_order(
        customer=callers.customer,
        draft=OrderDraft(
            lines=[OrderLine(**option_line(option))],
            shipping_address=ADDRESS_VALUE,
            payment_id="pay-exchange",
        ),
    ).order
    deliver_everything(order)
    line = order.items.get()
    body = {
        "order": order.pk,
        "reason": "wrong_size",
        "items": [{"orderItem": line.pk, "replacementVariant": other_size.pk}],
    }
    with Unchanged():
        answer = callers.storefront.request("POST", "/api/exchanges", body)
        refused(answer, "replacementOption", collection="exchanges")
    body["items"][0]["replacementOption"] = other_colour.pk
    answer = callers.storefront.request("POST", "/api/exchanges", body)
    assert answer.status_code == 201, answer.json()


# ---------------------------------------------------------------------------------------------
# Only what is for sale is sold


def test_an_inactive_product_cannot_go_in_a_cart(callers):
    cart = CartFactory(customer=callers.customer)
    retired = ProductFactory(is_active=False, stock=3)
    active = ProductFactory(stock=3)
    client = callers.storefront
    with Unchanged():
        message = refused(
            client.request("POST", "/api/cart-items", {"cart": cart.pk, "product": retired.pk}),
            "product",
        )
    assert "not for sale" in message
    line = client.request("POST", "/api/cart-items", {"cart": cart.pk, "product": active.pk})
    assert line.status_code == 201
    with Unchanged():
        refused(
            client.request(
                "PATCH", f"/api/cart-items/{line.json()['doc']['id']}", {"product": retired.pk}
            ),
            "product",
        )


def test_an_inactive_product_is_neither_checked_out_nor_ordered(callers):
    product = ProductFactory(stock=3)
    cart = CartFactory(customer=callers.customer)
    CartItemFactory(cart=cart, product=product, quantity=1)
    product.is_active = False
    product.save()  # taken off sale after it went in the cart
    with Unchanged():
        refused(callers.server.request("POST", "/api/checkout", checkout_body(cart)), "product")
        answer = callers.server.request(
            "POST", "/api/orders", order_body({"product": product.pk, "quantity": 1})
        )
        refused(answer, "product")
    assert stock_of(product) == (3,)
    assert Cart.objects.get(pk=cart.pk).checked_out_at is None


def test_an_option_of_an_inactive_product_is_not_for_sale(callers):
    option = OptionFactory(variant__product__is_active=False)
    with Unchanged():
        refused(
            callers.server.request("POST", "/api/orders", order_body(option_line(option))),
            "product",
        )


# ---------------------------------------------------------------------------------------------
# An order carries what its parcel needs


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        (
            {"shippingAddress": None},
            [
                "shippingAddress.recipientName",
                "shippingAddress.phone",
                "shippingAddress.postalCode",
                "shippingAddress.address1",
            ],
        ),
        (
            {"shippingAddress": {**ADDRESS, "postalCode": " ", "address1": ""}},
            ["shippingAddress.postalCode", "shippingAddress.address1"],
        ),
        ({"shippingAddress": {**ADDRESS, "phone": None}}, ["shippingAddress.phone"]),
        ({"customerSnapshot": {"email": "john@example.com"}}, ["customerSnapshot.name"]),
        ({"customerSnapshot": None}, ["customerSnapshot.name"]),
    ],
)
def test_create_order_needs_a_parcels_address_and_a_name(callers, change, paths):
    option = OptionFactory(stock=2)
    body = {**order_body(option_line(option)), **change}
    body = {key: value for key, value in body.items() if value is not None}
    with Unchanged():
        refused(callers.server.request("POST", "/api/orders", body), *paths, collection="orders")
    assert stock_of(option) == (2,)


def test_a_customers_name_is_taken_from_the_customer(callers):
    option = OptionFactory()
    body = {**order_body(option_line(option)), "customer": callers.customer.pk}
    del body["customerSnapshot"]
    answer = callers.server.request("POST", "/api/orders", body)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["doc"]["customerSnapshot"]["name"] == callers.customer.name


def test_checkout_takes_the_address_from_the_cart_or_the_body(callers):
    """The seed's checkout body has no address: the storefront put it on the cart."""
    option = OptionFactory(stock=5)
    client = callers.storefront
    cart_id = client.request("POST", "/api/carts", {}).json()["doc"]["id"]
    client.request("POST", "/api/cart-items", {"cart": cart_id, **option_line(option)})
    seed_body = {
        "cartId": cart_id,
        "orderNumber": "ORD-ADDRESS",
        "customerSnapshot": {"name": "John Doe", "email": "john@example.com"},
        "paymentId": "pay_address",
    }
    with Unchanged():
        refused(
            callers.server.request("POST", "/api/checkout", seed_body),
            "shippingAddress.recipientName",
            "shippingAddress.phone",
            "shippingAddress.postalCode",
            "shippingAddress.address1",
        )
    partial = client.request(
        "PATCH", f"/api/carts/{cart_id}", {"shippingAddress": {**ADDRESS, "postalCode": ""}}
    )
    assert partial.status_code == 200, partial.json()  # a cart is filled in step by step
    with Unchanged():
        refused(
            callers.server.request("POST", "/api/checkout", seed_body),
            "shippingAddress.postalCode",
        )
    client.request("PATCH", f"/api/carts/{cart_id}", {"shippingAddress": {"postalCode": "06123"}})
    assert client.get(f"/api/carts/{cart_id}").json()["shippingAddress"] == ADDRESS
    answer = callers.server.request("POST", "/api/checkout", seed_body)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["doc"]["shippingAddress"] == ADDRESS
    assert stock_of(option) == (4,)

    # An address in the checkout body is the parcel's, whatever the cart holds.
    other = CartFactory(customer=callers.customer)
    CartItemFactory(cart=other, **_names(option))
    there = {**ADDRESS, "address1": "9 Other St", "address2": ""}
    answer = callers.server.request(
        "POST", "/api/checkout", {"cartId": other.pk, "shippingAddress": there}
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["doc"]["shippingAddress"] == there


def test_the_previous_seeds_create_needs_an_address_too(callers):
    option = OptionFactory()
    cart = Cart.objects.create(customer=callers.customer)  # no address on the cart either
    CartItemFactory(cart=cart, **_names(option))
    body = {"customer": callers.customer.pk, "cart": cart.pk}
    with Unchanged():
        refused(
            callers.server.request("POST", "/api/orders", body),
            "shippingAddress.recipientName",
            "shippingAddress.phone",
            "shippingAddress.postalCode",
            "shippingAddress.address1",
        )
    answer = callers.server.request("POST", "/api/orders", {**body, "shippingAddress": ADDRESS})
    assert answer.status_code == 201, answer.json()


def test_a_parcels_address_cannot_be_blanked_later(callers):
    option = OptionFactory()
    order_id = callers.server.request(
        "POST", "/api/orders", order_body(option_line(option))
    ).json()["doc"]["id"]
    with Unchanged():
        refused(
            callers.server.request(
                "PATCH", f"/api/orders/{order_id}", {"shippingAddress": {"address1": " "}}
            ),
            "shippingAddress.address1",
        )
    moved = callers.server.request(
        "PATCH", f"/api/orders/{order_id}", {"shippingAddress": {"address1": "2 New St"}}
    )
    assert moved.status_code == 200
    assert Order.objects.get(pk=order_id).shipping_address1 == "2 New St"
