"""The order follows its children: parcels, returns and exchanges.

``orders`` imports none of the apps under an order. Each one, when it changes its rows, calls
the service here with what the order needs to know (the units per line, where the requests
stand), and the order moves through its transitions. The few order verbs that must act on the
children's rows (cancel calls off unsent parcels; the address is locked once a parcel left)
ask the steps the child apps register in ``CHILDREN`` from their ``AppConfig.ready``.
"""

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db import models

from events.outbox import record_event
from orders.models import Order, OrderStatus
from orders.selectors import ItemQuantities
from orders.transitions import run_transition
from shop.actors import Actor
from shop.errors import DomainError


@dataclass
class Children:
    """What the apps under an order registered for the order's own verbs."""

    # Has a parcel of the order's own left the warehouse? (refuses a cancel; locks the address)
    shipped: list[Callable[[Order], bool]] = field(default_factory=list)
    # Call off what a canceled order no longer needs; returns the (event type, row) pairs to
    # record after the order's own event.
    call_off: list[Callable[..., list[tuple[str, models.Model]]]] = field(default_factory=list)

    def register(self, *, shipped=None, call_off=None) -> None:
        if shipped is not None and shipped not in self.shipped:
            self.shipped.append(shipped)
        if call_off is not None and call_off not in self.call_off:
            self.call_off.append(call_off)

    def any_shipped(self, order: Order) -> bool:
        return any(check(order) for check in self.shipped)


CHILDREN = Children()


def sync_order_after_shipping(
    order: Order,
    *,
    quantities: Mapping[int, ItemQuantities],
    actor: Actor,
    logs: list | None = None,
    save: bool = True,
) -> None:
    """Move the order forward as its parcels move: preparing → shipped → delivered.

    ``quantities`` are the order's units as they now are (the caller holds the order's lock);
    ``logs`` and ``save`` are passed on to ``run_transition``."""
    if order.status not in (OrderStatus.PREPARING, OrderStatus.SHIPPED):
        return
    units = quantities.values()
    moves = {"actor": actor, "order_id": order.pk, "logs": logs, "save": save}
    if order.status == OrderStatus.PREPARING and all(q.shipped >= q.ordered for q in units):
        run_transition(order, "ship", reason="every unit shipped", **moves)
    if order.status == OrderStatus.SHIPPED and all(q.delivered >= q.ordered for q in units):
        run_transition(order, "deliver", reason="every unit delivered", **moves)
        record_event("order.delivered", order)


@dataclass(frozen=True)
class AfterSales:
    """Where an order's returns and exchanges stand (``returns.selectors.after_sales``)."""

    waiting: bool  # a request waits for a decision
    processing: bool  # a request is approved or being processed, or a replacement is on its way
    everything_back: bool  # every delivered unit came back (a completed return)
    any_returned: bool


AFTER_SALES = (
    OrderStatus.DELIVERED,
    OrderStatus.RETURN_REQUESTED,
    OrderStatus.RETURN_PROCESSING,
    OrderStatus.RETURNED,
)


def sync_order_after_requests(
    order: Order, *, after_sales: AfterSales, actor: Actor, reason: str = ""
) -> None:
    """Move the order to the after-sales state its returns and exchanges put it in.

    Any request waiting for a decision → return_requested; any being processed (or an
    exchange whose replacement has not arrived) → return_processing; otherwise returned when
    every delivered unit came back, else delivered.
    """
    if order.status not in AFTER_SALES:
        return
    if after_sales.waiting:
        desired = OrderStatus.RETURN_REQUESTED
    elif after_sales.processing:
        desired = OrderStatus.RETURN_PROCESSING
    elif after_sales.everything_back and after_sales.any_returned:
        desired = OrderStatus.RETURNED
    else:
        desired = OrderStatus.DELIVERED
    move_order_to(order, desired, actor=actor, reason=reason)


def move_order_to(order: Order, desired: str, *, actor: Actor, reason: str = "") -> None:
    """Run the shortest chain of order transitions from the current status to ``desired``."""
    if order.status == desired:
        return
    edges: dict[str, list[tuple[str, str]]] = {}
    for t in order.get_all_status_transitions():
        edges.setdefault(t.source, []).append((t.name, t.target))
    paths: dict[str, list[str]] = {order.status: []}
    queue = deque([order.status])
    while queue:
        state = queue.popleft()
        for name, target in edges.get(state, []):
            if target not in paths:
                paths[target] = [*paths[state], name]
                queue.append(target)
    for name in paths.get(desired) or [None]:
        if name is None:
            raise DomainError(f"Order {order.order_number} cannot reach {desired}.")
        run_transition(order, name, actor=actor, order_id=order.pk, reason=reason)
