"""An exchange into a unit of another price settles the difference (Medusa's difference_due):
the buyer pays what they owe before the replacement is sent, or is refunded what they are owed
when the exchange completes."""

import pytest

from fulfillment.models import Fulfillment
from orders import services as order_services
from orders.models import Transaction, TransactionKind, TransactionStatus
from orders.selectors import order_money
from orders.services.payments import record_balance_payment
from orders.values import OrderDraft, OrderLine
from returns import services
from returns.models import Exchange, RequestStatus
from returns.values import ReturnLine
from shop.errors import Conflict, DomainError, TransitionError
from tests.factories import OptionFactory, ProductFactory, VariantFactory
from tests.helpers import (
    ADDRESS_VALUE,
    SNAPSHOT_VALUE,
    assert_consistent,
    deliver_everything,
    leaves_db_unchanged,
    log_of,
    next_payment_id,
    place_order,
)

pytestmark = pytest.mark.django_db


def option_order(*, price=10000, quantity=1):
    """A delivered order of ``quantity`` units of one option (price ``price``), paid by card."""
    product = ProductFactory(price=price)
    variant = VariantFactory(product=product)
    ordered = OptionFactory(variant=variant, price=price, stock=10)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[
                OrderLine(
                    product=product.pk, variant=variant.pk, option=ordered.pk, quantity=quantity
                )
            ],
            customer_snapshot=SNAPSHOT_VALUE,
            shipping_address=ADDRESS_VALUE,
            payment_id=next_payment_id(),
            payment_method="card",
        )
    ).order
    deliver_everything(order)
    return order, variant


def exchange_into(order, variant, *, price, quantity=1):
    """An exchange of the order's line into a new option of ``variant`` priced ``price``."""
    option = OptionFactory(variant=variant, price=price, stock=10)
    line = order.items.get()
    return services.request_exchange(
        order=order,
        reason="wrong_size",
        items=[ReturnLine(line.pk, quantity, replacement_option=option.pk)],
    )


def approved_and_received(exchange):
    services.approve_exchange(request=exchange)
    services.receive_exchange(request=exchange)
    exchange.refresh_from_db()
    return exchange


def transactions(order):
    return list(
        Transaction.objects.filter(order=order).order_by("pk").values_list("kind", "amount")
    )


def test_the_same_price_leaves_nothing_to_settle():
    order, variant = option_order(price=10000)
    exchange = exchange_into(order, variant, price=10000)
    assert exchange.difference_due == 0
    assert not log_of(exchange).filter(transition="price_difference").exists()
    approved_and_received(exchange)
    with leaves_db_unchanged(DomainError, match="nothing to pay"):
        services.pay_exchange_difference(request=exchange)
    services.complete_exchange(request=exchange)
    exchange.refresh_from_db()
    assert exchange.status == RequestStatus.COMPLETED
    assert exchange.difference_transaction is None
    assert transactions(order) == [("payment", 10000)]
    assert_consistent(order)


def test_the_same_unit_again_costs_nothing_even_when_the_catalog_price_moved():
    order, _variant = option_order(price=10000)
    line = order.items.get()
    line.option.__class__.objects.filter(pk=line.option_id).update(price=15000)
    exchange = services.request_exchange(
        order=order, reason="defective", items=[ReturnLine(line.pk, 1)]
    )
    assert exchange.difference_due == 0


def test_a_dearer_unit_waits_for_the_buyers_payment():
    order, variant = option_order(price=10000, quantity=2)
    exchange = exchange_into(order, variant, price=12500, quantity=2)
    assert exchange.difference_due == 5000  # (12,500 - 10,000) × 2
    entry = log_of(exchange).get(transition="price_difference")
    assert (
        entry.reason
        == f"The buyer owes 5,000 KRW for the price difference of exchange {exchange.pk}."
    )
    assert entry.changes == {"difference_due": {"from": "0", "to": "5000"}}

    # Not before the exchange is approved, and never another amount.
    with leaves_db_unchanged(DomainError, match="is requested: the price difference is paid once"):
        services.pay_exchange_difference(request=exchange, method="bank_transfer")
    approved_and_received(exchange)
    with leaves_db_unchanged(DomainError, match="has 5,000 KRW due, not 4000"):
        services.pay_exchange_difference(request=exchange, amount=4000)

    # The replacement is not sent while the difference is owed.
    with leaves_db_unchanged(DomainError, match="The buyer owes 5,000 KRW .* record their payment"):
        services.complete_exchange(request=exchange)
    assert not Fulfillment.objects.filter(exchange=exchange).exists()

    paid = services.pay_exchange_difference(
        request=exchange, method="bank_transfer", reference="KIM MINJI"
    )
    payment = paid.difference_transaction
    assert (payment.kind, payment.status, payment.amount) == ("payment", "paid", 5000)
    assert (payment.payment_method, payment.reference) == ("bank_transfer", "KIM MINJI")
    assert "paid the price difference of exchange" in log_of(payment).get().reason
    assert order_money(order).paid == 25000
    with leaves_db_unchanged(Conflict, match="already paid"):
        services.pay_exchange_difference(request=exchange)

    services.complete_exchange(request=exchange)
    exchange.refresh_from_db()
    assert exchange.status == RequestStatus.COMPLETED
    assert Fulfillment.objects.filter(exchange=exchange).count() == 1
    assert exchange.difference_transaction == payment
    assert_consistent(order)


def test_a_cheaper_unit_refunds_the_difference_when_the_exchange_completes():
    order, variant = option_order(price=10000)
    exchange = exchange_into(order, variant, price=7000)
    assert exchange.difference_due == -3000
    entry = log_of(exchange).get(transition="price_difference")
    assert entry.reason.startswith("A refund of 3,000 KRW is owed to the buyer")
    approved_and_received(exchange)
    assert transactions(order) == [("payment", 10000)]  # nothing refunded before completion
    with leaves_db_unchanged(DomainError, match="nothing to pay"):
        services.pay_exchange_difference(request=exchange)

    services.complete_exchange(request=exchange)
    exchange.refresh_from_db()
    refund = exchange.difference_transaction
    assert (refund.kind, refund.status, refund.amount) == ("refund", "paid", 3000)
    assert refund.payment_method == "card" and refund.reference == f"Exchange {exchange.pk}"
    assert "Refund of the price difference" in log_of(refund).get().reason
    assert transactions(order) == [("payment", 10000), ("refund", 3000)]
    assert Fulfillment.objects.filter(exchange=exchange).count() == 1
    assert_consistent(order)


def test_lines_of_both_kinds_are_summed():
    cheap, dear = ProductFactory(price=10000), ProductFactory(price=20000)
    cheap_variant = VariantFactory(product=cheap)
    dear_variant = VariantFactory(product=dear)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[
                OrderLine(product=cheap.pk, variant=cheap_variant.pk, quantity=1),
                OrderLine(product=dear.pk, variant=dear_variant.pk, quantity=2),
            ],
            customer_snapshot=SNAPSHOT_VALUE,
            shipping_address=ADDRESS_VALUE,
            payment_id=next_payment_id(),
        )
    ).order
    deliver_everything(order)
    first, second = order.items.order_by("pk")
    up = VariantFactory(product=cheap, price=14000)  # +4,000
    down = VariantFactory(product=dear, price=19000)  # -1,000 × 2
    exchange = services.request_exchange(
        order=order,
        reason="wrong_size",
        items=[
            ReturnLine(first.pk, 1, replacement_variant=up.pk),
            ReturnLine(second.pk, 2, replacement_variant=down.pk),
        ],
    )
    assert exchange.difference_due == 2000


def test_a_bad_replacement_is_refused_and_nothing_is_written():
    order, _variant = option_order(price=10000)
    line = order.items.get()
    elsewhere = OptionFactory(price=1)
    with leaves_db_unchanged(DomainError, match="not an option of the replacement variant"):
        services.request_exchange(
            order=order,
            reason="wrong_size",
            items=[ReturnLine(line.pk, 1, replacement_option=elsewhere.pk)],
        )
    assert not Exchange.objects.exists()


def test_a_difference_payment_is_refused_on_a_completed_or_missing_exchange():
    order, variant = option_order(price=10000)
    exchange = exchange_into(order, variant, price=11000)
    services.reject_exchange(request=exchange, reason="worn")
    with leaves_db_unchanged(DomainError, match="is rejected"):
        services.pay_exchange_difference(request=exchange)
    with leaves_db_unchanged(DomainError, match="does not exist"):
        services.pay_exchange_difference(request=999999)


def test_a_dearer_exchange_still_refuses_moves_its_state_does_not_allow_first():
    order, variant = option_order(price=10000)
    exchange = exchange_into(order, variant, price=11000)
    with leaves_db_unchanged(TransitionError):
        services.complete_exchange(request=exchange)


def test_a_later_payment_is_refused_on_an_order_not_paid_yet():
    order = place_order(quantities=(1,), paid=False)
    with leaves_db_unchanged(DomainError, match="is pending"):
        record_balance_payment(order=order, amount=1000)
    paid = place_order(quantities=(1,))
    with leaves_db_unchanged(DomainError, match="between 1 and"):
        record_balance_payment(order=paid, amount=0)
    taken = record_balance_payment(order=paid, amount=1000, method="card", payment_id="pay_x1")
    assert (taken.status, taken.amount) == (TransactionStatus.PAID, 1000)
    assert taken.kind == TransactionKind.PAYMENT
    with leaves_db_unchanged(Conflict, match="already recorded"):
        record_balance_payment(order=paid, amount=1000, payment_id="pay_x1")
