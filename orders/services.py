"""Every state change of orders and their payments, one atomic function per verb.

Locking: a service that changes anything under an order locks the order row first
(``lock_order``), then the rows under it, then stock rows (``shop.stock``), always in that order,
so concurrent services on one order queue behind each other and never deadlock.
"""

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
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
    TransactionStatus,
)
from orders.selectors import item_quantities, order_money
from orders.transitions import refused, run_transition, write_logs
from shop import stock
from shop.actors import SYSTEM, Actor
from shop.db import service
from shop.errors import Conflict, DomainError, NotFound
from shop.models import Cart, Customer, Option, Product, Variant
from shop.services import ADDRESS_FIELDS, check_sellable, clean_group, shop_currency

SNAPSHOT_FIELDS = {"name": "customer_name", "email": "customer_email", "phone": "customer_phone"}
# What a parcel cannot be sent without: who takes it, a number the courier calls, where it goes.
# (address2, the flat or floor, is often not needed.)
PARCEL_NEEDS = ("recipientName", "phone", "postalCode", "address1")


# ---------------------------------------------------------------------------------------------
# Helpers


def lock_order(order: Order | int) -> Order:
    """The order row, locked for the rest of the transaction (NotFound if there is none)."""
    pk = order.pk if isinstance(order, Order) else order
    try:
        return Order.objects.select_for_update().get(pk=pk)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"Order {pk} does not exist.", field="order") from None


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


# Money fits a JSON number exactly (2**53 - 1), quantities a PostgreSQL integer.
MAX_AMOUNT = 2**53 - 1
MAX_QUANTITY = 2**31 - 1
# Free-text notes and reasons: long enough for any real note, short enough to refuse junk.
MAX_NOTE = 10_000


def _as_int(value: Any, field: str) -> int:
    """A whole number from JSON or a form: an int, an integral float or a numeric string."""
    if isinstance(value, bool):
        raise DomainError(f"{field} must be a whole number.", field=field)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        value = int(value.strip())
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise DomainError(f"{field} is too large.", field=field)
        return value
    raise DomainError(f"{field} must be a whole number, not {value!r}.", field=field)


def _as_amount(value: Any, field: str) -> int:
    """An amount of money in minor units: 0 up to ``MAX_AMOUNT``."""
    amount = _as_int(value, field)
    if not 0 <= amount <= MAX_AMOUNT:
        raise DomainError(f"{field} must be between 0 and {MAX_AMOUNT}, not {amount}.", field=field)
    return amount


def _as_quantity(value: Any, field: str = "quantity", *, label: str = "") -> int:
    """A count of units: 1 up to ``MAX_QUANTITY``."""
    quantity = _as_int(value, field)
    if not 1 <= quantity <= MAX_QUANTITY:
        prefix = f"{label}: " if label else ""
        raise DomainError(
            f"{prefix}{field} must be at least 1 (and at most {MAX_QUANTITY}), not {quantity}.",
            field=field,
        )
    return quantity


def _as_text(value: Any, field: str, max_length: int) -> str:
    """Stripped text no longer than its column (``None`` is empty)."""
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise DomainError(f"{field} must be text, not {value!r}.", field=field)
    text = str(value).strip()
    if len(text) > max_length:
        raise DomainError(
            f"{field} is longer than {max_length} characters ({len(text)}).", field=field
        )
    return text


def _pk_or_none(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        return value.pk
    return _as_int(value, field)


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


def resolve_lines(raw_lines: list[dict], *, prices_from_catalog: bool) -> list[Line]:
    """Check every requested line against the catalog, in at most three queries for any number
    of lines (one when every line names an option)."""
    if not isinstance(raw_lines, list) or not raw_lines:
        raise DomainError("An order needs at least one item.", field="orderProducts")
    parsed = []
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise DomainError(f"Item {index + 1} must be an object.", field="orderProducts")
        product_id = _pk_or_none(raw.get("product"), "product")
        if product_id is None:
            raise DomainError(f"Item {index + 1} names no product.", field="product")
        quantity = _as_quantity(raw.get("quantity", 1), label=f"Item {index + 1}")
        unit_price = raw.get("unit_price", raw.get("unitPrice"))
        if unit_price is not None:
            unit_price = _as_amount(unit_price, "unitPrice")
        parsed.append(
            (
                product_id,
                _pk_or_none(raw.get("variant"), "variant"),
                _pk_or_none(raw.get("option"), "option"),
                quantity,
                unit_price,
            )
        )
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


def _clean_group(value: Any, fields: dict[str, str], name: str) -> dict[str, str]:
    return clean_group(value, fields, name, model=Order)


def _refuse_missing(paths: list[str]) -> None:
    """Refuse an order whose parcel could not be sent, naming every member it lacks."""
    if paths:
        raise DomainError(
            "An order needs the customer's name and a shipping address a parcel can be sent "
            f"to ({', '.join(PARCEL_NEEDS)}); missing: {', '.join(paths)}.",
            field=paths[0],
            data={"errors": [{"path": path, "message": "Required."} for path in paths]},
        )


def check_parcel(snapshot: dict[str, str], address: dict[str, str]) -> None:
    """An order carries what its parcel needs: a customer name and ``PARCEL_NEEDS``."""
    missing = [] if snapshot.get("customer_name") else ["customerSnapshot.name"]
    missing += [
        f"shippingAddress.{key}" for key in PARCEL_NEEDS if not address.get(ADDRESS_FIELDS[key])
    ]
    _refuse_missing(missing)


# ---------------------------------------------------------------------------------------------
# Creating orders


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
    items: list[dict],
    actor: Actor = SYSTEM,
    order_number: str | None = None,
    customer: Customer | int | None = None,
    cart: Cart | None = None,
    customer_snapshot: dict | None = None,
    shipping_address: dict | None = None,
    total_amount: Any = None,
    shipping_amount: Any = 0,
    discount_amount: Any = 0,
    payment_id: str | None = None,
    payment_method: str = "",
    currency: str | None = None,
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
    payment_id = _clean_payment_id(payment_id)
    if payment_id and look_up_payment_id:
        existing = _order_for_payment_id(payment_id)
        if existing is not None:
            return OrderResult(existing, created=False)
    try:
        return _create_order(
            items=items,
            actor=actor,
            order_number=order_number,
            customer=customer,
            cart=cart,
            customer_snapshot=customer_snapshot,
            shipping_address=shipping_address,
            total_amount=total_amount,
            shipping_amount=shipping_amount,
            discount_amount=discount_amount,
            payment_id=payment_id,
            payment_method=payment_method,
            currency=currency,
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
                f"Order number {order_number} is already taken.", field="orderNumber"
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
    *,
    items,
    actor,
    order_number,
    customer,
    cart,
    customer_snapshot,
    shipping_address,
    total_amount,
    shipping_amount,
    discount_amount,
    payment_id,
    payment_method,
    currency,
    prices_from_catalog,
) -> OrderResult:
    lines = resolve_lines(items, prices_from_catalog=prices_from_catalog)
    shipping_amount = _as_amount(shipping_amount or 0, "shippingAmount")
    discount_amount = _as_amount(discount_amount or 0, "discountAmount")
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
    if total_amount not in (None, ""):
        given = _as_int(total_amount, "totalAmount")
        if given != computed_total:
            raise DomainError(
                f"totalAmount {given} does not match the computed total {computed_total}.",
                field="totalAmount",
                data={"given": given, "computed": computed_total},
            )

    if customer is not None and not isinstance(customer, Customer):
        customer_id = _pk_or_none(customer, "customer")
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise DomainError(f"Customer {customer_id} does not exist.", field="customer")
    snapshot = _clean_group(customer_snapshot, SNAPSHOT_FIELDS, "customerSnapshot")
    if customer is not None:
        for key, column in SNAPSHOT_FIELDS.items():
            snapshot.setdefault(column, getattr(customer, key))
    address = _clean_group(shipping_address, ADDRESS_FIELDS, "shippingAddress")
    check_parcel(snapshot, address)
    currency = shop_currency(currency)
    payment_method = _as_text(payment_method, "paymentMethod", 40)

    order_number = _as_text(order_number, "orderNumber", 40) or generate_order_number()

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
        **snapshot,
        **address,
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
            _record_paid(
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
    cart_id: Any,
    actor: Actor = SYSTEM,
    order_number: str | None = None,
    customer_snapshot: dict | None = None,
    shipping_address: dict | None = None,
    payment_id: str | None = None,
    payment_method: str = "",
    total_amount: Any = None,
) -> OrderResult:
    """The seed's checkout: lines and prices come from the cart, which checks out once.

    A second checkout of the same cart returns the order the first one made (created=False).
    """
    cart_pk = _pk_or_none(cart_id, "cartId")
    if cart_pk is None:
        raise DomainError("cartId is required.", field="cartId")
    try:
        return _checkout_cart(
            cart_pk=cart_pk,
            actor=actor,
            order_number=order_number,
            customer_snapshot=customer_snapshot,
            shipping_address=shipping_address,
            payment_id=payment_id,
            payment_method=payment_method,
            total_amount=total_amount,
        )
    except IntegrityError:
        # Lost a race on the same cart or payment id: the winner's order is the answer.
        existing = Order.objects.filter(cart_id=cart_pk).first()
        if existing is not None:
            return OrderResult(existing, created=False)
        raise


@service
def _checkout_cart(
    *,
    cart_pk,
    actor,
    order_number,
    customer_snapshot,
    shipping_address,
    payment_id,
    payment_method,
    total_amount,
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
    if shipping_address in (None, ""):
        shipping_address = cart.shipping_address  # filled in on the cart as the buyer went
    result = create_order(
        items=cart_items,
        actor=actor,
        order_number=order_number,
        customer=cart.customer,
        cart=cart,
        customer_snapshot=customer_snapshot,
        shipping_address=shipping_address,
        payment_id=payment_id,
        payment_method=payment_method,
        total_amount=total_amount,
        currency=currency,
        prices_from_catalog=True,
        look_up_payment_id=False,
    )
    if result.order.cart_id != cart.pk:
        # The payment id already paid another order: this cart stays open.
        raise Conflict(
            f"Payment {payment_id} already paid order {result.order.order_number}.",
            field="paymentId",
            data={"id": result.order.pk, "orderNumber": result.order.order_number},
        )
    cart.checked_out_at = timezone.now()
    Cart.objects.filter(pk=cart.pk).update(checked_out_at=cart.checked_out_at)
    if result.created:
        record_order_created(result)
    return result


# ---------------------------------------------------------------------------------------------
# Payments


def _record_paid(
    order: Order,
    *,
    actor: Actor,
    amount: int,
    payment_id: str | None,
    method: str,
    reason: str = "",
    logs: list | None = None,
) -> Transaction:
    """A paid payment: inserted in the state its ``mark_paid`` transition leaves it in."""
    txn = Transaction(
        order=order,
        kind=TransactionKind.PAYMENT,
        amount=amount,
        payment_id=payment_id or None,
        payment_method=method or "",
    )
    run_transition(txn, "mark_paid", actor=actor, order_id=order.pk, reason=reason, logs=logs)
    return txn


def _clean_payment_id(payment_id: Any) -> str | None:
    return _as_text(payment_id, "paymentId", 200) or None


@service
def record_payment(
    *,
    order: Order | int,
    actor: Actor = SYSTEM,
    amount: Any = None,
    payment_id: str | None = None,
    payment_method: str = "",
    reason: str = "",
) -> Transaction:
    """A payment came in. Once payments cover the total, the order is paid.

    The same payment id twice is the same payment: the first transaction is returned.
    """
    order = lock_order(order)
    payment_id = _clean_payment_id(payment_id)
    payment_method = _as_text(payment_method, "paymentMethod", 40)
    if payment_id:
        existing = Transaction.objects.filter(payment_id=payment_id).first()
        if existing is not None:
            if existing.order_id != order.pk:
                raise Conflict(f"Payment {payment_id} belongs to another order.", field="paymentId")
            return existing
    if order.status not in (OrderStatus.PENDING, OrderStatus.FAILED):
        raise refused(order, OrderStatus.PAID)
    money = order_money(order)
    due = order.total_amount - money.paid
    amount = due if amount in (None, "") else _as_int(amount, "amount")
    if not 1 <= amount <= due:
        raise DomainError(f"A payment must be between 1 and {due}, not {amount}.", field="amount")
    if order.status == OrderStatus.FAILED:
        run_transition(order, "retry", actor=actor, order_id=order.pk, reason="payment received")
    txn = _record_paid(
        order,
        actor=actor,
        amount=amount,
        payment_id=payment_id,
        method=payment_method,
        reason=reason,
    )
    if money.paid + amount >= order.total_amount:
        run_transition(order, "pay", actor=actor, order_id=order.pk, reason=reason)
        record_event("order.paid", order)
    return txn


@service
def fail_payment(
    *,
    order: Order | int,
    actor: Actor = SYSTEM,
    reason: str = "",
    payment_id: str | None = None,
    payment_method: str = "",
    amount: Any = None,
) -> Transaction:
    """A payment attempt failed: a failed transaction is recorded and the order fails."""
    order = lock_order(order)
    if order.status != OrderStatus.PENDING:
        raise refused(order, OrderStatus.FAILED)
    payment_id = _clean_payment_id(payment_id)
    payment_method = _as_text(payment_method, "paymentMethod", 40)
    if payment_id and Transaction.objects.filter(payment_id=payment_id).exists():
        raise Conflict(f"Payment {payment_id} is already recorded.", field="paymentId")
    amount = order.total_amount if amount in (None, "") else _as_amount(amount, "amount")
    txn = Transaction.objects.create(
        order=order,
        kind=TransactionKind.PAYMENT,
        amount=amount,
        payment_id=payment_id or None,
        payment_method=payment_method or "",
    )
    run_transition(txn, "mark_failed", actor=actor, order_id=order.pk, reason=reason)
    run_transition(order, "fail", actor=actor, order_id=order.pk, reason=reason)
    return txn


@service
def retry_order(*, order: Order | int, actor: Actor = SYSTEM, reason: str = "") -> Order:
    """A failed order waits for payment again."""
    order = lock_order(order)
    run_transition(order, "retry", actor=actor, order_id=order.pk, reason=reason)
    return order


@service
def pay_order(*, order: Order | int, actor: Actor = SYSTEM, reason: str = "") -> Order:
    """Staff marks an order paid (a payment taken outside the shop: bank transfer, cash)."""
    order = lock_order(order)
    record_payment(order=order, actor=actor, payment_method="manual", reason=reason)
    order.refresh_from_db()
    return order


@service
def cancel_order(*, order: Order | int, actor: Actor = SYSTEM, reason: str = "") -> Order:
    """Cancel before anything has shipped: payments are voided, reserved stock comes back,
    parcels not yet sent are called off (failed)."""
    from fulfillment.models import Fulfillment, FulfillmentStatus

    order = lock_order(order)
    fulfillments = list(Fulfillment.objects.select_for_update().filter(order=order).order_by("pk"))
    if any(
        f.status in (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED) for f in fulfillments
    ):
        raise Conflict(
            f"Order {order.order_number} has shipped parcels: it can no longer be canceled.",
            data={"status": order.status, "allowed": []},
        )
    run_transition(order, "cancel", actor=actor, order_id=order.pk, reason=reason)
    called_off = [
        f for f in fulfillments if f.status in (FulfillmentStatus.PENDING, FulfillmentStatus.PACKED)
    ]
    for parcel in called_off:
        run_transition(parcel, "fail", actor=actor, order_id=order.pk, reason="order canceled")
    payments = Transaction.objects.select_for_update().filter(
        order=order,
        kind=TransactionKind.PAYMENT,
        status__in=[TransactionStatus.PENDING, TransactionStatus.PAID],
    )
    for txn in payments.order_by("pk"):
        run_transition(txn, "void", actor=actor, order_id=order.pk, reason="order canceled")
    stock.release((item_stock_unit(item), item.quantity) for item in order.items.all())
    record_event("order.canceled", order)
    for parcel in called_off:
        record_event("fulfillment.failed", parcel)
    return order


def item_stock_unit(item: OrderItem) -> tuple[type, int]:
    """The catalog row that holds an order line's stock."""
    return stock.stock_unit(
        product_id=item.product_id, variant_id=item.variant_id, option_id=item.option_id
    )


@service
def confirm_order(*, order: Order | int, actor: Actor = SYSTEM, reason: str = "") -> Order:
    """The buyer (or the shop, after the return window) confirms the purchase."""
    order = lock_order(order)
    run_transition(order, "confirm", actor=actor, order_id=order.pk, reason=reason)
    record_event("order.confirmed", order)
    return order


def confirm_delivered_orders(*, days: int | None = None, actor: Actor = SYSTEM) -> int:
    """Confirm every delivered order whose last parcel arrived more than ``days`` ago."""
    from django.db.models import Exists, Max, OuterRef

    from fulfillment.models import Fulfillment

    days = settings.SHOP_AUTO_CONFIRM_DAYS if days is None else _as_int(days, "days")
    if days < 0:
        raise DomainError(f"days cannot be negative ({days}).", field="days")
    cutoff = timezone.now() - timedelta(days=days)
    late_parcel = Fulfillment.objects.filter(order=OuterRef("pk"), delivered_at__gt=cutoff)
    due = (
        Order.objects.filter(status=OrderStatus.DELIVERED)
        .annotate(last=Max("fulfillments__delivered_at"))
        .filter(last__lte=cutoff)
        .exclude(Exists(late_parcel))
        .values_list("pk", flat=True)
    )
    confirmed = 0
    for pk in list(due):
        with transaction.atomic():
            order = lock_order(pk)
            if order.status == OrderStatus.DELIVERED:
                reason = f"delivered more than {days} days ago"
                run_transition(order, "confirm", actor=actor, order_id=order.pk, reason=reason)
                record_event("order.confirmed", order)
                confirmed += 1
    return confirmed


# ---------------------------------------------------------------------------------------------
# The order follows its children


def sync_order_after_shipping(
    order: Order,
    *,
    actor: Actor,
    quantities: dict | None = None,
    logs: list | None = None,
    save: bool = True,
) -> None:
    """Move the order forward as its parcels move: preparing → shipped → delivered.

    ``quantities`` are the order's units as they now are when the caller already knows them
    (it holds the order's lock); ``logs`` and ``save`` are passed on to ``run_transition``."""
    if order.status not in (OrderStatus.PREPARING, OrderStatus.SHIPPED):
        return
    units = (item_quantities(order) if quantities is None else quantities).values()
    moves = {"actor": actor, "order_id": order.pk, "logs": logs, "save": save}
    if order.status == OrderStatus.PREPARING and all(q.shipped >= q.ordered for q in units):
        run_transition(order, "ship", reason="every unit shipped", **moves)
    if order.status == OrderStatus.SHIPPED and all(q.delivered >= q.ordered for q in units):
        run_transition(order, "deliver", reason="every unit delivered", **moves)
        record_event("order.delivered", order)


def sync_order_after_requests(order: Order, *, actor: Actor, reason: str = "") -> None:
    """Recompute the order's after-sales state from its returns and exchanges, and move it there.

    Any request waiting for a decision → return_requested; any being processed (or an
    exchange whose replacement has not arrived) → return_processing; otherwise returned when
    every delivered unit came back, else delivered.
    """
    from fulfillment.models import Fulfillment, FulfillmentStatus
    from returns.models import Exchange, RequestStatus, Return

    after_sales = (
        OrderStatus.DELIVERED,
        OrderStatus.RETURN_REQUESTED,
        OrderStatus.RETURN_PROCESSING,
        OrderStatus.RETURNED,
    )
    if order.status not in after_sales:
        return
    statuses = set(Return.objects.filter(order=order).values_list("status", flat=True))
    statuses |= set(Exchange.objects.filter(order=order).values_list("status", flat=True))
    replacement_out = (
        Fulfillment.objects.filter(order=order, exchange__isnull=False)
        .exclude(status=FulfillmentStatus.DELIVERED)
        .exists()
    )
    if RequestStatus.REQUESTED in statuses:
        desired = OrderStatus.RETURN_REQUESTED
    elif statuses & {RequestStatus.APPROVED, RequestStatus.PROCESSING} or replacement_out:
        desired = OrderStatus.RETURN_PROCESSING
    else:
        quantities = item_quantities(order).values()
        everything_back = all(q.returned >= q.delivered for q in quantities)
        any_returned = any(q.returned for q in quantities)
        desired = (
            OrderStatus.RETURNED if everything_back and any_returned else OrderStatus.DELIVERED
        )
    move_order_to(order, desired, actor=actor, reason=reason)


def move_order_to(order: Order, desired: str, *, actor: Actor, reason: str = "") -> None:
    """Run the shortest chain of order transitions from the current status to ``desired``."""
    if order.status == desired:
        return
    edges: dict[str, list[tuple[str, str]]] = {}
    for t in order.get_all_status_transitions():
        edges.setdefault(t.source, []).append((t.name, t.target))
    paths: dict[str, list[str]] = {order.status: []}
    queue = deque([order.status])
    while queue:
        state = queue.popleft()
        for name, target in edges.get(state, []):
            if target not in paths:
                paths[target] = [*paths[state], name]
                queue.append(target)
    for name in paths.get(desired) or [None]:
        if name is None:
            raise DomainError(f"Order {order.order_number} cannot reach {desired}.")
        run_transition(order, name, actor=actor, order_id=order.pk, reason=reason)


# ---------------------------------------------------------------------------------------------
# Details that are not state

ADDRESS_LOCKED = (
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.CONFIRMED,
    OrderStatus.RETURN_REQUESTED,
    OrderStatus.RETURN_PROCESSING,
    OrderStatus.RETURNED,
    OrderStatus.CANCELED,
)


@service
def update_order_details(
    *,
    order: Order | int,
    actor: Actor = SYSTEM,
    staff_note: str | None = None,
    shipping_address: dict | None = None,
) -> Order:
    """Staff edit what is not a state: the internal note, and the shipping address (only the
    keys given) until a parcel has shipped."""
    from fulfillment.models import Fulfillment, FulfillmentStatus

    order = lock_order(order)
    fields = []
    if staff_note is not None:
        if not isinstance(staff_note, str):
            raise DomainError("staffNote must be text.", field="staffNote")
        order.staff_note = staff_note
        fields.append("staff_note")
    if shipping_address is not None:
        if not isinstance(shipping_address, dict):
            raise DomainError("shippingAddress must be an object.", field="shippingAddress")
        shipped = Fulfillment.objects.filter(
            order=order,
            exchange__isnull=True,
            status__in=[FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED],
        ).exists()
        if order.status in ADDRESS_LOCKED or shipped:
            raise DomainError(
                f"Order {order.order_number} is {order.status}: its shipping address can no "
                "longer change.",
                field="shippingAddress",
            )
        address = _clean_group(shipping_address, ADDRESS_FIELDS, "shippingAddress")
        _refuse_missing(
            [
                f"shippingAddress.{key}"
                for key in PARCEL_NEEDS
                if address.get(ADDRESS_FIELDS[key]) == ""  # given, and blank
            ]
        )
        for column, value in address.items():
            setattr(order, column, value)
            fields.append(column)
    if fields:
        order.save(update_fields=[*fields, "updated_at"])
    return order


# ---------------------------------------------------------------------------------------------
# Staff work on an order


@service
def start_preparing(*, order: Order | int, actor: Actor = SYSTEM, reason: str = "") -> Order:
    """The warehouse starts on a paid order before any parcel exists (picking, a pre-order)."""
    order = lock_order(order)
    run_transition(order, "start_preparing", actor=actor, order_id=order.pk, reason=reason)
    return order


def set_staff_note(*, order: Order | int, note: str, actor: Actor = SYSTEM) -> Order:
    """Replace the order's internal note (never shown to the buyer)."""
    if not isinstance(note, str):
        raise DomainError("The staff note must be text.", field="staffNote")
    return update_order_details(order=order, actor=actor, staff_note=note.strip())
