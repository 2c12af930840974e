"""Every transition of every state machine, from every state: allowed where DESIGN.md's machines
say so (the row moves and the move is logged), refused everywhere else (TransitionError naming
the current state and what it can reach; nothing saved, nothing logged)."""

import itertools

import pytest

from fulfillment.models import Fulfillment, FulfillmentStatus
from orders.models import Order, OrderStatus, Transaction, TransactionStatus, TransitionLog
from orders.transitions import allowed_targets, run_transition, transition_to
from returns.models import Exchange, RequestStatus, Return
from shop.actors import Actor
from shop.errors import TransitionError

pytestmark = pytest.mark.django_db

O = OrderStatus  # noqa: E741
T = TransactionStatus
F = FulfillmentStatus
R = RequestStatus

# name: (sources, target), written out from DESIGN.md "State machines".
ORDER = {
    "pay": ({O.PENDING}, O.PAID),
    "fail": ({O.PENDING}, O.FAILED),
    "retry": ({O.FAILED}, O.PENDING),
    "cancel": ({O.PENDING, O.FAILED, O.PAID, O.PREPARING}, O.CANCELED),
    "start_preparing": ({O.PAID}, O.PREPARING),
    "ship": ({O.PREPARING}, O.SHIPPED),
    "deliver": ({O.SHIPPED}, O.DELIVERED),
    "confirm": ({O.DELIVERED}, O.CONFIRMED),
    # a new request while another is being processed goes back to return_requested
    "request_return": ({O.DELIVERED, O.RETURN_PROCESSING}, O.RETURN_REQUESTED),
    "reject_return": ({O.RETURN_REQUESTED}, O.DELIVERED),
    "start_return": ({O.RETURN_REQUESTED}, O.RETURN_PROCESSING),
    "complete_return": ({O.RETURN_PROCESSING}, O.RETURNED),
    # a partial return or an exchange is over: the order is delivered again
    "close_return": ({O.RETURN_PROCESSING}, O.DELIVERED),
}
TRANSACTION = {
    "mark_paid": ({T.PENDING}, T.PAID),
    "mark_failed": ({T.PENDING}, T.FAILED),
    "void": ({T.PENDING, T.PAID}, T.CANCELED),
}
FULFILLMENT = {
    "pack": ({F.PENDING}, F.PACKED),
    "ship": ({F.PENDING, F.PACKED}, F.SHIPPED),
    "deliver": ({F.SHIPPED}, F.DELIVERED),
    "fail": ({F.PENDING, F.PACKED, F.SHIPPED}, F.FAILED),
    "retry": ({F.FAILED}, F.PENDING),
}
REQUEST = {
    "approve": ({R.REQUESTED}, R.APPROVED),
    "reject": ({R.REQUESTED}, R.REJECTED),
    "start_processing": ({R.APPROVED}, R.PROCESSING),
    "complete": ({R.PROCESSING}, R.COMPLETED),
}

MACHINES = {
    "order": (ORDER, O),
    "transaction": (TRANSACTION, T),
    "fulfillment": (FULFILLMENT, F),
    "return": (REQUEST, R),
    "exchange": (REQUEST, R),
}

_numbers = itertools.count(1)


def make(machine: str, status: str):
    """A row of ``machine`` sitting in ``status`` (made directly: the table is about the
    machine itself; the services' own tests walk real orders)."""
    if machine == "order":
        return Order.objects.create(order_number=f"M-{next(_numbers)}", status=status)
    order = Order.objects.create(order_number=f"M-{next(_numbers)}", status=O.DELIVERED)
    if machine == "transaction":
        return Transaction.objects.create(order=order, amount=1000, status=status)
    if machine == "fulfillment":
        return Fulfillment.objects.create(order=order, tracking_number="6401", status=status)
    model = Return if machine == "return" else Exchange
    return model.objects.create(order=order, reason="defective", status=status)


def expected_targets(table: dict, status: str) -> set[str]:
    return {target for sources, target in table.values() if status in sources}


CASES = [
    pytest.param(machine, name, status, id=f"{machine}-{name}-from-{status}")
    for machine, (table, states) in MACHINES.items()
    for name in table
    for status in states.values
]


@pytest.mark.parametrize(("machine", "name", "status"), CASES)
def test_transition_from_every_state(machine, name, status):
    table, _ = MACHINES[machine]
    sources, target = table[name]
    obj = make(machine, status)
    order_id = obj.pk if machine == "order" else obj.order_id
    actor = Actor.api_key("machine-test")

    assert set(allowed_targets(obj)) == expected_targets(table, status)
    if status in sources:
        log = run_transition(obj, name, actor=actor, order_id=order_id, reason="table")
        obj.refresh_from_db()
        assert obj.status == target
        assert (log.source, log.target, log.transition) == (status, target, name)
        assert (log.actor_kind, log.actor_label, log.reason) == ("api_key", "machine-test", "table")
        assert log.subject == obj
    else:
        with pytest.raises(TransitionError) as caught:
            run_transition(obj, name, actor=actor, order_id=order_id)
        assert caught.value.current == status
        assert set(caught.value.allowed) == expected_targets(table, status)
        assert status in caught.value.message and target in caught.value.message
        obj.refresh_from_db()
        assert obj.status == status
        assert not TransitionLog.objects.filter(object_id=obj.pk, order_id=order_id).exists()


def test_tables_cover_every_transition_of_every_model():
    """The tables above are the whole machine: no transition exists that they do not list."""
    for machine, (table, states) in MACHINES.items():
        obj = make(machine, states.values[0])
        declared = {(t.name, t.source, t.target) for t in obj.get_all_status_transitions()}
        listed = {
            (name, source, target)
            for name, (sources, target) in table.items()
            for source in sources
        }
        assert declared == listed, machine


def test_status_is_protected_from_assignment():
    order = make("order", O.PENDING)
    with pytest.raises(AttributeError):
        order.status = O.PAID


def test_fulfillment_cannot_ship_without_a_tracking_number():
    order = Order.objects.create(order_number="M-track", status=O.PREPARING)
    parcel = Fulfillment.objects.create(order=order, tracking_number="  ")
    with pytest.raises(TransitionError):
        run_transition(parcel, "ship", actor=Actor.system(), order_id=order.pk)
    parcel.refresh_from_db()
    assert parcel.status == F.PENDING


@pytest.mark.parametrize(
    ("status", "target", "name"),
    [
        (O.PENDING, O.PAID, "pay"),
        (O.RETURN_PROCESSING, O.DELIVERED, "close_return"),
        (O.RETURN_PROCESSING, O.RETURNED, "complete_return"),
    ],
)
def test_transition_to_names_the_move(status, target, name):
    assert transition_to(make("order", status), target) == name


def test_transition_to_refuses_an_unreachable_state():
    with pytest.raises(TransitionError) as caught:
        transition_to(make("order", O.PENDING), O.SHIPPED)
    assert caught.value.current == O.PENDING
    assert set(caught.value.allowed) == {O.PAID, O.FAILED, O.CANCELED}
