"""Stock bookkeeping for tracked catalog items (a stock of NULL means "not tracked").

The unit that holds stock is the most specific item an order line names: its option, else its
variant, else its product. Rows are locked in a fixed order (model, then id) so two services that
touch the same items never deadlock; a service that both takes and gives back stock (an exchange)
does it in one ``change`` call so that it, too, locks every row once and in that order.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Case, F, Value, When

from shop.errors import DomainError
from shop.models import Option, Product, Variant

# Lock order: products, then variants, then options, each by id.
_MODELS = (Product, Variant, Option)

Lines = Iterable[tuple[tuple[type, int], int]]


def stock_unit(*, product_id, variant_id=None, option_id=None) -> tuple[type, int]:
    if option_id:
        return Option, option_id
    if variant_id:
        return Variant, variant_id
    return Product, product_id


def _add(net: dict[type, dict[int, int]], lines: Lines, sign: int) -> None:
    for (model, pk), quantity in lines:
        if quantity < 0:
            raise ValueError(f"A stock quantity cannot be negative ({quantity}).")
        if pk is not None and quantity:
            net[model][pk] += sign * quantity


def change(*, take: Lines = (), give: Lines = ()) -> None:
    """Take units from and give units back to tracked items, in one locked pass.

    Refuses (naming the item) when an item would go below zero; untracked items are left alone.
    """
    net: dict[type, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    _add(net, take, -1)
    _add(net, give, +1)
    for model in _MODELS:
        wanted = {pk: delta for pk, delta in net.get(model, {}).items() if delta}
        if not wanted:
            continue
        rows = model.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        tracked = {}
        for row in rows.only("pk", "title", "sku", "stock"):
            if row.stock is None:
                continue
            delta = wanted[row.pk]
            if row.stock + delta < 0:
                raise DomainError(
                    f"Not enough stock for {row}: {row.stock} left, {-delta} asked for.",
                    field="quantity",
                    data={"item": str(row), "stock": row.stock, "asked": -delta},
                )
            tracked[row.pk] = delta
        if tracked:  # every locked row in one statement
            change = Case(*(When(pk=pk, then=Value(delta)) for pk, delta in tracked.items()))
            model.objects.filter(pk__in=tracked).update(stock=F("stock") + change)


def reserve(lines: Lines) -> None:
    """Take ``quantity`` from each tracked unit, refusing (and naming the item) past zero."""
    change(take=lines)


def release(lines: Lines) -> None:
    """Give ``quantity`` back to each tracked unit (cancellation, restock on return)."""
    change(give=lines)
