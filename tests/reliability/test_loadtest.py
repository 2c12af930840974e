"""The load test, short: seconds of mixed traffic against gunicorn on a throw-away database must
end with no 5xx and the bookkeeping intact (``tests/reliability/loadtest.py``). ``make test`` runs
it for 4 seconds, ``make test-long`` for 60 (``LOADTEST_SECONDS`` sets it; docs/testing.md)."""

import subprocess
import sys
from pathlib import Path

import pytest

from fulfillment import services as fulfillment_services
from fulfillment.models import FulfillmentItem
from orders import services as order_services
from orders.values import OrderDraft, OrderLine
from shop.models import Option
from tests import sizes
from tests.factories import OptionFactory
from tests.helpers import PARCEL_VALUES
from tests.reliability.loadtest import Shop, broken_invariants

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.slow
def test_seconds_of_mixed_traffic_end_without_5xx_and_with_the_books_balanced():
    seconds = str(sizes.size("LOADTEST_SECONDS", quick=4, long=60))
    command = [sys.executable, "-m", "tests.reliability.loadtest", "--seconds", seconds]
    done = subprocess.run(
        [*command, "--clients", "6"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=float(seconds) + 240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "5xx: 0" in output and "invariants: ok" in output, output
    requests = int(output.split("requests: ", 1)[1].split()[0])
    assert requests > 100, output  # the server really was under load


@pytest.mark.django_db
def test_the_bookkeeping_check_finds_what_the_services_would_never_write():
    option = OptionFactory(stock=10, price=1000)
    line = OrderLine(
        product=option.variant.product_id,
        variant=option.variant_id,
        option=option.pk,
        quantity=2,
        unit_price=1000,
    )
    order = order_services.create_order(
        draft=OrderDraft(lines=[line], payment_id="pay_books", **PARCEL_VALUES)
    ).order
    shop = Shop(
        customers=[], lines=[], initial_stock={("Option", option.pk): 10}, session="", csrf=""
    )
    assert broken_invariants(shop) == []

    parcel = fulfillment_services.create_fulfillment(order=order)
    FulfillmentItem.objects.filter(fulfillment=parcel).update(quantity=3)  # one unit too many
    Option.objects.filter(pk=option.pk).update(stock=5)  # three units gone without an order
    found = "\n".join(broken_invariants(shop))
    assert f"order {order.pk} (preparing): 3 units in parcels of 2 ordered" in found
    assert f"Option {option.pk}: stock 5, bookkeeping says 8" in found
