"""Input that once crashed the API (each found by the fuzzers): now a clear 4xx in the one error
shape, and nothing written."""

import json

import pytest
from django.db import connection

from fulfillment import services as fulfillment_services
from fulfillment.imports import import_tracking
from orders.models import Order, TransitionLog
from returns import services as return_services
from returns.values import ReturnLine
from shop.models import Customer
from tests.factories import ProductFactory
from tests.helpers import deliver_everything, place_order
from tests.reliability.data import order_body, stocked_cart, transitions

pytestmark = pytest.mark.django_db

# Digits str.isdigit() accepts but int() refuses ("³") or reads as another number ("١" is 1).
NOT_ASCII_DIGITS = ["³", "١", "--1", "+-1"]


def send(client, method, path, body=None):
    data = json.dumps(body) if body is not None else ""
    response = client.generic(method, path, data=data, content_type="application/json")
    return response.status_code, response.json() if response.content else None


@pytest.mark.parametrize("pk", ["³", "١", "１"])
def test_an_id_that_is_not_plain_ascii_digits_is_not_found(staff_client, pk):
    place_order()
    assert send(staff_client, "GET", f"/api/orders/{pk}")[0] == 404
    assert send(staff_client, "PATCH", f"/api/orders/{pk}", {"staffNote": "x"})[0] == 404
    assert send(staff_client, "GET", f"/api/orders/{pk}/timeline")[0] == 404
    assert Order.objects.get().staff_note == ""


@pytest.mark.parametrize("name", ["depth", "limit", "page"])
@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_paging_numbers_must_be_ascii_whole_numbers(staff_client, name, value):
    status, answer = send(staff_client, "GET", f"/api/orders?{name}={value}")
    assert status == 400
    assert answer["errors"][0]["name"] == "QueryError"
    assert answer["errors"][0]["data"] == [{"path": name}]


@pytest.mark.parametrize(
    "query",
    [
        "where[id][equals]=³",
        "where[totalAmount][greater_than]=--5",
        "where[totalAmount][equals]=99999999999999999999",
        "where[status][in][³]=paid",
        "where[or][³][status][equals]=paid",
        "where[orderNumber][equals]=%00",
        "where[customerSnapshot.name][like]=a%00b",
    ],
)
def test_where_values_that_cannot_be_read_are_a_query_error(staff_client, query):
    place_order()
    status, answer = send(staff_client, "GET", f"/api/orders?{query}")
    assert status == 400, answer
    assert answer["errors"][0]["name"] == "QueryError"


def test_a_bulk_change_with_a_strange_limit_uses_the_maximum(staff_client):
    orders = [place_order(), place_order()]
    status, answer = send(
        staff_client, "PATCH", "/api/orders?where[status][equals]=paid&limit=³", {"staffNote": "b"}
    )
    assert status == 200, answer
    assert {doc["id"] for doc in answer["docs"]} == {o.pk for o in orders}


def test_text_with_a_nul_character_is_refused_before_the_database(staff_client):
    status, answer = send(
        staff_client, "POST", "/api/customers", {"name": "Kim\u0000", "email": "k@example.com"}
    )
    assert status == 400
    error = answer["errors"][0]
    assert error["name"] == "ValidationError"
    assert error["data"]["errors"] == [
        {"path": "name", "message": "Text cannot contain NUL (\\u0000) characters."}
    ]
    nested = {"shippingAddress": {"address1": "a\x00"}, "orderProducts": []}
    status, answer = send(staff_client, "POST", "/api/orders", nested)
    assert status == 400
    assert answer["errors"][0]["data"]["errors"][0]["path"] == "shippingAddress.address1"
    assert not Customer.objects.exists() and not Order.objects.exists()


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ({"quantity": "³"}, "quantity"),
        ({"quantity": "--2"}, "quantity"),
        ({"unitPrice": -1}, "unitPrice"),
        ({"unitPrice": 2**64 - 1}, "unitPrice"),
        ({"unitPrice": 2**70}, "unitPrice"),
        ({"unitPrice": 1e300}, "unitPrice"),
    ],
)
def test_order_lines_with_numbers_that_cannot_be_stored_are_refused(staff_client, line, path):
    cart = stocked_cart()
    body = order_body(cart)
    body.pop("totalAmount")
    body["orderProducts"][0].update(line)
    status, answer = send(staff_client, "POST", "/api/orders", body)
    assert status == 400, answer
    assert answer["errors"][0]["data"]["errors"][0]["path"] == path
    assert not Order.objects.exists()


@pytest.mark.postgres
def test_a_number_too_large_for_its_column_is_a_400_not_a_crash(staff_client):
    cart = stocked_cart()
    body = order_body(cart)
    body.pop("totalAmount")
    untracked = ProductFactory(stock=None)  # sold as it is; its stock is not tracked
    body["orderProducts"] = [{"product": untracked.pk, "quantity": 3_000_000_000}]
    assert connection.vendor == "postgresql"
    status, answer = send(staff_client, "POST", "/api/orders", body)
    assert status == 400, answer
    assert answer["errors"][0]["name"] == "ValidationError"
    assert not Order.objects.exists()


def test_asking_an_order_for_the_state_it_is_in_is_a_409_and_logs_nothing(staff_client):
    order = place_order()  # paid
    before = TransitionLog.objects.count()
    status, answer = send(staff_client, "PATCH", f"/api/orders/{order.pk}", {"status": "paid"})
    assert status == 409
    assert answer["errors"][0] == {
        "name": "TransitionError",
        "message": f"Order {order.pk} is already paid.",
        "data": {"status": "paid", "allowed": ["canceled"]},
    }
    # Sent back with an edit, the unchanged status is part of the document, not a move.
    edit = {"status": "paid", "staffNote": "call first"}
    assert send(staff_client, "PATCH", f"/api/orders/{order.pk}", edit)[0] == 200
    assert TransitionLog.objects.count() == before


def test_shipping_a_shipped_parcel_again_is_a_409_but_a_corrected_number_is_an_edit(staff_client):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    path = f"/api/fulfillments/{parcel.pk}"
    ship = {"status": "shipped", "carrier": "cj", "trackingNumber": "6401"}
    assert send(staff_client, "PATCH", path, ship)[0] == 200
    status, answer = send(staff_client, "PATCH", path, ship)
    assert status == 409
    assert answer["errors"][0]["data"] == {"status": "shipped", "allowed": ["delivered", "failed"]}
    status, answer = send(staff_client, "PATCH", path, {**ship, "trackingNumber": "6402"})
    assert status == 200 and answer["doc"]["trackingNumber"] == "6402"
    assert transitions(parcel, "ship") == 1


def test_approving_an_approved_return_again_is_a_409(staff_client):
    order = place_order(quantities=(1,))
    deliver_everything(order)
    request = return_services.request_return(
        order=order, reason="defective", items=[ReturnLine(order_item=order.items.get().pk)]
    )
    path = f"/api/returns/{request.pk}"
    assert send(staff_client, "PATCH", path, {"status": "approved"})[0] == 200
    status, answer = send(staff_client, "PATCH", path, {"status": "approved"})
    assert status == 409 and answer["errors"][0]["data"]["status"] == "approved"


def test_the_allow_header_lists_only_the_methods_a_collection_offers(staff_client):
    order = place_order()
    item = order.items.get()
    item_allow = staff_client.options(f"/api/order-items/{item.pk}")["Allow"]
    # Order lines are neither created nor changed on their own; DELETE stays (a 403).
    assert set(item_allow.split(", ")) == {"GET", "DELETE", "HEAD", "OPTIONS"}
    order_allow = staff_client.options(f"/api/orders/{order.pk}")["Allow"]
    assert set(order_allow.split(", ")) == {"GET", "PATCH", "DELETE", "HEAD", "OPTIONS"}
    refused = staff_client.post("/api/order-items", {}, content_type="application/json")
    assert refused.status_code == 405


def test_the_schema_lists_only_offered_methods_and_never_wraps_lists_in_an_array(client):
    paths = client.get("/api/schema?format=json").json()["paths"]
    assert set(paths["/api/order-items"]) == {"get", "delete"}  # lines come with their order
    assert set(paths["/api/order-items/{id}"]) == {"get", "delete"}  # delete: a 403
    assert set(paths["/api/orders/{id}"]) == {"get", "patch", "delete"}  # delete: a 403
    listed = paths["/api/orders"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["properties"]["docs"]["type"] == "array"
    bulk = {p["name"]: p for p in paths["/api/orders"]["patch"]["parameters"]}
    assert bulk["where"]["required"] is True
    depth = {p["name"]: p for p in paths["/api/orders"]["get"]["parameters"]}["depth"]
    assert depth["allowEmptyValue"] is True and "maximum" not in depth["schema"]
    retrieve = paths["/api/orders/{id}"]["get"]["responses"]
    assert "400" in retrieve  # a bad depth or joins


def test_a_body_of_whitespace_is_invalid_json_while_no_body_is_nothing_sent(staff_client):
    order = place_order()
    path = f"/api/orders/{order.pk}"
    blank = staff_client.generic("PATCH", path, data="\n", content_type="application/json")
    assert blank.status_code == 400
    assert blank.json() == {"errors": [{"message": "Invalid JSON"}]}
    empty = staff_client.generic("PATCH", path, data="", content_type="application/json")
    assert empty.status_code == 200


@pytest.mark.parametrize("quantity", ["³", "١", "-1", "x"])
def test_a_tracking_import_row_with_a_strange_quantity_is_that_rows_error(quantity):
    order = place_order()
    report = import_tracking(f"{order.order_number},cj,6401,SKU-1,{quantity}", dry_run=True)
    (row,) = report.rows
    assert "Quantity must be a whole number" in row.message
