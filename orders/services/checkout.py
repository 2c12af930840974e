"""Orders come to be: the server API's createOrder and a cart's checkout."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from events.outbox import record_event
from orders.models import (
    Order,
    OrderItem,
    OrderNumberCounter,
    OrderStatus,
    Transaction,
    TransactionKind,
)
from orders.services.payments import clean_payment_id, record_paid
from orders.transitions import run_transition, write_logs
from orders.values import OrderDraft, OrderLine
from shop import stock
from shop.actors import SYSTEM, Actor
from shop.db import service
from shop.errors import Conflict, DomainError, NotFound
from shop.models import Cart, Customer, Option, Product, Variant
from shop.services import check_sellable, ensure_cart_open, shop_currency
from shop.values import MAX_AMOUNT, Address, as_amount, as_quantity, as_text, pk_or_none

# What a parcel cannot be sent without: who takes it, a number the courier calls, where it goes.
# (address2, the flat or floor, is often not needed.)
PARCEL_NEEDS = ("recipientName", "phone", "postalCode", "address1")


def generate_order_number() -> str:
    """Human-readable, unique and sortable by time: ``YYMMDD-`` and a never-repeating counter.

    PostgreSQL hands out the counter from a sequence (no lock, no collision under any load);
    elsewhere a counter row is incremented inside the caller's transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('orders_order_number_seq')")
            value = cursor.fetchone()[0]
    else:
        OrderNumberCounter.objects.get_or_create(name="order")
        OrderNumberCounter.objects.filter(name="order").update(value=F("value") + 1)
        value = OrderNumberCounter.objects.get(name="order").value
    return f"{timezone.localdate():%y%m%d}-{value:08d}"


@dataclass
class Line:
    """One order line, resolved against the catalog."""

    product: Product
    variant: Variant | None
    option: Option | None
    quantity: int
    unit_price: int

    @property
    def title(self) -> str:
        parts = [self.product.title]
        parts += [p.title for p in (self.variant, self.option) if p is not None]
        return " / ".join(parts)

    @property
    def sku(self) -> str:
        for item in (self.option, self.variant, self.product):
            if item is not None and item.sku:
                return item.sku
        return ""

    @property
    def catalog_price(self) -> int:
        for item in (self.option, self.variant, self.product):
            if item is not None and item.price is not None:
                return item.price
        return 0

    @property
    def stock_unit(self) -> tuple[type, int]:
        return stock.stock_unit(
            product_id=self.product.pk,
            variant_id=self.variant.pk if self.variant else None,
            option_id=self.option.pk if self.option else None,
        )


def resolve_lines(requested: Sequence[OrderLine], *, prices_from_catalog: bool) -> list[Line]:
    """Check every requested line against the catalog, in at most three queries for any number
    of lines (one when every line names an option)."""
    if not requested:
        raise DomainError("An order needs at least one item.", field="orderProducts")
    parsed = []
    for index, line in enumerate(requested):
        quantity = as_quantity(line.quantity, label=f"Item {index + 1}")
        unit_price = line.unit_price
        if unit_price is not None:
            unit_price = as_amount(unit_price, "unitPrice")
        parsed.append((line.product, line.variant, line.option, quantity, unit_price))
    # Options come with their variant and product; only what they do not bring is read apart,
    # with whether it has options (a variant) or variants (a product): a line must name them.
    options = Option.objects.select_related("variant__product").in_bulk(
        {p[2] for p in parsed if p[2]}
    )
    variants = {option.variant_id: option.variant for option in options.values()}
    for variant in variants.values():
        variant.has_options = True
    wanted = {p[1] for p in parsed if p[1]} - variants.keys()
    variants.update(
        Variant.objects.select_related("product")
        .annotate(has_options=Exists(Option.objects.filter(variant=OuterRef("pk"))))
        .in_bulk(wanted)
    )
    products = {variant.product_id: variant.product for variant in variants.values()}
    for product in products.values():
        product.has_variants = True
    products.update(
        Product.objects.annotate(
            has_variants=Exists(Variant.objects.filter(product=OuterRef("pk")))
        ).in_bulk({p[0] for p in parsed} - products.keys())
    )
    lines = []
    for product_id, variant_id, option_id, quantity, unit_price in parsed:
        product = products.get(product_id)
        if product is None:
            raise DomainError(f"Product {product_id} does not exist.", field="product")
        variant = variants.get(variant_id) if variant_id else None
        if variant_id and (variant is None or variant.product_id != product.pk):
            raise DomainError(
                f"Variant {variant_id} is not a variant of product {product_id}.", field="variant"
            )
        option = options.get(option_id) if option_id else None
        if option_id and (option is None or variant is None or option.variant_id != variant.pk):
            raise DomainError(
                f"Option {option_id} is not an option of variant {variant_id}.", field="option"
            )
        check_sellable(product, variant, option)
        line = Line(product, variant, option, quantity, unit_price or 0)
        if prices_from_catalog or unit_price is None:
            line.unit_price = line.catalog_price
        lines.append(line)
    return lines


def refuse_missing(paths: list[str]) -> None:
    """Refuse an order whose parcel could not be sent, naming every member it lacks."""
    if paths:
        raise DomainError(
            "An order needs the customer's name and a shipping address a parcel can be sent "
            f"to ({', '.join(PARCEL_NEEDS)}); missing: {', '.join(paths)}.",
            field=paths[0],
            data={"errors": [{"path": path, "message": "Required."} for path in paths]},
        )


def check_parcel(snapshot: dict[str, str], address: Address) -> None:
    """An order carries what its parcel needs: a customer name and a whole address."""
    missing = [] if snapshot.get("customer_name") else ["customerSnapshot.name"]
    refuse_missing(missing + address.blank())


# ---------------------------------------------------------------------------------------------
# Creating orders


class PaymentTaken(Conflict):
    """A checkout's payment id already paid another order (``order``)."""

    def __init__(self, payment_id: str | None, order: Order):
        super().__init__(
            f"Payment {payment_id} already paid order {order.order_number}.", field="paymentId"
        )
        self.order = order


@dataclass
class OrderResult:
    order: Order
    created: bool
    # What a new order was stored with, as stored (the API answers with them without reading
    # them back); empty for an order that already existed.
    items: list[OrderItem] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)


def create_order(
    *,
    draft: OrderDraft,
    actor: Actor = SYSTEM,
    customer: Customer | int | None = None,
    cart: Cart | None = None,
    prices_from_catalog: bool = False,
    look_up_payment_id: bool = True,
) -> OrderResult:
    """The server API's createOrder: lines with unit prices, totals checked, stock reserved.

    A payment id records a paid payment; a zero total is paid at once; otherwise the order waits
    in ``pending``. The same payment id sent again returns the order it paid for (created=False):
    it is looked up first, so a replay is answered before anything else is checked, unless
    ``look_up_payment_id`` is false (a cart's checkout, which its cart already makes
    idempotent): then the payment's unique constraint refuses it, the attempt is rolled back,
    and the order it paid for is the answer all the same.
    """
    payment_id = clean_payment_id(draft.payment_id)
    if payment_id and look_up_payment_id:
        existing = _order_for_payment_id(payment_id)
        if existing is not None:
            return OrderResult(existing, created=False)
    try:
        return _create_order(
            draft=replace(draft, payment_id=payment_id),
            actor=actor,
            customer=customer,
            cart=cart,
            prices_from_catalog=prices_from_catalog,
        )
    except IntegrityError as error:
        # Lost a race (the service's savepoint is rolled back, so we can look again).
        if payment_id:
            existing = _order_for_payment_id(payment_id)
            if existing is not None:
                return OrderResult(existing, created=False)
        if _is_unique_violation(error, "order_number"):
            raise Conflict(
                f"Order number {draft.order_number} is already taken.", field="orderNumber"
            ) from error
        if _is_unique_violation(error, "cart"):
            raise Conflict("This cart has already been checked out.", field="cart") from error
        raise


def _is_unique_violation(error: IntegrityError, column: str) -> bool:
    return column in str(error)


def _order_for_payment_id(payment_id: str) -> Order | None:
    found = (
        Transaction.objects.filter(payment_id=payment_id, kind=TransactionKind.PAYMENT)
        .select_related("order")
        .first()
    )
    return found.order if found else None


@service
def _create_order(
    *, draft: OrderDraft, actor: Actor, customer, cart, prices_from_catalog: bool
) -> OrderResult:
    lines = resolve_lines(draft.lines, prices_from_catalog=prices_from_catalog)
    shipping_amount = as_amount(draft.shipping_amount or 0, "shippingAmount")
    discount_amount = as_amount(draft.discount_amount or 0, "discountAmount")
    for line in lines:
        if line.unit_price * line.quantity > MAX_AMOUNT:
            raise DomainError(f"{line.title}: the line total is too large.", field="quantity")
    subtotal = sum(line.unit_price * line.quantity for line in lines)
    computed_total = subtotal + shipping_amount - discount_amount
    if subtotal + shipping_amount > MAX_AMOUNT:
        raise DomainError("The order total is too large.", field="totalAmount")
    if computed_total < 0:
        raise DomainError(
            f"The discount ({discount_amount}) is larger than the order "
            f"({subtotal + shipping_amount}).",
            field="discountAmount",
        )
    if draft.total_amount is not None:
        given = draft.total_amount
        if given != computed_total:
            raise DomainError(
                f"totalAmount {given} does not match the computed total {computed_total}.",
                field="totalAmount",
                data={"given": given, "computed": computed_total},
            )

    if customer is not None and not isinstance(customer, Customer):
        customer_id = pk_or_none(customer, "customer")
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise DomainError(f"Customer {customer_id} does not exist.", field="customer")
    snapshot = draft.customer_snapshot.columns(customer)
    address = draft.shipping_address or Address()
    check_parcel(snapshot, address)
    currency = shop_currency(draft.currency)
    payment_method = as_text(draft.payment_method, "paymentMethod", 40)
    payment_id = draft.payment_id
    order_number = as_text(draft.order_number, "orderNumber", 40) or generate_order_number()

    stock.reserve((line.stock_unit, line.quantity) for line in lines)
    order = Order(
        order_number=order_number,
        customer=customer,
        cart=cart,
        currency=currency,
        subtotal_amount=subtotal,
        shipping_amount=shipping_amount,
        discount_amount=discount_amount,
        total_amount=computed_total,
        delivery_note=draft.delivery_note,
        **snapshot,
        **address.whole().columns(),
    )
    # A paid order is inserted paid (its transition runs before the INSERT); the log entries
    # go in together at the end, the payment's first, as the payment is what pays the order.
    order_logs: list = []
    if payment_id or computed_total == 0:
        reason = "paid at creation" if payment_id else "nothing to pay"
        run_transition(order, "pay", actor=actor, order_id=None, reason=reason, logs=order_logs)
    else:
        order.save()
    order_items = OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                product=line.product,
                variant=line.variant,
                option=line.option,
                title=line.title[:300],
                sku=line.sku,
                unit_price=line.unit_price,
                quantity=line.quantity,
                total_price=line.unit_price * line.quantity,
            )
            for line in lines
        ]
    )
    logs: list = []
    payments = []
    if payment_id:
        payments.append(
            record_paid(
                order,
                actor=actor,
                amount=computed_total,
                payment_id=payment_id,
                method=payment_method,
                logs=logs,
            )
        )
    write_logs([*logs, *order_logs])
    result = OrderResult(order, created=True, items=order_items, transactions=payments)
    if cart is None:  # a checkout records its order once the cart is checked out
        record_order_created(result)
    return result


def record_order_created(result: OrderResult) -> None:
    """order.created (and order.paid for an order paid at once), rendered from what was stored:
    a new order has no parcel, return or exchange yet."""
    order = result.order
    record_event(
        ["order.created", "order.paid" if order.status == OrderStatus.PAID else None],
        order,
        related=[order.customer, order.cart],
        joins={
            "items": result.items,
            "transactions": result.transactions,
            **{"fulfillments": [], "returns": [], "exchanges": []},
        },
    )


def checkout_cart(
    *,
    cart: Any,
    draft: OrderDraft | None = None,
    actor: Actor = SYSTEM,
    customer: int | None = None,
) -> OrderResult:
    """The seed's checkout: lines and prices come from the cart, which checks out once; the
    draft brings the rest (its address, when absent, is the cart's).

    A guest cart checked out by a logged-in ``customer`` becomes theirs as it checks out;
    another customer's cart is refused. A second checkout of the same cart returns the order
    the first one made (created=False).
    """
    cart_pk = pk_or_none(cart, "cartId")
    if cart_pk is None:
        raise DomainError("cartId is required.", field="cartId")
    try:
        return _checkout_cart(
            cart_pk=cart_pk, draft=draft or OrderDraft(), actor=actor, customer=customer
        )
    except IntegrityError:
        # Lost a race on the same cart or payment id: the winner's order is the answer.
        existing = Order.objects.filter(cart_id=cart_pk).first()
        if existing is not None:
            return OrderResult(existing, created=False)
        raise


@service
def _checkout_cart(
    *, cart_pk: int, draft: OrderDraft, actor: Actor, customer: int | None
) -> OrderResult:
    # The cart's row is locked; its customer comes along (not locked, only read).
    cart = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=cart_pk)
        .first()
    )
    if cart is None:
        raise NotFound(f"Cart {cart_pk} does not exist.", field="cartId")
    if customer is not None:
        _claim(cart, customer)
    # Read after the lock: a checkout of the same cart that got there first is seen here.
    existing = Order.objects.filter(cart=cart).first()
    if existing is not None:
        return OrderResult(existing, created=False)
    cart_items = list(cart.items.values("product", "variant", "option", "quantity"))
    if not cart_items:
        raise DomainError(f"Cart {cart_pk} is empty.", field="cartId")
    currency = shop_currency()
    if cart.currency != currency:
        raise DomainError(
            f"Cart {cart_pk} is in {cart.currency}, but the shop sells in {currency} (its prices "
            f"are {currency}): change the cart's currency to {currency} to check it out.",
            field="currency",
        )
    result = create_order(
        draft=replace(
            draft,
            lines=[OrderLine(**item) for item in cart_items],
            # filled in on the cart as the buyer went
            shipping_address=draft.shipping_address or Address.of(cart),
            currency=currency,
        ),
        actor=actor,
        customer=cart.customer,
        cart=cart,
        prices_from_catalog=True,
        look_up_payment_id=False,
    )
    if result.order.cart_id != cart.pk:
        # The payment id already paid another order: this cart stays open.
        raise PaymentTaken(draft.payment_id, result.order)
    cart.checked_out_at = timezone.now()
    Cart.objects.filter(pk=cart.pk).update(checked_out_at=cart.checked_out_at)
    if result.created:
        record_order_created(result)
    return result


def _claim(cart: Cart, customer: int) -> None:
    """A guest cart becomes the checking-out customer's; another customer's is refused."""
    if cart.customer_id is None:
        ensure_cart_open(cart)
        Cart.objects.filter(pk=cart.pk).update(customer_id=customer)
        cart.customer = Customer.objects.get(pk=customer)
    elif cart.customer_id != customer:
        raise DomainError(f"Cart {cart.pk} belongs to another customer.", field="cart")
