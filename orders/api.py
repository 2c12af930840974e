"""REST collections of the orders app: orders, order items (alias order-products), transactions."""

from contextlib import nullcontext

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from orders import permissions
from orders import services as order_services
from orders.models import (
    Order,
    OrderItem,
    OrderStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
    TransitionLog,
)
from orders.transitions import allowed_targets
from shop.api import access
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
from shop.api.errors import ValidationError
from shop.api.writes import Accept, Body, Lines, Write
from shop.errors import Conflict, TransitionError
from shop.models import Cart
from shop.services import ensure_cart_open

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
        Text(
            "staffNote",
            "staff_note",
            private=True,
            description="A note for staff.",
            writes=("update",),
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


registry.register(orders, order_items, transactions, timeline)
registry.nest(
    Nested(
        "orders",
        "timeline",
        timeline,
        fk="order",
        description="The order's transition log (its own and its children's), newest first.",
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

# PATCH {status}: the service for each state a client may ask for.
STATUS_SERVICES = {
    OrderStatus.PAID: order_services.pay_order,
    OrderStatus.CANCELED: order_services.cancel_order,
    OrderStatus.FAILED: order_services.fail_payment,
    OrderStatus.PENDING: order_services.retry_order,
    OrderStatus.CONFIRMED: order_services.confirm_order,
}
# States the order reaches by itself as its parcels and requests move.
FOLLOWED = {
    OrderStatus.PREPARING: "fulfillments",
    OrderStatus.SHIPPED: "fulfillments",
    OrderStatus.DELIVERED: "fulfillments",
    OrderStatus.RETURN_REQUESTED: "returns and exchanges",
    OrderStatus.RETURN_PROCESSING: "returns and exchanges",
    OrderStatus.RETURNED: "returns and exchanges",
}


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


def _checkout(request, body: Body, cart_id: int, customer_id: int | None) -> Written:
    from shop.models import Cart

    # Only claiming a guest cart needs a transaction around the checkout's own.
    with transaction.atomic() if customer_id is not None else nullcontext():
        if customer_id is not None:
            cart = Cart.objects.select_for_update().get(pk=cart_id)
            if cart.customer_id is None:
                # A guest cart becomes the customer's as it checks out.
                ensure_cart_open(cart)
                Cart.objects.filter(pk=cart_id).update(customer_id=customer_id)
            elif cart.customer_id != customer_id:
                raise ValidationError.one(
                    "orders", "cart", f"Cart {cart_id} belongs to another customer."
                )
        result = order_services.checkout_cart(
            cart_id=cart_id,
            actor=access.actor(request),
            order_number=_text(body, "orderNumber"),
            customer_snapshot=body.raw("customerSnapshot"),
            shipping_address=body.raw("shippingAddress"),
            payment_id=_text(body, "paymentId"),
            payment_method=_text(body, "paymentMethod") or "",
            total_amount=body.raw("totalAmount"),
        )
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
    result = order_services.create_order(
        items=lines,
        actor=access.actor(request),
        order_number=_text(body, "orderNumber"),
        customer=customer,
        cart=Cart.objects.get(pk=cart) if cart is not None else None,
        customer_snapshot=body.raw("customerSnapshot"),
        shipping_address=body.raw("shippingAddress"),
        total_amount=body.raw("totalAmount"),
        shipping_amount=body.raw("shippingAmount", 0),
        discount_amount=body.raw("discountAmount", 0),
        payment_id=_text(body, "paymentId"),
        payment_method=_text(body, "paymentMethod") or "",
        currency=_text(body, "currency"),
    )
    body.check()
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
        edits = {
            key: body.raw(key) for key in ("staffNote", "shippingAddress") if body.changed(key)
        }
        if edits:
            order_services.update_order_details(
                order=pk,
                actor=actor,
                staff_note=edits.get("staffNote"),
                shipping_address=edits.get("shippingAddress"),
            )
        if status is None:
            return
        access.check_transition(request, orders, status)
        order = order_services.lock_order(pk)
        if status == order.status and ("staffNote" in body or "shippingAddress" in body):
            return  # the document sent back with edits: its unchanged status is no move
        allowed = [t for t in allowed_targets(order) if t in STATUS_SERVICES]
        if status not in allowed:
            if status == order.status:
                message = f"Order {order.pk} is already {status}."
            elif status in FOLLOWED:
                message = (
                    f"An order becomes {status} by itself as its {FOLLOWED[status]} progress: "
                    f"change those instead (order {order.pk} is {order.status})."
                )
            else:
                message = f"Cannot move order {order.pk} from {order.status} to {status}"
            raise TransitionError(message, current=order.status, allowed=allowed)
        STATUS_SERVICES[status](order=order, actor=actor, reason=reason)


orders.create = create_order
orders.update = update_order
UPDATE = Write(
    orders,
    "update",
    Accept(
        "status",
        enum=list(STATUS_SERVICES),
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
    if payment_id:
        existing = Transaction.objects.filter(payment_id=payment_id).first()
        if existing is not None:
            raise Conflict(
                f"Payment {payment_id} is already recorded (transaction {existing.pk}).",
                field="paymentId",
                data={"id": existing.pk, "order": existing.order_id},
            )
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
