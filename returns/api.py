"""REST collections of the returns app: returns, exchanges and their items."""

from django.db import transaction

from orders import permissions
from orders.api import unit_lines
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
from returns.values import Restock, ReturnLine
from shop.api import access
from shop.api.collections import (
    Choice,
    CoercionError,
    Collection,
    DateTime,
    Group,
    Id,
    Integer,
    Join,
    Relation,
    Text,
    registry,
    timestamps,
)
from shop.api.writes import Accept, Body, Lines, Mapping, Write


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
        Integer(
            "differenceDue",
            "difference_due",
            description="The replacement's catalog price less what the buyer paid for the units "
            "sent back, set when the exchange is requested: above 0 the buyer owes it (the "
            "replacement waits for differencePayment), below 0 it is refunded to them when the "
            "exchange completes; 0 when the prices are the same.",
        ),
        Relation(
            "differenceTransaction",
            "difference_transaction",
            to="transactions",
            nullable=True,
            description="The payment that settled a positive differenceDue, or the refund of a "
            "negative one.",
        ),
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

# An exchange's line may name what is sent instead.
REPLACEMENT = {
    "replacementVariant": "replacement_variant",
    "replacementOption": "replacement_option",
}
_STATUS_HELP = (
    "Runs the transition: approved, rejected (with rejectionReason), processing (the units are "
    "back; restock), completed (a return refunds, an exchange sends the replacement parcel)."
)
_LINE = [
    Relation("orderItem", to="order-items"),
    Integer("quantity", min_value=1, description="Default 1."),
]
# What the buyer paid an exchange's price difference with.
DIFFERENCE_PAYMENT = [
    Integer("amount", description="Default: all of differenceDue (it must be exactly that)."),
    Text("paymentMethod", description="How it was paid (card, bank_transfer, …)."),
    Text("paymentId", description="The payment provider's id, unique."),
    Text("reference", description="What matches the money (a payer name)."),
]
# Per collection: what its create and its update accept.
_WRITES: dict[str, tuple[Write, Write]] = {}
for _collection, _line in (
    (returns, _LINE),
    (exchanges, [*_LINE, *[f for f in exchange_items.fields if f.name.startswith("replacement")]]),
):
    _WRITES[_collection.slug] = (
        Write(
            _collection,
            "create",
            Accept("order", required=True),
            Accept("reason", required=True),
            Accept("items", Lines(_line, required=("orderItem",), min_items=1), required=True),
            "note",
        ),
        Write(
            _collection,
            "update",
            Accept(
                "status",
                enum=["approved", "rejected", "processing", "completed"],
                description=_STATUS_HELP,
            ),
            "rejectionReason",
            Accept(
                "restock",
                Mapping(
                    Integer("units", min_value=0),
                    description="With status processing: per order item id, how many received "
                    "units go back on the shelf (default: all).",
                ),
            ),
            *(
                [Accept("refundAmount", Integer("refundAmount", min_value=0))]
                if _collection is returns
                else [
                    Accept(
                        "differencePayment",
                        Group("differencePayment", DIFFERENCE_PAYMENT),
                        write_only=True,
                        description="The buyer paid the differenceDue of an approved exchange: "
                        "the payment is recorded for the order, and the replacement may be sent. "
                        "Runs before a status given with it.",
                    )
                ]
            ),
        ),
    )


def _create(collection, service):
    def create(request, data) -> int:
        body = Body(request, collection, data, accepts=_WRITES[collection.slug][0], action="add")
        order = body.value("order", required=True)
        reason = body.value("reason", required=True)
        note = body.value("note")
        if not isinstance(body.raw("items"), list) or not body.raw("items"):
            body.error("items", "A request needs at least one item: [{orderItem, quantity}].")
        body.check()
        request_ = service(
            order=order,
            reason=reason,
            items=[ReturnLine(**line) for line in unit_lines(body.raw("items"), extra=REPLACEMENT)],
            note=note or "",
            actor=access.actor(request),
        )
        return request_.pk

    return create


def _update(collection, model):
    """PATCH {status}: approved / rejected / processing / completed, through ``move_request``."""

    def update(request, pk: int, data) -> None:
        body = Body(
            request,
            collection,
            data,
            accepts=_WRITES[collection.slug][1],
            action="change",
            pk=pk,
        )
        status = body.value("status")
        payment = _difference_payment(body)
        for key, needs in (
            ("rejectionReason", RequestStatus.REJECTED),
            ("restock", RequestStatus.PROCESSING),
            ("refundAmount", RequestStatus.COMPLETED),
        ):
            if key in body and status != needs:
                body.error(key, f"{key} is given with status {needs}.")
        restock = body.raw("restock")
        refund = body.value("refundAmount", Integer("refundAmount", min_value=0))
        body.check()
        actor = access.actor(request)
        # The payment and the move it allows are one change: a refused move keeps no payment.
        with transaction.atomic():
            if payment is not None:
                services.pay_exchange_difference(request=pk, actor=actor, **payment)
            if status is not None:
                services.move_request(
                    kind=model,
                    request=pk,
                    move=status,
                    actor=actor,
                    reason=body.value("rejectionReason") or "",
                    restock=None if restock in (None, "") else Restock(restock),
                    refund_amount=refund,
                )

    return update


def _difference_payment(body) -> dict | None:
    """``differencePayment`` from the wire → ``pay_exchange_difference``'s arguments."""
    if "differencePayment" not in body:
        return None
    raw = body.raw("differencePayment")
    if not isinstance(raw, dict):
        body.error("differencePayment", "An object: {paymentMethod, paymentId, reference}.")
        return None
    known = {field.name for field in DIFFERENCE_PAYMENT}
    for key in raw:
        if key not in known:
            body.error(f"differencePayment.{key}", "This field cannot be written here.")
    payment = {}
    arguments = {"paymentMethod": "method", "paymentId": "payment_id"}
    for field in DIFFERENCE_PAYMENT:
        name = arguments.get(field.name, field.name)
        value = raw.get(field.name)
        if value is None:
            continue
        if field.name == "amount":
            try:
                payment[name] = field.coerce(value)  # checked by the service against what is due
            except CoercionError as error:
                body.error(f"differencePayment.{field.name}", f"Invalid value: {error}.")
        elif not isinstance(value, str):
            body.error(f"differencePayment.{field.name}", "This field must be text.")
        else:
            payment[name] = value
    return payment


returns.create = _create(returns, services.request_return)
returns.update = _update(returns, Return)
exchanges.create = _create(exchanges, services.request_exchange)
exchanges.update = _update(exchanges, Exchange)
