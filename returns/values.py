"""The values a return or exchange is asked with, as the services take them."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from shop.errors import DomainError
from shop.values import as_int


@dataclass(frozen=True)
class ReturnLine:
    """Units of one order line asked back; an exchange's line may name the variant and option
    sent instead (``None``: the same ones)."""

    order_item: int
    quantity: int = 1
    replacement_variant: int | None = None
    replacement_option: int | None = None


def _line_id(key: Any) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and re.fullmatch(r"[0-9]{1,18}", key.strip()):
        return int(key.strip())
    raise DomainError(f"restock names {key!r}, not an order item id.", field="restock")


@dataclass(frozen=True)
class Restock:
    """Per line of a received return or exchange, how many of its units go back on the shelf
    (a line not named: all of them). A key is the order item's id or, failing that, the
    request line's own id. Checked when made: ids and whole numbers, none below zero; the
    service checks each against its line's units."""

    units: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.units, Mapping):
            raise DomainError("restock must map order items to quantities.", field="restock")
        units: dict[int, int] = {}
        for key, value in self.units.items():
            line = _line_id(key)
            if line in units:
                raise DomainError(f"Restock for order item {line} is given twice.", field="restock")
            quantity = as_int(value, "restock")
            if quantity < 0:
                raise DomainError(
                    f"Restock for order item {line} must be 0 or more, not {quantity}.",
                    field="restock",
                )
            units[line] = quantity
        object.__setattr__(self, "units", MappingProxyType(units))
