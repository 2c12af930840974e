"""Shortcuts that walk orders through the real services, and checks shared by the domain tests."""

import itertools
from contextlib import contextmanager

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentItem, FulfillmentStatus
from orders import services as order_services
from orders.models import (
    Order,
    OrderComment,
    OrderItem,
    OrderNumberCounter,
    OrderStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
    TransitionLog,
)
from orders.selectors import order_money
from orders.values import CustomerSnapshot, OrderDraft, OrderLine
from returns.models import Exchange, ExchangeItem, RequestStatus, Return, ReturnItem
from returns.selectors import item_quantities
from returns.values import ReturnLine
from shop.errors import DomainError
from shop.models import Cart, CartItem, Customer, Option, Product, Variant
from shop.values import Address
from tests.factories import ProductFactory

ADDRESS = {
    "recipientName": "John Doe",
    "phone": "010-1234-5678",
    "postalCode": "06123",
    "address1": "123 Main St",
    "address2": "Apt 4B",
}
SNAPSHOT = {"name": "John Doe", "email": "john@example.com"}
# The same, as the services take them.
ADDRESS_VALUE = Address(
    recipient_name="John Doe",
    phone="010-1234-5678",
    postal_code="06123",
    address1="123 Main St",
    address2="Apt 4B",
)
SNAPSHOT_VALUE = CustomerSnapshot(name="John Doe", email="john@example.com")
# What every order needs for its parcel, as members of an OrderDraft.
PARCEL_VALUES = {"customer_snapshot": SNAPSHOT_VALUE, "shipping_address": ADDRESS_VALUE}

_payment_ids = itertools.count(1)


def log_of(obj):
    """The transition log of one object (an order, a payment, a parcel, a request), newest
    first."""
    return TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).order_by("-created_at", "-id")


def order_log(order):
    """Every transition log entry of an order and of everything under it, newest first."""
    return TransitionLog.objects.filter(order=order).order_by("-created_at", "-id")


def next_payment_id() -> str:
    return f"pay_test_{next(_payment_ids)}"


def place_order(
    *, quantities=(2,), price=10000, paid=True, customer=None, products=None, **extra
) -> Order:
    """An order for ``quantities`` units of fresh products (or of ``products``), through
    ``create_order``; paid by a payment id unless ``paid`` is false."""
    products = products or [ProductFactory(price=price) for _ in quantities]
    items = [
        OrderLine(product=p.pk, quantity=q, unit_price=p.price)
        for p, q in zip(products, quantities, strict=True)
    ]
    result = order_services.create_order(
        customer=customer,
        draft=OrderDraft(
            lines=items,
            customer_snapshot=None if customer else SNAPSHOT_VALUE,
            shipping_address=ADDRESS_VALUE,
            payment_id=next_payment_id() if paid else None,
            **extra,
        ),
    )
    assert result.created
    return result.order


def ship(parcel, tracking_number="6401") -> Fulfillment:
    return fulfillment_services.ship_fulfillment(
        fulfillment=parcel, carrier="cj", tracking_number=tracking_number
    )


def deliver_everything(order) -> Fulfillment:
    parcel = fulfillment_services.create_fulfillment(order=order)
    ship(parcel)
    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    order.refresh_from_db()
    return parcel


def all_units(order) -> list[dict]:
    return [ReturnLine(order_item=i.pk, quantity=i.quantity) for i in order.items.order_by("pk")]


def status_of(obj) -> str:
    return type(obj).objects.values_list("status", flat=True).get(pk=obj.pk)


# ---------------------------------------------------------------------------------------------
# "Leaves the database as it was"

SNAPSHOT_MODELS = (
    Customer,
    Product,
    Variant,
    Option,
    Cart,
    CartItem,
    Order,
    OrderItem,
    Transaction,
    TransitionLog,
    OrderNumberCounter,
    Fulfillment,
    FulfillmentItem,
    Return,
    ReturnItem,
    Exchange,
    ExchangeItem,
    OrderComment,
)


def db_snapshot() -> dict[str, object]:
    """Every row of every domain table, every column, to compare with a later snapshot.

    On PostgreSQL each table is one digest of its rows in key order (``md5`` of each row as
    text), all tables in one statement: the property test takes two snapshots a step, and one
    round trip instead of one a table made it several times faster. Elsewhere, the rows."""
    if connection.vendor != "postgresql":
        return {
            model._meta.label: list(model.objects.order_by("pk").values())
            for model in SNAPSHOT_MODELS
        }
    quote = connection.ops.quote_name
    digests = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.{quote(model._meta.pk.column)}),"
        f" '')) FROM {quote(model._meta.db_table)} t)"
        for model in SNAPSHOT_MODELS
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {digests}")
        row = cursor.fetchone()
    return dict(zip((model._meta.label for model in SNAPSHOT_MODELS), row, strict=True))


@contextmanager
def leaves_db_unchanged(error: type[Exception] = DomainError, match: str | None = None):
    """The block must raise ``error`` (a DomainError by default) and change no row."""
    before = db_snapshot()
    with pytest.raises(error, match=match) as caught:
        yield caught
    after = db_snapshot()
    for label, rows in before.items():
        assert after[label] == rows, f"{label} changed although the service refused"


# ---------------------------------------------------------------------------------------------
# The order's status agrees with its children


AFTER_DELIVERY = (
    OrderStatus.DELIVERED,
    OrderStatus.CONFIRMED,
    OrderStatus.RETURN_REQUESTED,
    OrderStatus.RETURN_PROCESSING,
    OrderStatus.RETURNED,
)
PAID_STATES = (
    OrderStatus.PAID,
    OrderStatus.PREPARING,
    OrderStatus.SHIPPED,
    *AFTER_DELIVERY,
)


def assert_logged(order: Order) -> None:
    """Every state change of the order and of everything under it is in the transition log:
    per object, the logged moves form one unbroken chain from its first state to its current."""
    from django.contrib.contenttypes.models import ContentType

    chains: dict[tuple[int, int], list[TransitionLog]] = {}
    for log in TransitionLog.objects.filter(order=order).order_by("created_at", "id"):
        chains.setdefault((log.content_type_id, log.object_id), []).append(log)
    objects = [
        (order, OrderStatus.PENDING),
        *((t, TransactionStatus.PENDING) for t in Transaction.objects.filter(order=order)),
        *((f, FulfillmentStatus.PENDING) for f in Fulfillment.objects.filter(order=order)),
        *((r, RequestStatus.REQUESTED) for r in Return.objects.filter(order=order)),
        *((e, RequestStatus.REQUESTED) for e in Exchange.objects.filter(order=order)),
    ]
    for obj, first in objects:
        key = (ContentType.objects.get_for_model(obj).pk, obj.pk)
        states = [first]
        for log in chains.pop(key, []):
            assert log.source == states[-1], (obj, log.source, states)
            states.append(log.target)
        assert states[-1] == obj.status, (obj, states)
    assert not chains, f"log rows for objects that do not belong to order {order.pk}"


def assert_consistent(order: Order) -> None:
    """Quantities are bookkept, every change is logged, and the order's status is the one its
    children call for."""
    order.refresh_from_db()
    assert_logged(order)
    status = order.status
    quantities = item_quantities(order)
    for pk, q in quantities.items():
        assert 0 <= q.allocated <= q.ordered, (pk, q)
        assert q.delivered <= q.shipped <= q.allocated, (pk, q)
        assert q.returned <= q.claimed <= q.delivered, (pk, q)
    money = order_money(order)
    assert 0 <= money.refunded <= money.paid, money
    assert not Transaction.objects.filter(order=order, status=TransactionStatus.PENDING).exists()
    refunds = Transaction.objects.filter(order=order, kind=TransactionKind.REFUND)
    assert all(t.status == TransactionStatus.PAID for t in refunds)

    own_parcels = list(Fulfillment.objects.filter(order=order, exchange__isnull=True))
    all_shipped = all(q.shipped >= q.ordered for q in quantities.values())
    all_delivered = all(q.delivered >= q.ordered for q in quantities.values())

    if status in (OrderStatus.PENDING, OrderStatus.FAILED):
        assert money.paid < order.total_amount
        assert not own_parcels
    if status == OrderStatus.CANCELED:
        assert money.paid == 0
        assert all(p.status == FulfillmentStatus.FAILED for p in own_parcels)
    if status in PAID_STATES:
        assert money.paid >= order.total_amount
    if status == OrderStatus.PAID:
        assert not own_parcels
    if status == OrderStatus.PREPARING:
        assert own_parcels
        assert not all_shipped
    if status == OrderStatus.SHIPPED:
        assert all(q.remaining == 0 for q in quantities.values())
        assert all(p.shipped_at is not None for p in own_parcels)
        assert not all_delivered
    if status in AFTER_DELIVERY:
        assert all_delivered

    returns = set(Return.objects.filter(order=order).values_list("status", flat=True))
    exchanges = set(Exchange.objects.filter(order=order).values_list("status", flat=True))
    requests = returns | exchanges
    replacement_out = (
        Fulfillment.objects.filter(order=order, exchange__isnull=False)
        .exclude(status=FulfillmentStatus.DELIVERED)
        .exists()
    )
    completed_exchanges = Exchange.objects.filter(order=order, status=RequestStatus.COMPLETED)
    for exchange in completed_exchanges:
        assert exchange.replacement_fulfillments.count() == 1
    if status not in AFTER_DELIVERY:
        assert not requests
        return
    if RequestStatus.REQUESTED in requests:
        expected = OrderStatus.RETURN_REQUESTED
    elif requests & {RequestStatus.APPROVED, RequestStatus.PROCESSING} or replacement_out:
        expected = OrderStatus.RETURN_PROCESSING
    elif all(q.returned >= q.delivered for q in quantities.values()) and any(
        q.returned for q in quantities.values()
    ):
        expected = OrderStatus.RETURNED
    else:
        expected = (OrderStatus.DELIVERED, OrderStatus.CONFIRMED)
    if isinstance(expected, tuple):
        assert status in expected, (status, requests)
    else:
        assert status == expected, (status, requests, replacement_out)
