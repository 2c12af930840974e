"""Races on PostgreSQL: real threads, each with its own connection, released together.

Each test shows exactly one winner where one is allowed, and no lost or duplicated rows.
"""

import threading
from collections import Counter

import pytest
from django.db import connections

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentItem
from orders import services as order_services
from orders.models import Order, OrderItem, OrderStatus, Transaction, TransitionLog
from orders.values import ItemUnits, OrderDraft, OrderLine
from returns.selectors import item_quantities
from shop.errors import DomainError
from tests.factories import CartFactory, CartItemFactory, ProductFactory
from tests.helpers import PARCEL_VALUES, place_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(threads: int, work) -> list[tuple[str, object]]:
    """Run ``work(i)`` in ``threads`` threads started at once: [("ok", result) | ("error", e)]."""
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = ("ok", work(i))
        except Exception as error:
            results[i] = ("error", error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a thread hung"
    return results


def outcomes(results) -> Counter:
    return Counter("ok" if kind == "ok" else type(value).__name__ for kind, value in results)


def test_the_same_transition_from_many_threads_has_one_winner():
    order = place_order(paid=False)
    results = race(8, lambda i: order_services.pay_order(order=order.pk))
    assert outcomes(results) == Counter({"ok": 1, "TransitionError": 7})
    for kind, value in results:
        if kind == "error":
            assert value.current == OrderStatus.PAID
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Transaction.objects.filter(order=order).count() == 1
    assert TransitionLog.objects.filter(order=order, transition="pay").count() == 1


def test_shipping_one_parcel_from_many_threads_ships_it_once():
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    results = race(
        8,
        lambda i: fulfillment_services.ship_fulfillment(
            fulfillment=parcel.pk, carrier="cj", tracking_number=f"T{i}"
        ),
    )
    assert outcomes(results) == Counter({"ok": 1, "TransitionError": 7})
    winner = next(value for kind, value in results if kind == "ok")
    parcel.refresh_from_db()
    assert parcel.tracking_number == winner.tracking_number
    assert TransitionLog.objects.filter(object_id=parcel.pk, transition="ship").count() == 1
    assert TransitionLog.objects.filter(order=order, transition="ship").count() == 2  # + order


def test_the_same_checkout_from_many_threads_makes_one_order():
    product = ProductFactory(price=5000, stock=10)
    cart = CartFactory()
    CartItemFactory(cart=cart, product=product, quantity=3)
    results = race(
        8,
        lambda i: order_services.checkout_cart(
            cart=cart.pk, draft=OrderDraft(payment_id="pay-cart")
        ),
    )
    assert outcomes(results) == Counter({"ok": 8})
    created = [value.created for _, value in results]
    assert created.count(True) == 1
    assert {value.order.pk for _, value in results} == {Order.objects.get().pk}
    assert OrderItem.objects.count() == 1
    assert Transaction.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 7


def test_twenty_orders_with_one_payment_id_are_one_order():
    product = ProductFactory(price=1000, stock=100)
    items = [OrderLine(product=product.pk, quantity=2)]
    results = race(
        20,
        lambda i: order_services.create_order(
            draft=OrderDraft(lines=items, payment_id="pay-once", **PARCEL_VALUES)
        ),
    )
    assert outcomes(results) == Counter({"ok": 20})
    assert [value.created for _, value in results].count(True) == 1
    assert {value.order.pk for _, value in results} == {Order.objects.get().pk}
    assert Transaction.objects.get().payment_id == "pay-once"
    product.refresh_from_db()
    assert product.stock == 98


def test_twenty_orders_without_numbers_get_twenty_numbers():
    product = ProductFactory(price=1000)
    results = race(
        20,
        lambda i: order_services.create_order(
            draft=OrderDraft(lines=[OrderLine(product=product.pk)], **PARCEL_VALUES)
        ),
    )
    assert outcomes(results) == Counter({"ok": 20})
    numbers = {value.order.order_number for _, value in results}
    assert len(numbers) == 20
    assert set(Order.objects.values_list("order_number", flat=True)) == numbers


def test_parcels_racing_for_the_last_units_never_take_more_than_ordered():
    order = place_order(quantities=(3,))
    line = order.items.get().pk
    results = race(
        6,
        lambda i: fulfillment_services.create_fulfillment(
            order=order.pk, items=[ItemUnits(order_item=line, quantity=2)]
        ),
    )
    assert outcomes(results) == Counter({"ok": 1, "DomainError": 5})
    quantities = item_quantities(order)[line]
    assert quantities.allocated == 2 <= quantities.ordered
    assert Fulfillment.objects.count() == FulfillmentItem.objects.count() == 1
    # and the last unit still goes out once
    results = race(
        4,
        lambda i: fulfillment_services.create_fulfillment(
            order=order.pk, items=[ItemUnits(order_item=line, quantity=1)]
        ),
    )
    assert outcomes(results) == Counter({"ok": 1, "DomainError": 3})
    assert item_quantities(order)[line].allocated == 3


def test_the_last_unit_in_stock_is_sold_once():
    product = ProductFactory(title="Last mug", price=1000, stock=1)
    results = race(
        10,
        lambda i: order_services.create_order(
            draft=OrderDraft(lines=[OrderLine(product=product.pk)], **PARCEL_VALUES)
        ),
    )
    assert outcomes(results) == Counter({"ok": 1, "DomainError": 9})
    for kind, value in results:
        if kind == "error":
            assert "Not enough stock for Last mug" in value.message
    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.count() == OrderItem.objects.count() == 1


def test_cancel_and_fulfil_racing_leave_a_consistent_order():
    """Whichever runs first, the other sees its result: the order is canceled once, its stock
    comes back once, and no parcel of it is left to send."""
    product = ProductFactory(stock=5)
    order = place_order(quantities=(2,), products=[product])

    def work(i):
        if i % 2:
            return ("cancel", order_services.cancel_order(order=order.pk))
        return ("fulfil", fulfillment_services.create_fulfillment(order=order.pk))

    results = race(6, work)
    done = Counter(value[0] for kind, value in results if kind == "ok")
    assert done["cancel"] == 1 and done["fulfil"] <= 1
    refusals = {type(value) for kind, value in results if kind == "error"}
    assert all(issubclass(error, DomainError) for error in refusals)
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert product.stock == 5
    assert Fulfillment.objects.count() == done["fulfil"]
    assert not Fulfillment.objects.exclude(status="failed").exists()


def test_orders_canceled_while_a_tracking_import_runs_keep_their_bookkeeping():
    """The import locks a batch's orders before it reads their units: an order canceled
    meanwhile is either canceled before the batch (its row refused, nothing shipped) or shipped
    before the cancel (the cancel refused), never both, and every row is written once."""
    from fulfillment import imports
    from tests.helpers import assert_consistent

    orders = [place_order(quantities=(1, 2)) for _ in range(60)]
    text = "\n".join(f"{o.order_number},cj,RACE{o.pk}" for o in orders)
    planned = imports.plan(imports.parse(text))
    targets = orders[::3]

    def work(i):
        if i == 0:
            return imports.apply(planned, batch_size=10)
        canceled = []
        for order in targets[i - 1 :: 2]:
            try:
                order_services.cancel_order(order=order.pk)
            except DomainError:
                continue
            canceled.append(order.pk)
        return canceled

    results = race(3, work)
    assert all(kind == "ok" for kind, _ in results), results
    report = results[0][1]
    canceled = set(results[1][1]) | set(results[2][1])
    assert canceled, "no cancel won: the race did not happen"
    refused = {entry.row.order_number for entry in report.rows if entry.action == "error"}
    assert refused == {o.order_number for o in orders if o.pk in canceled}
    for order, entry in zip(orders, report.rows, strict=True):
        assert_consistent(order)
        parcels = Fulfillment.objects.filter(order=order)
        if order.pk in canceled:
            assert order.status == OrderStatus.CANCELED and not parcels.exists()
            assert entry.fulfillment_id is None
        else:
            assert order.status == OrderStatus.SHIPPED
            assert list(parcels.values_list("pk", flat=True)) == [entry.fulfillment_id]
            assert TransitionLog.objects.filter(order=order, transition="ship").count() == 2
