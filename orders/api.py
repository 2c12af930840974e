"""REST collections of the orders app: orders, order items (alias order-products), transactions."""

from typing import Any

from django.db import transaction

from orders import services as order_services
from orders.models import (
    Order,
    OrderItem,
    OrderStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from orders.values import CustomerSnapshot, OrderDraft, OrderLine
from shop.api import access
from shop.api.catalog import shipping_address, text_members
from shop.api.collections import (
    Choice,
    Collection,
    Group,
    Id,
    Integer,
    Join,
    Relation,
    Text,
    registry,
    timestamps,
)
from shop.api.documents import Written
from shop.api.writes import Body, body_schema
from shop.errors import Conflict, DomainError
from shop.models import Cart
from shop.values import as_int, pk_or_none

orders = Collection(
    slug="orders",
    model=Order,
    singular="Order",
    plural="Orders",
    description="Orders, with their items, payments, parcels, returns and exchanges as joins.",
    fields=[
        Id(),
        Text("orderNumber", "order_number"),
        Relation("customer", to="customers", nullable=True),
        Relation("cart", to="carts", nullable=True),
        Group(
            "customerSnapshot",
            [
                Text("name", "customer_name"),
                Text("email", "customer_email"),
                Text("phone", "customer_phone"),
            ],
            description="The customer as they were at order time.",
        ),
        Group(
            "shippingAddress",
            [
                Text("recipientName", "shipping_recipient_name"),
                Text("phone", "shipping_phone"),
                Text("postalCode", "shipping_postal_code"),
                Text("address1", "shipping_address1"),
                Text("address2", "shipping_address2"),
            ],
        ),
        Choice("status", choices=OrderStatus.choices),
        Text("currency"),
        Integer("subtotalAmount", "subtotal_amount"),
        Integer("shippingAmount", "shipping_amount"),
        Integer("discountAmount", "discount_amount"),
        Integer("totalAmount", "total_amount"),
        Text("staffNote", "staff_note", private=True, description="A note for staff."),
        Text("deliveryNote", "delivery_note", description="The buyer's note for the delivery."),
        *timestamps(),
    ],
    joins=[
        Join("items", "order-items", fk="order", limit=None, sort="id"),
        Join("transactions", "transactions", fk="order"),
        Join("fulfillments", "fulfillments", fk="order"),
        Join("returns", "returns", fk="order"),
        Join("exchanges", "exchanges", fk="order"),
    ],
)

order_items = Collection(
    slug="order-items",
    aliases=("order-products",),
    model=OrderItem,
    singular="Order item",
    plural="Order items",
    description="Order lines: catalog links plus a snapshot of title, sku and price.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Relation("product", to="products", nullable=True),
        Relation("variant", to="variants", nullable=True),
        Relation("option", to="options", nullable=True),
        Text("title"),
        Text("sku"),
        Integer("unitPrice", "unit_price"),
        Integer("quantity"),
        Integer("totalPrice", "total_price"),
        *timestamps(),
    ],
)

transactions = Collection(
    slug="transactions",
    model=Transaction,
    singular="Transaction",
    plural="Transactions",
    description="Payments and refunds. totalAmount and method are the older names of amount and "
    "paymentMethod, returned and accepted beside them.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Choice("kind", choices=TransactionKind.choices),
        Choice("status", choices=TransactionStatus.choices),
        Integer("amount"),
        Integer("totalAmount", "amount", description="Older name of amount."),
        Text("paymentMethod", "payment_method"),
        Text("method", "payment_method", description="Older name of paymentMethod."),
        Text("paymentId", "payment_id", nullable=True),
        *timestamps(),
    ],
)

registry.register(orders, order_items, transactions)


# ---------------------------------------------------------------------------------------------
# Writes: the server API and staff changes, each one service call.

ORDER_LINE_SCHEMA = {
    "type": "object",
    "properties": {
        "product": {"type": "integer", "format": "int64"},
        "variant": {"type": "integer", "format": "int64", "nullable": True},
        "option": {"type": "integer", "format": "int64", "nullable": True},
        "quantity": {"type": "integer", "minimum": 1},
        "unitPrice": {
            "type": "integer",
            "minimum": 0,
            "description": "Omitted: the catalog price.",
        },
    },
    "required": ["product", "quantity"],
}
GROUPS = {
    item.name: item.schema()
    for item in orders.fields
    if item.name in ("customerSnapshot", "shippingAddress")
}
# What an order's parcel needs (the services refuse an order without it).
PARCEL_ADDRESS = {**GROUPS["shippingAddress"], "required": list(order_services.PARCEL_NEEDS)}
CREATE_FIELDS = [
    "orderNumber",
    "customer",
    "cart",
    "customerSnapshot",
    "shippingAddress",
    "orderProducts",
    "items",
    "totalAmount",
    "shippingAmount",
    "discountAmount",
    "paymentId",
    "paymentMethod",
    "currency",
    "deliveryNote",
]
CHECKOUT_FIELDS = [
    "cartId",
    "orderNumber",
    "customerSnapshot",
    "shippingAddress",
    "paymentId",
    "paymentMethod",
    "totalAmount",
    "deliveryNote",
]
UPDATE_FIELDS = ["status", "staffNote", "shippingAddress", "reason"]


def _text(body: Body, key: str) -> str | None:
    value = body.raw(key)
    if value is None:
        return None
    if not isinstance(value, str | int):
        body.error(key, "Must be text.")
        return None
    return str(value)


def _created(result: order_services.OrderResult, *, cart_id=None) -> Written:
    """The new order as stored, with its lines and payment (the answer is rendered from them);
    a replay of a checkout or payment is a 409 naming the order."""
    order = result.order
    if result.created:
        related = [
            getattr(order, name)
            for name in ("customer", "cart")
            if Order._meta.get_field(name).is_cached(order) and getattr(order, name) is not None
        ]
        # A new order has no parcel, return or exchange yet.
        joins = {"items": result.items, "transactions": result.transactions}
        joins.update(fulfillments=[], returns=[], exchanges=[])
        return Written(order, related=related, joins=joins)
    data = {"id": order.pk, "orderNumber": order.order_number}
    if cart_id is not None and order.cart_id == cart_id:
        message = f"Cart {cart_id} has already been checked out as order {order.order_number}."
        raise Conflict(message, field="cart", data=data)
    message = f"This payment has already paid for order {order.order_number}."
    raise Conflict(message, field="paymentId", data=data)


# ---------------------------------------------------------------------------------------------
# The wire format → the values the services take (the only place that knows both)

SNAPSHOT_MEMBERS = {"name": "name", "email": "email", "phone": "phone"}


def customer_snapshot(value: Any) -> CustomerSnapshot:
    """``customerSnapshot`` as a ``CustomerSnapshot`` of the members sent."""
    return CustomerSnapshot(**text_members(value, SNAPSHOT_MEMBERS, "customerSnapshot"))


def order_lines(value: Any) -> tuple[OrderLine, ...]:
    """``orderProducts`` (or ``items``): [{product, variant?, option?, quantity?, unitPrice?}]."""
    if not isinstance(value, list) or not value:
        raise DomainError("An order needs at least one item.", field="orderProducts")
    lines = []
    for index, raw in enumerate(value):
        if not isinstance(raw, dict):
            raise DomainError(f"Item {index + 1} must be an object.", field="orderProducts")
        product = pk_or_none(raw.get("product"), "product")
        if product is None:
            raise DomainError(f"Item {index + 1} names no product.", field="product")
        unit_price = raw.get("unitPrice")
        lines.append(
            OrderLine(
                product=product,
                quantity=as_int(raw.get("quantity", 1), "quantity"),
                variant=pk_or_none(raw.get("variant"), "variant"),
                option=pk_or_none(raw.get("option"), "option"),
                unit_price=None if unit_price is None else as_int(unit_price, "unitPrice"),
            )
        )
    return tuple(lines)


def unit_lines(value: Any, *, extra: dict[str, str] | None = None) -> list[dict]:
    """``[{orderItem, quantity?, ...}]`` (a parcel's or a request's units) as keyword arguments
    of ``ItemUnits`` / ``ReturnLine``: ``order_item``, ``quantity`` when sent, and the
    relations named in ``extra`` (wire name → argument)."""
    if value in (None, ""):
        return []
    shape = "items must be a list of {orderItem, quantity}."
    if not isinstance(value, list) or not all(isinstance(raw, dict) for raw in value):
        raise DomainError(shape, field="items")
    lines = []
    for raw in value:
        line = {"order_item": as_int(raw.get("orderItem"), "orderItem")}
        if raw.get("quantity") is not None:
            line["quantity"] = as_int(raw["quantity"], "quantity")
        for member, name in (extra or {}).items():
            line[name] = pk_or_none(raw.get(member), member)
        lines.append(line)
    return lines


def amount(value: Any, field: str, default: int | None = None) -> int | None:
    """A whole amount from JSON (a number or numeric text); absent or empty: ``default``."""
    return default if value in (None, "") else as_int(value, field)


def order_draft(body: Body, *, lines: tuple[OrderLine, ...] = ()) -> OrderDraft:
    """What createOrder and checkout bodies share, as an ``OrderDraft``."""
    return OrderDraft(
        lines=lines,
        order_number=_text(body, "orderNumber"),
        customer_snapshot=customer_snapshot(body.raw("customerSnapshot")),
        shipping_address=shipping_address(body.raw("shippingAddress")),
        total_amount=amount(body.raw("totalAmount"), "totalAmount"),
        shipping_amount=amount(body.raw("shippingAmount"), "shippingAmount", 0),
        discount_amount=amount(body.raw("discountAmount"), "discountAmount", 0),
        payment_id=_text(body, "paymentId"),
        payment_method=_text(body, "paymentMethod") or "",
        currency=_text(body, "currency"),
        delivery_note=_text(body, "deliveryNote") or "",
    )


def _checkout(request, body: Body, cart_id: int, customer_id: int | None) -> Written:
    draft = order_draft(body)
    body.check()  # a member that is not text: nothing is created
    try:
        result = order_services.checkout_cart(
            cart=cart_id, draft=draft, actor=access.actor(request), customer=customer_id
        )
    except order_services.PaymentTaken as taken:
        data = {"id": taken.order.pk, "orderNumber": taken.order.order_number}
        raise Conflict(taken.message, field="paymentId", data=data) from taken
    return _created(result, cart_id=cart_id)


def create_order(request, data) -> Written:
    """POST /api/orders: the current seed's createOrder body (lines with prices), or the
    previous seed's {customer, cart, shippingAddress} (lines, prices and totals from the cart)."""
    body = Body(request, orders, data, accepts=CREATE_FIELDS, action="add")
    customer = body.value("customer")
    cart = body.value("cart")
    lines = body.raw("orderProducts", body.raw("items"))
    if lines is None and cart is None and not body.errors:
        body.error("orderProducts", "An order needs orderProducts (or a cart to check out).")
    body.check()
    if lines is None:
        return _checkout(request, body, cart, customer)
    draft = order_draft(body, lines=order_lines(lines))
    body.check()  # a member that is not text: nothing is created
    result = order_services.create_order(
        draft=draft,
        actor=access.actor(request),
        customer=customer,
        cart=Cart.objects.get(pk=cart) if cart is not None else None,
    )
    return _created(result)


def checkout(request, data) -> Written:
    """POST /api/checkout: the current seed's checkout body."""
    body = Body(request, orders, data, accepts=CHECKOUT_FIELDS, action="add")
    cart_id = body.value("cartId", Relation("cartId", "cart", to="carts"), required=True)
    body.check()
    return _checkout(request, body, cart_id, None)


def update_order(request, pk: int, data) -> None:
    """PATCH /api/orders/<id>: {status} runs the matching service; staffNote and
    shippingAddress are edited by update_order_details."""
    body = Body(request, orders, data, accepts=UPDATE_FIELDS, action="change", pk=pk)
    status = body.value("status")
    reason = _text(body, "reason") or ""
    body.check()
    actor = access.actor(request)
    with transaction.atomic():
        # Only what changes (a document sent back as read repeats the rest).
        if body.changed("staffNote") or body.changed("shippingAddress"):
            note = body.raw("staffNote") if body.changed("staffNote") else None
            if note is not None and not isinstance(note, str):
                raise DomainError("staffNote must be text.", field="staffNote")
            address = body.raw("shippingAddress") if body.changed("shippingAddress") else None
            if address is not None and not isinstance(address, dict):
                raise DomainError("shippingAddress must be an object.", field="shippingAddress")
            order_services.update_order_details(
                order=pk,
                actor=actor,
                staff_note=note,
                shipping_address=None if address is None else shipping_address(address),
            )
        if status is None:
            return
        access.check_transition(request, orders, status)
        # The document sent back with edits: its unchanged status is no move.
        edited = "staffNote" in body or "shippingAddress" in body
        order_services.move_order(
            order=pk, status=status, actor=actor, reason=reason, unchanged_ok=edited
        )


orders.create = create_order
orders.update = update_order
orders.create_schema = body_schema(
    orders,
    CREATE_FIELDS,
    extra={
        **GROUPS,
        "customerSnapshot": {
            **GROUPS["customerSnapshot"],
            "description": "The customer's name is required, unless customer gives it.",
        },
        "shippingAddress": {
            **PARCEL_ADDRESS,
            "description": "Where the parcel goes (every member but address2 is required); "
            "required, except with a cart that holds one.",
        },
        "orderProducts": {"type": "array", "items": ORDER_LINE_SCHEMA, "minItems": 1},
        "items": {
            "type": "array",
            "items": ORDER_LINE_SCHEMA,
            "description": "Another name for orderProducts.",
        },
        "paymentId": {
            "type": "string",
            "description": "Records a paid payment; the same id again is a 409 naming the order.",
        },
        "paymentMethod": {"type": "string"},
        "cart": {
            "type": "integer",
            "format": "int64",
            "description": "Without orderProducts: check this cart out (lines and prices from it).",
        },
        "customer": {"type": "integer", "format": "int64", "nullable": True},
        "currency": {"type": "string", "description": "Only the shop's (SHOP_CURRENCY)."},
    },
    description="The server API's createOrder (lines with unit prices and the total to check), "
    "or {customer, cart, shippingAddress} to check a cart out. A line names the variant, and "
    "its option, when its product has them.",
)
orders.update_schema = body_schema(
    orders,
    UPDATE_FIELDS,
    extra={
        "status": {
            "type": "string",
            "enum": list(order_services.STATUS_SERVICES),
            "description": "Runs the transition: paid records a manual payment, canceled voids "
            "payments and restocks, failed records a failed payment, pending retries, "
            "confirmed confirms a delivered order.",
        },
        "shippingAddress": GROUPS["shippingAddress"],
        "reason": {"type": "string", "description": "Recorded in the timeline."},
    },
)
CHECKOUT_SCHEMA = body_schema(
    orders,
    [],
    extra={
        "cartId": {"type": "integer", "format": "int64"},
        "orderNumber": {"type": "string", "description": "Generated when not given."},
        **GROUPS,
        "shippingAddress": {
            **PARCEL_ADDRESS,
            "description": "Where the parcel goes (every member but address2 is required); "
            "omitted: the cart's.",
        },
        "paymentId": {"type": "string"},
        "paymentMethod": {"type": "string"},
        "totalAmount": {"type": "integer", "description": "Checked against the cart's total."},
        "deliveryNote": {"type": "string", "maxLength": 500},
    },
    required=["cartId"],
)
registry.action("checkout", orders, checkout, CHECKOUT_SCHEMA)

TRANSACTION_FIELDS = [
    "order",
    "amount",
    "totalAmount",
    "paymentId",
    "paymentMethod",
    "method",
    "status",
    "reason",
]


def create_transaction(request, data) -> int:
    """POST /api/transactions: a payment came in (status paid, the default) or failed."""
    body = Body(request, transactions, data, accepts=TRANSACTION_FIELDS, action="add")
    order = body.value("order", required=True)
    amount = body.value("amount") if "amount" in body else body.value("totalAmount")
    status = body.value("status") or TransactionStatus.PAID
    payment_id = _text(body, "paymentId")
    method = _text(body, "paymentMethod") or _text(body, "method") or ""
    reason = _text(body, "reason") or ""
    if status not in (TransactionStatus.PAID, TransactionStatus.FAILED):
        body.error("status", "A payment is recorded as paid or failed.")
    body.check()
    order_services.refuse_known_payment_id(payment_id)
    actor = access.actor(request)
    if status == TransactionStatus.FAILED:
        txn = order_services.fail_payment(
            order=order,
            actor=actor,
            reason=reason,
            payment_id=payment_id,
            payment_method=method,
            amount=amount,
        )
    else:
        txn = order_services.record_payment(
            order=order, actor=actor, amount=amount, payment_id=payment_id, payment_method=method
        )
    return txn.pk


transactions.create = create_transaction
transactions.create_schema = body_schema(
    transactions,
    TRANSACTION_FIELDS,
    required=["order"],
    extra={
        "status": {"type": "string", "enum": ["paid", "failed"], "default": "paid"},
        "amount": {"type": "integer", "description": "Omitted: what is still due."},
        "reason": {"type": "string", "description": "Why a payment failed (timeline)."},
    },
)
