"""Staff work on an order: cancel, start preparing, confirm, the details that are not state
(the internal note, the shipping address until a parcel has left), and comments in its
timeline."""

from events.outbox import record_event
from orders.models import (
    MAX_COMMENT,
    Order,
    OrderComment,
    OrderStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from orders.services.checkout import refuse_missing
from orders.services.common import item_stock_unit, lock_order
from orders.services.following import CHILDREN
from orders.services.payments import fail_payment, pay_order, retry_order
from orders.transitions import allowed_targets, run_transition
from shop import stock
from shop.actors import SYSTEM, Actor, ActorKind
from shop.db import service
from shop.errors import Conflict, DomainError, TransitionError
from shop.values import Address


@service
def cancel_order(*, order: Order | int, actor: Actor = SYSTEM, reason: str = "") -> Order:
    """Cancel before anything has shipped: payments are voided, reserved stock comes back,
    parcels not yet sent are called off (failed, by the step fulfilment registered)."""
    order = lock_order(order)
    if CHILDREN.any_shipped(order):
        raise Conflict(
            f"Order {order.order_number} has shipped parcels: it can no longer be canceled.",
            data={"status": order.status, "allowed": []},
        )
    run_transition(order, "cancel", actor=actor, order_id=order.pk, reason=reason)
    called_off = [event for call_off in CHILDREN.call_off for event in call_off(order, actor=actor)]
    payments = Transaction.objects.select_for_update().filter(
        order=order,
        kind=TransactionKind.PAYMENT,
        status__in=[TransactionStatus.PENDING, TransactionStatus.PAID],
    )
    for txn in payments.order_by("pk"):
        run_transition(txn, "void", actor=actor, order_id=order.pk, reason="order canceled")
    stock.release((item_stock_unit(item), item.quantity) for item in order.items.all())
    record_event("order.canceled", order)
    for event_type, row in called_off:
        record_event(event_type, row)
    return order


@service
def confirm_order(*, order: Order | int, actor: Actor = SYSTEM, reason: str = "") -> Order:
    """The buyer (or the shop, after the return window) confirms the purchase."""
    order = lock_order(order)
    run_transition(order, "confirm", actor=actor, order_id=order.pk, reason=reason)
    record_event("order.confirmed", order)
    return order


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
    shipping_address: Address | None = None,
) -> Order:
    """Staff edit what is not a state: the internal note, and the shipping address (only the
    members given) until a parcel has shipped."""
    order = lock_order(order)
    fields = []
    if staff_note is not None:
        order.staff_note = staff_note
        fields.append("staff_note")
    if shipping_address is not None:
        if order.status in ADDRESS_LOCKED or CHILDREN.any_shipped(order):
            raise DomainError(
                f"Order {order.order_number} is {order.status}: its shipping address can no "
                "longer change.",
                field="shippingAddress",
            )
        refuse_missing(shipping_address.blank(given_only=True))
        for column, value in shipping_address.columns().items():
            setattr(order, column, value)
            fields.append(column)
    if fields:
        order.save(update_fields=[*fields, "updated_at"])
    return order


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


@service
def comment_on_order(*, order: Order | int, actor: Actor, body: str) -> OrderComment:
    """A staff member writes in the order's timeline (Shopify's comment): text only staff read,
    shown among the changes, by who wrote it and when. It changes no state."""
    if actor.kind != ActorKind.STAFF or actor.user is None:
        raise DomainError("Only a staff member can comment on an order.", field="actor")
    if not isinstance(body, str):
        raise DomainError("The comment must be text.", field="body")
    body = body.replace("\r\n", "\n").strip()  # a browser's line breaks count as one
    if not body:
        raise DomainError("Write something to comment: the comment is empty.", field="body")
    if len(body) > MAX_COMMENT:
        raise DomainError(
            f"A comment is at most {MAX_COMMENT:,} characters: this one has {len(body):,}.",
            field="body",
        )
    order = lock_order(order)
    return OrderComment.objects.create(
        order=order, author=actor.user, author_label=actor.label, body=body
    )


# ---------------------------------------------------------------------------------------------
# A move asked for by its target state (PATCH {status}, the admin's buttons)

# The service for each state a client may ask an order to move to.
STATUS_SERVICES = {
    OrderStatus.PAID: pay_order,
    OrderStatus.CANCELED: cancel_order,
    OrderStatus.FAILED: fail_payment,
    OrderStatus.PENDING: retry_order,
    OrderStatus.CONFIRMED: confirm_order,
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


@service
def move_order(
    *,
    order: Order | int,
    status: str,
    actor: Actor = SYSTEM,
    reason: str = "",
    unchanged_ok: bool = False,
) -> Order:
    """Move the order to ``status`` through the service for that move; a state the order only
    reaches by following its parcels or requests is refused with what to change instead.
    ``unchanged_ok``: the status it already has is no move (a document sent back with edits)."""
    order = lock_order(order)
    if unchanged_ok and status == order.status:
        return order
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
    return order
