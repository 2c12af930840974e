"""The write floor (``bench.write_floor``) checks a cart out into exactly the rows the product's
checkout writes, with the same answer: the same cart is checked out by the product, the rows are
read, everything is rolled back, and the floor checks the cart out again."""

import json
import re
import threading
from io import BytesIO

import orjson
import pytest
from django.db import connection, transaction
from django.test import Client

from bench import write_floor
from shop.keys import create_api_key
from tests.factories import (
    CartFactory,
    CartItemFactory,
    OptionFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.postgres

NUMBER = re.compile(r"^\d{6}-\d{8}$")
EVENT_ID = re.compile(r"^evt_[0-9a-f]{32}$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def shop(db, settings):
    settings.SHOP_EVENTS = True
    tracked = ProductFactory(title="Mug", sku="MUG", price=12000, stock=10)
    shirt = ProductFactory(title="Shirt", sku="SHIRT", price=30000, stock=None)
    size = VariantFactory(product=shirt, title="M", sku="", price=None, stock=None)
    colour = OptionFactory(variant=size, title="Blue", sku="SHIRT-M-BLUE", price=31000, stock=5)
    poster = ProductFactory(title="Poster", sku="", price=5000, stock=None)
    cart = CartFactory(shipping_address2="Flat 2")
    CartItemFactory(cart=cart, product=tracked, quantity=2)
    CartItemFactory(cart=cart, product=shirt, variant=size, option=colour, quantity=1)
    CartItemFactory(cart=cart, product=poster, quantity=3)
    key = create_api_key(name="bench-floor-test")
    return {
        "cart": cart,
        "secret": key.secret_key,
        "units": [
            ("shop_product", tracked.pk),
            ("shop_option", colour.pk),
            ("shop_product", poster.pk),
            ("shop_variant", size.pk),
        ],
    }


def product_checkout(shop, body: dict, key: str) -> tuple[int, bytes]:
    client = Client(headers={"Authorization": f"Bearer {shop['secret']}", "Idempotency-Key": key})
    answer = client.post("/api/checkout", json.dumps(body), content_type="application/json")
    return answer.status_code, answer.content


def floor_checkout(shop, body: dict, key: str | None) -> tuple[int, bytes]:
    payload = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": write_floor.PATH,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(payload)),
        "wsgi.input": BytesIO(payload),
        "HTTP_AUTHORIZATION": f"Bearer {shop['secret']}",
    }
    if key is not None:
        environ["HTTP_IDEMPOTENCY_KEY"] = key
    started = {}

    def start_response(status, headers):
        started["status"] = int(status.split()[0])

    body_out = b"".join(write_floor.application(environ, start_response, manage_connection=False))
    return started["status"], body_out


def rows(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def normal_document(doc: dict, ids: dict) -> dict:
    """The order document with what differs between two checkouts of the same cart (the new
    rows' ids, the order number, the moment) replaced by names, after checking their form."""
    doc = json.loads(json.dumps(doc))
    assert doc["id"] == ids["order"] and NUMBER.match(doc["orderNumber"])
    doc["id"], doc["orderNumber"] = "ORDER", "NUMBER"
    for key in ("createdAt", "updatedAt"):
        assert ISO_UTC.match(doc[key])
        doc[key] = "NOW"
    assert ISO_UTC.match(doc["cart"]["checkedOutAt"])
    doc["cart"]["checkedOutAt"] = "NOW"
    for join, names in (("items", ids["items"]), ("transactions", ids["transactions"])):
        for child in doc[join]["docs"]:
            assert child["order"] == ids["order"]
            child["id"], child["order"] = names[child["id"]], "ORDER"
            child["createdAt"] = child["updatedAt"] = "NOW"
    return doc


def written(shop, key: str) -> dict:
    """Every row the checkout of the shop's cart wrote or changed, with ids and moments replaced
    by names (the first line "item0", its payment "txn0", …)."""
    cart = shop["cart"].pk
    (order,) = rows("SELECT * FROM orders_order WHERE cart_id = %s", [cart])
    items = rows("SELECT * FROM orders_orderitem WHERE order_id = %s ORDER BY id", [order["id"]])
    txns = rows("SELECT * FROM orders_transaction WHERE order_id = %s ORDER BY id", [order["id"]])
    ids = {
        "order": order["id"],
        "items": {row["id"]: f"item{n}" for n, row in enumerate(items)},
        "transactions": {row["id"]: f"txn{n}" for n, row in enumerate(txns)},
    }
    objects = {"order": {order["id"]: "ORDER"}, "transaction": ids["transactions"]}

    def strip(row: dict, *drop: str) -> dict:
        """The row without its id and moments; the new order's id (a child's order_id) named."""
        if "order_id" in row:
            assert row["order_id"] == order["id"]
        return {
            k: "ORDER" if k == "order_id" else v
            for k, v in row.items()
            if k not in {"id", "created_at", "updated_at", *drop}
        }

    assert NUMBER.match(order["order_number"])
    logs = rows(
        "SELECT l.*, c.model FROM orders_transitionlog l "
        "JOIN django_content_type c ON c.id = l.content_type_id WHERE l.order_id = %s "
        "ORDER BY l.id",
        [order["id"]],
    )
    events = rows(
        "SELECT * FROM events_outboxevent WHERE collection = 'orders' AND document_id = %s "
        "ORDER BY id",
        [order["id"]],
    )
    for event in events:
        assert EVENT_ID.match(event["event_id"])
        envelope = json.loads(event["payload"])
        assert envelope["id"] == event["event_id"] and envelope["type"] == event["type"]
        assert ISO_UTC.match(envelope["timestamp"])
        event["payload"] = normal_document(envelope["data"], ids)
    (record,) = rows(
        "SELECT * FROM shop_idempotencykey WHERE key = %s AND caller LIKE 'key:%%'", [key]
    )
    answer = orjson.loads(bytes(record["response_body"]))
    record["response_body"] = {**answer, "doc": normal_document(answer["doc"], ids)}
    stock = {}
    for table, pk in shop["units"]:
        stock[table, pk] = rows(f"SELECT stock FROM {table} WHERE id = %s", [pk])[0]["stock"]
    (checked_out,) = rows("SELECT checked_out_at FROM shop_cart WHERE id = %s", [cart])
    return {
        "order": strip(order, "order_number"),
        "items": [strip(row) for row in items],
        "transactions": [strip(row) for row in txns],
        "logs": [
            strip(row, "content_type_id") | {"object_id": objects[row["model"]][row["object_id"]]}
            for row in logs
        ],
        "events": [strip(row, "event_id", "document_id") for row in events],
        "idempotency": strip(record),
        "stock": stock,
        "cart_checked_out": checked_out["checked_out_at"] is not None,
        "answer": record["response_body"],
    }


def test_the_floor_writes_the_rows_the_product_writes_for_the_same_cart(shop):
    body = {"cartId": shop["cart"].pk, "paymentId": "pay-floor-1", "paymentMethod": "card"}
    before = transaction.savepoint()
    status, answer = product_checkout(shop, body, "same-key")
    assert status == 201, answer
    product = written(shop, "same-key")
    product_answer = orjson.loads(answer)
    transaction.savepoint_rollback(before)
    assert not rows("SELECT id FROM orders_order WHERE cart_id = %s", [shop["cart"].pk])

    status, answer = floor_checkout(shop, body, "same-key")
    assert status == 201, answer
    floor = written(shop, "same-key")

    # Field by field, every table: the same rows, in the same order.
    for part in product:
        assert floor[part] == product[part], part
    # What both wrote, in figures: the order is paid once, the tracked units went down.
    assert (
        product["order"]["status"] == "paid"
        and product["order"]["total_amount"] == 2 * 12000 + 31000 + 3 * 5000
    )
    assert [t["status"] for t in product["transactions"]] == ["paid"]
    assert [(g["transition"], g["object_id"]) for g in product["logs"]] == [
        ("mark_paid", "txn0"),
        ("pay", "ORDER"),
    ]
    assert [e["type"] for e in product["events"]] == ["order.created", "order.paid"]
    assert list(product["stock"].values()) == [8, 4, None, None]
    assert product["idempotency"]["path"] == "/api/checkout"
    # The HTTP answer: the one the product sent is the one the floor sent (and recorded).
    assert floor["answer"] == product["answer"]
    assert product["answer"]["doc"] == normal_document(
        product_answer["doc"], {"order": product_answer["doc"]["id"], **_ids(product_answer)}
    )


def _ids(answer: dict) -> dict:
    doc = answer["doc"]
    return {
        "items": {c["id"]: f"item{n}" for n, c in enumerate(doc["items"]["docs"])},
        "transactions": {c["id"]: f"txn{n}" for n, c in enumerate(doc["transactions"]["docs"])},
    }


def test_the_floor_replays_an_idempotent_retry_and_refuses_a_second_checkout(shop):
    body = {"cartId": shop["cart"].pk, "paymentId": "pay-floor-2"}
    first = floor_checkout(shop, body, "retry-key")
    assert first[0] == 201
    assert floor_checkout(shop, body, "retry-key") == first  # the same answer, replayed
    status, answer = floor_checkout(shop, body, "another-key")
    assert status == 409 and orjson.loads(answer)["errors"][0]["name"] == "Conflict"
    assert len(rows("SELECT id FROM orders_order WHERE cart_id = %s", [shop["cart"].pk])) == 1
    assert (
        rows("SELECT count(*) AS n FROM orders_transaction WHERE payment_id = 'pay-floor-2'", [])[
            0
        ]["n"]
        == 1
    )


def test_the_floor_refuses_what_the_product_refuses_and_writes_nothing(shop, settings):
    cart = shop["cart"]
    mug = cart.items.get(product__sku="MUG").product
    mug.stock = 1
    mug.save()
    status, answer = floor_checkout(shop, {"cartId": cart.pk, "paymentId": "pay-3"}, None)
    assert status == 400 and "Not enough stock" in orjson.loads(answer)["errors"][0]["message"]
    assert floor_checkout(shop, {"cartId": 0}, None)[0] == 404
    assert floor_checkout({**shop, "secret": "sk_wrong"}, {"cartId": cart.pk}, None)[0] == 403
    assert floor_checkout(shop, {"cartId": cart.pk, "orderNumber": "X"}, None)[0] == 400
    cart.shipping_postal_code = ""
    cart.save()
    status, answer = floor_checkout(shop, {"cartId": cart.pk}, None)
    assert status == 400 and "shippingAddress.postalCode" in answer.decode()
    # Nothing was written: no order, stock as it was, the cart still open.
    assert not rows("SELECT id FROM orders_order WHERE cart_id = %s", [cart.pk])
    assert [
        r["stock"]
        for r in rows("SELECT stock FROM shop_option WHERE id = %s", [shop["units"][1][1]])
    ] == [5]
    assert (
        rows("SELECT checked_out_at FROM shop_cart WHERE id = %s", [cart.pk])[0]["checked_out_at"]
        is None
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_floor_checkouts_of_one_cart_make_one_order(settings):
    """The cart's row lock: eight clients at once, one order, the others told it checked out."""
    settings.SHOP_EVENTS = False
    cart = CartFactory()
    CartItemFactory(cart=cart, product=ProductFactory(stock=100), quantity=1)
    shop = {"cart": cart, "secret": create_api_key(name="race").secret_key}
    statuses, lock = [], threading.Lock()

    def client(n: int) -> None:
        try:
            status, _ = floor_checkout(shop, {"cartId": cart.pk, "paymentId": f"race-{n}"}, None)
        finally:
            connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert (
        rows("SELECT stock FROM shop_product WHERE id = %s", [cart.items.get().product_id])[0][
            "stock"
        ]
        == 99
    )
