"""Reads about an order's units and money that more than one service needs."""

from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from orders.models import (
    Order,
    OrderItem,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from shop import statements


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


def _units(model, *, statuses=None, **filters) -> Coalesce:
    """Units of the outer order line in ``model`` rows matching the filters (0 when none)."""
    rows = model.objects.filter(order_item=OuterRef("pk"), **filters)
    if statuses is not None:
        rows = rows.filter(**statuses)
    total = rows.order_by().values("order_item").annotate(units=Sum("quantity")).values("units")
    return Coalesce(Subquery(total), 0)


def item_quantities(order: Order) -> dict[int, ItemQuantities]:
    """Per order item id, in one query whatever the number of items: each figure is a
    subquery on the child rows of one order line (indexed by their order item). Every change
    to an order's units asks this, so its statement is compiled once (``shop.statements``)."""
    rows = statements.fetch(_quantities_query, [order.pk])
    return {
        row["pk"]: ItemQuantities(
            ordered=row["quantity"],
            allocated=row["allocated"],
            shipped=row["shipped"],
            delivered=row["delivered"],
            claimed=row["returns_claimed"] + row["exchanges_claimed"],
            returned=row["returned"],
        )
        for row in rows
    }


def _quantities_query(order_id: int):
    from fulfillment.models import FulfillmentItem, FulfillmentStatus
    from returns.models import COUNTED_STATUSES, ExchangeItem, RequestStatus, ReturnItem

    sent = (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED)
    own_parcels = {"fulfillment__exchange__isnull": True}
    return (
        OrderItem.objects.filter(order_id=order_id)
        .order_by()
        .annotate(
            allocated=_units(FulfillmentItem, **own_parcels),
            shipped=_units(
                FulfillmentItem, statuses={"fulfillment__status__in": sent}, **own_parcels
            ),
            delivered=_units(
                FulfillmentItem,
                statuses={"fulfillment__status": FulfillmentStatus.DELIVERED},
                **own_parcels,
            ),
            returns_claimed=_units(
                ReturnItem, statuses={"return_request__status__in": COUNTED_STATUSES}
            ),
            returned=_units(
                ReturnItem, statuses={"return_request__status": RequestStatus.COMPLETED}
            ),
            exchanges_claimed=_units(
                ExchangeItem, statuses={"exchange__status__in": COUNTED_STATUSES}
            ),
        )
        .values(
            "pk",
            "quantity",
            "allocated",
            "shipped",
            "delivered",
            "returns_claimed",
            "returned",
            "exchanges_claimed",
        )
    )


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
