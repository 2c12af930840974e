"""Reads about an order's parcels that more than one service needs."""

from fulfillment.models import Fulfillment, FulfillmentItem, FulfillmentStatus
from orders.models import OrderItem
from orders.selectors import ItemQuantities, units_of
from shop import statements

SENT = (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED)


def parcel_annotations() -> dict:
    """Per order line: units in a parcel of any state (``allocated``), in a shipped or delivered
    one, in a delivered one. Replacement parcels of exchanges do not count."""
    own_parcels = {"fulfillment__exchange__isnull": True}
    return {
        "allocated": units_of(FulfillmentItem, **own_parcels),
        "shipped": units_of(
            FulfillmentItem, statuses={"fulfillment__status__in": SENT}, **own_parcels
        ),
        "delivered": units_of(
            FulfillmentItem,
            statuses={"fulfillment__status": FulfillmentStatus.DELIVERED},
            **own_parcels,
        ),
    }


def parcel_units(order) -> dict[int, ItemQuantities]:
    """Per order item id: ordered, allocated, shipped and delivered units, in one query whatever
    the number of items. Every change to an order's parcels asks this, so its statement is
    compiled once (``shop.statements``)."""
    rows = statements.fetch(_parcel_units_query, [order.pk])
    return {
        row["pk"]: ItemQuantities(
            ordered=row["quantity"],
            allocated=row["allocated"],
            shipped=row["shipped"],
            delivered=row["delivered"],
        )
        for row in rows
    }


def _parcel_units_query(order_id: int):
    return (
        OrderItem.objects.filter(order_id=order_id)
        .order_by()
        .annotate(**parcel_annotations())
        .values("pk", "quantity", "allocated", "shipped", "delivered")
    )


def has_shipped_parcels(order) -> bool:
    """Has a parcel of the order's own (not an exchange's replacement) left the warehouse?"""
    return Fulfillment.objects.filter(order=order, exchange__isnull=True, status__in=SENT).exists()


def replacements_out(order) -> bool:
    """Is a replacement parcel of one of the order's exchanges still on its way?"""
    return (
        Fulfillment.objects.filter(order=order, exchange__isnull=False)
        .exclude(status=FulfillmentStatus.DELIVERED)
        .exists()
    )


def parcel_units_of_orders(order_ids) -> dict[int, dict[int, ItemQuantities]]:
    """``parcel_units`` of many orders in one query: per order id, per order item id."""
    rows = (
        OrderItem.objects.filter(order_id__in=list(order_ids))
        .order_by()
        .annotate(**parcel_annotations())
        .values("pk", "order_id", "quantity", "allocated", "shipped", "delivered")
    )
    found: dict[int, dict[int, ItemQuantities]] = {pk: {} for pk in order_ids}
    for row in rows:
        found[row["order_id"]][row["pk"]] = ItemQuantities(
            ordered=row["quantity"],
            allocated=row["allocated"],
            shipped=row["shipped"],
            delivered=row["delivered"],
        )
    return found
