"""Orders delivered more than N days ago are confirmed by the management command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment
from orders.models import OrderStatus
from orders.values import ItemUnits
from tests.helpers import deliver_everything, log_of, place_order, ship, status_of

pytestmark = pytest.mark.django_db


def delivered_days_ago(days, quantities=(1,)):
    order = place_order(quantities=quantities)
    parcel = deliver_everything(order)
    Fulfillment.objects.filter(pk=parcel.pk).update(
        delivered_at=timezone.now() - timedelta(days=days)
    )
    return order


def confirm(*args) -> str:
    out = StringIO()
    call_command("confirm_delivered_orders", *args, stdout=out)
    return out.getvalue()


def test_the_setting_decides_how_old_a_delivery_must_be(settings):
    settings.SHOP_AUTO_CONFIRM_DAYS = 7
    old = delivered_days_ago(8)
    recent = delivered_days_ago(6)
    assert "Confirmed 1 order(s) delivered more than 7 days ago." in confirm()
    assert status_of(old) == OrderStatus.CONFIRMED
    assert status_of(recent) == OrderStatus.DELIVERED
    log = log_of(old).first()
    assert (log.actor_kind, log.reason) == ("system", "delivered more than 7 days ago")
    settings.SHOP_AUTO_CONFIRM_DAYS = 5
    assert "Confirmed 1 order(s) delivered more than 5 days ago." in confirm()
    assert status_of(recent) == OrderStatus.CONFIRMED


def test_days_option_overrides_the_setting(settings):
    settings.SHOP_AUTO_CONFIRM_DAYS = 30
    order = delivered_days_ago(3)
    assert "Confirmed 0 order(s)" in confirm("--days", "4")
    assert "Confirmed 1 order(s) delivered more than 2 days ago." in confirm("--days=2")
    assert status_of(order) == OrderStatus.CONFIRMED
    assert "Confirmed 0 order(s)" in confirm("--days=0")


def test_the_last_parcel_counts():
    order = place_order(quantities=(2,))
    lines = [ItemUnits(order.items.get().pk, 1)]
    early = fulfillment_services.create_fulfillment(order=order, items=lines)
    late = fulfillment_services.create_fulfillment(order=order, items=lines)
    for parcel in (early, late):
        ship(parcel)
        fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    now = timezone.now()
    Fulfillment.objects.filter(pk=early.pk).update(delivered_at=now - timedelta(days=10))
    Fulfillment.objects.filter(pk=late.pk).update(delivered_at=now - timedelta(days=2))
    confirm("--days=7")
    assert status_of(order) == OrderStatus.DELIVERED
    confirm("--days=1")
    assert status_of(order) == OrderStatus.CONFIRMED


def test_orders_with_an_open_return_are_left_alone():
    from returns import services as return_services
    from tests.helpers import all_units

    order = delivered_days_ago(10)
    return_services.request_return(order=order, reason="defective", items=all_units(order))
    assert "Confirmed 0 order(s)" in confirm("--days=7")
    assert status_of(order) == OrderStatus.RETURN_REQUESTED


def test_negative_days_are_refused():
    with pytest.raises(CommandError, match="days cannot be negative"):
        confirm("--days=-1")
