"""Reads about an order's units and money that more than one service needs."""

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet, Sum

from orders.models import (
    Order,
    OrderItem,
    Transaction,
    TransactionKind,
    TransactionStatus,
    TransitionLog,
)


@dataclass
class ItemQuantities:
    """Where an order line's units are. Replacement parcels of exchanges are not counted."""

    ordered: int = 0
    allocated: int = 0  # in a fulfilment of any state (a failed one is retried, not dropped)
    shipped: int = 0  # in a shipped or delivered fulfilment
    delivered: int = 0
    claimed: int = 0  # asked back by a return or exchange that was not rejected
    returned: int = 0  # in a completed return

    @property
    def remaining(self) -> int:
        return self.ordered - self.allocated

    @property
    def claimable(self) -> int:
        return self.delivered - self.claimed


def item_quantities(order: Order) -> dict[int, ItemQuantities]:
    """Per order item id, in four queries whatever the number of items."""
    from fulfillment.models import FulfillmentItem, FulfillmentStatus
    from returns.models import COUNTED_STATUSES, ExchangeItem, RequestStatus, ReturnItem

    result: dict[int, ItemQuantities] = defaultdict(ItemQuantities)
    for pk, quantity in OrderItem.objects.filter(order=order).values_list("pk", "quantity"):
        result[pk].ordered = quantity

    fulfilled = (
        FulfillmentItem.objects.filter(fulfillment__order=order, fulfillment__exchange__isnull=True)
        .values("order_item_id", "fulfillment__status")
        .annotate(units=Sum("quantity"))
    )
    for row in fulfilled:
        entry = result[row["order_item_id"]]
        entry.allocated += row["units"]
        if row["fulfillment__status"] in (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED):
            entry.shipped += row["units"]
        if row["fulfillment__status"] == FulfillmentStatus.DELIVERED:
            entry.delivered += row["units"]

    returned = (
        ReturnItem.objects.filter(return_request__order=order)
        .values("order_item_id", "return_request__status")
        .annotate(units=Sum("quantity"))
    )
    for row in returned:
        entry = result[row["order_item_id"]]
        if row["return_request__status"] in COUNTED_STATUSES:
            entry.claimed += row["units"]
        if row["return_request__status"] == RequestStatus.COMPLETED:
            entry.returned += row["units"]

    exchanged = (
        ExchangeItem.objects.filter(exchange__order=order, exchange__status__in=COUNTED_STATUSES)
        .values("order_item_id")
        .annotate(units=Sum("quantity"))
    )
    for row in exchanged:
        result[row["order_item_id"]].claimed += row["units"]
    return dict(result)


@dataclass
class Money:
    paid: int
    refunded: int

    @property
    def refundable(self) -> int:
        return self.paid - self.refunded


def order_money(order: Order) -> Money:
    """What has come in (paid payments) and gone out (paid refunds) for an order."""
    sums = Transaction.objects.filter(order=order, status=TransactionStatus.PAID).aggregate(
        paid=Sum("amount", filter=Q(kind=TransactionKind.PAYMENT), default=0),
        refunded=Sum("amount", filter=Q(kind=TransactionKind.REFUND), default=0),
    )
    return Money(paid=sums["paid"], refunded=sums["refunded"])


def timeline(order: Order | int) -> QuerySet[TransitionLog]:
    """Every state change of the order and of everything under it (payments, parcels, returns,
    exchanges), newest first."""
    order_id = order.pk if isinstance(order, Order) else order
    return (
        TransitionLog.objects.filter(order_id=order_id)
        .select_related("content_type", "actor_user")
        .order_by("-created_at", "-id")
    )


def object_timeline(obj: models.Model) -> QuerySet[TransitionLog]:
    """Every state change of one object (an order, a transaction, a parcel, a request),
    newest first."""
    return (
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
        )
        .select_related("content_type", "actor_user")
        .order_by("-created_at", "-id")
    )
