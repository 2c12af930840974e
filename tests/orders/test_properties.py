"""Random sequences of services over random orders keep the books straight.

After every step: fulfilled ≤ ordered, delivered ≤ shipped, returned ≤ delivered,
refunded ≤ paid, stock never negative and exactly what the orders account for, and every
order's status is the one its children call for (``tests.helpers.assert_consistent``).
A step may be refused with a DomainError; then no row may have changed. Any other exception
fails the test.
"""

import os
from collections import Counter, defaultdict
from dataclasses import replace

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders import services as order_services
from orders.models import Order, OrderItem, OrderStatus
from orders.values import ItemUnits, OrderDraft, OrderLine
from returns import services as return_services
from returns.models import Exchange, ExchangeItem, RequestStatus, Return, ReturnItem
from returns.selectors import item_quantities
from returns.values import Restock, ReturnLine
from shop import stock
from shop.errors import DomainError
from shop.models import Option, Product, Variant
from tests import sizes
from tests.helpers import PARCEL_VALUES, assert_consistent, db_snapshot

pytestmark = pytest.mark.django_db

O = OrderStatus  # noqa: E741
FS = FulfillmentStatus
RS = RequestStatus

# Which services succeeded at least once over the whole run: the machine must reach deep states.
SUCCEEDED: Counter = Counter()

stocks = st.one_of(st.none(), st.integers(min_value=0, max_value=8))


# A fixed seed: the same examples on every run and after any edit of this machine (Hypothesis would
# otherwise derive the seed from the source), so CI is stable and the check that every service was
# reached means something. With seed 2 every service is reached by the 11th of the 20 runs; seeds
# 1 and 3 reached them at the 20th or missed one. Explore with others: SHOP_TEST_LIFECYCLE_SEED.
@seed(int(os.environ.get("SHOP_TEST_LIFECYCLE_SEED", "2")))
class OrderLifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each run starts from an empty shop and leaves nothing behind.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.orders: list[Order] = []
        self.initial_stock: dict[tuple[type, int], int] = {}
        self.touched: Order | None = None
        self.checked: dict[str, dict] = {}  # each invariant: the database it last held on

    def teardown(self):
        try:
            for order in self.orders:
                assert_consistent(order)
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    @initialize(levels=st.tuples(stocks, stocks, stocks, stocks, stocks), asked=st.booleans())
    def catalog(self, levels, asked):
        mug_stock, tote_stock, small_stock, large_stock, navy_stock = levels
        mug = Product.objects.create(title="Mug", sku="MUG", price=9000, stock=mug_stock)
        tote = Product.objects.create(title="Tote", sku="TOTE", price=0, stock=tote_stock)
        shirt = Product.objects.create(title="Shirt", sku="SHIRT", price=30000)
        small = Variant.objects.create(product=shirt, title="S", sku="S", stock=small_stock)
        large = Variant.objects.create(product=shirt, title="L", sku="L", stock=large_stock)
        navy = Option.objects.create(variant=small, title="Navy", sku="S-NVY", stock=navy_stock)
        self.sellables = [
            {"product": mug.pk},
            {"product": tote.pk},
            {"product": shirt.pk, "variant": small.pk},
            {"product": shirt.pk, "variant": large.pk},
            {"product": shirt.pk, "variant": small.pk, "option": navy.pk},
        ]
        self.replacements = [
            {},
            {"replacement_variant": large.pk},
            {"replacement_variant": small.pk, "replacement_option": navy.pk},
        ]
        for item in (mug, tote, shirt, small, large, navy):
            if item.stock is not None:
                self.initial_stock[(type(item), item.pk)] = item.stock
        # Every run starts with one order already delivered (when stock allows), so that
        # returns and exchanges are a few steps away.
        delivered = self.attempt(
            "create_order",
            order_services.create_order,
            draft=OrderDraft(
                lines=[
                    OrderLine(**self.sellables[3], quantity=2),
                    OrderLine(**self.sellables[1], quantity=1),
                ],
                **PARCEL_VALUES,
                payment_id="pay-delivered",
            ),
            prices_from_catalog=True,
        )
        if delivered is not None:
            self.orders.append(delivered.order)
            parcel = fulfillment_services.create_fulfillment(order=delivered.order)
            fulfillment_services.ship_fulfillment(fulfillment=parcel, tracking_number="1")
            fulfillment_services.deliver_fulfillment(fulfillment=parcel)
            if asked:
                # Half the runs start with a return and an exchange asked of it, so that each
                # move of a request (approve, reject, receive, complete) is one step away.
                lines = list(delivered.order.items.order_by("pk"))
                self.attempt(
                    "request_exchange",
                    return_services.request_exchange,
                    order=delivered.order,
                    reason="wrong_size",
                    items=[ReturnLine(lines[0].pk, 1, self.sellables[2]["variant"])],
                )
                self.attempt(
                    "request_return",
                    return_services.request_return,
                    order=delivered.order,
                    reason="defective",
                    items=[ReturnLine(lines[1].pk, 1)],
                )
        # ... and one whose payment failed.
        failed = self.attempt(
            "create_order",
            order_services.create_order,
            draft=OrderDraft(
                lines=[OrderLine(**self.sellables[1], quantity=1)],
                **PARCEL_VALUES,
                shipping_amount=3000,
            ),
            prices_from_catalog=True,
        )
        if failed is not None:
            self.orders.append(failed.order)
            order_services.fail_payment(order=failed.order, reason="declined")

    # -----------------------------------------------------------------------------------------
    # Running a step

    def attempt(self, name, call, **kwargs):
        """Run one service; a refusal must leave every row as it was."""
        target = kwargs.get("order") or kwargs.get("fulfillment") or kwargs.get("request")
        self.touched = target if isinstance(target, Order) else getattr(target, "order", None)
        before = db_snapshot()
        try:
            result = call(**kwargs)
        except DomainError:
            assert db_snapshot() == before, f"{name} refused but changed the database"
            return None
        SUCCEEDED[name] += 1
        return result

    def choose(self, data, objects, aimed):
        """Mostly an object the move suits (``aimed``), sometimes any: refusals are tested too."""
        suitable = [obj for obj in objects if aimed(obj)]
        pool = suitable if suitable and data.draw(st.integers(0, 3), label="aim") else objects
        return data.draw(st.sampled_from(pool), label="pick")

    def fresh(self, model, **filters):
        return list(model.objects.filter(order__in=self.orders, **filters).order_by("pk"))

    def order_in(self, data, *statuses):
        for order in self.orders:
            order.refresh_from_db()
        return self.choose(data, self.orders, lambda o: o.status in statuses)

    def parcel_in(self, data, *statuses):
        parcels = self.fresh(Fulfillment)
        return self.choose(data, parcels, lambda f: f.status in statuses) if parcels else None

    def units(self, data, order, limits):
        """A random list of (order item, quantity), mostly within ``limits`` per line."""
        lines = list(order.items.order_by("pk"))
        picked = data.draw(st.lists(st.sampled_from(lines), min_size=1, max_size=3, unique=True))
        return [
            (line.pk, data.draw(st.integers(1, max(1, limits.get(line.pk, 0)) + 1)))
            for line in picked
        ]

    # -----------------------------------------------------------------------------------------
    # Orders and payments

    @rule(data=st.data(), paid=st.booleans(), discount=st.sampled_from([0, 0, 1000]))
    def create_order(self, data, paid, discount):
        lines = data.draw(st.lists(st.sampled_from(self.sellables), min_size=1, max_size=3))
        items = [OrderLine(**line, quantity=data.draw(st.integers(1, 2))) for line in lines]
        result = self.attempt(
            "create_order",
            order_services.create_order,
            draft=OrderDraft(
                lines=items,
                **PARCEL_VALUES,
                shipping_amount=3000,
                discount_amount=discount,
                payment_id=f"pay-{len(self.orders)}" if paid else None,
            ),
            prices_from_catalog=True,
        )
        if result is not None:
            self.orders.append(result.order)
            self.touched = result.order

    ORDER_MOVES = {
        "record_payment": (order_services.record_payment, (O.PENDING, O.FAILED)),
        "fail_payment": (order_services.fail_payment, (O.PENDING,)),
        "retry_order": (order_services.retry_order, (O.FAILED,)),
        "cancel_order": (order_services.cancel_order, (O.PENDING, O.FAILED, O.PAID, O.PREPARING)),
        "confirm_order": (order_services.confirm_order, (O.DELIVERED,)),
    }

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), move=st.sampled_from(sorted(ORDER_MOVES)), partial=st.booleans())
    def order_move(self, data, move, partial):
        service, statuses = self.ORDER_MOVES[move]
        order = self.order_in(data, *statuses)
        kwargs = {"amount": 1000} if move == "record_payment" and partial else {}
        self.attempt(move, service, order=order, **kwargs)

    # -----------------------------------------------------------------------------------------
    # Parcels

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), everything=st.booleans())
    def create_fulfillment(self, data, everything):
        order = self.order_in(data, O.PAID, O.PREPARING)
        remaining = {pk: q.remaining for pk, q in item_quantities(order).items()}
        items = (
            None
            if everything
            else [ItemUnits(pk, quantity) for pk, quantity in self.units(data, order, remaining)]
        )
        self.attempt(
            "create_fulfillment", fulfillment_services.create_fulfillment, order=order, items=items
        )

    PARCEL_MOVES = {
        "pack": (fulfillment_services.pack_fulfillment, (FS.PENDING,)),
        "ship": (fulfillment_services.ship_fulfillment, (FS.PENDING, FS.PACKED)),
        "deliver": (fulfillment_services.deliver_fulfillment, (FS.SHIPPED,)),
        "fail_parcel": (fulfillment_services.fail_fulfillment, (FS.PENDING, FS.PACKED, FS.SHIPPED)),
        "retry_parcel": (fulfillment_services.retry_fulfillment, (FS.FAILED,)),
    }

    @precondition(lambda self: self.orders)
    @rule(
        data=st.data(),
        move=st.sampled_from(sorted(PARCEL_MOVES)),
        tracking=st.sampled_from(["6401", "6401", ""]),
    )
    def parcel_move(self, data, move, tracking):
        parcel = self.parcel_in(data, *self.PARCEL_MOVES[move][1])
        if parcel is not None:
            self.move_parcel(move, parcel, tracking)

    def move_parcel(self, move, parcel, tracking="6401"):
        service, _ = self.PARCEL_MOVES[move]
        kwargs = {"carrier": "cj", "tracking_number": tracking} if move == "ship" else {}
        self.attempt(move, service, fulfillment=parcel, **kwargs)

    # -----------------------------------------------------------------------------------------
    # Returns and exchanges

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), exchange=st.booleans())
    def request(self, data, exchange):
        order = self.order_in(data, O.DELIVERED, O.RETURN_REQUESTED, O.RETURN_PROCESSING)
        self.ask_back(data, order, exchange)

    def ask_back(self, data, order, exchange, valid=False):
        """Ask units back: any units, or (``valid``) only delivered ones not yet asked for."""
        claimable = {pk: q.claimable for pk, q in item_quantities(order).items()}
        if valid:
            lines = [pk for pk, units in claimable.items() if units]
            if not lines:
                return
            pk = data.draw(st.sampled_from(lines))
            units = [(pk, data.draw(st.integers(1, claimable[pk])))]
        else:
            units = self.units(data, order, claimable)
        items = [ReturnLine(pk, quantity) for pk, quantity in units]
        if exchange:
            replacements = self.replacements
            if valid and order.items.get(pk=items[0].order_item).variant_id is None:
                replacements = [{}]
            items = [replace(item, **data.draw(st.sampled_from(replacements))) for item in items]
            service, reason = return_services.request_exchange, "wrong_size"
        else:
            service, reason = return_services.request_return, "defective"
        kind = "exchange" if exchange else "return"
        self.attempt(f"request_{kind}", service, order=order, reason=reason, items=items)

    REQUEST_MOVES = {"approve": RS.REQUESTED, "reject": RS.REQUESTED}
    REQUEST_MOVES |= {"receive": RS.APPROVED, "complete": RS.PROCESSING}

    @precondition(lambda self: self.orders)
    @rule(
        data=st.data(),
        move=st.sampled_from(sorted(REQUEST_MOVES)),
        refund=st.sampled_from([None, None, 0, 5000, 10**9]),
    )
    def request_move(self, data, move, refund):
        requests = self.fresh(Return) + self.fresh(Exchange)
        if requests:
            chosen = self.choose(data, requests, lambda r: r.status == self.REQUEST_MOVES[move])
            self.move_request(data, move, chosen, refund)

    def move_request(self, data, move, request, refund=None):
        kind = "return" if isinstance(request, Return) else "exchange"
        kwargs = {}
        if move == "receive":
            kwargs["restock"] = Restock(
                {
                    line.order_item_id: data.draw(st.integers(0, line.quantity + 1))
                    for line in request.items.all()
                    if data.draw(st.booleans())
                }
            )
        if move == "complete" and kind == "return":
            kwargs["refund_amount"] = refund
        service = getattr(return_services, f"{move}_{kind}")
        self.attempt(f"{move}_{kind}", service, request=request, **kwargs)

    # -----------------------------------------------------------------------------------------
    # Moving an order along its usual path (weighted: two rules), so runs reach deep states

    def advance(self, data):
        for order in self.orders:
            order.refresh_from_db()
        live = [o for o in self.orders if o.status not in (O.CANCELED, O.CONFIRMED, O.RETURNED)]
        if not live:
            return
        order = data.draw(st.sampled_from(live), label="advance")
        parcels = list(order.fulfillments.exclude(status=FS.DELIVERED).order_by("pk"))
        requests = [
            r
            for r in [*order.returns.order_by("pk"), *order.exchanges.order_by("pk")]
            if r.status in (RS.REQUESTED, RS.APPROVED, RS.PROCESSING)
        ]
        pick = lambda *options: data.draw(st.sampled_from(options))  # noqa: E731
        if order.status == O.PENDING:
            move = pick("record_payment", "record_payment", "fail_payment", "cancel_order")
            self.attempt(move, self.ORDER_MOVES[move][0], order=order)
        elif order.status == O.FAILED:
            move = pick("retry_order", "record_payment")
            self.attempt(move, self.ORDER_MOVES[move][0], order=order)
        elif order.status == O.PAID or (
            order.status == O.PREPARING
            and any(q.remaining for q in item_quantities(order).values())
        ):
            self.attempt("create_fulfillment", fulfillment_services.create_fulfillment, order=order)
        elif order.status == O.DELIVERED:
            choice = pick("return", "exchange", "confirm")
            if choice == "confirm":
                self.attempt("confirm_order", order_services.confirm_order, order=order)
            else:
                self.ask_back(data, order, exchange=choice == "exchange", valid=True)
        elif requests:
            request = requests[0]
            move = {
                RS.REQUESTED: pick("approve", "reject"),
                RS.APPROVED: "receive",
                RS.PROCESSING: "complete",
            }[request.status]
            self.move_request(data, move, request)
        elif parcels:
            parcel = parcels[0]
            move = {
                FS.PENDING: pick("pack", "ship"),
                FS.PACKED: "ship",
                FS.SHIPPED: pick("deliver", "deliver", "fail_parcel"),
                FS.FAILED: "retry_parcel",
            }[parcel.status]
            self.move_parcel(move, parcel)

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def advance_an_order(self, data):
        self.advance(data)

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def advance_an_order_again(self, data):
        self.advance(data)

    # -----------------------------------------------------------------------------------------
    # What must hold after every step

    def held_on_these_rows(self, check: str) -> bool:
        """Whether ``check`` last held on the rows as they are now: most steps are refused and
        change nothing (``attempt`` proves it), so what held still holds and is not asked again
        (one digest of the tables instead of some twenty queries)."""
        now = db_snapshot()
        if self.checked.get(check) == now:
            return True
        self.checked[check] = now
        return False

    @invariant()
    def the_touched_order_agrees_with_its_children(self):
        # A service changes one order and what is under it; every order is checked at the end.
        if self.touched is not None and not self.held_on_these_rows("touched order"):
            assert_consistent(self.touched)

    @invariant()
    def stock_is_never_negative_and_fully_accounted_for(self):
        if self.held_on_these_rows("stock"):
            return
        expected = defaultdict(int, self.initial_stock)

        def add(rows, product, variant, option, quantity, sign):
            for row in rows.values(product, variant, option).annotate(units=Sum(quantity)):
                unit = stock.stock_unit(
                    product_id=row[product], variant_id=row[variant], option_id=row[option]
                )
                expected[unit] += sign * row["units"]

        line = ("order_item__product", "order_item__variant", "order_item__option")
        ordered = OrderItem.objects.exclude(order__status=O.CANCELED)
        add(ordered, "product", "variant", "option", "quantity", -1)
        returned = ReturnItem.objects.filter(return_request__status=RS.COMPLETED)
        add(returned, *line, "restock_quantity", +1)
        exchanged = ExchangeItem.objects.filter(exchange__status=RS.COMPLETED)
        add(exchanged, *line, "restock_quantity", +1)
        replacement = ("order_item__product", "replacement_variant", "replacement_option")
        add(exchanged, *replacement, "quantity", -1)
        for model, pk in self.initial_stock:
            current = model.objects.values_list("stock", flat=True).get(pk=pk)
            assert current >= 0
            assert current == expected[(model, pk)], (model.__name__, pk, current)


@pytest.mark.slow
def test_random_service_sequences_keep_the_books_straight():
    SUCCEEDED.clear()
    run_state_machine_as_test(
        OrderLifecycle,
        settings=settings(
            # 20 runs of 50 steps (100 in the long profile). Half the runs start with a return
            # and an exchange asked (``catalog``), so every service is reached in fewer runs;
            # without them 80 runs were needed. The variables explore further (docs/testing.md).
            max_examples=sizes.size("SHOP_TEST_LIFECYCLES", quick=20, long=100),
            stateful_step_count=sizes.size("SHOP_TEST_LIFECYCLE_STEPS", quick=50, long=50),
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # The run reached every service at least once (else it proved little).
    everything = {
        "create_order",
        "record_payment",
        "fail_payment",
        "retry_order",
        "cancel_order",
        "create_fulfillment",
        "pack",
        "ship",
        "deliver",
        "fail_parcel",
        "retry_parcel",
        "request_return",
        "request_exchange",
        "approve_return",
        "reject_return",
        "receive_return",
        "complete_return",
        "approve_exchange",
        "reject_exchange",
        "receive_exchange",
        "complete_exchange",
        "confirm_order",
    }
    assert everything <= set(SUCCEEDED), sorted(everything - set(SUCCEEDED))
