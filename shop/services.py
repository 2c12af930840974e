"""State changes of the catalog's carts: lines are added, changed and removed until checkout;
and the catalog's rules every sale follows (the currency, what a line must name)."""

from typing import Any

from django.conf import settings
from django.db import models

from shop.db import service
from shop.errors import Conflict, DomainError, NotFound
from shop.models import Cart, CartItem, Customer, Option, Product, Variant
from shop.values import Address

# ---------------------------------------------------------------------------------------------
# Rules of every sale


def shop_currency(requested: Any = None) -> str:
    """The currency of every cart and order: the shop's, which its prices are in.

    Prices carry no currency of their own, so a cart or an order in another one would charge
    the same numbers in other money. A client may send the shop's currency back (in any case),
    never choose another.
    """
    currency = settings.SHOP_CURRENCY
    if requested in (None, ""):
        return currency
    if not isinstance(requested, str) or requested.strip().upper() != currency:
        raise DomainError(
            f"currency must be {currency}, the shop's currency that its prices are in, "
            f"not {requested!r}.",
            field="currency",
        )
    return currency


def _has(row: models.Model, annotation: str, children: models.QuerySet) -> bool:
    """Whether ``row`` has children: read from ``annotation`` when the caller's query brought
    it (no query per line), else asked."""
    found = getattr(row, annotation, None)
    return children.exists() if found is None else bool(found)


def check_unit(
    product: Product, variant: Variant | None, option: Option | None, *, prefix: str = ""
) -> None:
    """A line names the unit the warehouse ships and whose stock it takes (``shop.stock``): the
    product's variant when it has variants, the variant's option when it has options.
    ``has_variants`` / ``has_options`` annotations on the rows spare the queries; ``prefix``
    goes before the field names (``replacement``: ``replacementVariant``)."""
    if option is not None:
        return
    if variant is None:
        if _has(product, "has_variants", Variant.objects.filter(product=product)):
            raise DomainError(
                f"{product} comes in variants: a line must name the one it sells.",
                field=f"{prefix}Variant" if prefix else "variant",
            )
    elif _has(variant, "has_options", Option.objects.filter(variant=variant)):
        raise DomainError(
            f"{variant} of {product.title} comes in options: a line must name the one it sells.",
            field=f"{prefix}Option" if prefix else "option",
        )


def check_sellable(product: Product, variant: Variant | None, option: Option | None) -> None:
    """A line sells a product that is for sale, and names its unit (``check_unit``)."""
    if not product.is_active:
        raise DomainError(f"{product} is not for sale.", field="product")
    check_unit(product, variant, option)


# ---------------------------------------------------------------------------------------------
# Carts


def ensure_cart_open(cart: Cart) -> None:
    """A cart that has checked out is an order's record: it no longer changes."""
    if cart.checked_out_at is not None or hasattr(cart, "order"):
        raise Conflict(f"Cart {cart.pk} has already been checked out.", field="cart")


def _lock_cart(cart: Cart | int) -> Cart:
    pk = cart.pk if isinstance(cart, Cart) else cart
    found = Cart.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound(f"Cart {pk} does not exist.", field="cart")
    ensure_cart_open(found)
    return found


def _catalog_line(product_id: Any, variant_id: Any, option_id: Any) -> tuple:
    """The product, variant and option of a line, checked to belong together."""
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise DomainError(f"Product {product_id} does not exist.", field="product")
    option = Option.objects.filter(pk=option_id).first() if option_id else None
    if option_id and option is None:
        raise DomainError(f"Option {option_id} does not exist.", field="option")
    if option is not None and not variant_id:
        variant_id = option.variant_id
    variant = Variant.objects.filter(pk=variant_id).first() if variant_id else None
    if variant_id and (variant is None or variant.product_id != product.pk):
        raise DomainError(
            f"Variant {variant_id} is not a variant of product {product.pk}.", field="variant"
        )
    if option is not None and option.variant_id != variant.pk:
        raise DomainError(
            f"Option {option.pk} is not an option of variant {variant.pk}.", field="option"
        )
    check_sellable(product, variant, option)
    return product, variant, option


def _check_quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DomainError(
            f"quantity must be a whole number of at least 1, not {quantity!r}.", field="quantity"
        )
    return quantity


def _customer_id(customer: Customer | int | None) -> int | None:
    if customer is None or isinstance(customer, Customer):
        return customer.pk if customer else None
    if not Customer.objects.filter(pk=customer).exists():
        raise DomainError(f"Customer {customer} does not exist.", field="customer")
    return customer


@service
def create_cart(
    *,
    customer: Customer | int | None = None,
    currency: str | None = None,
    shipping_address: Address | None = None,
) -> Cart:
    """A new cart, in the shop's currency."""
    cart = Cart(
        customer_id=_customer_id(customer),
        currency=shop_currency(currency),
        **(shipping_address.columns() if shipping_address else {}),
    )
    cart.save()
    return cart


@service
def change_cart(
    *,
    cart: Cart | int,
    customer: Any = ...,
    currency: Any = ...,
    shipping_address: Address | None = None,
) -> Cart:
    """Change an open cart: its customer, its address (only the members given) or its currency,
    which can only be (or go back to) the shop's (``...``: leave as it is)."""
    cart = _lock_cart(cart)
    fields = ["updated_at"]
    if customer is not ...:
        cart.customer_id = _customer_id(customer)
        fields.append("customer")
    if currency is not ...:
        cart.currency = shop_currency(currency)
        fields.append("currency")
    address = shipping_address.columns() if shipping_address else {}
    for column, value in address.items():
        setattr(cart, column, value)
        fields.append(column)
    cart.save(update_fields=fields)
    return cart


@service
def add_cart_item(
    *, cart: Cart | int, product: Any, variant: Any = None, option: Any = None, quantity: int = 1
) -> CartItem:
    """Put a catalog item in an open cart."""
    cart = _lock_cart(cart)
    product, variant, option = _catalog_line(product, variant, option)
    return CartItem.objects.create(
        cart=cart,
        product=product,
        variant=variant,
        option=option,
        quantity=_check_quantity(quantity),
    )


@service
def change_cart_item(
    *,
    item: CartItem | int,
    quantity: int | None = None,
    product: Any = None,
    variant: Any = ...,
    option: Any = ...,
) -> CartItem:
    """Change a line's quantity or what it names (``...``: leave as it is)."""
    pk = item.pk if isinstance(item, CartItem) else item
    cart_id = CartItem.objects.filter(pk=pk).values_list("cart_id", flat=True).first()
    if cart_id is None:
        raise NotFound(f"Cart item {pk} does not exist.")
    _lock_cart(cart_id)
    line = CartItem.objects.select_for_update().get(pk=pk)
    fields = ["updated_at"]
    if quantity is not None:
        line.quantity = _check_quantity(quantity)
        fields.append("quantity")
    if product is not None or variant is not ... or option is not ...:
        found = _catalog_line(
            product or line.product_id,
            line.variant_id if variant is ... else variant,
            line.option_id if option is ... else option,
        )
        line.product, line.variant, line.option = found
        fields += ["product", "variant", "option"]
    line.save(update_fields=fields)
    return line


@service
def remove_cart_item(*, item: CartItem | int) -> None:
    pk = item.pk if isinstance(item, CartItem) else item
    cart_id = CartItem.objects.filter(pk=pk).values_list("cart_id", flat=True).first()
    if cart_id is None:
        raise NotFound(f"Cart item {pk} does not exist.")
    _lock_cart(cart_id)
    CartItem.objects.filter(pk=pk).delete()
