"""REST collections of the fulfillment app: fulfillments (parcels) and their items."""

from fulfillment import services
from fulfillment.carriers import find_carrier, tracking_link
from fulfillment.models import Fulfillment, FulfillmentItem, FulfillmentStatus
from orders import permissions
from orders.api import unit_lines
from orders.values import ItemUnits
from shop.api import access
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
from shop.api.writes import Accept, Body, Lines, Write


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
    owner="order__customer",
    transition_permission=permissions.FULFILMENT.name,
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
    owner="fulfillment__order__customer",
    fields=[
        Id(),
        Relation("fulfillment", to="fulfillments"),
        Relation("orderItem", "order_item", to="order-items"),
        Integer("quantity"),
        *timestamps(),
    ],
)

registry.register(fulfillments, fulfillment_items)


# ---------------------------------------------------------------------------------------------
# Writes

CREATE = Write(
    fulfillments,
    "create",
    Accept("order", required=True),
    Accept(
        "items",
        Lines(
            [Relation("orderItem", to="order-items"), Integer("quantity", min_value=1)],
            required=("orderItem",),
        ),
        description="Omitted: every unit not yet in a parcel.",
    ),
    "carrier",
    "trackingNumber",
    "note",
)
UPDATE = Write(
    fulfillments,
    "update",
    "status",
    "carrier",
    "trackingNumber",
    "note",
    Accept(
        "reason",
        Text("reason"),
        description="Why a parcel failed, or why its carrier or tracking number was corrected "
        "(timeline).",
    ),
)


def create_fulfillment(request, data) -> int:
    """POST /api/fulfillments: a parcel for some (default: all remaining) units of an order."""
    body = Body(request, fulfillments, data, accepts=CREATE, action="add")
    order = body.value("order", required=True)
    carrier = body.value("carrier")
    tracking_number = body.value("trackingNumber")
    note = body.value("note")
    body.check()
    parcel = services.create_fulfillment(
        order=order,
        actor=access.actor(request),
        items=[ItemUnits(**line) for line in unit_lines(body.raw("items"))],
        carrier=carrier or "",
        tracking_number=tracking_number or "",
        note=note or "",
    )
    return parcel.pk


def update_fulfillment(request, pk: int, data) -> None:
    """PATCH /api/fulfillments/<id>: {status} runs the transition through update_status (ship
    takes carrier and trackingNumber with it); tracking details alone are corrected in place,
    and the correction is logged in the order's timeline."""
    body = Body(request, fulfillments, data, accepts=UPDATE, action="change", pk=pk)
    status = body.value("status")
    carrier = body.value("carrier")
    tracking_number = body.value("trackingNumber")
    note = body.value("note")
    reason = body.value("reason", Text("reason"))
    body.check()
    services.change_fulfillment(
        fulfillment=pk,
        actor=access.actor(request),
        status=status,
        carrier=carrier,
        tracking_number=tracking_number,
        note=note,
        reason=reason or "",
    )


fulfillments.create = create_fulfillment
fulfillments.update = update_fulfillment
