"""REST collections of the orders app: orders, order items (alias order-products), transactions."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from orders import permissions
from orders import services as order_services
from orders.models import (
    Order,
    OrderComment,
    OrderItem,
    OrderStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
    TransitionLog,
)
from orders.values import CustomerSnapshot, OrderDraft, OrderLine
from shop.api import access
from shop.api.catalog import shipping_address, text_members
from shop.api.collections import (
    Choice,
    Collection,
    Computed,
    DateTime,
    Group,
    Id,
    Integer,
    Join,
    Nested,
    Relation,
    Text,
    registry,
    timestamps,
)
from shop.api.documents import Written
from shop.api.writes import Accept, Body, Lines, Write
from shop.errors import Conflict, DomainError
from shop.models import Cart
from shop.values import as_int, pk_or_none

orders = Collection(
    slug="orders",
    model=Order,
    singular="Order",
    plural="Orders",
    description="Orders, with their items, payments, parcels, returns and exchanges as joins.",
    owner="customer",
    # PATCH {status}: the transition group of each state a client may ask for; that
    # permission alone (without the order's change permission) writes only these fields.
    status_permissions={
        "paid": permissions.PAYMENTS.name,
        "failed": permissions.PAYMENTS.name,
        "pending": permissions.PAYMENTS.name,
        "canceled": permissions.PAYMENTS.name,
        "confirmed": permissions.FULFILMENT.name,
    },
    status_fields=frozenset({"status", "reason"}),
    fields=[
        Id(),
        Text("orderNumber", "order_number"),
        Relation("customer", to="customers", nullable=True),
        Relation("cart", to="carts", nullable=True),
        Group(
            "customerSnapshot",
            [
                Text("name", "customer_name", nullable=True),
                Text("email", "customer_email", nullable=True),
                Text("phone", "customer_phone", nullable=True),
            ],
            nullable=True,
            description="The customer as they were at order time.",
        ),
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
        ),
        Choice("status", choices=OrderStatus.choices),
        Text("currency"),
        Integer("subtotalAmount", "subtotal_amount"),
        Integer("shippingAmount", "shipping_amount"),
        Integer("discountAmount", "discount_amount"),
        Integer("totalAmount", "total_amount"),
        Text(
            "staffNote",
            "staff_note",
            private=True,
            description="A note for staff.",
            writes=("update",),
        ),
        Text(
            "deliveryNote",
            "delivery_note",
            description="The buyer's note for the delivery.",
            writes=("create", "checkout"),
        ),
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
    owner="order__customer",
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
    owner="order__customer",
    transition_permission=permissions.PAYMENTS.name,
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


# The transition log as documents: ``GET /api/orders/<id>/timeline``.


def _collection(row: dict):
    model = ContentType.objects.get_for_id(row["content_type_id"]).model_class()
    return registry.for_model(model) if model is not None else None


def _collection_of(row: dict) -> str | None:
    found = _collection(row)
    return found.slug if found else None


def _changes(row: dict) -> dict:
    """The entry's ``{field: {from, to}}`` under the changed collection's API field names."""
    changes = row["changes"] or {}
    found = _collection(row) if changes else None
    names = {column: name for name, (column, _field) in found.paths.items()} if found else {}
    return {names.get(column, column): change for column, change in changes.items()}


timeline = Collection(
    slug="timeline",
    model=TransitionLog,
    singular="Transition",
    plural="Transitions",
    routed=False,
    view_permission="orders.view_order",  # an order's history: whoever sees the order
    description="Every state change of an order and of everything under it, newest first, and "
    "every correction of a detail a state was reached with (a parcel's carrier or tracking "
    "number: from and to are the same state, changes says what changed).",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Computed(
            "collection",
            _collection_of,
            columns=["content_type_id"],
            schema={"type": "string", "description": "The slug of the changed document."},
        ),
        Integer("doc", "object_id", description="The changed document's id."),
        Text("transition"),
        Text("from", "source"),
        Text("to", "target"),
        Group("actor", [Text("kind", "actor_kind"), Text("label", "actor_label")]),
        Text("reason"),
        Computed(
            "changes",
            _changes,
            columns=["content_type_id", "changes"],
            schema={
                "type": "object",
                "description": "The details the entry set or corrected, each as {from, to} "
                "(e.g. a parcel's carrier and trackingNumber); empty when none.",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
                },
            },
        ),
        DateTime("createdAt", "created_at"),
    ],
)


# Staff comments as documents: ``GET /api/orders/<id>/comments`` (the admin's timeline shows
# them among the transitions; the log itself records changes only).
order_comments = Collection(
    slug="order-comments",
    model=OrderComment,
    singular="Order comment",
    plural="Order comments",
    routed=False,
    view_permission="orders.view_order",  # like the timeline: whoever sees the order
    default_sort="createdAt",
    description="What staff wrote on an order in its timeline, oldest first.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Text("author", "author_label", description="The staff member's username."),
        Text("body"),
        DateTime("createdAt", "created_at"),
    ],
)


registry.register(orders, order_items, transactions, timeline, order_comments)
registry.nest(
    Nested(
        "orders",
        "timeline",
        timeline,
        fk="order",
        description="The order's transition log (its own and its children's), newest first.",
    )
)
registry.nest(
    Nested(
        "orders",
        "comments",
        order_comments,
        fk="order",
        description="What staff wrote on the order in its timeline, oldest first.",
    )
)


# ---------------------------------------------------------------------------------------------
# Writes: the server API and staff changes, each one service call.

# An order line as createOrder sends it.
ORDER_LINE = Lines(
    [
        Relation("product", to="products"),
        Relation("variant", to="variants", nullable=True),
        Relation("option", to="options", nullable=True),
        Integer("quantity", min_value=1),
        Integer("unitPrice", min_value=0, description="Omitted: the catalog price."),
    ],
    required=("product", "quantity"),
)
# What an order's parcel needs (the services refuse an order without it).
PARCEL_NEEDS = tuple(order_services.PARCEL_NEEDS)
PAYMENT_ID = Text(
    "paymentId",
    description="Records a paid payment; the same id again is a 409 naming the order.",
)

CREATE = Write(
    orders,
    "create",
    "orderNumber",
    "customer",
    Accept(
        "cart",
        description="Without orderProducts: check this cart out (lines and prices from it).",
    ),
    Accept(
        "customerSnapshot",
        description="The customer's name is required, unless customer gives it.",
    ),
    Accept(
        "shippingAddress",
        members_required=PARCEL_NEEDS,
        description="Where the parcel goes (every member but address2 is required); "
        "required, except with a cart that holds one.",
    ),
    Accept("orderProducts", Lines(ORDER_LINE.members, ORDER_LINE.required, min_items=1)),
    Accept("items", ORDER_LINE, description="Another name for orderProducts."),
    "totalAmount",
    "shippingAmount",
    "discountAmount",
    Accept("paymentId", PAYMENT_ID),
    Accept("paymentMethod", Text("paymentMethod")),
    Accept("currency", description="Only the shop's (SHOP_CURRENCY)."),
    description="The server API's createOrder (lines with unit prices and the total to check), "
    "or {customer, cart, shippingAddress} to check a cart out. A line names the variant, and "
    "its option, when its product has them.",
)
CHECKOUT = Write(
    orders,
    "checkout",
    Accept("cartId", Relation("cartId", "cart", to="carts"), required=True),
    Accept("orderNumber", description="Generated when not given."),
    "customerSnapshot",
    Accept(
        "shippingAddress",
        members_required=PARCEL_NEEDS,
        description="Where the parcel goes (every member but address2 is required); "
        "omitted: the cart's.",
    ),
    Accept("paymentId", PAYMENT_ID),
    Accept("paymentMethod", Text("paymentMethod")),
    Accept("totalAmount", description="Checked against the cart's total."),
)


def _text(body: Body, key: str) -> str | None:
    value = body.raw(key)
    if value is None:
        return None
    if not isinstance(value, str):
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
    body = Body(request, orders, data, accepts=CREATE, action="add")
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
    body = Body(request, orders, data, accepts=CHECKOUT, action="add")
    cart_id = body.value("cartId", Relation("cartId", "cart", to="carts"), required=True)
    body.check()
    return _checkout(request, body, cart_id, None)


def update_order(request, pk: int, data) -> None:
    """PATCH /api/orders/<id>: {status} runs the matching service; staffNote and
    shippingAddress are edited by update_order_details."""
    body = Body(request, orders, data, accepts=UPDATE, action="change", pk=pk)
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
UPDATE = Write(
    orders,
    "update",
    Accept(
        "status",
        enum=list(order_services.STATUS_SERVICES),
        description="Runs the transition: paid records a manual payment, canceled voids "
        "payments and restocks, failed records a failed payment, pending retries, "
        "confirmed confirms a delivered order.",
    ),
    "shippingAddress",
    Accept("reason", Text("reason"), description="Recorded in the timeline."),
)
registry.action("checkout", orders, checkout, CHECKOUT)

TRANSACTION = Write(
    transactions,
    "create",
    Accept("order", required=True),
    Accept("amount", description="Omitted: what is still due."),
    "totalAmount",
    "paymentId",
    "paymentMethod",
    "method",
    Accept("status", enum=["paid", "failed"], default="paid"),
    Accept("reason", Text("reason"), description="Why a payment failed (timeline)."),
)


def create_transaction(request, data) -> int:
    """POST /api/transactions: a payment came in (status paid, the default) or failed."""
    body = Body(request, transactions, data, accepts=TRANSACTION, action="add")
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
