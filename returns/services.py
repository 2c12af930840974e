"""Every state change of returns and exchanges.

request → approve | reject; receive (the units are back: decide per line how many go back on
the shelf) → complete (a return refunds; an exchange sends the replacement units). Each service
locks the order first, then the request, and recomputes the order's after-sales state.
"""

from typing import Any

from django.db.models import Model
from django.utils import timezone

from fulfillment.models import Fulfillment, FulfillmentItem
from orders.models import Order, OrderStatus, Transaction, TransactionKind
from orders.selectors import item_quantities, order_money
from orders.services import _as_int, _pk_or_none, lock_order, sync_order_after_requests
from orders.transitions import run_transition
from returns.models import (
    Exchange,
    ExchangeItem,
    ExchangeReason,
    RequestStatus,
    Return,
    ReturnItem,
    ReturnReason,
)
from shop import stock
from shop.actors import SYSTEM, Actor
from shop.db import service
from shop.errors import DomainError, NotFound
from shop.models import Option, Variant

# Units can be asked back while the order is in one of these states.
RETURNABLE = (
    OrderStatus.DELIVERED,
    OrderStatus.RETURN_REQUESTED,
    OrderStatus.RETURN_PROCESSING,
)


def _lock_request(model: type[Model], pk: Any) -> tuple[Order, Model]:
    label = model._meta.verbose_name.capitalize()
    request_pk = pk.pk if isinstance(pk, model) else _pk_or_none(pk, model._meta.model_name)
    order_id = model.objects.filter(pk=request_pk).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound(f"{label} {request_pk} does not exist.")
    order = lock_order(order_id)
    return order, model.objects.select_for_update().get(pk=request_pk)


def _claimed_units(order: Order, items: Any) -> dict[int, int]:
    """Check the asked-back units against what was delivered and not already asked back."""
    if not isinstance(items, list) or not items:
        raise DomainError("A request needs at least one item.", field="items")
    quantities = item_quantities(order)
    wanted: dict[int, int] = {}
    for raw in items:
        if not isinstance(raw, dict):
            raise DomainError("items must be a list of {orderItem, quantity}.", field="items")
        item_id = _as_int(raw.get("orderItem", raw.get("order_item")), "orderItem")
        if item_id not in quantities:
            raise DomainError(
                f"Order item {item_id} is not part of order {order.order_number}.",
                field="orderItem",
            )
        quantity = _as_int(raw.get("quantity", 1), "quantity")
        if quantity < 1:
            raise DomainError(f"quantity must be at least 1, not {quantity}.", field="quantity")
        wanted[item_id] = wanted.get(item_id, 0) + quantity
    for item_id, quantity in wanted.items():
        claimable = quantities[item_id].claimable
        if quantity > claimable:
            raise DomainError(
                f"Only {claimable} delivered unit(s) of order item {item_id} can be asked back, "
                f"not {quantity}.",
                field="quantity",
            )
    return wanted


def _check_reason(reason: Any, choices: type) -> str:
    if reason not in choices.values:
        raise DomainError(
            f"reason must be one of {', '.join(choices.values)}, not {reason!r}.", field="reason"
        )
    return reason


def _check_requestable(order: Order) -> None:
    if order.status not in RETURNABLE:
        raise DomainError(
            f"Order {order.order_number} is {order.status}: "
            "only delivered units can be asked back.",
            field="order",
        )


# ---------------------------------------------------------------------------------------------
# Returns


@service
def request_return(
    *, order: Order | int, reason: str, items: list[dict], actor: Actor = SYSTEM, note: str = ""
) -> Return:
    """The buyer asks to send delivered units back for a refund."""
    order = lock_order(order)
    reason = _check_reason(reason, ReturnReason)
    _check_requestable(order)
    wanted = _claimed_units(order, items)
    request = Return.objects.create(order=order, reason=reason, note=note or "")
    ReturnItem.objects.bulk_create(
        ReturnItem(return_request=request, order_item_id=pk, quantity=qty)
        for pk, qty in wanted.items()
    )
    request.refund_amount = _refund_due(request)
    request.save(update_fields=["refund_amount"])
    sync_order_after_requests(order, actor=actor, reason=f"return {request.pk} requested")
    return request


def _refund_due(request: Return) -> int:
    return sum(
        item.order_item.unit_price * item.quantity
        for item in request.items.select_related("order_item")
    )


@service
def approve_return(*, request: Return | int, actor: Actor = SYSTEM, reason: str = "") -> Return:
    order, request = _lock_request(Return, request)
    run_transition(request, "approve", actor=actor, order_id=order.pk, reason=reason)
    sync_order_after_requests(order, actor=actor, reason=f"return {request.pk} approved")
    return request


@service
def reject_return(*, request: Return | int, actor: Actor = SYSTEM, reason: str = "") -> Return:
    order, request = _lock_request(Return, request)
    request.rejection_reason = reason or ""
    run_transition(
        request,
        "reject",
        actor=actor,
        order_id=order.pk,
        reason=reason,
        update_fields=["rejection_reason"],
    )
    sync_order_after_requests(order, actor=actor, reason=f"return {request.pk} rejected")
    return request


def _set_restock(request_items, restock: dict | None) -> None:
    """Per line, how many received units go back on the shelf (default: all of them)."""
    restock = restock or {}
    if not isinstance(restock, dict):
        raise DomainError("restock must map order items to quantities.", field="restock")
    by_item = {str(k): v for k, v in restock.items()}
    for line in request_items:
        value = by_item.get(str(line.order_item_id), by_item.get(str(line.pk), line.quantity))
        quantity = _as_int(value, "restock")
        if not 0 <= quantity <= line.quantity:
            raise DomainError(
                f"Restock for order item {line.order_item_id} must be 0 to {line.quantity}, "
                f"not {quantity}.",
                field="restock",
            )
        line.restock_quantity = quantity
        line.save(update_fields=["restock_quantity", "updated_at"])


@service
def receive_return(
    *, request: Return | int, actor: Actor = SYSTEM, restock: dict | None = None
) -> Return:
    """The parcel is back: record per line how many units are fit to sell again."""
    order, request = _lock_request(Return, request)
    if request.status != RequestStatus.APPROVED:
        run_transition(request, "start_processing", actor=actor, order_id=order.pk)  # refuses
    _set_restock(list(request.items.all()), restock)
    request.received_at = timezone.now()
    run_transition(
        request, "start_processing", actor=actor, order_id=order.pk, update_fields=["received_at"]
    )
    return request


@service
def complete_return(
    *, request: Return | int, actor: Actor = SYSTEM, refund_amount: Any = None
) -> Return:
    """Refund the buyer (never more than was paid and not yet refunded) and restock."""
    order, request = _lock_request(Return, request)
    if refund_amount not in (None, ""):
        request.refund_amount = _as_int(refund_amount, "refundAmount")
    if request.refund_amount < 0:
        raise DomainError("refundAmount cannot be negative.", field="refundAmount")
    refundable = order_money(order).refundable
    if request.refund_amount > refundable:
        raise DomainError(
            f"Refund {request.refund_amount} is more than the {refundable} left to refund.",
            field="refundAmount",
        )
    request.completed_at = timezone.now()
    if request.refund_amount:
        refund = Transaction.objects.create(
            order=order, kind=TransactionKind.REFUND, amount=request.refund_amount
        )
        run_transition(refund, "mark_paid", actor=actor, order_id=order.pk, reason="refund")
        request.refund_transaction = refund
    run_transition(
        request,
        "complete",
        actor=actor,
        order_id=order.pk,
        update_fields=["refund_amount", "refund_transaction", "completed_at"],
    )
    _restock(request.items.select_related("order_item"))
    sync_order_after_requests(order, actor=actor, reason=f"return {request.pk} completed")
    return request


def _restock(lines) -> None:
    stock.release(
        (
            stock.stock_unit(
                product_id=line.order_item.product_id,
                variant_id=line.order_item.variant_id,
                option_id=line.order_item.option_id,
            ),
            line.restock_quantity,
        )
        for line in lines
        if line.order_item.product_id
    )


# ---------------------------------------------------------------------------------------------
# Exchanges


@service
def request_exchange(
    *, order: Order | int, reason: str, items: list[dict], actor: Actor = SYSTEM, note: str = ""
) -> Exchange:
    """The buyer asks to swap delivered units for others (``replacementVariant``/``Option``)."""
    order = lock_order(order)
    reason = _check_reason(reason, ExchangeReason)
    _check_requestable(order)
    wanted = _claimed_units(order, items)
    replacements = _replacements(order, items)
    exchange = Exchange.objects.create(order=order, reason=reason, note=note or "")
    ExchangeItem.objects.bulk_create(
        ExchangeItem(
            exchange=exchange,
            order_item_id=pk,
            quantity=qty,
            replacement_variant=replacements[pk][0],
            replacement_option=replacements[pk][1],
        )
        for pk, qty in wanted.items()
    )
    sync_order_after_requests(order, actor=actor, reason=f"exchange {exchange.pk} requested")
    return exchange


def _replacements(order: Order, items: list[dict]) -> dict[int, tuple]:
    lines = {line.pk: line for line in order.items.all()}
    found: dict[int, tuple] = {}
    for raw in items:
        item_id = _as_int(raw.get("orderItem", raw.get("order_item")), "orderItem")
        line = lines[item_id]
        variant_id = _pk_or_none(raw.get("replacementVariant"), "replacementVariant")
        option_id = _pk_or_none(raw.get("replacementOption"), "replacementOption")
        variant = Variant.objects.filter(pk=variant_id).first() if variant_id else line.variant
        if variant_id and variant is None:
            raise DomainError(f"Variant {variant_id} does not exist.", field="replacementVariant")
        if variant is not None and line.product_id and variant.product_id != line.product_id:
            raise DomainError(
                f"Variant {variant.pk} is not a variant of the ordered product.",
                field="replacementVariant",
            )
        option = Option.objects.filter(pk=option_id).first() if option_id else None
        if option_id and (option is None or variant is None or option.variant_id != variant.pk):
            raise DomainError(
                f"Option {option_id} is not an option of the replacement variant.",
                field="replacementOption",
            )
        if option is None and not variant_id:
            option = line.option
        found[item_id] = (variant, option)
    return found


@service
def approve_exchange(
    *, request: Exchange | int, actor: Actor = SYSTEM, reason: str = ""
) -> Exchange:
    order, request = _lock_request(Exchange, request)
    run_transition(request, "approve", actor=actor, order_id=order.pk, reason=reason)
    sync_order_after_requests(order, actor=actor, reason=f"exchange {request.pk} approved")
    return request


@service
def reject_exchange(
    *, request: Exchange | int, actor: Actor = SYSTEM, reason: str = ""
) -> Exchange:
    order, request = _lock_request(Exchange, request)
    request.rejection_reason = reason or ""
    run_transition(
        request,
        "reject",
        actor=actor,
        order_id=order.pk,
        reason=reason,
        update_fields=["rejection_reason"],
    )
    sync_order_after_requests(order, actor=actor, reason=f"exchange {request.pk} rejected")
    return request


@service
def receive_exchange(
    *, request: Exchange | int, actor: Actor = SYSTEM, restock: dict | None = None
) -> Exchange:
    order, request = _lock_request(Exchange, request)
    if request.status != RequestStatus.APPROVED:
        run_transition(request, "start_processing", actor=actor, order_id=order.pk)  # refuses
    _set_restock(list(request.items.all()), restock)
    request.received_at = timezone.now()
    run_transition(
        request, "start_processing", actor=actor, order_id=order.pk, update_fields=["received_at"]
    )
    return request


@service
def complete_exchange(*, request: Exchange | int, actor: Actor = SYSTEM) -> Exchange:
    """Restock what came back, reserve the replacement units and create their parcel."""
    order, request = _lock_request(Exchange, request)
    request.completed_at = timezone.now()
    run_transition(
        request, "complete", actor=actor, order_id=order.pk, update_fields=["completed_at"]
    )
    lines = list(request.items.select_related("order_item"))
    _restock(lines)
    stock.reserve(
        (
            stock.stock_unit(
                product_id=line.order_item.product_id,
                variant_id=line.replacement_variant_id,
                option_id=line.replacement_option_id,
            ),
            line.quantity,
        )
        for line in lines
        if line.order_item.product_id
    )
    parcel = Fulfillment.objects.create(
        order=order, exchange=request, note=f"Exchange {request.pk}"
    )
    FulfillmentItem.objects.bulk_create(
        FulfillmentItem(
            fulfillment=parcel, order_item_id=line.order_item_id, quantity=line.quantity
        )
        for line in lines
    )
    sync_order_after_requests(order, actor=actor, reason=f"exchange {request.pk} completed")
    return request
