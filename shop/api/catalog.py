"""The catalog's collections: customers, products, variants, options, carts and their items."""

from typing import Any

from django.conf import settings

from shop import services
from shop.api.collections import (
    Boolean,
    Choice,
    Collection,
    DateTime,
    Group,
    Id,
    Integer,
    Join,
    Relation,
    Text,
    registry,
    timestamps,
)
from shop.api.errors import ValidationError
from shop.api.writes import Accept, Body, ModelWriter, Write
from shop.errors import DomainError
from shop.models import Cart, CartItem, Customer, Option, Product, Variant
from shop.services import ensure_cart_open
from shop.values import Address

# What a customer may send for a line of their cart.
CART_LINE = frozenset({"product", "variant", "option", "quantity"})

customers = Collection(
    slug="customers",
    model=Customer,
    singular="Customer",
    plural="Customers",
    description="Shoppers. The password is write-only.",
    owner="pk",
    fields=[
        Id(),
        Text("name"),
        Text("email"),
        Text("phone"),
        Boolean("isActive", "is_active"),
        Choice(
            "language",
            choices=[("", ""), *settings.LANGUAGES],
            description="The language of their emails; empty: the shop's.",
        ),
        *timestamps(),
    ],
)


def _stocked(parent: list) -> list:
    return [
        Id(),
        *parent,
        Text("title"),
        Text("sku"),
        Integer("stock", nullable=True, min_value=0, description="Empty: stock is not tracked."),
    ]


products = Collection(
    slug="products",
    model=Product,
    singular="Product",
    plural="Products",
    public=True,
    fields=[
        *_stocked([]),
        Integer("price", min_value=0, description="In the currency's minor unit."),
        Boolean("isActive", "is_active"),
        *timestamps(),
    ],
    joins=[Join("variants", "variants", fk="product")],
)

variants = Collection(
    slug="variants",
    model=Variant,
    singular="Variant",
    plural="Variants",
    public=True,
    fields=[
        *_stocked([Relation("product", to="products")]),
        Integer("price", nullable=True, min_value=0, description="Empty: the product's price."),
        *timestamps(),
    ],
    joins=[Join("options", "options", fk="variant")],
)

options = Collection(
    slug="options",
    model=Option,
    singular="Option",
    plural="Options",
    public=True,
    fields=[
        *_stocked([Relation("variant", to="variants")]),
        Integer("price", nullable=True, min_value=0, description="Empty: the variant's price."),
        *timestamps(),
    ],
)

carts = Collection(
    slug="carts",
    model=Cart,
    singular="Cart",
    plural="Carts",
    description="A basket; it checks out once (POST /api/checkout).",
    owner="customer",
    owned_on_create="customer",
    customer_writes={
        "add": frozenset({"currency", "shippingAddress"}),
        "change": frozenset({"currency", "shippingAddress"}),
        "delete": frozenset(),
    },
    fields=[
        Id(),
        Relation("customer", to="customers", nullable=True),
        Text("currency", description="The shop's currency (SHOP_CURRENCY); no other."),
        DateTime("checkedOutAt", "checked_out_at", nullable=True),
        Group(
            "shippingAddress",
            [
                Text("recipientName", "shipping_recipient_name", nullable=True),
                Text("phone", "shipping_phone", nullable=True),
                Text("postalCode", "shipping_postal_code", nullable=True),
                Text("address1", "shipping_address1", nullable=True),
                Text("address2", "shipping_address2", nullable=True),
            ],
            nullable=True,
            description="Filled in as the buyer goes (only the members sent change); checkout "
            "takes it when its body has none.",
        ),
        *timestamps(),
    ],
    joins=[Join("items", "cart-items", fk="cart", limit=None, sort="createdAt")],
)

cart_items = Collection(
    slug="cart-items",
    model=CartItem,
    singular="Cart item",
    plural="Cart items",
    owner="cart__customer",
    customer_writes={
        "add": CART_LINE | {"cart"},
        "change": CART_LINE,
        "delete": frozenset(),
    },
    fields=[
        Id(),
        Relation("cart", to="carts"),
        Relation("product", to="products"),
        Relation("variant", to="variants", nullable=True),
        Relation("option", to="options", nullable=True),
        Integer("quantity", min_value=1),
        *timestamps(),
    ],
)

registry.register(customers, products, variants, options, carts, cart_items)


# ---------------------------------------------------------------------------------------------
# Writes: catalog rows are written as they are (model validation); cart lines through services.


def _set_password(customer: Customer, value) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError.one("customers", "password", "Must be text.")
    customer.set_password(value or None)


ModelWriter(
    customers,
    ["name", "email", "phone", "isActive", "language"],
    required=["name", "email"],
    setters={"password": _set_password},
)
ModelWriter(
    products,
    ["title", "sku", "price", "stock", "isActive"],
    required=["title"],
    constraints={"product_sku_uniq": ("sku", "A product with this sku already exists.")},
)
ModelWriter(variants, ["product", "title", "sku", "price", "stock"], required=["product", "title"])
ModelWriter(options, ["variant", "title", "sku", "price", "stock"], required=["variant", "title"])
ModelWriter(carts, [], guard=ensure_cart_open)  # deletes; creates and changes: below
CART_CREATE = Write(carts, "create", "customer", "currency", "shippingAddress")
CART_UPDATE = Write(carts, "update", "customer", "currency", "shippingAddress")

# The wire's shippingAddress members → ``Address`` (carts here, orders in ``orders.api``).
ADDRESS_MEMBERS = {
    "recipientName": "recipient_name",
    "phone": "phone",
    "postalCode": "postal_code",
    "address1": "address1",
    "address2": "address2",
}


def text_members(value: Any, members: dict[str, str], group: str) -> dict[str, str]:
    """A JSON object of text members as keyword arguments: unknown members refused, ``null``
    empty, absent members left out."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise DomainError(f"{group} must be an object.", field=group)
    unknown = set(value) - set(members)
    if unknown:
        raise DomainError(f"{group} has unknown fields: {', '.join(sorted(unknown))}.", field=group)
    found = {}
    for member, name in members.items():
        if member not in value:
            continue
        text = "" if value[member] is None else value[member]
        if not isinstance(text, str):  # as the schema says (a number is refused, not guessed)
            raise DomainError(
                f"{group}.{member} must be text, not {text!r}.", field=f"{group}.{member}"
            )
        found[name] = str(text)
    return found


def shipping_address(value: Any) -> Address | None:
    """``shippingAddress`` as an ``Address`` of the members sent (None: not sent)."""
    if value in (None, ""):
        return None
    return Address(**text_members(value, ADDRESS_MEMBERS, "shippingAddress"))


def create_cart(request, data) -> int:
    body = Body(request, carts, data, accepts=CART_CREATE, action="add")
    values = {"customer": body.value("customer"), "currency": body.value("currency")}
    body.check()
    address = shipping_address(body.raw("shippingAddress"))
    return services.create_cart(**values, shipping_address=address).pk


def update_cart(request, pk: int, data) -> None:
    body = Body(request, carts, data, accepts=CART_UPDATE, action="change")
    values = {key: body.value(key) for key in ("customer", "currency") if key in body}
    body.check()
    address = shipping_address(body.raw("shippingAddress"))
    services.change_cart(cart=pk, **values, shipping_address=address)


carts.create = create_cart
carts.update = update_cart

CART_ITEM_CREATE = Write(
    cart_items,
    "create",
    Accept("cart", required=True),
    Accept("product", required=True),
    "variant",
    "option",
    "quantity",
)
CART_ITEM_UPDATE = Write(cart_items, "update", "product", "variant", "option", "quantity")


def create_cart_item(request, data) -> int:
    body = Body(request, cart_items, data, accepts=CART_ITEM_CREATE, action="add")
    values = {
        "cart": body.value("cart", required=True),
        "product": body.value("product", required=True),
        "variant": body.value("variant"),
        "option": body.value("option"),
        "quantity": body.value("quantity") if "quantity" in body else 1,
    }
    body.check()
    return services.add_cart_item(**values).pk


def update_cart_item(request, pk: int, data) -> None:
    body = Body(request, cart_items, data, accepts=CART_ITEM_UPDATE, action="change", pk=pk)
    values = {key: body.value(key) for key in ("product", "quantity") if key in body}
    values.update({key: body.value(key) for key in ("variant", "option") if key in body})
    body.check()
    services.change_cart_item(item=pk, **values)


def delete_cart_item(request, pk: int) -> None:
    services.remove_cart_item(item=pk)


cart_items.create = create_cart_item
cart_items.update = update_cart_item
cart_items.delete = delete_cart_item
cart_items.deletable = True
