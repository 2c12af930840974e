"""Stock bookkeeping for tracked catalog items (a stock of NULL means "not tracked").

The unit that holds stock is the most specific item an order line names: its option, else its
variant, else its product. Rows are locked in a fixed order (model, then id) so two orders that
reserve the same items never deadlock.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F

from shop.errors import DomainError
from shop.models import Option, Product, Variant

# Lock order: products, then variants, then options, each by id.
_MODELS = (Product, Variant, Option)


def stock_unit(*, product_id, variant_id=None, option_id=None) -> tuple[type, int]:
    if option_id:
        return Option, option_id
    if variant_id:
        return Variant, variant_id
    return Product, product_id


def _grouped(lines: Iterable[tuple[tuple[type, int], int]]) -> dict[type, dict[int, int]]:
    grouped: dict[type, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (model, pk), quantity in lines:
        if pk is not None and quantity:
            grouped[model][pk] += quantity
    return grouped


def reserve(lines: Iterable[tuple[tuple[type, int], int]]) -> None:
    """Take ``quantity`` from each tracked unit, refusing (and naming the item) past zero."""
    grouped = _grouped(lines)
    for model in _MODELS:
        wanted = grouped.get(model)
        if not wanted:
            continue
        rows = model.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        for row in rows.only("pk", "title", "sku", "stock"):
            if row.stock is None:
                continue
            quantity = wanted[row.pk]
            if row.stock < quantity:
                raise DomainError(
                    f"Not enough stock for {row}: {row.stock} left, {quantity} asked for.",
                    field="quantity",
                )
            model.objects.filter(pk=row.pk).update(stock=F("stock") - quantity)


def release(lines: Iterable[tuple[tuple[type, int], int]]) -> None:
    """Give ``quantity`` back to each tracked unit (cancellation, restock on return)."""
    grouped = _grouped(lines)
    for model in _MODELS:
        wanted = grouped.get(model)
        if not wanted:
            continue
        tracked = model.objects.select_for_update().filter(pk__in=wanted, stock__isnull=False)
        for pk in tracked.order_by("pk").values_list("pk", flat=True):
            model.objects.filter(pk=pk).update(stock=F("stock") + wanted[pk])
