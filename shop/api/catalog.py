"""The catalog's collections: customers, products, variants, options, carts and their items."""

from shop.api.collections import (
    Boolean,
    Collection,
    DateTime,
    Id,
    Integer,
    Join,
    Relation,
    Text,
    registry,
    timestamps,
)
from shop.models import Cart, CartItem, Customer, Option, Product, Variant

customers = Collection(
    slug="customers",
    model=Customer,
    singular="Customer",
    plural="Customers",
    description="Shoppers. The password is write-only.",
    fields=[
        Id(),
        Text("name"),
        Text("email"),
        Text("phone"),
        Boolean("isActive", "is_active"),
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
    fields=[
        Id(),
        Relation("customer", to="customers", nullable=True),
        Text("currency"),
        DateTime("checkedOutAt", "checked_out_at", nullable=True),
        *timestamps(),
    ],
    joins=[Join("items", "cart-items", fk="cart", limit=None, sort="createdAt")],
)

cart_items = Collection(
    slug="cart-items",
    model=CartItem,
    singular="Cart item",
    plural="Cart items",
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
