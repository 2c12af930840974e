"""REST collections of the fulfillment app: fulfillments (parcels) and their items."""

from fulfillment.carriers import find_carrier, tracking_link
from fulfillment.models import Fulfillment, FulfillmentItem, FulfillmentStatus
from shop.api.collections import (
    Choice,
    Collection,
    Computed,
    DateTime,
    Id,
    Integer,
    Join,
    Relation,
    Text,
    registry,
    timestamps,
)


def _carrier_name(row: dict) -> str:
    known = find_carrier(row["carrier"])
    return known.name if known else row["carrier"]


def _tracking_url(row: dict) -> str | None:
    return tracking_link(row["carrier"], row["tracking_number"])


fulfillments = Collection(
    slug="fulfillments",
    model=Fulfillment,
    singular="Fulfillment",
    plural="Fulfillments",
    description="Parcels carrying some of an order's units to the buyer.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Choice("status", choices=FulfillmentStatus.choices),
        Text("carrier", description="Free text; known codes (cj, hanjin, fedex…) get a link."),
        Computed(
            "carrierName",
            _carrier_name,
            columns=["carrier"],
            schema={"type": "string", "description": "The known carrier's name, else carrier."},
        ),
        Text("trackingNumber", "tracking_number"),
        Computed(
            "trackingUrl",
            _tracking_url,
            columns=["carrier", "tracking_number"],
            schema={"type": "string", "nullable": True, "format": "uri"},
        ),
        DateTime("shippedAt", "shipped_at", nullable=True),
        DateTime("deliveredAt", "delivered_at", nullable=True),
        Relation(
            "exchange",
            to="exchanges",
            nullable=True,
            description="Set on the parcel that carries an exchange's replacement units.",
        ),
        Text("note"),
        *timestamps(),
    ],
    joins=[Join("items", "fulfillment-items", fk="fulfillment", limit=None, sort="id")],
)

fulfillment_items = Collection(
    slug="fulfillment-items",
    model=FulfillmentItem,
    singular="Fulfillment item",
    plural="Fulfillment items",
    fields=[
        Id(),
        Relation("fulfillment", to="fulfillments"),
        Relation("orderItem", "order_item", to="order-items"),
        Integer("quantity"),
        *timestamps(),
    ],
)

registry.register(fulfillments, fulfillment_items)
