"""Each step of a service fails in turn: the database must be exactly as it was before the call.

A service's steps are its SQL statements. We run the service once to count them, then again and
again on fresh data, failing the k-th statement each time, and compare every table's rows.
"""

from contextlib import contextmanager

import pytest
from django.apps import apps
from django.db import DatabaseError, connection

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.values import OrderDraft, OrderLine
from returns import services as return_services
from returns.values import Restock, ReturnLine
from tests.factories import CartItemFactory, OptionFactory, ProductFactory
from tests.helpers import PARCEL_VALUES, deliver_everything, place_order

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("shop", "orders", "fulfillment", "returns")


def snapshot() -> dict:
    state = {}
    for app in DOMAIN_APPS:
        for model in apps.get_app_config(app).get_models():
            state[model._meta.label] = sorted(model.objects.values_list(), key=repr)
    return state


class Injected(DatabaseError):
    pass


@contextmanager
def fail_statement(number: int | None, seen: list):
    """Raise at the ``number``-th SQL statement (1-based); None only counts them."""

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        if number is not None and len(seen) == number:
            raise Injected(f"injected failure at statement {number}: {sql[:60]}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def assert_each_step_rolls_back(prepare, act):
    """``prepare()`` makes fresh data and returns the arguments for ``act(args)``."""
    act(prepare())  # warm caches (content types) so every later run takes the same steps
    counted: list = []
    args = prepare()
    with fail_statement(None, counted):
        act(args)
    total = len(counted)
    assert total > 3, "the service should take several steps"
    for number in range(1, total + 1):
        args = prepare()
        before = snapshot()
        seen: list = []
        with pytest.raises(Injected), fail_statement(number, seen):
            act(args)
            pytest.fail(f"statement {number} of {total} was never run (ran {len(seen)}): {counted}")
        assert snapshot() == before, f"statement {number} of {total} left a trace: {seen[-1]}"


def test_checkout_fails_at_every_step_without_a_trace():
    def prepare():
        option = OptionFactory(stock=5)
        item = CartItemFactory(
            product=option.variant.product, variant=option.variant, option=option, quantity=2
        )
        return item.cart_id

    def act(cart_id):
        order_services.checkout_cart(cart=cart_id, draft=OrderDraft(payment_id=f"pay_{cart_id}"))

    assert_each_step_rolls_back(prepare, act)


def test_create_order_fails_at_every_step_without_a_trace():
    def prepare():
        option = OptionFactory(stock=3, price=5000)
        return option

    def act(option):
        order_services.create_order(
            draft=OrderDraft(
                lines=[
                    OrderLine(
                        product=option.variant.product_id,
                        variant=option.variant_id,
                        option=option.pk,
                        quantity=2,
                        unit_price=5000,
                    )
                ],
                total_amount=10000,
                payment_id=f"pay_o{option.pk}",
                **PARCEL_VALUES,
            )
        )

    assert_each_step_rolls_back(prepare, act)


def test_fulfilment_create_ship_deliver_fail_at_every_step_without_a_trace():
    def prepare():
        return place_order(quantities=(2, 1))

    # Each service is atomic on its own: check each one separately from a clean state.
    assert_each_step_rolls_back(
        prepare, lambda order: fulfillment_services.create_fulfillment(order=order)
    )

    def prepare_parcel():
        order = place_order(quantities=(2, 1))
        return fulfillment_services.create_fulfillment(order=order)

    assert_each_step_rolls_back(
        prepare_parcel,
        lambda parcel: fulfillment_services.ship_fulfillment(
            fulfillment=parcel, carrier="cj", tracking_number="640112345678"
        ),
    )
    assert_each_step_rolls_back(
        lambda: _shipped_parcel(), lambda p: fulfillment_services.deliver_fulfillment(fulfillment=p)
    )


def _shipped_parcel():
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    return fulfillment_services.ship_fulfillment(
        fulfillment=parcel, carrier="cj", tracking_number="6401"
    )


def test_return_completion_fails_at_every_step_without_a_trace():
    def prepare():
        product = ProductFactory(stock=4)
        order = place_order(quantities=(2,), products=[product])
        deliver_everything(order)
        line = order.items.get()
        request = return_services.request_return(
            order=order, reason="defective", items=[ReturnLine(order_item=line.pk, quantity=2)]
        )
        return_services.approve_return(request=request)
        return return_services.receive_return(request=request, restock=Restock({line.pk: 1}))

    assert_each_step_rolls_back(prepare, lambda r: return_services.complete_return(request=r))


def test_exchange_completion_fails_at_every_step_without_a_trace():
    def prepare():
        order = place_order(quantities=(1,))
        deliver_everything(order)
        line = order.items.get()
        exchange = return_services.request_exchange(
            order=order, reason="wrong_size", items=[ReturnLine(order_item=line.pk, quantity=1)]
        )
        return_services.approve_exchange(request=exchange)
        return return_services.receive_exchange(request=exchange)

    assert_each_step_rolls_back(prepare, lambda e: return_services.complete_exchange(request=e))
