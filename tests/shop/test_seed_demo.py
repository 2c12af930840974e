"""The demo shop fills every state, and a second run adds nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fulfillment.models import Fulfillment, FulfillmentStatus
from orders.models import Order, OrderStatus
from returns.models import Exchange, RequestStatus, Return
from shop.models import Customer, Product
from staff.management.commands.seed_demo import HISTORY_PREFIX, STORIES
from tests.helpers import assert_consistent, db_snapshot, place_order

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def statuses(model) -> set[str]:
    return set(model.objects.values_list("status", flat=True))


def test_seed_demo_fills_every_state_and_a_second_run_adds_nothing():
    assert not Order.objects.exists()
    # A short history: the stories are what this checks (the default is make setup's test).
    assert f"{len(STORIES)} new demo orders" in seed("--history", "2")
    first = db_snapshot()
    assert "0 new demo orders" in seed("--history", "2")
    assert db_snapshot() == first

    assert statuses(Order) == set(OrderStatus.values)
    assert statuses(Fulfillment) == set(FulfillmentStatus.values)
    assert statuses(Return) == set(RequestStatus.values)
    assert statuses(Exchange) == set(RequestStatus.values)
    for order in Order.objects.all():
        assert_consistent(order)
    # Every demo customer logs in with the published demo password.
    customers = list(Customer.objects.all())
    assert len(customers) > 1
    assert all(customer.check_password("demo-password") for customer in customers)


def test_seed_demo_if_empty_leaves_a_shop_with_orders_alone():
    place_order()
    products = Product.objects.count()
    assert "not loaded" in seed("--if-empty")
    assert Product.objects.count() == products


def test_seed_demo_history_sets_how_many_past_orders_the_charts_get():
    assert "3 past orders" in seed("--history", "3")
    assert Order.objects.filter(order_number__startswith=HISTORY_PREFIX).count() == 3
    assert statuses(Order) == set(OrderStatus.values)  # every story is still told


def test_seed_demo_refuses_a_negative_history_and_loads_nothing():
    with pytest.raises(CommandError, match="--history"):
        seed("--history", "-1")
    assert not Order.objects.exists()
