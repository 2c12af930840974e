"""Payments: a payment comes in, fails, is retried; staff marks an order paid."""

from typing import Any

from events.outbox import record_event
from orders.models import Order, OrderStatus, Transaction, TransactionKind
from orders.selectors import order_money
from orders.services.common import lock_order
from orders.transitions import refused, run_transition
from shop.actors import SYSTEM, Actor
from shop.db import service
from shop.errors import Conflict, DomainError
from shop.values import MAX_AMOUNT, as_text


def record_paid(
    order: Order,
    *,
    actor: Actor,
    amount: int,
    payment_id: str | None,
    method: str,
    reason: str = "",
    logs: list | None = None,
    reference: str = "",
) -> Transaction:
    """A paid payment: inserted in the state its ``mark_paid`` transition leaves it in. The
    timeline entry records the method and reference it was paid with."""
    txn = Transaction(
        order=order,
        kind=TransactionKind.PAYMENT,
        amount=amount,
        payment_id=payment_id or None,
        payment_method=method or "",
        reference=reference,
    )
    changes = {
        name: {"from": "", "to": value}
        for name, value in (("payment_method", txn.payment_method), ("reference", reference))
        if value
    }
    run_transition(
        txn,
        "mark_paid",
        actor=actor,
        order_id=order.pk,
        reason=reason,
        logs=logs,
        changes=changes or None,
    )
    return txn


def clean_payment_id(payment_id: Any) -> str | None:
    return as_text(payment_id, "paymentId", 200) or None


def refuse_known_payment_id(payment_id: str | None) -> None:
    """A payment id names one payment: a new payment with a known id is a 409 naming it."""
    existing = Transaction.objects.filter(payment_id=payment_id).first() if payment_id else None
    if existing is not None:
        raise Conflict(
            f"Payment {payment_id} is already recorded (transaction {existing.pk}).",
            field="paymentId",
            data={"id": existing.pk, "order": existing.order_id},
        )


@service
def record_payment(
    *,
    order: Order | int,
    actor: Actor = SYSTEM,
    amount: int | None = None,
    payment_id: str | None = None,
    payment_method: str = "",
    reason: str = "",
    reference: str = "",
) -> Transaction:
    """A payment came in. Once payments cover the total, the order is paid.

    The same payment id twice is the same payment: the first transaction is returned.
    """
    order = lock_order(order)
    payment_id = clean_payment_id(payment_id)
    payment_method = as_text(payment_method, "paymentMethod", 40)
    reference = as_text(reference, "reference", 200)
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
    amount = due if amount is None else amount
    if not 1 <= amount <= due:
        raise DomainError(f"A payment must be between 1 and {due}, not {amount}.", field="amount")
    if order.status == OrderStatus.FAILED:
        run_transition(order, "retry", actor=actor, order_id=order.pk, reason="payment received")
    txn = record_paid(
        order,
        actor=actor,
        amount=amount,
        payment_id=payment_id,
        method=payment_method,
        reason=reason,
        reference=reference,
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
    amount: int | None = None,
) -> Transaction:
    """A payment attempt failed: a failed transaction is recorded and the order fails."""
    order = lock_order(order)
    if order.status != OrderStatus.PENDING:
        raise refused(order, OrderStatus.FAILED)
    payment_id = clean_payment_id(payment_id)
    payment_method = as_text(payment_method, "paymentMethod", 40)
    if payment_id and Transaction.objects.filter(payment_id=payment_id).exists():
        raise Conflict(f"Payment {payment_id} is already recorded.", field="paymentId")
    amount = order.total_amount if amount is None else amount
    if not 0 <= amount <= MAX_AMOUNT:
        raise DomainError(
            f"A failed payment's amount must be between 0 and {MAX_AMOUNT:,}, not {amount:,}.",
            field="amount",
        )
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
def pay_order(
    *,
    order: Order | int,
    actor: Actor = SYSTEM,
    reason: str = "",
    amount: int | None = None,
    method: str = "manual",
    reference: str = "",
) -> Order:
    """Staff marks an order paid (a payment taken outside the shop: bank transfer, cash).

    ``amount`` (all that is due when ``None``) must be exactly what is due: staff marks the
    order paid, not a part of it. ``method`` names how it was paid (``PaymentMethod``) and
    ``reference`` what matches it (a bank transfer's payer name); the timeline records both.
    """
    order = lock_order(order)
    if order.status not in (OrderStatus.PENDING, OrderStatus.FAILED):
        raise refused(order, OrderStatus.PAID)
    due = order.total_amount - order_money(order).paid
    if amount is not None and amount != due:
        raise DomainError(
            f"Order {order.order_number} has {due:,} {order.currency} due, not {amount:,}.",
            field="amount",
            data={"due": due},
        )
    record_payment(
        order=order,
        actor=actor,
        amount=amount,
        payment_method=method or "manual",
        reason=reason,
        reference=reference,
    )
    order.refresh_from_db()
    return order


@service
def record_balance_payment(
    *,
    order: Order | int,
    amount: int,
    actor: Actor = SYSTEM,
    method: str = "manual",
    reference: str = "",
    payment_id: str | None = None,
    reason: str = "",
) -> Transaction:
    """A payment beyond the order's total, taken after the sale: what the buyer owes for an
    exchange into a dearer option (``returns.services.pay_exchange_difference``). It is
    recorded paid, as the timeline says; the order's own state does not move, and its own
    payment is taken by ``record_payment`` first."""
    order = lock_order(order)
    if order.status in (OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.CANCELED):
        raise DomainError(
            f"Order {order.order_number} is {order.status}: a later payment is taken from an "
            "order that was paid.",
            field="order",
        )
    if not 1 <= amount <= MAX_AMOUNT:
        raise DomainError(
            f"A payment must be between 1 and {MAX_AMOUNT:,}, not {amount:,}.", field="amount"
        )
    payment_id = clean_payment_id(payment_id)
    refuse_known_payment_id(payment_id)
    return record_paid(
        order,
        actor=actor,
        amount=amount,
        payment_id=payment_id,
        method=as_text(method, "paymentMethod", 40) or "manual",
        reason=as_text(reason, "reason", 500),
        reference=as_text(reference, "reference", 200),
    )
