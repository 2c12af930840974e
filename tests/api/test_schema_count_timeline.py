"""Count, the order timeline, and the OpenAPI schema with its offline docs."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from orders.models import TransitionLog
from tests.api.shop_data import order_with_requests, paid_order

pytestmark = pytest.mark.django_db


def test_count_follows_where(api):
    paid_order()
    paid_order(paid=False)
    assert api.from_("orders").count() == {"totalDocs": 2}
    assert api.from_("orders").count(where={"status": {"equals": "pending"}}) == {"totalDocs": 1}
    assert api.from_("order-products").count()["totalDocs"] == 2
    bad = api.transport("GET", "/api/orders/count?where[nope][equals]=1")
    assert bad.status == 400 and bad.json["errors"][0]["name"] == "QueryError"


def test_the_timeline_lists_the_orders_and_its_childrens_transitions_newest_first(api):
    order = order_with_requests()
    other = paid_order()
    api.from_("orders").update({"staffNote": "x"}, other.pk)
    api.from_("returns").update({"status": "approved"}, order.returns.get().pk)
    answer = api.get(f"/api/orders/{order.pk}/timeline?limit=100")
    assert answer.status == 200
    entries = answer.json["docs"]
    logs = list(TransitionLog.objects.filter(order=order).order_by("-created_at", "-id"))
    assert [e["id"] for e in entries] == [log.pk for log in logs]
    assert answer.json["totalDocs"] == len(logs)
    approval = entries[0]  # the order waits for its exchange: it stays return_requested
    assert approval == {
        "id": approval["id"],
        "order": order.pk,
        "collection": "returns",
        "doc": order.returns.get().pk,
        "transition": "approve",
        "from": "requested",
        "to": "approved",
        "actor": {"kind": "staff", "label": "boss"},
        "reason": "",
        "changes": {},
        "createdAt": approval["createdAt"],
    }
    assert {e["collection"] for e in entries} >= {"orders", "transactions", "fulfillments"}
    page = api.get(f"/api/orders/{order.pk}/timeline?limit=2&page=2").json
    assert [e["id"] for e in page["docs"]] == [log.pk for log in logs[2:4]]
    only = api.get(f"/api/orders/{order.pk}/timeline?where[collection][equals]=x")
    assert only.status == 400  # computed, not queryable
    filtered = api.get(f"/api/orders/{order.pk}/timeline?where[to][equals]=shipped").json
    assert filtered["totalDocs"] == 2  # the parcel and the order


def test_the_timeline_of_an_unknown_order_is_404(api):
    assert api.get("/api/orders/999999/timeline").status == 404
    assert api.get("/api/orders/abc/timeline").status == 404


def test_the_schema_validates_and_documents_every_operation(tmp_path):
    target = tmp_path / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(target),
    )
    schema = json.loads(target.read_text())
    paths = schema["paths"]
    for slug in ("orders", "order-items", "order-products", "fulfillments", "return-products"):
        names = {p["name"]: p for p in paths[f"/api/{slug}"]["get"]["parameters"]}
        assert {"where", "sort", "limit", "page", "depth", "pagination"} <= set(names)
        assert names["where"]["style"] == "deepObject" and names["where"]["explode"] is True
    create = paths["/api/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"orderProducts", "customerSnapshot", "paymentId", "cart"} <= set(create["properties"])
    checkout = paths["/api/checkout"]["post"]["requestBody"]["content"]["application/json"]
    assert checkout["schema"]["required"] == ["cartId"]
    patch = paths["/api/fulfillments/{id}"]["patch"]
    assert (
        "trackingNumber"
        in patch["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )
    assert "/api/orders/{id}/timeline" in paths
    order = schema["components"]["schemas"]["Order"]["properties"]
    assert {"items", "transactions", "fulfillments", "returns", "exchanges"} <= set(order)
    assert "Error" in schema["components"]["schemas"]


def test_the_schema_and_swagger_ui_are_served_offline(client):
    schema = client.get("/api/schema?format=json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "//cdn." not in html and "unpkg.com" not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
