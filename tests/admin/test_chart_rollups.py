"""The home screen's rollups (kept by PostgreSQL triggers) give the same figures as counting the
rows directly, whatever wrote the rows: services, bulk updates, moves in time, payments that
change after a parcel left, payments voided or removed."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, ShipmentLeadSlot
from orders import services as order_services
from orders.models import Order, OrderSlotTotal, Transaction, TransactionKind, TransactionStatus
from staff import charts
from tests.admin.shortcuts import place_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _start(days=charts.DAYS):
    return charts._window(timezone.now() - timedelta(days=days - charts.DAYS))[1]


def assert_rollups_match_the_rows():
    for days in (1, charts.DAYS, 90):
        start = _start(days)
        assert charts.totals_per_day(start) == charts.direct_orders_per_day(start)
        assert charts.lead_buckets(start) == charts.direct_lead_buckets(start)


def _age(model, pk, **moments):
    model.objects.filter(pk=pk).update(**moments)


@pytest.fixture
def shop_month():
    """Orders in every money state over the window and before it, parcels shipped at several
    times after their payments."""
    assert connection.vendor == "postgresql"
    now = timezone.now()
    orders = []
    for day, hours in [(0, 1), (1, 30), (2, 60), (4, 100), (6, 150), (40, 10)]:
        order = place_order(quantities=(1, 2), price=10000 + day)
        Transaction.objects.filter(order=order).update(
            created_at=now - timedelta(days=day, hours=hours)
        )
        _age(Order, order.pk, created_at=now - timedelta(days=day, hours=hours + 1))
        fulfillment_services.ship_new_fulfillment(
            order=order, carrier="cj", tracking_number=f"80{day}"
        )
        orders.append(order)
    place_order(paid=False)  # pending: an order, not revenue
    failed = place_order(paid=False)
    order_services.fail_payment(order=failed)
    canceled = place_order()
    order_services.cancel_order(order=canceled)
    old = place_order()
    _age(Order, old.pk, created_at=now - timedelta(days=45))
    return orders


def test_rollups_match_the_rows_after_services_and_moves_in_time(shop_month):
    assert OrderSlotTotal.objects.exists() and ShipmentLeadSlot.objects.exists()
    assert_rollups_match_the_rows()
    start = _start(90)
    counted = charts.totals_per_day(start)
    assert sum(n for n, _revenue in counted.values()) == Order.objects.count()
    assert charts.lead_buckets(start) == [1, 0, 1, 1, 3]
    # Paid 1 h, 54 h, 108 h, 196 h, 294 h and 40 days before the parcels left (all now).


def test_rollups_follow_bulk_updates_and_payment_changes(shop_month):
    now = timezone.now()
    first, second = shop_month[0], shop_month[1]
    # A bulk status change (as the batch shipping does) and one into and out of revenue.
    Order.objects.filter(pk__in=[o.pk for o in shop_month]).update(status="confirmed")
    Order.objects.filter(pk=first.pk).update(status="canceled")
    Order.objects.filter(pk=second.pk).update(
        subtotal_amount=F("subtotal_amount") + 500, total_amount=F("total_amount") + 500
    )
    assert_rollups_match_the_rows()
    # The payment moves earlier after the parcel left; a later payment does not count for it.
    Transaction.objects.filter(order=second).update(created_at=now - timedelta(days=9))
    Transaction.objects.create(
        order=second,
        kind=TransactionKind.PAYMENT,
        status=TransactionStatus.PAID,
        amount=1000,
        payment_method="card",
    )
    assert_rollups_match_the_rows()
    # A payment voided, a parcel moved in time and one that becomes a replacement's.
    Transaction.objects.filter(order=first).update(status=TransactionStatus.CANCELED)
    parcel = Fulfillment.objects.filter(order=shop_month[2]).first()
    _age(Fulfillment, parcel.pk, shipped_at=now - timedelta(days=3, hours=2))
    assert_rollups_match_the_rows()
    Transaction.objects.filter(order=shop_month[3]).delete()
    assert_rollups_match_the_rows()
    # An order without children removed (in bulk, as a data fix would).
    lone = Order.objects.create(order_number="LONE-1", status="paid", total_amount=0)
    assert_rollups_match_the_rows()
    Order.objects.filter(pk=lone.pk).delete()
    assert_rollups_match_the_rows()


def test_rollups_match_the_rows_in_a_zone_a_half_hour_off_utc(shop_month):
    """Quarter hours in UTC begin a day in every time zone (St John's is UTC-3:30)."""
    with timezone.override("America/St_Johns"):
        assert_rollups_match_the_rows()
        days = charts.totals_per_day(_start())
    with timezone.override("Asia/Kathmandu"):  # UTC+5:45
        assert_rollups_match_the_rows()
    assert days


def test_a_rebuild_counts_what_the_triggers_kept(shop_month):
    def rows():
        return (
            charts.totals_per_day(_start(90)),
            charts.lead_buckets(_start(90)),
        )

    kept = rows()
    with connection.cursor() as cursor:
        cursor.execute("SELECT orders_rebuild_slot_totals()")
        cursor.execute("SELECT fulfillment_rebuild_lead_slots()")
    assert rows() == kept
