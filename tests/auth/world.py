"""A small shop with two customers, each owning one of everything, and every kind of caller.

Each customer has an open cart with a line, a delivered order (parcel delivered, one unit asked
back by a return and one by an exchange, two still claimable), a pending order and a paid one.
The catalog is shared; spare catalog rows and a spare customer reference nothing, so a server
may delete them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.authtoken.models import Token

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentItem
from orders import services as order_services
from orders.models import Order, OrderItem, Transaction
from orders.values import OrderDraft, OrderLine
from returns import services as return_services
from returns.models import Exchange, ExchangeItem, Return, ReturnItem
from returns.values import ReturnLine
from shop import keys
from shop.api.collections import registry
from shop.models import Cart, CartItem, Customer
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CustomerFactory,
    OptionFactory,
    ProductFactory,
    VariantFactory,
)
from tests.helpers import ADDRESS_VALUE

PASSWORD = "correct horse battery"
ADDRESS = {
    "recipientName": "Recipient",
    "phone": "010-0000-0000",
    "postalCode": "06123",
    "address1": "1 Main St",
    "address2": "",
}


@dataclass
class Owned:
    """One customer's documents."""

    customer: Customer
    cart: Cart
    cart_item: CartItem
    delivered: Order
    pending: Order
    paid: Order
    line: OrderItem  # the delivered order's line (four units)
    token: str = ""

    def ids(self) -> dict[str, set[int]]:
        """Every document of this customer, by collection: found from the customer's rows
        through the models' own relations."""
        orders = Order.objects.filter(customer=self.customer)
        return {
            "customers": {self.customer.pk},
            "carts": set(Cart.objects.filter(customer=self.customer).values_list("pk", flat=True)),
            "cart-items": set(
                CartItem.objects.filter(cart__customer=self.customer).values_list("pk", flat=True)
            ),
            "orders": set(orders.values_list("pk", flat=True)),
            "order-items": set(
                OrderItem.objects.filter(order__in=orders).values_list("pk", flat=True)
            ),
            "transactions": set(
                Transaction.objects.filter(order__in=orders).values_list("pk", flat=True)
            ),
            "fulfillments": set(
                Fulfillment.objects.filter(order__in=orders).values_list("pk", flat=True)
            ),
            "fulfillment-items": set(
                FulfillmentItem.objects.filter(fulfillment__order__in=orders).values_list(
                    "pk", flat=True
                )
            ),
            "returns": set(Return.objects.filter(order__in=orders).values_list("pk", flat=True)),
            "return-items": set(
                ReturnItem.objects.filter(return_request__order__in=orders).values_list(
                    "pk", flat=True
                )
            ),
            "exchanges": set(
                Exchange.objects.filter(order__in=orders).values_list("pk", flat=True)
            ),
            "exchange-items": set(
                ExchangeItem.objects.filter(exchange__order__in=orders).values_list("pk", flat=True)
            ),
        }


@dataclass
class World:
    product: object
    variant: object
    option: object
    spare_product: object
    spare_variant: object
    spare_option: object
    spare_customer: Customer
    a: Owned
    b: Owned
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    server_key: object = None
    staff_with: object = None

    def owner(self, caller: str) -> Owned:
        return self.b if caller == "customer_b" else self.a

    def other(self, caller: str) -> Owned:
        return self.a if caller == "customer_b" else self.b

    def client(self, caller: str) -> CallerClient:
        return CallerClient(self.headers[caller])

    @property
    def sellable(self) -> dict:
        """What a line names: the option, which holds the stock, with its variant and product."""
        return {"product": self.product.pk, "variant": self.variant.pk, "option": self.option.pk}


class CallerClient:
    """Django's test client sending one caller's headers with every request."""

    def __init__(self, headers: dict[str, str]):
        self.client = Client()
        self.headers = headers

    def request(self, method: str, url: str, body=None):
        import json

        data = json.dumps(body) if body is not None else ""
        return self.client.generic(
            method, url, data=data, content_type="application/json", headers=self.headers
        )

    def get(self, url: str):
        return self.request("GET", url)


def _owned(product, variant, option) -> Owned:
    customer = CustomerFactory(password=PASSWORD)
    cart = CartFactory(customer=customer)
    cart_item = CartItemFactory(
        cart=cart, product=product, variant=variant, option=option, quantity=1
    )

    def order(paid: bool, quantity: int = 1) -> Order:
        result = order_services.create_order(
            customer=customer,
            draft=OrderDraft(
                lines=[
                    OrderLine(
                        product=product.pk,
                        variant=variant.pk,
                        option=option.pk,
                        quantity=quantity,
                        unit_price=product.price,
                    )
                ],
                shipping_address=ADDRESS_VALUE,
                payment_id=f"pay_{customer.pk}_{Order.objects.count()}" if paid else None,
            ),
        )
        return result.order

    delivered = order(paid=True, quantity=4)
    parcel = fulfillment_services.create_fulfillment(order=delivered)
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="640")
    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    line = delivered.items.get()
    return_services.request_return(
        order=delivered,
        reason="defective",
        items=[ReturnLine(order_item=line.pk, quantity=1)],
        note=f"return of {customer.email}",
    )
    return_services.request_exchange(
        order=delivered,
        reason="wrong_size",
        items=[ReturnLine(order_item=line.pk, quantity=1)],
        note=f"exchange of {customer.email}",
    )
    delivered.refresh_from_db()
    return Owned(
        customer=customer,
        cart=cart,
        cart_item=cart_item,
        delivered=delivered,
        pending=order(paid=False),
        paid=order(paid=True),
        line=line,
    )


def build_world() -> World:
    product = ProductFactory(price=10000, stock=None)
    variant = VariantFactory(product=product)
    option = OptionFactory(variant=variant)
    world = World(
        product=product,
        variant=variant,
        option=option,
        spare_product=ProductFactory(),
        spare_variant=VariantFactory(product=product),
        spare_option=OptionFactory(variant=variant),
        spare_customer=CustomerFactory(),
        a=_owned(product, variant, option),
        b=_owned(product, variant, option),
    )
    storefront = keys.create_api_key(name="Storefront")
    server = keys.create_api_key(name="Server")
    revoked = keys.create_api_key(name="Old server")
    keys.revoke_api_key(key=revoked.key)
    world.server_key = server.key
    pk = storefront.key.publishable_key
    for owned in (world.a, world.b):
        owned.token, _exp = keys.issue_customer_token(owned.customer, key=storefront.key)

    users = get_user_model()
    without = users.objects.create_user("clerk", password="x", is_staff=True)
    with_perms = users.objects.create_user("manager", password="x", is_staff=True)
    with_perms.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["shop", "orders", "fulfillment", "returns"]
        )
    )
    world.staff_with = with_perms
    world.headers = {
        "anonymous": {},
        "storefront": {"X-Publishable-Key": pk},
        "customer_a": {"X-Publishable-Key": pk, "Authorization": f"JWT {world.a.token}"},
        "customer_b": {"X-Publishable-Key": pk, "Authorization": f"JWT {world.b.token}"},
        "server": {"Authorization": f"Bearer {server.secret_key}"},
        "revoked_key": {
            "Authorization": f"Bearer {revoked.secret_key}",
            "X-Publishable-Key": revoked.key.publishable_key,
        },
        "staff_without": {"Authorization": f"Token {Token.objects.create(user=without).key}"},
        "staff_with": {"Authorization": f"Token {Token.objects.create(user=with_perms).key}"},
    }
    return world


def documents_in(slug: str, doc) -> list[tuple[str, int]]:
    """Every (collection, id) a document names: itself, its relations (ids or populated
    documents) and its joins, at any depth, read from the collection's declaration."""
    from shop.api.collections import Relation

    collection = registry.get(slug)
    found: list[tuple[str, int]] = []
    if isinstance(doc, int):
        return [(collection.slug, doc)]
    if not isinstance(doc, dict):
        return found
    found.append((collection.slug, doc["id"]))
    for item in collection.fields:
        if isinstance(item, Relation) and doc.get(item.name) is not None:
            found += documents_in(item.to, doc[item.name])
    for join in collection.joins:
        for child in (doc.get(join.name) or {}).get("docs", []):
            found += documents_in(join.to, child)
    return found
