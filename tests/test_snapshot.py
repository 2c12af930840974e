"""The snapshot behind ``leaves_db_unchanged`` and the property test sees every kind of change."""

import pytest

from orders.models import Order
from shop.models import Product
from tests.helpers import db_snapshot, place_order

pytestmark = pytest.mark.django_db


def test_the_snapshot_changes_with_any_row_or_column():
    order = place_order(quantities=(1,))
    before = db_snapshot()
    assert db_snapshot() == before
    Order.objects.filter(pk=order.pk).update(staff_note="one letter")
    after_update = db_snapshot()
    assert after_update != before and after_update["orders.Order"] != before["orders.Order"]
    assert after_update["orders.OrderItem"] == before["orders.OrderItem"]
    Product.objects.create(title="New", sku="NEW", price=1)
    assert db_snapshot()["shop.Product"] != after_update["shop.Product"]
    Product.objects.filter(sku="NEW").delete()
    assert db_snapshot() == after_update
