"""No list endpoint's query count grows with ``limit`` or with the number of rows or children:
population and joins are one query per relation and level, never one per row."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from returns.values import ReturnLine
from shop.api.collections import registry
from tests.api.shop_data import order_with_requests

pytestmark = pytest.mark.django_db

SLUGS = [
    "customers",
    "products",
    "variants",
    "options",
    "carts",
    "cart-items",
    "orders",
    "order-items",
    "transactions",
    "fulfillments",
    "fulfillment-items",
    "returns",
    "return-items",
    "exchanges",
    "exchange-items",
]


def queries(api, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        answer = api.transport("GET", url)
    assert answer.status == 200, answer.json
    return len(captured)


@pytest.fixture
def overhead(api):
    """Queries every authenticated request makes besides the view's own (session, user): a
    count that matches nothing by construction runs no query of its own."""
    return queries(api, "/api/orders/count?where[id][in][]")


@pytest.fixture(scope="module")
def four_complete_orders(django_db_setup, django_db_blocker):
    """Four orders with every relation and join of every collection filled, made once for the
    module in a transaction rolled back at its end; each test's own transaction is a savepoint
    inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield [order_with_requests(complete=True) for _ in range(4)]
        transaction.set_rollback(True)


@pytest.mark.parametrize("depth", [0, 1, 2])
@pytest.mark.parametrize("slug", SLUGS)
def test_queries_do_not_grow_with_rows_or_limit(
    four_complete_orders, api, overhead, slug, depth, django_assert_max_num_queries
):
    baseline = queries(api, f"/api/{slug}?depth={depth}&limit=1")  # one row
    if depth == 0:  # count + page, and every join's ids in one query
        joins = 1 if registry.get(slug).joins else 0
        assert baseline <= overhead + 2 + joins
    for limit in (2, 100):  # two rows, then every row (four orders' worth, at least four)
        with django_assert_max_num_queries(baseline):
            answer = api.from_(slug).find(depth=depth, limit=limit)
        assert len(answer["docs"]) == min(limit, answer["totalDocs"])
        assert answer["totalDocs"] >= 4


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_order_detail_queries_do_not_grow_with_children(api, depth, django_assert_max_num_queries):
    small = order_with_requests(complete=True)
    baseline = queries(api, f"/api/orders/{small.pk}?depth={depth}")
    big = order_with_requests(complete=True)
    for _ in range(3):  # more lines and more requests on the same order do not add queries
        from returns import services

        services.reject_return(
            request=services.request_return(
                order=big, reason="other", items=[ReturnLine(order_item=big.items.first().pk)]
            )
        )
    with django_assert_max_num_queries(baseline):
        doc = api.from_("orders").find_by_id(big.pk, depth=depth)
    if depth:
        assert len(doc["returns"]["docs"]) == 4
