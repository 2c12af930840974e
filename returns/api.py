"""REST collections of the returns app: returns, exchanges and their items."""

from django.db import transaction

from orders import permissions
from orders.transitions import refused
from returns import services
from returns.models import (
    Exchange,
    ExchangeItem,
    ExchangeReason,
    RequestStatus,
    Return,
    ReturnItem,
    ReturnReason,
)
from shop.api import access
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
from shop.api.writes import Body, body_schema


def _request_fields() -> list:
    return [
        Choice("status", choices=RequestStatus.choices),
        Text("note"),
        Text("rejectionReason", "rejection_reason"),
        DateTime("receivedAt", "received_at", nullable=True),
        DateTime("completedAt", "completed_at", nullable=True),
    ]


# What a customer may send to request a return or an exchange on their own order.
AFTER_SALES_REQUEST = frozenset({"order", "reason", "items", "note"})

returns = Collection(
    slug="returns",
    model=Return,
    singular="Return",
    plural="Returns",
    description="Delivered units coming back for a refund.",
    owner="order__customer",
    transition_permission=permissions.RETURNS.name,
    customer_writes={"add": AFTER_SALES_REQUEST},
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
    owner="return_request__order__customer",
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
    owner="order__customer",
    transition_permission=permissions.RETURNS.name,
    customer_writes={"add": AFTER_SALES_REQUEST},
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
    owner="exchange__order__customer",
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


# ---------------------------------------------------------------------------------------------
# Writes

RETURN_ITEMS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "orderItem": {"type": "integer", "format": "int64"},
            "quantity": {"type": "integer", "minimum": 1, "default": 1},
        },
        "required": ["orderItem"],
    },
}
EXCHANGE_ITEMS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "orderItem": {"type": "integer", "format": "int64"},
            "quantity": {"type": "integer", "minimum": 1, "default": 1},
            "replacementVariant": {"type": "integer", "format": "int64", "nullable": True},
            "replacementOption": {"type": "integer", "format": "int64", "nullable": True},
        },
        "required": ["orderItem"],
    },
}
RESTOCK_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "integer", "minimum": 0},
    "description": "With status processing: per order item id, how many received units go back "
    "on the shelf (default: all).",
}
CREATE_FIELDS = ["order", "reason", "items", "note"]
UPDATE_FIELDS = ["status", "rejectionReason", "restock"]


def _create(collection, service):
    def create(request, data) -> int:
        body = Body(request, collection, data, accepts=CREATE_FIELDS, action="add")
        order = body.value("order", required=True)
        reason = body.value("reason", required=True)
        note = body.value("note")
        if not isinstance(body.raw("items"), list) or not body.raw("items"):
            body.error("items", "A request needs at least one item: [{orderItem, quantity}].")
        body.check()
        request_ = service(
            order=order,
            reason=reason,
            items=body.raw("items"),
            note=note or "",
            actor=access.actor(request),
        )
        return request_.pk

    return create


def _update(collection, model, moves: dict, extra_fields: list[str]):
    """PATCH {status}: approved / rejected / processing / completed, each through its service."""

    def update(request, pk: int, data) -> None:
        body = Body(
            request,
            collection,
            data,
            accepts=[*UPDATE_FIELDS, *extra_fields],
            action="change",
            pk=pk,
        )
        status = body.value("status")
        rejection = body.value("rejectionReason")
        for key, needs in (
            ("rejectionReason", RequestStatus.REJECTED),
            ("restock", RequestStatus.PROCESSING),
            ("refundAmount", RequestStatus.COMPLETED),
        ):
            if key in body and status != needs:
                body.error(key, f"{key} is given with status {needs}.")
        body.check()
        if status is None:
            return
        actor = access.actor(request)
        with transaction.atomic():
            # The order's lock first, then the request's (the services' order): a move sent
            # twice at once runs once and the second is refused.
            _order, current = services._lock_request(model, pk)
            if status not in moves or status == current.status:
                raise refused(current, status)
            service, arguments = moves[status]
            kwargs = {name: value for name, value in arguments(body, rejection).items()}
            service(request=pk, actor=actor, **kwargs)

    return update


def _common_moves(approve, reject, receive):
    return {
        RequestStatus.APPROVED: (approve, lambda body, rejection: {}),
        RequestStatus.REJECTED: (reject, lambda body, rejection: {"reason": rejection or ""}),
        RequestStatus.PROCESSING: (
            receive,
            lambda body, rejection: {"restock": body.raw("restock")},
        ),
    }


RETURN_MOVES = {
    **_common_moves(services.approve_return, services.reject_return, services.receive_return),
    RequestStatus.COMPLETED: (
        services.complete_return,
        lambda body, rejection: {"refund_amount": body.raw("refundAmount")},
    ),
}
EXCHANGE_MOVES = {
    **_common_moves(services.approve_exchange, services.reject_exchange, services.receive_exchange),
    RequestStatus.COMPLETED: (services.complete_exchange, lambda body, rejection: {}),
}

returns.create = _create(returns, services.request_return)
returns.update = _update(returns, Return, RETURN_MOVES, ["refundAmount"])
exchanges.create = _create(exchanges, services.request_exchange)
exchanges.update = _update(exchanges, Exchange, EXCHANGE_MOVES, [])

_STATUS_HELP = (
    "Runs the transition: approved, rejected (with rejectionReason), processing (the units are "
    "back; restock), completed (a return refunds, an exchange sends the replacement parcel)."
)
for _collection, _items, _extra in (
    (returns, RETURN_ITEMS_SCHEMA, {"refundAmount": {"type": "integer", "minimum": 0}}),
    (exchanges, EXCHANGE_ITEMS_SCHEMA, {}),
):
    _collection.create_schema = body_schema(
        _collection, CREATE_FIELDS, required=["order", "reason", "items"], extra={"items": _items}
    )
    _collection.update_schema = body_schema(
        _collection,
        UPDATE_FIELDS,
        extra={
            "status": {
                "type": "string",
                "enum": ["approved", "rejected", "processing", "completed"],
                "description": _STATUS_HELP,
            },
            "restock": RESTOCK_SCHEMA,
            **_extra,
        },
    )
