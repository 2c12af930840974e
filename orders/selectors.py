"""Reads about an order's units and money that more than one service needs."""

from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from orders.models import (
    Order,
    Transaction,
    TransactionKind,
    TransactionStatus,
)


@dataclass
class ItemQuantities:
    """Where an order line's units are. Replacement parcels of exchanges are not counted.

    The apps under an order fill in what they hold (``fulfillment.selectors.parcel_units``:
    allocated, shipped, delivered; ``returns.selectors.item_quantities``: all of it) and hand
    it to the order's services, which move the order from it."""

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


def units_of(model, *, statuses=None, **filters) -> Coalesce:
    """Units of the outer order line in ``model`` rows matching the filters (0 when none): the
    child apps (parcels, returns) annotate order lines with it."""
    rows = model.objects.filter(order_item=OuterRef("pk"), **filters)
    if statuses is not None:
        rows = rows.filter(**statuses)
    total = rows.order_by().values("order_item").annotate(units=Sum("quantity")).values("units")
    return Coalesce(Subquery(total), 0)


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
