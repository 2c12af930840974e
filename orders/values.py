"""The values an order is made from, as the services take them: checked once, when made.

The API maps its camelCase bodies to these (``orders.api``); the admin builds them from its
forms; the services never see the wire format.
"""

from dataclasses import dataclass
from typing import ClassVar

from shop.values import Address, checked_text

# The buyer's note for the delivery (orders.Order.delivery_note).
MAX_DELIVERY_NOTE = 500


@dataclass(frozen=True)
class CustomerSnapshot:
    """The customer as they were at order time; ``None``: not given (taken from the customer
    account, when there is one)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None

    LIMITS: ClassVar[dict[str, tuple[int, str]]] = {
        "name": (200, "customerSnapshot.name"),
        "email": (254, "customerSnapshot.email"),
        "phone": (40, "customerSnapshot.phone"),
    }

    def __post_init__(self):
        for name, (max_length, label) in self.LIMITS.items():
            object.__setattr__(self, name, checked_text(getattr(self, name), label, max_length))

    def columns(self, customer=None) -> dict[str, str]:
        """The ``customer_*`` columns of an order: what was given, the account's for the rest."""
        columns = {}
        for name in self.LIMITS:
            value = getattr(self, name)
            if value is None:
                value = getattr(customer, name, "") if customer is not None else ""
            columns[f"customer_{name}"] = value
        return columns


@dataclass(frozen=True)
class OrderLine:
    """One line asked for: a product (its variant and option when it has them), how many, and
    at what unit price (``None``: the catalog's)."""

    product: int
    quantity: int = 1
    variant: int | None = None
    option: int | None = None
    unit_price: int | None = None


@dataclass(frozen=True)
class OrderDraft:
    """Everything an order is created from but its customer account and cart: the lines (a
    checkout takes them from the cart), the buyer, the parcel's address, the totals to check,
    a payment that pays it at once, and the buyer's note for the delivery."""

    lines: tuple[OrderLine, ...] = ()
    order_number: str | None = None
    customer_snapshot: CustomerSnapshot | None = None
    shipping_address: Address | None = None
    total_amount: int | None = None
    shipping_amount: int = 0
    discount_amount: int = 0
    payment_id: str | None = None
    payment_method: str = ""
    currency: str | None = None
    delivery_note: str = ""

    def __post_init__(self):
        object.__setattr__(self, "lines", tuple(self.lines))
        note = checked_text(self.delivery_note, "deliveryNote", MAX_DELIVERY_NOTE)
        object.__setattr__(self, "delivery_note", note)
        if self.customer_snapshot is None:
            object.__setattr__(self, "customer_snapshot", CustomerSnapshot())


@dataclass(frozen=True)
class ItemUnits:
    """Some units of one order line (a parcel's); ``quantity`` ``None``: all that are left."""

    order_item: int
    quantity: int | None = None
