"""Every state change of returns and exchanges.

request → approve | reject; receive (the units are back: decide per line how many go back on
the shelf) → complete (a return refunds; an exchange sends the replacement units). Each service
locks the order first, then the request, and recomputes the order's after-sales state.

Returns and exchanges share one machine (``returns.models.RequestMachine``); the helpers below
run its steps for either, and the public services add what differs (refund or replacement).
"""

from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django_fsm import can_proceed

from events.outbox import record_event
from fulfillment.services import create_replacement_fulfillment
from orders.models import Order, OrderStatus, Transaction, TransactionKind, TransactionStatus
from orders.selectors import order_money
from orders.services import item_stock_unit, lock_order, sync_order_after_requests
from orders.services.payments import record_balance_payment
from orders.transitions import record_change, refused, run_transition
from returns.models import (
    Exchange,
    ExchangeItem,
    ExchangeReason,
    RequestMachine,
    RequestStatus,
    Return,
    ReturnItem,
    ReturnReason,
)
from returns.selectors import after_sales, item_quantities
from returns.values import Restock, ReturnLine
from shop import stock
from shop.actors import SYSTEM, Actor
from shop.db import service
from shop.errors import Conflict, DomainError, NotFound
from shop.models import Option, Variant
from shop.services import check_unit
from shop.values import MAX_AMOUNT, MAX_NOTE, as_quantity, as_text, pk_or_none

# Units can be asked back while the order is in one of these states.
RETURNABLE = (
    OrderStatus.DELIVERED,
    OrderStatus.RETURN_REQUESTED,
    OrderStatus.RETURN_PROCESSING,
)


def _label(request: RequestMachine) -> str:
    return f"{request._meta.model_name} {request.pk}"


def _lock_request(model: type, request: Any) -> tuple[Order, Any]:
    """Lock the request's order, then the request (the project's fixed lock order)."""
    label = model._meta.verbose_name.capitalize()
    pk = request.pk if isinstance(request, model) else pk_or_none(request, "request")
    order_id = model.objects.filter(pk=pk).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound(f"{label} {pk} does not exist.", field="request")
    order = lock_order(order_id)
    return order, model.objects.select_for_update().get(pk=pk)


def follow_requests(order: Order, *, actor: Actor, reason: str) -> None:
    """Tell the order where its returns and exchanges now stand; it moves to match."""
    sync_order_after_requests(order, after_sales=after_sales(order), actor=actor, reason=reason)


def replacement_delivered(order: Order, parcel: Any, *, actor: Actor) -> None:
    """An exchange's replacement parcel arrived (``fulfillment.services.deliver_fulfillment``
    runs this, registered in ``returns.apps``): the order may be done with after-sales."""
    follow_requests(order, actor=actor, reason="replacement delivered")


# ---------------------------------------------------------------------------------------------
# Checks shared by returns and exchanges


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


def _claimed_units(order: Order, items: Sequence[ReturnLine]) -> dict[int, int]:
    """Check the asked-back units against what was delivered and not already asked back."""
    if not items:
        raise DomainError("A request needs at least one item.", field="items")
    quantities = item_quantities(order)
    wanted: dict[int, int] = {}
    for line in items:
        if line.order_item not in quantities:
            raise DomainError(
                f"Order item {line.order_item} is not part of order {order.order_number}.",
                field="orderItem",
            )
        wanted[line.order_item] = wanted.get(line.order_item, 0) + as_quantity(line.quantity)
    for item_id, quantity in wanted.items():
        claimable = quantities[item_id].claimable
        if quantity > claimable:
            raise DomainError(
                f"Only {claimable} delivered unit(s) of order item {item_id} can be asked back, "
                f"not {quantity}.",
                field="quantity",
            )
    return wanted


def _open_request(
    order: Order | int, reason: Any, reasons: type, items: Sequence[ReturnLine]
) -> tuple:
    """Lock the order and check a new request against it: (order, reason, units per item)."""
    order = lock_order(order)
    reason = _check_reason(reason, reasons)
    _check_requestable(order)
    return order, reason, _claimed_units(order, items)


def _set_restock(request: RequestMachine, restock: Restock | None) -> None:
    """Per line, how many received units go back on the shelf (default: all of them)."""
    if restock is None:
        restock = Restock()
    if not isinstance(restock, Restock):
        raise TypeError("restock is a returns.values.Restock")
    lines = list(request.items.all())
    by_order_item = {line.order_item_id: line for line in lines}
    by_line = {line.pk: line for line in lines}
    chosen: dict[int, int] = {}
    for key, quantity in restock.units.items():
        line = by_order_item.get(key) or by_line.get(key)
        if line is None:
            raise DomainError(
                f"Order item {key} is not part of {_label(request)}.", field="restock"
            )
        if line.pk in chosen:
            raise DomainError(
                f"Restock for order item {line.order_item_id} is given twice.", field="restock"
            )
        if quantity > line.quantity:
            raise DomainError(
                f"Restock for order item {line.order_item_id} must be 0 to {line.quantity}, "
                f"not {quantity}.",
                field="restock",
            )
        chosen[line.pk] = quantity
    now = timezone.now()
    for line in lines:
        line.restock_quantity = chosen.get(line.pk, line.quantity)
        line.updated_at = now
    if lines:
        type(lines[0]).objects.bulk_update(lines, ["restock_quantity", "updated_at"])


def _restock_lines(request: RequestMachine) -> list:
    """The request's lines with their order items, for the stock that comes back."""
    return list(request.items.select_related("order_item"))


def _units_back(lines: list) -> list:
    return [
        (item_stock_unit(line.order_item), line.restock_quantity)
        for line in lines
        if line.order_item.product_id
    ]


def _refund(order: Order, amount: int, *, actor: Actor, reference: str, reason: str):
    """Refund ``amount`` to the buyer, the way the money came (the method of the order's latest
    payment); the refund is recorded paid. The caller checked it against what is refundable."""
    method = (
        Transaction.objects.filter(
            order=order, kind=TransactionKind.PAYMENT, status=TransactionStatus.PAID
        )
        .order_by("-created_at", "-id")
        .values_list("payment_method", flat=True)
        .first()
    )
    refund = Transaction.objects.create(
        order=order,
        kind=TransactionKind.REFUND,
        amount=amount,
        payment_method=method or "",
        reference=reference,
    )
    run_transition(refund, "mark_paid", actor=actor, order_id=order.pk, reason=reason)
    return refund


# ---------------------------------------------------------------------------------------------
# Steps shared by returns and exchanges


def _approve(model: type, request: Any, *, actor: Actor, reason: str) -> RequestMachine:
    order, request = _lock_request(model, request)
    run_transition(request, "approve", actor=actor, order_id=order.pk, reason=reason)
    follow_requests(order, actor=actor, reason=f"{_label(request)} approved")
    record_event(f"{request._meta.model_name}.approved", request)
    return request


def _reject(model: type, request: Any, *, actor: Actor, reason: str) -> RequestMachine:
    order, request = _lock_request(model, request)
    request.rejection_reason = reason or ""
    run_transition(
        request,
        "reject",
        actor=actor,
        order_id=order.pk,
        reason=reason,
        update_fields=["rejection_reason"],
    )
    follow_requests(order, actor=actor, reason=f"{_label(request)} rejected")
    record_event(f"{request._meta.model_name}.rejected", request)
    return request


def _receive(model: type, request: Any, *, actor: Actor, restock: Restock | None) -> RequestMachine:
    """The parcel is back: check the move first, then record per line what can be sold again."""
    order, request = _lock_request(model, request)
    if not can_proceed(request.start_processing):
        raise refused(request, RequestStatus.PROCESSING)
    _set_restock(request, restock)
    request.received_at = timezone.now()
    run_transition(
        request, "start_processing", actor=actor, order_id=order.pk, update_fields=["received_at"]
    )
    record_event(f"{request._meta.model_name}.received", request)
    return request


# ---------------------------------------------------------------------------------------------
# Returns


@service
def request_return(
    *,
    order: Order | int,
    reason: str,
    items: Sequence[ReturnLine],
    actor: Actor = SYSTEM,
    note: str = "",
) -> Return:
    """The buyer asks to send delivered units back for a refund."""
    order, reason, wanted = _open_request(order, reason, ReturnReason, items)
    request = Return.objects.create(
        order=order, reason=reason, note=as_text(note, "note", MAX_NOTE)
    )
    lines = ReturnItem.objects.bulk_create(
        ReturnItem(return_request=request, order_item_id=pk, quantity=qty)
        for pk, qty in wanted.items()
    )
    prices = dict(order.items.filter(pk__in=wanted).values_list("pk", "unit_price"))
    request.refund_amount = sum(prices[line.order_item_id] * line.quantity for line in lines)
    request.save(update_fields=["refund_amount"])
    follow_requests(order, actor=actor, reason=f"return {request.pk} requested")
    record_event("return.requested", request)
    return request


@service
def approve_return(*, request: Return | int, actor: Actor = SYSTEM, reason: str = "") -> Return:
    return _approve(Return, request, actor=actor, reason=reason)


@service
def reject_return(*, request: Return | int, actor: Actor = SYSTEM, reason: str = "") -> Return:
    return _reject(Return, request, actor=actor, reason=reason)


@service
def receive_return(
    *, request: Return | int, actor: Actor = SYSTEM, restock: Restock | None = None
) -> Return:
    """The parcel is back: record per line how many units are fit to sell again."""
    return _receive(Return, request, actor=actor, restock=restock)


@service
def complete_return(
    *, request: Return | int, actor: Actor = SYSTEM, refund_amount: int | None = None
) -> Return:
    """Refund the buyer and restock.

    The refund is never more than was paid and not yet refunded. Without an explicit
    ``refund_amount`` the request's (the returned units' price) is refunded, capped at that.
    """
    order, request = _lock_request(Return, request)
    if not can_proceed(request.complete):
        raise refused(request, RequestStatus.COMPLETED)
    refundable = order_money(order).refundable
    if refund_amount is None:
        request.refund_amount = min(request.refund_amount, refundable)
    else:
        if refund_amount < 0:
            raise DomainError(
                f"A refund must be 0 or more, not {refund_amount:,}.", field="refundAmount"
            )
        request.refund_amount = refund_amount
        if request.refund_amount > refundable:
            raise DomainError(
                f"Refund {request.refund_amount} is more than the {refundable} left to refund.",
                field="refundAmount",
                data={"refundable": refundable},
            )
    if request.refund_amount:
        request.refund_transaction = _refund(
            order,
            request.refund_amount,
            actor=actor,
            reference=f"Return {request.pk}",
            reason=f"return {request.pk}",
        )
    request.completed_at = timezone.now()
    run_transition(
        request,
        "complete",
        actor=actor,
        order_id=order.pk,
        update_fields=["refund_amount", "refund_transaction", "completed_at"],
    )
    stock.release(_units_back(_restock_lines(request)))
    follow_requests(order, actor=actor, reason=f"return {request.pk} completed")
    record_event("return.completed", request)
    return request


# ---------------------------------------------------------------------------------------------
# Exchanges


@service
def request_exchange(
    *,
    order: Order | int,
    reason: str,
    items: Sequence[ReturnLine],
    actor: Actor = SYSTEM,
    note: str = "",
) -> Exchange:
    """The buyer asks to swap delivered units for others (``replacementVariant``/``Option``)."""
    order, reason, wanted = _open_request(order, reason, ExchangeReason, items)
    replacements = _replacements(order, items)
    difference = sum(replacements[pk][2] * qty for pk, qty in wanted.items())
    if abs(difference) > MAX_AMOUNT:
        raise DomainError("The price difference is too large.", field="items")
    exchange = Exchange.objects.create(
        order=order,
        reason=reason,
        note=as_text(note, "note", MAX_NOTE),
        difference_due=difference,
    )
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
    if difference:
        record_change(
            exchange,
            "price_difference",
            actor=actor,
            order_id=order.pk,
            changes={"difference_due": {"from": "0", "to": str(difference)}},
            reason=difference_words(exchange, order.currency),
        )
    follow_requests(order, actor=actor, reason=f"exchange {exchange.pk} requested")
    record_event("exchange.requested", exchange)
    return exchange


def difference_words(exchange: Exchange, currency: str) -> str:
    """What the exchange's price difference asks for, in words (the timeline's)."""
    due = exchange.difference_due
    if due > 0:
        return (
            f"The buyer owes {due:,} {currency} for the price difference of exchange {exchange.pk}."
        )
    if due < 0:
        return (
            f"A refund of {-due:,} {currency} is owed to the buyer for the price difference of "
            f"exchange {exchange.pk}."
        )
    return f"Exchange {exchange.pk} costs the same as what it replaces."


def _catalog_price(product: Any, variant: Variant | None, option: Option | None) -> int:
    """A unit's price as an order takes it from the catalog: the option's, else the
    variant's, else the product's (``orders.services.checkout.Line.catalog_price``)."""
    for item in (option, variant, product):
        if item is not None and item.price is not None:
            return item.price
    return 0


def _replacements(order: Order, items: Sequence[ReturnLine]) -> dict[int, tuple]:
    """Per order item, the (variant, option) sent instead (the same ones unless named) and the
    price difference per unit: the replacement's catalog price less the line's unit price, 0
    when the same unit is sent again (whatever the catalog's price is now)."""
    lines = {line.pk: line for line in order.items.select_related("product", "variant", "option")}
    found: dict[int, tuple] = {}
    for asked in items:
        line = lines[asked.order_item]
        variant_id = asked.replacement_variant
        option_id = asked.replacement_option
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
        if line.product is not None:  # the replacement's stock is taken where it is held
            check_unit(line.product, variant, option, prefix="replacement")
        same = (variant, option) == (line.variant, line.option)
        difference = 0
        if line.product is not None and not same:
            difference = _catalog_price(line.product, variant, option) - line.unit_price
        found[line.pk] = (variant, option, difference)
    return found


@service
def pay_exchange_difference(
    *,
    request: Exchange | int,
    actor: Actor = SYSTEM,
    amount: int | None = None,
    method: str = "manual",
    reference: str = "",
    payment_id: str | None = None,
) -> Exchange:
    """The buyer paid what they owe for an exchange into a dearer unit: the payment is recorded
    for the order (``orders.services.payments.record_balance_payment``) and settles the
    exchange, whose replacement may then be sent. Paid once the exchange is approved and
    before it completes; ``amount`` (the whole difference when ``None``) must be exactly it."""
    order, request = _lock_request(Exchange, request)
    due = request.difference_due
    if due <= 0:
        raise DomainError(
            f"Exchange {request.pk} leaves the buyer nothing to pay.", field="differenceDue"
        )
    if request.difference_transaction_id is not None:
        raise Conflict(
            f"The price difference of exchange {request.pk} is already paid "
            f"(transaction {request.difference_transaction_id}).",
            field="differenceDue",
        )
    if request.status not in (RequestStatus.APPROVED, RequestStatus.PROCESSING):
        raise DomainError(
            f"Exchange {request.pk} is {request.status}: the price difference is paid once the "
            "exchange is approved and before it completes.",
            field="status",
        )
    if amount is not None and amount != due:
        raise DomainError(
            f"Exchange {request.pk} has {due:,} {order.currency} due, not {amount}.",
            field="amount",
            data={"due": due},
        )
    request.difference_transaction = record_balance_payment(
        order=order,
        amount=due,
        actor=actor,
        method=method,
        reference=reference or f"Exchange {request.pk}",
        payment_id=payment_id,
        reason=f"The buyer paid the price difference of exchange {request.pk}: "
        f"{due:,} {order.currency}.",
    )
    request.save(update_fields=["difference_transaction", "updated_at"])
    return request


@service
def approve_exchange(
    *, request: Exchange | int, actor: Actor = SYSTEM, reason: str = ""
) -> Exchange:
    return _approve(Exchange, request, actor=actor, reason=reason)


@service
def reject_exchange(
    *, request: Exchange | int, actor: Actor = SYSTEM, reason: str = ""
) -> Exchange:
    return _reject(Exchange, request, actor=actor, reason=reason)


@service
def receive_exchange(
    *, request: Exchange | int, actor: Actor = SYSTEM, restock: Restock | None = None
) -> Exchange:
    """The parcel is back: record per line how many units are fit to sell again."""
    return _receive(Exchange, request, actor=actor, restock=restock)


@service
def complete_exchange(*, request: Exchange | int, actor: Actor = SYSTEM) -> Exchange:
    """Restock what came back, reserve the replacement units and create their parcel.

    A price difference is settled here: one the buyer owes must have been paid
    (``pay_exchange_difference``), else nothing is sent; one owed to the buyer is refunded
    (never more than is left to refund), as a return refunds when it completes.
    """
    order, request = _lock_request(Exchange, request)
    if not can_proceed(request.complete):
        raise refused(request, RequestStatus.COMPLETED)
    due = request.difference_due
    if due > 0 and request.difference_transaction_id is None:
        raise DomainError(
            f"The buyer owes {due:,} {order.currency} for the price difference of exchange "
            f"{request.pk}: record their payment before the replacement is sent.",
            field="differenceDue",
            data={"due": due},
        )
    if due < 0 and request.difference_transaction_id is None:
        owed = min(-due, order_money(order).refundable)
        if owed:
            request.difference_transaction = _refund(
                order,
                owed,
                actor=actor,
                reference=f"Exchange {request.pk}",
                reason=f"Refund of the price difference of exchange {request.pk}: "
                f"{owed:,} {order.currency}.",
            )
    request.completed_at = timezone.now()
    run_transition(
        request,
        "complete",
        actor=actor,
        order_id=order.pk,
        update_fields=["completed_at", "difference_transaction"],
    )
    lines = _restock_lines(request)
    replacements = [
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
    ]
    stock.change(take=replacements, give=_units_back(lines))
    units: dict[int, int] = {}
    for line in lines:
        units[line.order_item_id] = units.get(line.order_item_id, 0) + line.quantity
    create_replacement_fulfillment(order=order, exchange=request, units=units, actor=actor)
    follow_requests(order, actor=actor, reason=f"exchange {request.pk} completed")
    record_event("exchange.completed", request)
    return request


# ---------------------------------------------------------------------------------------------
# A request moved to a named state (the API's ``PATCH {status}``)


def _moves(model: type) -> dict:
    if model is Return:
        return {
            RequestStatus.APPROVED: approve_return,
            RequestStatus.REJECTED: reject_return,
            RequestStatus.PROCESSING: receive_return,
            RequestStatus.COMPLETED: complete_return,
        }
    return {
        RequestStatus.APPROVED: approve_exchange,
        RequestStatus.REJECTED: reject_exchange,
        RequestStatus.PROCESSING: receive_exchange,
        RequestStatus.COMPLETED: complete_exchange,
    }


@service
def move_request(
    *,
    kind: type[Return] | type[Exchange],
    request: RequestMachine | int,
    move: str,
    actor: Actor = SYSTEM,
    reason: str = "",
    restock: Restock | None = None,
    refund_amount: int | None = None,
) -> RequestMachine:
    """Move a return or an exchange (``kind``) to the state ``move`` names, through the service
    of that move: approved, rejected (with ``reason``), processing (with ``restock``), completed
    (a return with ``refund_amount``, all that is refundable when ``None``).

    The order's lock first, then the request's: a move sent twice at once runs once, and a
    move the request's state does not allow (or to the state it is in) is refused with a
    ``TransitionError`` naming its state, nothing changed.
    """
    if kind not in (Return, Exchange):
        raise TypeError("kind is Return or Exchange")
    _order, current = _lock_request(kind, request)
    moves = _moves(kind)
    if move not in moves or move == current.status:
        raise refused(current, move)
    for given, label, needs in (
        (reason, "A reason for rejection", RequestStatus.REJECTED),
        (restock, "Restock", RequestStatus.PROCESSING),
        (refund_amount, "A refund amount", RequestStatus.COMPLETED),
    ):
        if given not in (None, "") and move != needs:
            raise DomainError(f"{label} goes with a move to {needs}, not {move}.", field="status")
    if refund_amount is not None and kind is not Return:
        raise DomainError("An exchange refunds no amount of its own.", field="refundAmount")
    arguments: dict[str, Any] = {}
    if move == RequestStatus.REJECTED:
        arguments["reason"] = reason
    elif move == RequestStatus.PROCESSING:
        arguments["restock"] = restock
    elif move == RequestStatus.COMPLETED and kind is Return:
        arguments["refund_amount"] = refund_amount
    return moves[move](request=current, actor=actor, **arguments)
