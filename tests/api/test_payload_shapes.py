"""Shapes and queries a Payload client relies on: where through joins, documents sent back as
they were read, the method override, lenient joins and like, and the messages a client shows.
(Joins at depth 0 as ids: ``tests/api/test_lists.py::test_depth_zero_gives_ids_and_joins_of_ids``.)
"""

import pytest
from django.test import Client

from fulfillment.models import Fulfillment
from orders.models import Order
from shop.models import Product
from tests.api.shop_data import delivered_order, paid_order
from tests.auth.world import build_world
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def ids(answer) -> list[int]:
    assert answer.status == 200, answer.json
    return sorted(doc["id"] for doc in answer.json["docs"])


# where through a join


def test_where_through_a_join_finds_the_parents(api):
    """Payload queries a join field's children (``packages/drizzle/src/queries/parseParams.ts``,
    join fields): ``orders?where[items.sku][equals]=…`` is the orders with such an item."""
    one = delivered_order(tracking="640100000001")
    other = delivered_order(tracking="640100000002")
    sku = one.items.order_by("id").first().sku
    orders = api.from_("orders")
    assert ids(orders.find_raw(where={"items.sku": {"equals": sku}}, depth=0)) == [one.pk]
    tracked = orders.find_raw(
        where={"fulfillments.trackingNumber": {"equals": "640100000002"}}, depth=0
    )
    assert ids(tracked) == [other.pk]
    either = orders.find_raw(
        where={
            "or": [{"items.sku": {"equals": sku}}, {"fulfillments.trackingNumber": {"like": "02"}}]
        },
        depth=0,
    )
    assert ids(either) == sorted([one.pk, other.pk])  # each order once, however many children
    count = api.transport("GET", f"/api/orders/count?where[items.sku][equals]={sku}").json
    assert count == {"totalDocs": 1}
    unknown = orders.find_raw(where={"items.colour": {"equals": "red"}})
    assert unknown.status == 400
    assert unknown.json["errors"][0]["message"] == (
        "The following path cannot be queried: items.colour"
    )


def test_where_through_a_join_stays_inside_the_callers_scope():
    world = build_world()
    b_sku = world.b.line.sku
    world.a.line.sku = "ONLY-A"
    world.a.line.save(update_fields=["sku"])
    client = world.client("customer_a")
    mine = client.get("/api/orders?depth=0&where[items.sku][equals]=ONLY-A").json()
    assert {d["id"] for d in mine["docs"]} == {world.a.delivered.pk}
    theirs = client.get(f"/api/orders?depth=0&where[items.sku][equals]={b_sku}").json()
    assert world.b.delivered.pk not in {d["id"] for d in theirs["docs"]}
    assert {d["id"] for d in theirs["docs"]} <= world.a.ids()["orders"]


# A document sent back as it was read


def test_a_document_sent_back_as_read_is_accepted(api):
    """Payload ignores what is not a writable field (``packages/payload/src/fields/hooks/
    beforeChange/promise.ts`` walks the collection's fields only): joins, computed values,
    unknown keys and unchanged read-only fields are ignored; a real change is written."""
    order = delivered_order()
    parcel = order.fulfillments.get()
    doc = api.from_("fulfillments").find_by_id(parcel.pk, depth=1)
    assert doc["trackingUrl"] and doc["items"]["docs"]  # a computed value, a join
    doc["note"] = "left with the neighbour"
    doc["colour"] = "red"
    answer = api.from_("fulfillments").update(doc, parcel.pk)
    assert answer.status == 200, answer.json
    assert answer.json["doc"]["note"] == "left with the neighbour"
    assert Fulfillment.objects.get(pk=parcel.pk).note == "left with the neighbour"

    order_doc = api.from_("orders").find_by_id(order.pk, depth=1)
    order_doc["staffNote"] = "called the buyer"
    answer = api.from_("orders").update(order_doc, order.pk)
    assert answer.status == 200, answer.json
    assert Order.objects.get(pk=order.pk).staff_note == "called the buyer"


def test_a_real_change_to_a_field_the_caller_may_not_write_is_still_refused(api):
    order = delivered_order()
    doc = api.from_("orders").find_by_id(order.pk, depth=0)
    changed = {**doc, "orderNumber": "FORGED-1"}
    answer = api.from_("orders").update(changed, order.pk)
    assert answer.status == 400
    error = answer.json["errors"][0]
    assert error["message"] == "The following field is invalid: Order Number"
    assert error["data"]["errors"][0]["path"] == "orderNumber"
    assert Order.objects.get(pk=order.pk).order_number == order.order_number

    world = build_world()
    client = world.client("customer_a")
    line = client.get(f"/api/cart-items/{world.a.cart_item.pk}").json()
    line["quantity"] = 3  # the cart, product and timestamps sent back unchanged
    assert client.request("PATCH", f"/api/cart-items/{line['id']}", line).status_code == 200
    moved = {**line, "cart": world.b.cart.pk}
    answer = client.request("PATCH", f"/api/cart-items/{line['id']}", moved)
    assert answer.status_code == 400  # a line never moves to another cart
    assert answer.json()["errors"][0]["data"]["errors"][0]["path"] == "cart"
    world.a.cart_item.refresh_from_db()
    assert (world.a.cart_item.cart_id, world.a.cart_item.quantity) == (world.a.cart.pk, 3)


# X-Payload-HTTP-Method-Override


def test_a_post_with_the_method_override_is_the_get_of_its_query(http_client):
    """Payload: ``packages/payload/src/utilities/handleEndpoints.ts``: a POST with
    ``X-Payload-HTTP-Method-Override: GET`` is the GET, its query form-encoded in the body (or
    JSON)."""
    paid = paid_order()
    paid_order(paid=False)
    get = http_client.get("/api/orders?depth=0&where[status][equals]=paid").json()
    form = http_client.post(
        "/api/orders",
        "depth=0&where[status][equals]=paid",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Payload-HTTP-Method-Override": "GET"},
    )
    assert form.status_code == 200, form.content
    assert form.json() == get and [d["id"] for d in get["docs"]] == [paid.pk]
    as_json = http_client.post(
        "/api/orders?depth=0",
        {"where": {"status": {"equals": "paid"}}},
        content_type="application/json",
        headers={"X-Payload-HTTP-Method-Override": "GET"},
    )
    assert as_json.status_code == 200 and as_json.json() == get
    one = http_client.post(
        f"/api/orders/{paid.pk}",
        "depth=0",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Payload-HTTP-Method-Override": "GET"},
    )
    assert one.status_code == 200 and one.json()["id"] == paid.pk
    assert Order.objects.count() == 2  # nothing was created


# Lenient where and joins


def test_an_unknown_join_name_is_ignored(api):
    """Payload: ``packages/payload/src/utilities/sanitizeJoinQuery.ts`` keeps only the
    collection's join fields."""
    order = paid_order()
    answer = api.transport("GET", f"/api/orders/{order.pk}?joins[colour][limit]=1&depth=0")
    assert answer.status == 200 and answer.json["id"] == order.pk


def test_like_on_a_number_or_a_relation_is_equals(api):
    """Payload: ``packages/drizzle/src/queries/parseParams.ts`` turns ``like`` on number,
    relationship and upload fields into ``equals``."""
    cheap = paid_order(price=10000, quantities=(1,))
    paid_order(price=20000, quantities=(1,))
    customer = CustomerFactory()
    owned = paid_order(customer=customer, quantities=(1,), price=30000)
    orders = api.from_("orders")
    assert ids(orders.find_raw(where={"totalAmount": {"like": "10000"}}, depth=0)) == [cheap.pk]
    by_customer = orders.find_raw(where={"customer": {"like": str(customer.pk)}}, depth=0)
    assert ids(by_customer) == [owned.pk]


# Messages a client shows


def test_a_bulk_change_of_one_document_speaks_of_it_in_the_singular(api):
    """Payload: ``packages/payload/src/collections/endpoints/update.ts`` and ``delete.ts``:
    the label is the singular when one document changed."""
    product = ProductFactory(title="Only one")
    ProductFactory(title="Another")
    answer = api.from_("products").update({"price": 5}, where={"title": {"equals": "Only one"}})
    assert answer.status == 200
    assert answer.json["message"] == "Updated 1 Product successfully."
    gone = api.from_("products").delete(where={"id": {"equals": product.pk}})
    assert gone.json["message"] == "Deleted 1 Product successfully."
    assert not Product.objects.filter(pk=product.pk).exists()


def test_bulk_errors_carry_is_public(api):
    """Payload: ``packages/payload/src/collections/operations/update.ts`` pushes
    ``{id, isPublic, message}`` for each failure; ``endpoints/update.ts`` answers 400 with
    "Unable to update N out of M <label>."."""
    order = paid_order(quantities=(1,))
    parcel = api.from_("fulfillments").create({"order": order.pk}).json["doc"]["id"]
    answer = api.from_("fulfillments").update(
        {"status": "delivered"}, where={"id": {"equals": parcel}}
    )
    assert answer.status == 400
    assert answer.json["message"] == "Unable to update 1 out of 1 Fulfillment."
    [error] = answer.json["errors"]
    assert error["id"] == parcel and error["isPublic"] is True
    assert "Cannot move fulfillment" in error["message"]


def test_a_bulk_change_without_where_says_so_in_payloads_words(api):
    """Payload: ``packages/payload/src/collections/operations/update.ts`` and ``delete.ts``."""
    update = api.from_("products").update({"price": 1})
    assert (update.status, update.json) == (
        400,
        {"errors": [{"message": "Missing 'where' query of documents to update."}]},
    )
    delete = api.from_("products").delete()
    assert (delete.status, delete.json) == (
        400,
        {"errors": [{"message": "Missing 'where' query of documents to delete."}]},
    )


def test_validation_errors_name_fields_by_label(api):
    """Payload: ``packages/payload/src/errors/ValidationError.ts``: "The following field is
    invalid: <label>", each error with its ``label`` (the field name in words)."""
    order = paid_order()
    answer = api.from_("fulfillments").create(
        {"order": order.pk, "trackingNumber": 12, "carrier": ["cj"]}
    )
    assert answer.status == 400
    error = answer.json["errors"][0]
    assert error["message"] == "The following fields are invalid: Carrier, Tracking Number"
    assert {(e["path"], e["label"]) for e in error["data"]["errors"]} == {
        ("trackingNumber", "Tracking Number"),
        ("carrier", "Carrier"),
    }


def test_an_unknown_operator_reads_like_payloads(api):
    """Payload: ``packages/payload/src/database/queryValidation/validateQueryPaths.ts`` reports
    an unknown operator as the path ``<field>.<operator>`` that cannot be queried."""
    answer = api.from_("orders").find_raw(where={"status": {"eq": "paid"}})
    assert answer.status == 400
    assert answer.json == {
        "errors": [
            {
                "name": "QueryError",
                "message": "The following path cannot be queried: status.eq",
                "data": [{"path": "status.eq"}],
            }
        ]
    }


def test_the_override_is_only_for_get(db):
    client = Client()
    answer = client.post(
        "/api/orders",
        "[1]",
        content_type="application/json",
        headers={"X-Payload-HTTP-Method-Override": "GET"},
    )
    assert answer.status_code == 400
