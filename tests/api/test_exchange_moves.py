"""PATCH {status} on a return or an exchange goes through ``returns.services.move_request``:
a move the state does not allow is a 409 naming the state, and nothing is written."""

import pytest

from orders.models import Order, Transaction, TransitionLog
from returns.models import Exchange, ExchangeItem, Return
from tests.api.shop_data import order_with_requests

pytestmark = pytest.mark.django_db


def snapshot():
    return [
        list(model.objects.order_by("pk").values())
        for model in (Order, Return, Exchange, ExchangeItem, Transaction, TransitionLog)
    ]


@pytest.mark.parametrize(
    ("slug", "body", "allowed"),
    [
        ("exchanges", {"status": "completed"}, ["approved", "rejected"]),
        ("exchanges", {"status": "requested"}, ["approved", "rejected"]),
        ("returns", {"status": "processing", "restock": {}}, ["approved", "rejected"]),
    ],
)
def test_a_move_the_request_cannot_make_is_refused_and_writes_nothing(api, slug, body, allowed):
    order = order_with_requests()
    request = (Exchange if slug == "exchanges" else Return).objects.get(order=order)
    before = snapshot()
    answer = api.from_(slug).update(body, request.pk)
    assert answer.status == 409, answer.json
    error = answer.json["errors"][0]
    assert f"to {body['status']}" in error["message"]
    assert error["data"] == {"status": "requested", "allowed": allowed}
    assert snapshot() == before


def test_the_same_move_twice_runs_once(api):
    order = order_with_requests()
    exchange = Exchange.objects.get(order=order)
    assert api.from_("exchanges").update({"status": "approved"}, exchange.pk).status == 200
    before = snapshot()
    again = api.from_("exchanges").update({"status": "approved"}, exchange.pk)
    assert again.status == 409
    assert again.json["errors"][0]["data"]["status"] == "approved"
    assert snapshot() == before


def test_a_bad_restock_is_a_400_and_writes_nothing(api):
    order = order_with_requests()
    request = Return.objects.get(order=order)
    api.from_("returns").update({"status": "approved"}, request.pk)
    before = snapshot()
    answer = api.from_("returns").update(
        {"status": "processing", "restock": {"999999": 1}}, request.pk
    )
    assert answer.status == 400, answer.json
    assert "not part of return" in answer.json["errors"][0]["message"]
    assert snapshot() == before
