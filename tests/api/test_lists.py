"""Lists: sort, pagination (Payload's envelope), depth, joins, documents and errors."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from tests.api.shop_data import order_with_requests, paid_order
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ten_orders():
    """Ten orders a day apart, the oldest first, totals 10000, 20000, … 100000."""
    now = timezone.now()
    made = []
    for n in range(10):
        order = paid_order(price=10000 * (n + 1), quantities=(1,))
        Order.objects.filter(pk=order.pk).update(created_at=now - timedelta(days=10 - n))
        made.append(order)
    return made


def test_default_sort_is_newest_first(api, ten_orders):
    answer = api.from_("orders").find(depth=0)
    assert [d["id"] for d in answer["docs"]] == [o.pk for o in reversed(ten_orders)]


def test_sort_by_one_or_several_fields(api, ten_orders):
    answer = api.from_("orders").find(sort="totalAmount", limit=3, depth=0)
    assert [d["totalAmount"] for d in answer["docs"]] == [10000, 20000, 30000]
    answer = api.from_("orders").find(sort=["status", "-totalAmount"], limit=2, depth=0)
    assert [d["totalAmount"] for d in answer["docs"]] == [100000, 90000]
    # sort=a&sort=b is the same as sort=a,b
    answer = api.transport("GET", "/api/orders?depth=0&limit=2&sort=status&sort=-totalAmount")
    assert [d["totalAmount"] for d in answer.json["docs"]] == [100000, 90000]


def test_unknown_sort_fields_are_ignored(api, ten_orders):
    answer = api.from_("orders").find(sort="-colour", limit=2, depth=0)
    assert [d["id"] for d in answer["docs"]] == [ten_orders[-1].pk, ten_orders[-2].pk]


def test_sort_across_a_relation_and_into_a_group(api):
    zed = paid_order(customer=CustomerFactory(name="Zed"))
    amy = paid_order(customer=CustomerFactory(name="Amy"))
    answer = api.from_("orders").find(sort="customer.name", depth=0)
    assert [d["id"] for d in answer["docs"]] == [amy.pk, zed.pk]
    answer = api.from_("orders").find(sort="-customerSnapshot.name", depth=0)
    assert [d["id"] for d in answer["docs"]] == [zed.pk, amy.pk]


def test_pages_are_paylods_envelope(api, ten_orders):
    answer = api.from_("orders").find(limit=4, page=2, depth=0)
    assert {k: v for k, v in answer.items() if k != "docs"} == {
        "totalDocs": 10,
        "limit": 4,
        "totalPages": 3,
        "page": 2,
        "pagingCounter": 5,
        "hasPrevPage": True,
        "hasNextPage": True,
        "prevPage": 1,
        "nextPage": 3,
    }
    assert [d["id"] for d in answer["docs"]] == [o.pk for o in reversed(ten_orders)][4:8]
    last = api.from_("orders").find(limit=4, page=3, depth=0)
    assert len(last["docs"]) == 2 and last["hasNextPage"] is False and last["nextPage"] is None
    assert last["totalDocs"] == 10


def test_no_matches_and_a_page_past_the_end(api, ten_orders):
    none = api.from_("orders").find(where={"status": {"equals": "returned"}})
    assert none["docs"] == [] and none["totalDocs"] == 0
    assert none["totalPages"] == 1 and none["pagingCounter"] == 1
    past = api.from_("orders").find(limit=4, page=5, depth=0)
    assert past["docs"] == [] and past["totalDocs"] == 10 and past["totalPages"] == 3
    assert past["hasPrevPage"] is True and past["prevPage"] == 4 and past["hasNextPage"] is False


def test_page_zero_is_page_one_and_limit_zero_is_everything(api, ten_orders):
    assert api.from_("orders").find(page=0, limit=3, depth=0)["page"] == 1
    everything = api.from_("orders").find(limit=0, depth=0)
    assert len(everything["docs"]) == 10 and everything["limit"] == 0
    assert everything["totalPages"] == 1


def test_limit_is_capped_by_the_server_maximum(api, ten_orders, settings):
    settings.API_MAX_LIMIT = 3
    answer = api.from_("orders").find(limit=50, depth=0)
    assert len(answer["docs"]) == 3 and answer["limit"] == 3 and answer["totalDocs"] == 10


def test_pagination_false_skips_the_count(api, ten_orders, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # session, user, every match, the joins' ids
        answer = api.from_("orders").find(pagination=False, depth=0)
    assert len(answer["docs"]) == 10
    assert answer["totalDocs"] == 10 and answer["totalPages"] == 1
    assert answer["hasNextPage"] is False and answer["pagingCounter"] == 1


@pytest.mark.parametrize("value", ["ten", "-1", "1.5"])
@pytest.mark.parametrize("name", ["limit", "page", "depth"])
def test_bad_paging_numbers_are_refused(api, name, value):
    answer = api.transport("GET", f"/api/orders?{name}={value}")
    assert answer.status == 400
    assert name in answer.json["errors"][0]["message"]


def test_depth_above_the_maximum_is_the_maximum(api):
    order = paid_order()
    assert api.from_("orders").find_by_id(order.pk, depth=50)["id"] == order.pk


def test_depth_zero_gives_ids_and_joins_of_ids(api):
    """Payload: a join field at depth 0 is ``{docs: [ids], hasNextPage}``
    (``packages/drizzle/src/transform/read/traverseFields.ts`` builds ``{docs, hasNextPage}``;
    documents are populated only at depth ≥ 1)."""
    order = order_with_requests()
    doc = api.from_("orders").find_by_id(order.pk, depth=0)
    assert doc["customer"] == order.customer_id and doc["cart"] == order.cart_id
    items = list(order.items.order_by("id").values_list("pk", flat=True))
    assert doc["items"] == {"docs": items, "hasNextPage": False}
    returns = list(order.returns.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert doc["returns"] == {"docs": returns, "hasNextPage": False}
    assert set(doc) >= {"transactions", "fulfillments", "exchanges"}
    listed = api.from_("orders").find(depth=0, where={"id": {"equals": order.pk}})["docs"][0]
    assert listed["items"] == doc["items"]
    off = api.transport("GET", f"/api/orders/{order.pk}?depth=0&joins=false").json
    assert "items" not in off and "returns" not in off


def test_depth_two_populates_the_joins_relations(api):
    order = order_with_requests()
    doc = api.from_("orders").find_by_id(order.pk, depth=2)
    line = doc["items"]["docs"][0]
    assert line["product"]["title"] and line["variant"]["id"] and line["option"]["sku"]
    assert doc["cart"]["customer"]["id"] == order.customer_id
    one = api.from_("orders").find_by_id(order.pk, depth=1)
    assert isinstance(one["items"]["docs"][0]["product"], int)


def test_joins_are_limited_and_tunable(api):
    order = paid_order(quantities=(1, 1, 1))
    doc = api.from_("orders").find_by_id(order.pk)
    assert len(doc["items"]["docs"]) == 3 and doc["items"]["hasNextPage"] is False
    answer = api.from_("orders").find(
        where={"id": {"equals": order.pk}},
        joins={"items": {"limit": 2, "count": True, "sort": "-id"}},
    )
    items = answer["docs"][0]["items"]
    expected = sorted(order.items.values_list("pk", flat=True), reverse=True)
    assert [d["id"] for d in items["docs"]] == expected[:2]
    assert items["hasNextPage"] is True and items["totalDocs"] == 3
    page_two = api.from_("orders").find(
        where={"id": {"equals": order.pk}}, joins={"items": {"limit": 2, "page": 2, "sort": "-id"}}
    )
    assert [d["id"] for d in page_two["docs"][0]["items"]["docs"]] == expected[2:]


def test_a_join_can_be_filtered_or_switched_off(api):
    order = paid_order(quantities=(1, 2))
    answer = api.from_("orders").find(
        where={"id": {"equals": order.pk}},
        joins={"items": {"where": {"quantity": {"equals": 2}}}},
    )
    assert [d["quantity"] for d in answer["docs"][0]["items"]["docs"]] == [2]
    off = api.transport("GET", f"/api/orders/{order.pk}?joins=false")
    assert "items" not in off.json and "transactions" not in off.json


def test_a_named_join_at_depth_zero_gives_ids(api):
    order = paid_order(quantities=(1, 2))
    answer = api.from_("orders").find(
        depth=0, where={"id": {"equals": order.pk}}, joins={"items": {"count": True}}
    )
    items = answer["docs"][0]["items"]
    assert items["docs"] == list(order.items.order_by("id").values_list("pk", flat=True))
    assert items["totalDocs"] == 2


def test_documents_are_camel_case_with_utc_millisecond_timestamps(api):
    order = paid_order()
    doc = api.from_("orders").find_by_id(order.pk, depth=0)
    assert {"orderNumber", "customerSnapshot", "shippingAddress", "totalAmount"} <= set(doc)
    assert not any("_" in key for key in doc)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["createdAt"])
    assert isinstance(doc["totalAmount"], int)


def test_every_collection_lists(api):
    order_with_requests(complete=True)
    ProductFactory()
    slugs = [
        "customers",
        "products",
        "variants",
        "options",
        "carts",
        "cart-items",
        "orders",
        "order-items",
        "order-products",
        "transactions",
        "fulfillments",
        "fulfillment-items",
        "returns",
        "return-items",
        "return-products",
        "exchanges",
        "exchange-items",
    ]
    for slug in slugs:
        answer = api.from_(slug).find(depth=1)
        assert answer["totalDocs"] >= 1, slug
        first = answer["docs"][0]
        assert api.from_(slug).find_by_id(first["id"], depth=1) == first


def test_a_missing_or_malformed_id_is_404(api):
    for url in ("/api/orders/999999", "/api/orders/abc", "/api/orders/1.5", "/api/nothing-here"):
        answer = api.transport("GET", url)
        assert answer.status == 404, url
        assert answer.json == {"errors": [{"message": "Not Found"}]}


def test_callers_without_access_are_refused(client, db):
    order = paid_order()
    for url in ("/api/orders", f"/api/orders/{order.pk}", "/api/orders/count"):
        answer = client.get(url)
        assert answer.status_code == 403
        message = "You are not allowed to perform this action."
        assert answer.json() == {"errors": [{"message": message}]}


def test_staff_need_the_models_view_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    assert client.get("/api/orders").status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    assert client.get("/api/orders").status_code == 200
    assert client.get("/api/transactions").status_code == 403


def test_timestamps_formatted_by_the_database_match_the_stored_instant(api):
    from datetime import UTC, datetime

    from shop.api.collections import iso_timestamp

    order = paid_order()
    for micro in (0, 999, 1000, 499_999, 999_999):
        stamp = datetime(2026, 11, 23, 2, 41, 7, micro, tzinfo=UTC)
        Order.objects.filter(pk=order.pk).update(created_at=stamp)
        doc = api.from_("orders").find_by_id(order.pk, depth=0)
        assert (
            doc["createdAt"]
            == iso_timestamp(stamp)
            == (f"2026-11-23T02:41:07.{micro // 1000:03d}Z")
        )
