"""The API core's pieces are DRF's and django-filter's own extension points, each usable alone:
every collection's filters as a FilterSet that cleans values, ``where``/``sort`` as a filter
backend, Payload's envelope as a pagination class."""

import django_filters
import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from orders.models import Order, OrderStatus
from shop.api.collections import registry
from shop.api.filters import filterset
from shop.api.pagination import PayloadPagination
from shop.api.query import WhereFilter
from tests.helpers import place_order

pytestmark = pytest.mark.django_db


def drf_request(query: str, user) -> Request:
    from shop.api.access import Caller

    request = Request(RequestFactory().get(f"/api/orders?{query}"))
    request._full_data = {}
    request._user, request._auth = user, Caller.staff(user)
    return request


def test_each_collection_declares_its_paths_and_operators_as_a_filterset():
    orders = filterset(registry.get("orders"))
    assert issubclass(orders, django_filters.FilterSet)
    names = set(orders.base_filters)
    assert {"status__equals", "status__in", "createdAt__greater_than"} <= names
    assert {"shippingAddress.postalCode__like", "customer__equals"} <= names
    # Operators that fit no field of that type have no filter (dates and numbers take no text
    # search, a relation no comparison).
    assert "createdAt__like" not in names and "totalAmount__contains" not in names
    assert "customer__greater_than" not in names


def test_the_filterset_filters_and_cleans_on_its_own():
    paid = place_order()
    place_order(paid=False)
    orders = filterset(registry.get("orders"))
    found = orders({"status__equals": "paid"}, queryset=Order.objects.all())
    assert found.is_valid() and list(found.qs) == [paid]
    bad = orders(
        {"status__equals": "sent", "createdAt__greater_than": "yesterday"},
        queryset=Order.objects.all(),
    )
    assert not bad.is_valid()
    assert bad.errors["createdAt__greater_than"] == ["expected an ISO 8601 date"]
    assert bad.errors["status__equals"][0].startswith("expected one of pending, paid")


def test_the_where_compiler_cleans_with_the_same_filters(api):
    """The where compiler asks the FilterSet: its messages are the filters' cleaning."""
    answer = api.get("/api/orders?where[createdAt][greater_than]=yesterday")
    assert answer.status == 400
    assert answer.json["errors"][0]["message"] == (
        "Invalid value for createdAt (greater_than): 'yesterday', expected an ISO 8601 date."
    )
    answer = api.get("/api/orders?where[createdAt][like]=2026")
    assert answer.status == 400
    assert answer.json["errors"][0]["message"] == (
        "The operator like cannot be used on createdAt (datetime)."
    )


def test_the_filter_backend_narrows_and_sorts_a_queryset(staff_user):
    """What bulk changes use: where and sort applied to a plain QuerySet."""
    first, second = place_order(), place_order()
    place_order(paid=False)

    class View:
        collection = registry.get("orders")

    request = drf_request("where[status][equals]=paid&sort=id", staff_user)
    queryset = WhereFilter().filter_queryset(request, Order.objects.all(), View())
    assert list(queryset) == [first, second]
    request = drf_request("where[status][equals]=paid&sort=-id", staff_user)
    assert list(WhereFilter().filter_queryset(request, Order.objects.all(), View())) == [
        second,
        first,
    ]


def test_the_pagination_class_answers_payloads_envelope_for_any_rows(staff_user):
    orders = sorted(place_order().pk for _ in range(5))
    queryset = Order.objects.filter(status=OrderStatus.PAID).order_by("id").values("id")
    paginator = PayloadPagination()
    rows = paginator.paginate_queryset(queryset, drf_request("limit=2&page=2", staff_user))
    assert [row["id"] for row in rows] == orders[2:4]
    answer = paginator.get_paginated_response([row["id"] for row in rows]).data
    assert answer == {
        "docs": orders[2:4],
        "totalDocs": 5,
        "limit": 2,
        "totalPages": 3,
        "page": 2,
        "pagingCounter": 3,
        "hasPrevPage": True,
        "hasNextPage": True,
        "prevPage": 1,
        "nextPage": 3,
    }


def test_one_declaration_drives_what_a_write_reads_and_its_openapi_body(api, client):
    """A write's keys come from its Write and from the fields that declare it
    (``staffNote`` says ``writes=("update",)``): the body is read by them and the OpenAPI body
    lists exactly them."""
    orders = registry.get("orders")
    update = orders.writes["update"]
    assert "staffNote" in list(update) and "status" in list(update)
    schema = client.get("/api/schema?format=json").json()
    patch = schema["paths"]["/api/orders/{id}"]["patch"]["requestBody"]["content"]
    body = patch["application/json"]["schema"]
    assert set(body["properties"]) == set(update)
    assert body["properties"]["staffNote"]["type"] == "string"
    assert body["properties"]["status"]["enum"] == [
        "paid",
        "canceled",
        "failed",
        "pending",
        "confirmed",
    ]
    order = place_order()
    answer = api.from_("orders").update({"staffNote": "fragile"}, order.pk)
    assert answer.status == 200 and answer.json["doc"]["staffNote"] == "fragile"
    # A key no write of orders declares is refused, and the order is unchanged.
    answer = api.from_("orders").update({"subtotalAmount": 1}, order.pk)
    assert answer.status == 400
    assert answer.json["errors"][0]["data"]["errors"][0]["path"] == "subtotalAmount"
    order.refresh_from_db()
    assert order.staff_note == "fragile" and order.subtotal_amount != 1


def test_options_on_every_collection_names_the_view_and_no_serializer(http_client):
    """OPTIONS on a list answers DRF's metadata (name, renders, parses); the writes are in the
    OpenAPI schema. A generic view without a serializer once made it a 500."""
    for slug in ("orders", "carts", "cart-items", "products", "returns", "transactions"):
        response = http_client.options(f"/api/{slug}")
        assert response.status_code == 200, (slug, response.content[:200])
        body = response.json()
        assert body["renders"] == ["application/json"] and "actions" not in body


def test_a_number_where_the_schema_says_text_is_refused_and_nothing_is_written(http_client):
    from shop.models import Cart

    before = Cart.objects.count()
    response = http_client.post(
        "/api/carts",
        {"shippingAddress": {"postalCode": 6123}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "shippingAddress.postalCode must be text" in response.content.decode()
    assert Cart.objects.count() == before
