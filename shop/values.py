"""Checks of single values that every app's services share (whole numbers, money, quantities,
text that fits its column, a row's id), and the values every app speaks (an ``Address``). Each
check raises ``DomainError`` naming the field."""

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from shop.errors import DomainError

# Money fits a JSON number exactly (2**53 - 1), quantities a PostgreSQL integer.
MAX_AMOUNT = 2**53 - 1
MAX_QUANTITY = 2**31 - 1
# Free-text notes and reasons: long enough for any real note, short enough to refuse junk.
MAX_NOTE = 10_000


def as_int(value: Any, field: str) -> int:
    """A whole number from JSON or a form: an int, an integral float or a numeric string."""
    if isinstance(value, bool):
        raise DomainError(f"{field} must be a whole number.", field=field)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        value = int(value.strip())
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise DomainError(f"{field} is too large.", field=field)
        return value
    raise DomainError(f"{field} must be a whole number, not {value!r}.", field=field)


def as_amount(value: Any, field: str) -> int:
    """An amount of money in minor units: 0 up to ``MAX_AMOUNT``."""
    amount = as_int(value, field)
    if not 0 <= amount <= MAX_AMOUNT:
        raise DomainError(f"{field} must be between 0 and {MAX_AMOUNT}, not {amount}.", field=field)
    return amount


def as_quantity(value: Any, field: str = "quantity", *, label: str = "") -> int:
    """A count of units: 1 up to ``MAX_QUANTITY``."""
    quantity = as_int(value, field)
    if not 1 <= quantity <= MAX_QUANTITY:
        prefix = f"{label}: " if label else ""
        raise DomainError(
            f"{prefix}{field} must be at least 1 (and at most {MAX_QUANTITY}), not {quantity}.",
            field=field,
        )
    return quantity


def as_text(value: Any, field: str, max_length: int) -> str:
    """Stripped text no longer than its column (``None`` is empty)."""
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise DomainError(f"{field} must be text, not {value!r}.", field=field)
    text = str(value).strip()
    if len(text) > max_length:
        raise DomainError(
            f"{field} is longer than {max_length} characters ({len(text)}).", field=field
        )
    return text


def pk_or_none(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        return value.pk
    return as_int(value, field)


def checked_text(value: str | None, label: str, max_length: int) -> str | None:
    """Stripped text no longer than its column; ``None`` stays None (not given)."""
    if value is None:
        return None
    text = value.strip()
    if len(text) > max_length:
        raise DomainError(
            f"{label} is longer than {max_length} characters ({len(text)}).", field=label
        )
    return text


@dataclass(frozen=True)
class Address:
    """Where a parcel goes, on a cart (filled in as the buyer goes) and on an order. A member
    that is ``None`` was not given (an edit changes only the members given)."""

    recipient_name: str | None = None
    phone: str | None = None
    postal_code: str | None = None
    address1: str | None = None
    address2: str | None = None

    # Column lengths (shared by carts and orders), and the path an error names.
    LIMITS: ClassVar[dict[str, tuple[int, str]]] = {
        "recipient_name": (200, "shippingAddress.recipientName"),
        "phone": (40, "shippingAddress.phone"),
        "postal_code": (20, "shippingAddress.postalCode"),
        "address1": (300, "shippingAddress.address1"),
        "address2": (300, "shippingAddress.address2"),
    }
    # What a parcel cannot be sent without: who takes it, a number the courier calls, where it
    # goes (address2, the flat or floor, is often not needed).
    PARCEL_NEEDS: ClassVar[tuple[str, ...]] = ("recipient_name", "phone", "postal_code", "address1")

    def __post_init__(self):
        for name, (max_length, label) in self.LIMITS.items():
            object.__setattr__(self, name, checked_text(getattr(self, name), label, max_length))

    def given(self) -> dict[str, str]:
        """The members given, by attribute name."""
        return {name: value for name in self.LIMITS if (value := getattr(self, name)) is not None}

    def whole(self) -> "Address":
        """Every member, blank where not given."""
        return Address(**{name: getattr(self, name) or "" for name in self.LIMITS})

    def columns(self) -> dict[str, str]:
        """The members given, as the ``shipping_*`` columns of a cart or an order."""
        return {f"shipping_{name}": value for name, value in self.given().items()}

    def blank(self, *, given_only: bool = False) -> list[str]:
        """The error paths of the parcel's needs that are blank (``given_only``: only those given,
        and blank)."""
        return [
            self.LIMITS[name][1]
            for name in self.PARCEL_NEEDS
            if (getattr(self, name) == "" if given_only else not getattr(self, name))
        ]

    @classmethod
    def of(cls, row) -> "Address":
        """The address a cart or an order holds."""
        return cls(**{name: getattr(row, f"shipping_{name}") for name in cls.LIMITS})
