"""Reads about what an order's buyer asked back."""

from fulfillment.selectors import parcel_annotations, replacements_out
from orders.models import OrderItem
from orders.selectors import ItemQuantities, units_of
from orders.services import AfterSales
from returns.models import (
    COUNTED_STATUSES,
    Exchange,
    ExchangeItem,
    RequestStatus,
    Return,
    ReturnItem,
)
from shop import statements


def item_quantities(order) -> dict[int, ItemQuantities]:
    """Per order item id, where its units are (parcels, returns, exchanges), in one query
    whatever the number of items: each figure is a subquery on the child rows of one order
    line (indexed by their order item), compiled once (``shop.statements``)."""
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
    return (
        OrderItem.objects.filter(order_id=order_id)
        .order_by()
        .annotate(
            **parcel_annotations(),
            returns_claimed=units_of(
                ReturnItem, statuses={"return_request__status__in": COUNTED_STATUSES}
            ),
            returned=units_of(
                ReturnItem, statuses={"return_request__status": RequestStatus.COMPLETED}
            ),
            exchanges_claimed=units_of(
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


def after_sales(order) -> AfterSales:
    """Where the order's returns and exchanges stand, as the order's status follows them."""
    statuses = set(Return.objects.filter(order=order).values_list("status", flat=True))
    statuses |= set(Exchange.objects.filter(order=order).values_list("status", flat=True))
    waiting = RequestStatus.REQUESTED in statuses
    processing = bool(statuses & {RequestStatus.APPROVED, RequestStatus.PROCESSING})
    processing = processing or replacements_out(order)
    settled = not (waiting or processing)
    quantities = item_quantities(order).values() if settled else ()
    return AfterSales(
        waiting=waiting,
        processing=processing,
        everything_back=settled and all(q.returned >= q.delivered for q in quantities),
        any_returned=any(q.returned for q in quantities),
    )
