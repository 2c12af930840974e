"""Returns and exchanges through their services, and the order following them."""

from dataclasses import replace

import pytest

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders import services as order_services
from orders.api import unit_lines
from orders.models import OrderStatus, TransactionKind
from orders.selectors import order_money
from orders.values import OrderDraft, OrderLine
from returns import services
from returns.api import REPLACEMENT
from returns.models import Exchange, RequestStatus, Return
from returns.selectors import item_quantities
from returns.values import Restock, ReturnLine
from shop.errors import DomainError, NotFound, TransitionError
from tests.factories import OptionFactory, ProductFactory, VariantFactory
from tests.helpers import (
    PARCEL_VALUES,
    all_units,
    assert_consistent,
    deliver_everything,
    leaves_db_unchanged,
    place_order,
    ship,
    status_of,
)

pytestmark = pytest.mark.django_db

RS = RequestStatus


def delivered_order(quantities=(2, 1), **kwargs):
    order = place_order(quantities=quantities, **kwargs)
    deliver_everything(order)
    return order


def first_line(order, quantity=1):
    return [ReturnLine(order_item=order.items.order_by("pk").first().pk, quantity=quantity)]


# ---------------------------------------------------------------------------------------------
# Returns


def test_a_full_return_refunds_restocks_and_returns_the_order():
    product = ProductFactory(price=10000, stock=10)
    order = delivered_order(quantities=(3,), products=[product])
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    assert request.refund_amount == 30000
    assert status_of(order) == OrderStatus.RETURN_REQUESTED
    services.approve_return(request=request)
    assert status_of(order) == OrderStatus.RETURN_PROCESSING
    services.receive_return(request=request, restock=Restock({order.items.get().pk: 2}))
    assert request.items.get().restock_quantity == 2
    request = services.complete_return(request=request)
    assert request.status == RS.COMPLETED and request.completed_at is not None
    assert (request.refund_transaction.kind, request.refund_transaction.amount) == ("refund", 30000)
    assert status_of(order) == OrderStatus.RETURNED
    product.refresh_from_db()
    assert product.stock == 10 - 3 + 2
    assert order_money(order).refundable == 0
    assert_consistent(order)


def test_a_partial_return_brings_the_order_back_to_delivered():
    order = delivered_order(quantities=(2, 1))
    request = services.request_return(order=order, reason="change_of_mind", items=first_line(order))
    services.approve_return(request=request)
    services.receive_return(request=request)
    services.complete_return(request=request)
    assert status_of(order) == OrderStatus.DELIVERED
    assert sum(q.returned for q in item_quantities(order).values()) == 1
    assert_consistent(order)
    # the rest can come back later, and then the order is returned
    rest = [
        ReturnLine(order_item=pk, quantity=q.delivered - q.claimed)
        for pk, q in item_quantities(order).items()
        if q.delivered > q.claimed
    ]
    second = services.request_return(order=order, reason="defective", items=rest)
    services.approve_return(request=second)
    services.receive_return(request=second)
    services.complete_return(request=second)
    assert status_of(order) == OrderStatus.RETURNED
    assert order_money(order).refunded == order.total_amount
    assert_consistent(order)


def test_a_rejected_return_leaves_the_units_with_the_buyer():
    order = delivered_order()
    request = services.request_return(order=order, reason="other", items=all_units(order))
    services.reject_return(request=request, reason="outside the return window")
    request.refresh_from_db()
    assert (request.status, request.rejection_reason) == (RS.REJECTED, "outside the return window")
    assert status_of(order) == OrderStatus.DELIVERED
    # rejected units can be asked for again
    services.request_return(order=order, reason="defective", items=all_units(order))
    assert status_of(order) == OrderStatus.RETURN_REQUESTED
    assert_consistent(order)


def test_a_second_request_while_one_is_processing_waits_for_a_decision():
    order = delivered_order(quantities=(2,))
    first = services.request_return(order=order, reason="defective", items=first_line(order))
    services.approve_return(request=first)
    assert status_of(order) == OrderStatus.RETURN_PROCESSING
    second = services.request_return(order=order, reason="defective", items=first_line(order))
    assert status_of(order) == OrderStatus.RETURN_REQUESTED
    services.reject_return(request=second)
    assert status_of(order) == OrderStatus.RETURN_PROCESSING
    services.receive_return(request=first)
    services.complete_return(request=first)
    assert status_of(order) == OrderStatus.DELIVERED
    assert_consistent(order)


def test_no_unit_is_returned_twice_or_before_delivery():
    order = place_order(quantities=(2,))
    with leaves_db_unchanged(DomainError, match="only delivered units"):
        services.request_return(order=order, reason="defective", items=first_line(order))
    deliver_everything(order)
    services.request_return(order=order, reason="defective", items=first_line(order, 2))
    with leaves_db_unchanged(DomainError, match="Only 0 delivered unit"):
        services.request_return(order=order, reason="defective", items=first_line(order))
    with leaves_db_unchanged(DomainError, match="Only 0 delivered unit"):
        services.request_exchange(order=order, reason="wrong_size", items=first_line(order))


def test_a_default_refund_never_exceeds_what_was_paid():
    """A discounted order refunds at most what came in, not the lines' list price."""
    order = delivered_order(quantities=(2,), discount_amount=5000)
    assert order.total_amount == 15000
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    assert request.refund_amount == 20000
    services.approve_return(request=request)
    services.receive_return(request=request)
    request = services.complete_return(request=request)
    assert request.refund_amount == 15000
    assert order_money(order).refunded == 15000
    assert_consistent(order)


def test_staff_can_refund_a_chosen_amount_but_not_more_than_paid():
    order = delivered_order(quantities=(1,))
    request = services.request_return(order=order, reason="damaged", items=all_units(order))
    services.approve_return(request=request)
    services.receive_return(request=request)
    with leaves_db_unchanged(DomainError, match="more than the 10000 left"):
        services.complete_return(request=request, refund_amount=10001)
    with leaves_db_unchanged(DomainError, match="0 or more, not -1"):
        services.complete_return(request=request, refund_amount=-1)
    request = services.complete_return(request=request, refund_amount=0)
    assert request.refund_transaction is None and request.refund_amount == 0
    assert not order.transactions.filter(kind=TransactionKind.REFUND).exists()


@pytest.mark.parametrize(
    ("restock", "message"),
    [
        ({"line": 3}, "must be 0 to 2, not 3"),
        ({"999999": 1}, "not part of return"),
    ],
)
def test_bad_restock_numbers_are_refused(restock, message):
    order = delivered_order(quantities=(2,))
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    services.approve_return(request=request)
    line = order.items.get().pk
    restock = Restock({(line if k == "line" else k): v for k, v in restock.items()})
    with leaves_db_unchanged(DomainError, match=message):
        services.receive_return(request=request, restock=restock)


@pytest.mark.parametrize(
    ("restock", "message"),
    [
        ({1: -1}, "must be 0 or more, not -1"),
        ({1: "many"}, "whole number"),
        ({"one": 1}, "not an order item id"),
        ({1: 1, "1": 2}, "given twice"),
        (["line"], "restock must map"),
    ],
)
def test_a_restock_is_checked_when_made(restock, message):
    with pytest.raises(DomainError, match=message):
        Restock(restock)


def test_a_restock_takes_ids_and_counts_from_a_form_or_the_wire():
    assert dict(Restock({"12": "3", 14: 0}).units) == {12: 3, 14: 0}


def test_restock_can_name_the_request_line_instead_of_the_order_item():
    order = delivered_order(quantities=(2,))
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    services.approve_return(request=request)
    line = request.items.get()
    services.receive_return(request=request, restock=Restock({str(line.pk): 0}))
    line.refresh_from_db()
    assert line.restock_quantity == 0


@pytest.mark.parametrize(
    ("service", "after"),
    [
        ("approve_return", "approved"),
        ("reject_return", "approved"),
        ("receive_return", "requested"),
        ("receive_return", "processing"),
        ("complete_return", "approved"),
        ("complete_return", "completed"),
    ],
)
def test_return_services_refuse_moves_their_state_does_not_allow(service, after):
    order = delivered_order(quantities=(1,))
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    if after in ("approved", "processing", "completed"):
        services.approve_return(request=request)
    if after in ("processing", "completed"):
        services.receive_return(request=request)
    if after == "completed":
        services.complete_return(request=request)
    with leaves_db_unchanged(TransitionError) as caught:
        getattr(services, service)(request=request)
    assert caught.value.current == after


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": "bored"}, "reason must be one of"),
        ({"reason": None}, "reason must be one of"),
        ({"items": []}, "at least one item"),
        ({"items": "all"}, "items must be a list"),
        ({"items": [1]}, "items must be a list"),
        ({"items": [{"orderItem": 999999}]}, "not part of order"),
        ({"items": [{"orderItem": "line", "quantity": 0}]}, "at least 1"),
        ({"items": [{"orderItem": "line", "quantity": 3}]}, "Only 2 delivered unit"),
    ],
)
@pytest.mark.parametrize("kind", ["return", "exchange"])
def test_bad_requests_are_refused(kind, kwargs, message):
    order = delivered_order(quantities=(2,))
    line = order.items.get().pk
    arguments = {"order": order, "reason": "defective", "items": first_line(order)} | kwargs
    service = services.request_return if kind == "return" else services.request_exchange
    with leaves_db_unchanged(DomainError, match=message):
        if "items" in kwargs:  # as the API receives them: mapped from the wire first
            wire = kwargs["items"]
            if isinstance(wire, list):
                wire = [
                    {k: (line if v == "line" else v) for k, v in raw.items()}
                    if isinstance(raw, dict)
                    else raw
                    for raw in wire
                ]
            arguments["items"] = [ReturnLine(**units) for units in unit_lines(wire)]
        service(**arguments)


def test_unknown_requests_are_not_found():
    for service in (services.approve_return, services.reject_exchange, services.complete_return):
        with leaves_db_unchanged(NotFound):
            service(request=777777)


# ---------------------------------------------------------------------------------------------
# Exchanges


def test_an_exchange_sends_the_replacement_and_the_order_is_delivered_again():
    product = ProductFactory(price=20000)
    small = VariantFactory(product=product, title="S", stock=3)
    large = VariantFactory(product=product, title="L", stock=1)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, variant=small.pk, quantity=2)],
            payment_id="pay_ex",
            **PARCEL_VALUES,
        )
    ).order
    deliver_everything(order)
    line = order.items.get()
    exchange = services.request_exchange(
        order=order,
        reason="wrong_size",
        items=[ReturnLine(order_item=line.pk, quantity=1, replacement_variant=large.pk)],
    )
    assert status_of(order) == OrderStatus.RETURN_REQUESTED
    services.approve_exchange(request=exchange)
    assert status_of(order) == OrderStatus.RETURN_PROCESSING
    services.receive_exchange(request=exchange, restock=Restock({line.pk: 1}))
    services.complete_exchange(request=exchange)
    exchange.refresh_from_db()
    assert exchange.status == RS.COMPLETED
    small.refresh_from_db()
    large.refresh_from_db()
    assert (small.stock, large.stock) == (3 - 2 + 1, 0)
    replacement = exchange.replacement_fulfillments.get()
    assert list(replacement.items.values_list("order_item", "quantity")) == [(line.pk, 1)]
    # replacement units do not count as the order's own
    assert item_quantities(order)[line.pk].delivered == 2
    assert status_of(order) == OrderStatus.RETURN_PROCESSING
    assert_consistent(order)
    ship(replacement, tracking_number="R-1")
    assert status_of(order) == OrderStatus.RETURN_PROCESSING
    fulfillment_services.deliver_fulfillment(fulfillment=replacement)
    assert status_of(order) == OrderStatus.DELIVERED
    assert_consistent(order)
    # exchanged units cannot be asked back again
    with leaves_db_unchanged(DomainError, match="Only 1 delivered unit"):
        services.request_return(order=order, reason="defective", items=first_line(order, 2))


def test_an_exchange_without_a_replacement_named_sends_the_same_item():
    product = ProductFactory()
    option = OptionFactory(variant=VariantFactory(product=product), stock=5)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, variant=option.variant_id, option=option.pk)],
            payment_id="pay_same",
            **PARCEL_VALUES,
        )
    ).order
    deliver_everything(order)
    exchange = services.request_exchange(order=order, reason="defective", items=all_units(order))
    line = exchange.items.get()
    assert (line.replacement_variant_id, line.replacement_option_id) == (
        option.variant_id,
        option.pk,
    )
    services.approve_exchange(request=exchange)
    services.receive_exchange(request=exchange, restock=Restock({}))
    services.complete_exchange(request=exchange)
    option.refresh_from_db()
    assert option.stock == 5 - 1 + 1 - 1


def test_an_exchange_for_an_item_out_of_stock_is_refused_naming_it():
    product = ProductFactory()
    small = VariantFactory(product=product, title="Small", sku="S-1", stock=5)
    large = VariantFactory(product=product, title="Large", sku="L-1", stock=0)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, variant=small.pk)],
            payment_id="pay_oos",
            **PARCEL_VALUES,
        )
    ).order
    deliver_everything(order)
    exchange = services.request_exchange(
        order=order,
        reason="wrong_size",
        items=[replace(all_units(order)[0], replacement_variant=large.pk)],
    )
    services.approve_exchange(request=exchange)
    services.receive_exchange(request=exchange)
    with leaves_db_unchanged(DomainError, match=r"Not enough stock for Large \(L-1\)"):
        services.complete_exchange(request=exchange)


def test_a_rejected_exchange_brings_the_order_back_to_delivered():
    order = delivered_order()
    exchange = services.request_exchange(order=order, reason="wrong_color", items=first_line(order))
    services.reject_exchange(request=exchange, reason="worn")
    assert status_of(exchange) == RS.REJECTED
    assert status_of(order) == OrderStatus.DELIVERED
    assert not Fulfillment.objects.filter(exchange=exchange).exists()


def test_a_lost_replacement_keeps_the_order_processing_until_it_arrives():
    order = delivered_order(quantities=(1,))
    exchange = services.request_exchange(order=order, reason="defective", items=all_units(order))
    services.approve_exchange(request=exchange)
    services.receive_exchange(request=exchange)
    services.complete_exchange(request=exchange)
    replacement = exchange.replacement_fulfillments.get()
    ship(replacement)
    fulfillment_services.fail_fulfillment(fulfillment=replacement, reason="lost")
    assert status_of(order) == OrderStatus.RETURN_PROCESSING
    fulfillment_services.retry_fulfillment(fulfillment=replacement)
    ship(replacement, tracking_number="again")
    fulfillment_services.deliver_fulfillment(fulfillment=replacement)
    assert status_of(replacement) == FulfillmentStatus.DELIVERED
    assert status_of(order) == OrderStatus.DELIVERED
    assert_consistent(order)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"replacementVariant": 999999}, "Variant 999999 does not exist"),
        ({"replacementVariant": "other-product"}, "not a variant of the ordered product"),
        ({"replacementOption": 999999}, "not an option of the replacement variant"),
        ({"replacementVariant": "x"}, "whole number"),
    ],
)
def test_bad_replacements_are_refused(raw, message):
    order = delivered_order(quantities=(1,))
    other = VariantFactory()
    raw = {k: (other.pk if v == "other-product" else v) for k, v in raw.items()}
    with leaves_db_unchanged(DomainError, match=message):
        line = order.items.get()
        wire = [{"orderItem": line.pk, "quantity": line.quantity, **raw}]
        asked = [ReturnLine(**units) for units in unit_lines(wire, extra=REPLACEMENT)]
        services.request_exchange(order=order, reason="wrong_size", items=asked)


@pytest.mark.parametrize(
    ("service", "after"),
    [
        ("approve_exchange", "rejected"),
        ("reject_exchange", "processing"),
        ("receive_exchange", "requested"),
        ("complete_exchange", "approved"),
        ("complete_exchange", "completed"),
    ],
)
def test_exchange_services_refuse_moves_their_state_does_not_allow(service, after):
    order = delivered_order(quantities=(1,))
    exchange = services.request_exchange(order=order, reason="defective", items=all_units(order))
    if after == "rejected":
        services.reject_exchange(request=exchange)
    if after in ("approved", "processing", "completed"):
        services.approve_exchange(request=exchange)
    if after in ("processing", "completed"):
        services.receive_exchange(request=exchange)
    if after == "completed":
        services.complete_exchange(request=exchange)
    with leaves_db_unchanged(TransitionError) as caught:
        getattr(services, service)(request=exchange)
    assert caught.value.current == after


def test_requests_are_refused_on_confirmed_and_returned_orders():
    order = delivered_order(quantities=(1,))
    order_services.confirm_order(order=order)
    with leaves_db_unchanged(DomainError, match="confirmed"):
        services.request_return(order=order, reason="defective", items=all_units(order))
    assert Return.objects.count() == Exchange.objects.count() == 0


def test_a_note_must_be_text():
    order = delivered_order(quantities=(1,))
    with leaves_db_unchanged(DomainError, match="note must be text"):
        services.request_return(
            order=order, reason="defective", items=all_units(order), note={"a": 1}
        )
    with leaves_db_unchanged(DomainError, match="note is longer"):
        services.request_exchange(
            order=order, reason="defective", items=all_units(order), note="x" * 10_001
        )


# ---------------------------------------------------------------------------------------------
# move_request: a request moved to a named state (the API's PATCH {status})


def test_move_request_runs_the_service_of_each_move():
    order = delivered_order(quantities=(2,))
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    line = order.items.get()
    services.move_request(kind=Return, request=request.pk, move="approved")
    services.move_request(
        kind=Return, request=request.pk, move="processing", restock=Restock({line.pk: 1})
    )
    assert request.items.get().restock_quantity == 1
    done = services.move_request(
        kind=Return, request=request.pk, move="completed", refund_amount=5000
    )
    assert (done.status, done.refund_amount) == (RS.COMPLETED, 5000)
    assert status_of(order) == OrderStatus.RETURNED


@pytest.mark.parametrize("move", ["requested", "completed", "shipped", "processing"])
def test_move_request_refuses_a_move_the_state_does_not_allow(move):
    order = delivered_order(quantities=(1,))
    exchange = services.request_exchange(order=order, reason="defective", items=all_units(order))
    if move == "processing":
        services.move_request(kind=Exchange, request=exchange, move="rejected", reason="worn")
    with leaves_db_unchanged(TransitionError, match=f"to {move}") as caught:
        services.move_request(kind=Exchange, request=exchange.pk, move=move)
    assert caught.value.current == ("rejected" if move == "processing" else "requested")


def test_move_request_refuses_a_move_to_where_the_request_is():
    order = delivered_order(quantities=(1,))
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    services.approve_return(request=request)
    with leaves_db_unchanged(TransitionError, match="from approved to approved") as caught:
        services.move_request(kind=Return, request=request, move="approved")
    assert caught.value.allowed == ["processing"]


@pytest.mark.parametrize(
    ("move", "details", "message"),
    [
        ("approved", {"reason": "worn"}, "reason for rejection goes with a move to rejected"),
        ("approved", {"restock": Restock()}, "Restock goes with a move to processing"),
        ("rejected", {"refund_amount": 1}, "refund amount goes with a move to completed"),
    ],
)
def test_move_request_refuses_details_of_another_move(move, details, message):
    order = delivered_order(quantities=(1,))
    request = services.request_return(order=order, reason="defective", items=all_units(order))
    with leaves_db_unchanged(DomainError, match=message):
        services.move_request(kind=Return, request=request, move=move, **details)


def test_move_request_of_a_request_that_does_not_exist_is_not_found():
    with leaves_db_unchanged(NotFound, match="Exchange 999999 does not exist"):
        services.move_request(kind=Exchange, request=999999, move="approved")
