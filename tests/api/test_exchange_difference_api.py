"""An exchange's price difference through the API: ``differenceDue`` on the document (and in
the OpenAPI schema, which follows the declaration), the buyer's payment of what they owe as
``differencePayment`` on PATCH, and a completion refused while it is owed."""

import json

import pytest

from fulfillment.models import Fulfillment
from orders.models import Transaction, TransitionLog
from returns.models import Exchange
from tests.api.shop_data import delivered_order
from tests.factories import OptionFactory

pytestmark = pytest.mark.django_db


def file_exchange(api, order, *, price):
    """An exchange of one unit of the order's first line into a new option priced ``price``
    (the line's unit price plus or minus the difference)."""
    line = order.items.order_by("id").first()
    option = OptionFactory(variant=line.variant, price=price, stock=5)
    created = api.from_("exchanges").create(
        {
            "order": order.pk,
            "reason": "wrong_size",
            "items": [{"orderItem": line.pk, "quantity": 1, "replacementOption": option.pk}],
        }
    )
    assert created.status == 201, created.json
    return line, created.json["doc"]


def test_the_same_price_files_as_before_with_no_difference(api):
    order = delivered_order()
    line, doc = file_exchange(api, order, price=order.items.order_by("id").first().unit_price)
    assert doc["differenceDue"] == 0 and doc["differenceTransaction"] is None
    assert doc["items"]["docs"][0]["orderItem"] == line.pk
    assert api.from_("exchanges").find_by_id(doc["id"])["differenceDue"] == 0


def test_a_dearer_option_is_owed_paid_through_the_api_then_sent(api):
    order = delivered_order()
    unit_price = order.items.order_by("id").first().unit_price
    _line, doc = file_exchange(api, order, price=unit_price + 4000)
    assert doc["differenceDue"] == 4000
    found = api.from_("exchanges").find(where={"differenceDue": {"greater_than": 0}})
    assert [d["id"] for d in found["docs"]] == [doc["id"]]
    timeline = api.get(f"/api/orders/{order.pk}/timeline?limit=100").json["docs"]
    said = [entry for entry in timeline if entry["transition"] == "price_difference"]
    assert said[0]["reason"].startswith("The buyer owes 4,000 KRW")
    assert said[0]["changes"] == {"differenceDue": {"from": "0", "to": "4000"}}

    for status in ("approved", "processing"):
        assert api.from_("exchanges").update({"status": status}, doc["id"]).status == 200
    before = Transaction.objects.count(), TransitionLog.objects.count()
    refused = api.from_("exchanges").update({"status": "completed"}, doc["id"])
    assert refused.status == 400, refused.json
    error = refused.json["errors"][0]
    assert "The buyer owes 4,000 KRW" in error["message"]
    assert error["data"]["due"] == 4000
    assert (Transaction.objects.count(), TransitionLog.objects.count()) == before
    assert not Fulfillment.objects.filter(exchange_id=doc["id"]).exists()

    wrong = api.from_("exchanges").update(
        {"differencePayment": {"amount": 100, "paymentMethod": "card"}}, doc["id"]
    )
    assert (
        wrong.status == 400 and "has 4,000 KRW due, not 100" in wrong.json["errors"][0]["message"]
    )
    done = api.from_("exchanges").update(
        {
            "differencePayment": {"paymentMethod": "card", "paymentId": "pay_diff_1"},
            "status": "completed",
        },
        doc["id"],
    )
    assert done.status == 200, done.json
    payment = Transaction.objects.get(payment_id="pay_diff_1")
    assert (payment.kind, payment.amount, payment.status) == ("payment", 4000, "paid")
    assert done.json["doc"]["status"] == "completed"
    assert done.json["doc"]["differenceTransaction"]["id"] == payment.pk
    assert Fulfillment.objects.filter(exchange_id=doc["id"]).count() == 1


def test_a_cheaper_option_is_refunded_on_completion(api):
    order = delivered_order()
    unit_price = order.items.order_by("id").first().unit_price
    _line, doc = file_exchange(api, order, price=unit_price - 1500)
    assert doc["differenceDue"] == -1500
    for status in ("approved", "processing", "completed"):
        answer = api.from_("exchanges").update({"status": status}, doc["id"])
        assert answer.status == 200, answer.json
    refund = Transaction.objects.get(order=order, kind="refund")
    assert refund.amount == 1500
    assert answer.json["doc"]["differenceTransaction"]["id"] == refund.pk


def test_a_bad_difference_payment_is_refused_and_writes_nothing(api):
    order = delivered_order()
    unit_price = order.items.order_by("id").first().unit_price
    _line, doc = file_exchange(api, order, price=unit_price + 1000)
    api.from_("exchanges").update({"status": "approved"}, doc["id"])
    before = Transaction.objects.count(), Exchange.objects.get(pk=doc["id"]).updated_at
    for body in (
        {"differencePayment": "cash"},
        {"differencePayment": {"paymentMethod": 5}},
        {"differencePayment": {"tip": 1}},
    ):
        answer = api.from_("exchanges").update(body, doc["id"])
        assert answer.status == 400, (body, answer.json)
    assert (Transaction.objects.count(), Exchange.objects.get(pk=doc["id"]).updated_at) == before


def test_the_schema_declares_the_difference(client):
    schema = client.get("/api/schema?format=json").json()
    exchange = schema["components"]["schemas"]["Exchange"]["properties"]
    assert {"differenceDue", "differenceTransaction"} <= set(exchange)
    assert "differencePayment" in json.dumps(schema)


def test_a_payment_sent_with_a_move_that_is_refused_is_not_kept(api):
    order = delivered_order()
    unit_price = order.items.order_by("id").first().unit_price
    _line, doc = file_exchange(api, order, price=unit_price + 1000)
    api.from_("exchanges").update({"status": "approved"}, doc["id"])
    before = Transaction.objects.count()
    answer = api.from_("exchanges").update(
        {"differencePayment": {"paymentMethod": "card"}, "status": "completed"}, doc["id"]
    )
    assert answer.status == 409, answer.json  # approved → completed skips receiving the units
    assert Transaction.objects.count() == before
    assert Exchange.objects.get(pk=doc["id"]).difference_transaction is None
