"""Checks of single values that every app's services share: whole numbers, money, quantities,
text that fits its column, a row's id. Each raises ``DomainError`` naming the field."""

import re
from typing import Any

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
