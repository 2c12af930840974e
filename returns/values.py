"""The values a return or exchange is asked with, as the services take them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ReturnLine:
    """Units of one order line asked back; an exchange's line may name the variant and option
    sent instead (``None``: the same ones)."""

    order_item: int
    quantity: int = 1
    replacement_variant: int | None = None
    replacement_option: int | None = None
