"""A new order is answered from what the service stored (the order, its lines, its payment, its
customer and cart), not read back: the answer is exactly the document a read gives, the checkout
runs a fixed number of statements whatever the number of lines, and callers who may not see
everything still get the document read back through their scope."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders.models import Order, TransitionLog
from shop import keys
from shop.models import Option
from tests.api.shop_data import cart_with_options
from tests.factories import CustomerFactory, OptionFactory, ProductFactory

pytestmark = pytest.mark.django_db

ADDRESS = {
    "recipientName": "Han Byul",
    "phone": "010-1111-2222",
    "postalCode": "06123",
    "address1": "1 Main St",
    "address2": "",
}


@pytest.fixture
def server():
    secret = keys.create_api_key(name="Checkout server").secret_key
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def read(client, pk, depth):
    answer = client.get(f"/api/orders/{pk}?depth={depth}")
    assert answer.status_code == 200
    return answer.json()


@pytest.mark.parametrize("depth", [0, 1])
def test_a_checkout_answers_with_the_document_a_read_gives(server, depth):
    cart = cart_with_options(CustomerFactory(), quantities=(2, 1, 3))
    answer = post(
        server,
        f"/api/checkout?depth={depth}",
        {"cartId": cart.pk, "paymentId": f"pay-{cart.pk}", "shippingAddress": ADDRESS},
    )
    assert answer.status_code == 201, answer.json()
    doc = answer.json()["doc"]
    assert doc == read(server, doc["id"], depth)
    if depth:
        assert doc["cart"]["checkedOutAt"] is not None
        assert len(doc["items"]["docs"]) == 3 and len(doc["transactions"]["docs"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"paymentId": "pay-direct"},  # paid at creation
        {},  # pending: no payment yet
        {"unitPrice": 0},  # nothing to pay: paid at once
        {"customer": True, "paymentId": "pay-customer"},
    ],
    ids=["paid", "pending", "free", "customer"],
)
def test_a_created_order_answers_with_the_document_a_read_gives(server, body):
    option = OptionFactory()
    line = {
        "product": option.variant.product_id,
        "variant": option.variant_id,
        "option": option.pk,
        "quantity": 2,
        "unitPrice": body.get("unitPrice", 5000),
    }
    order = {
        "orderProducts": [line, {"product": ProductFactory().pk, "quantity": 1}],
        "customerSnapshot": {"name": "Han Byul"},
        "shippingAddress": ADDRESS,
    }
    if "paymentId" in body:
        order["paymentId"] = body["paymentId"]
    if body.get("customer"):
        order["customer"] = CustomerFactory().pk
    answer = post(server, "/api/orders", order)
    assert answer.status_code == 201, answer.json()
    doc = answer.json()["doc"]
    assert doc == read(server, doc["id"], 1)


def test_a_checkout_reads_nothing_back_and_its_statements_do_not_grow_with_lines(
    server, django_assert_max_num_queries
):
    def checkout(cart):
        answer = post(server, "/api/checkout", {"cartId": cart.pk, "paymentId": f"p{cart.pk}"})
        assert answer.status_code == 201, answer.json()
        assert len(answer.json()["doc"]["items"]["docs"]) == cart.items.count()

    def cart(lines):
        made = cart_with_options(CustomerFactory(), quantities=(1,) * lines)
        Option.objects.filter(pk__in=made.items.values("option")).update(stock=10)  # tracked
        return made

    checkout(cart(1))  # every statement shape compiled once
    one_line = cart(1)
    with CaptureQueriesContext(connection) as captured:
        checkout(one_line)
    one = [q["sql"] for q in captured.captured_queries]
    # Nothing is read from the order's tables: the order, its lines and its payment are written.
    for table in ("orders_orderitem", "orders_transaction", "fulfillment_fulfillment"):
        assert not any(f'FROM "{table}"' in sql for sql in one), table
    # One INSERT for the log entries of the checkout, none for a status that changed later.
    assert sum('INTO "orders_transitionlog"' in sql for sql in one) == 1
    assert not any(sql.startswith('UPDATE "orders_order"') for sql in one)
    assert not any(sql.startswith('UPDATE "orders_transaction"') for sql in one)
    four_lines = cart(4)
    with django_assert_max_num_queries(len(one)):
        checkout(four_lines)
    options = Option.objects.filter(pk__in=four_lines.items.values("option"))
    assert [option.stock for option in options] == [9] * 4


def test_the_checkout_log_keeps_the_payment_before_the_order(server):
    cart = cart_with_options(CustomerFactory(), quantities=(1,))
    doc = post(server, "/api/checkout", {"cartId": cart.pk, "paymentId": "pay-log"}).json()["doc"]
    logs = TransitionLog.objects.filter(order_id=doc["id"]).order_by("id")
    assert [(log.content_type.model, log.transition, log.source, log.target) for log in logs] == [
        ("transaction", "mark_paid", "pending", "paid"),
        ("order", "pay", "pending", "paid"),
    ]
    assert {log.actor_label for log in logs} == {"Checkout server"}
    assert logs[0].object_id == doc["transactions"]["docs"][0]["id"]
    assert logs[0].created_at <= logs[1].created_at


def test_a_payment_id_used_by_another_cart_leaves_this_cart_and_the_stock_alone(server):
    first = cart_with_options(CustomerFactory(), quantities=(1,))
    paid = post(server, "/api/checkout", {"cartId": first.pk, "paymentId": "pay-once"})
    assert paid.status_code == 201
    second = cart_with_options(CustomerFactory(), quantities=(2,))
    option = Option.objects.get(pk=second.items.get().option_id)
    option.stock = 5
    option.save()
    logs, orders = TransitionLog.objects.count(), Order.objects.count()
    again = post(server, "/api/checkout", {"cartId": second.pk, "paymentId": "pay-once"})
    assert again.status_code == 409
    assert "pay-once" in again.json()["errors"][0]["message"]
    second.refresh_from_db()
    option.refresh_from_db()
    assert second.checked_out_at is None and option.stock == 5
    assert (TransitionLog.objects.count(), Order.objects.count()) == (logs, orders)


def test_staff_who_may_not_see_payments_get_the_order_read_back_through_their_scope():
    staff = get_user_model().objects.create_user("orders-only", password="x", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(
            codename__in=["add_order", "view_order", "view_orderitem", "view_customer"]
        )
    )
    client = Client()
    client.force_login(staff)
    option = OptionFactory()
    answer = post(
        client,
        "/api/orders",
        {
            "orderProducts": [
                {
                    "product": option.variant.product_id,
                    "variant": option.variant_id,
                    "option": option.pk,
                    "quantity": 1,
                }
            ],
            "customerSnapshot": {"name": "Han Byul"},
            "shippingAddress": ADDRESS,
            "paymentId": "pay-unseen",
        },
    )
    assert answer.status_code == 201, answer.json()
    doc = answer.json()["doc"]
    assert doc["status"] == "paid"
    assert doc == read(client, doc["id"], 1)
    # The payment exists, but is outside this caller's scope: not in the answer either.
    assert Order.objects.get(pk=doc["id"]).transactions.count() == 1
    assert doc["transactions"]["docs"] == []
