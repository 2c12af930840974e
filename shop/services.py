"""State changes of the catalog's carts: lines are added, changed and removed until checkout."""

from typing import Any

from shop.db import service
from shop.errors import Conflict, DomainError, NotFound
from shop.models import Cart, CartItem, Option, Product, Variant


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
    return product, variant, option


def _check_quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DomainError(
            f"quantity must be a whole number of at least 1, not {quantity!r}.", field="quantity"
        )
    return quantity


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
