"""REST collections of the returns app: returns, exchanges and their items."""

from returns.models import (
    Exchange,
    ExchangeItem,
    ExchangeReason,
    RequestStatus,
    Return,
    ReturnItem,
    ReturnReason,
)
from shop.api.collections import (
    Choice,
    Collection,
    DateTime,
    Id,
    Integer,
    Join,
    Relation,
    Text,
    registry,
    timestamps,
)


def _request_fields() -> list:
    return [
        Choice("status", choices=RequestStatus.choices),
        Text("note"),
        Text("rejectionReason", "rejection_reason"),
        DateTime("receivedAt", "received_at", nullable=True),
        DateTime("completedAt", "completed_at", nullable=True),
    ]


returns = Collection(
    slug="returns",
    model=Return,
    singular="Return",
    plural="Returns",
    description="Delivered units coming back for a refund.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Choice("reason", choices=ReturnReason.choices),
        *_request_fields(),
        Integer("refundAmount", "refund_amount"),
        Relation("refundTransaction", "refund_transaction", to="transactions", nullable=True),
        *timestamps(),
    ],
    joins=[Join("items", "return-items", fk="return_request", limit=None, sort="id")],
)

return_items = Collection(
    slug="return-items",
    aliases=("return-products",),
    model=ReturnItem,
    singular="Return item",
    plural="Return items",
    fields=[
        Id(),
        Relation("return", "return_request", to="returns"),
        Relation("orderItem", "order_item", to="order-items"),
        Integer("quantity"),
        Integer("restockQuantity", "restock_quantity"),
        *timestamps(),
    ],
)

exchanges = Collection(
    slug="exchanges",
    model=Exchange,
    singular="Exchange",
    plural="Exchanges",
    description="Delivered units swapped for other variants or options.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Choice("reason", choices=ExchangeReason.choices),
        *_request_fields(),
        *timestamps(),
    ],
    joins=[Join("items", "exchange-items", fk="exchange", limit=None, sort="id")],
)

exchange_items = Collection(
    slug="exchange-items",
    model=ExchangeItem,
    singular="Exchange item",
    plural="Exchange items",
    fields=[
        Id(),
        Relation("exchange", to="exchanges"),
        Relation("orderItem", "order_item", to="order-items"),
        Integer("quantity"),
        Relation("replacementVariant", "replacement_variant", to="variants", nullable=True),
        Relation("replacementOption", "replacement_option", to="options", nullable=True),
        Integer("restockQuantity", "restock_quantity"),
        *timestamps(),
    ],
)

registry.register(returns, return_items, exchanges, exchange_items)
