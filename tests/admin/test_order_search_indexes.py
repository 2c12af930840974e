"""The order list's search by order number or tracking number: each exact match is looked up
through its own index (no ``order_number = q OR EXISTS (…)``, which scans the whole table), and
the answers are those of the search staff know."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment import services as fulfillment_services
from orders.models import Order, OrderStatus
from tests.admin.shortcuts import place_order

pytestmark = pytest.mark.django_db

LIST = reverse("admin:orders_order_changelist")


def shown_numbers(response) -> set[str]:
    return {order.order_number for order in response.context["cl"].result_list}


def search(client, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, params)
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


def test_exact_searches_never_or_the_number_with_a_tracking_subquery(as_role):
    target = place_order()
    place_order()
    parcel = fulfillment_services.create_fulfillment(order=target)
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="T-1")
    client = as_role("manager")
    for term in (target.order_number, "T-1"):
        response, sqls = search(client, q=term)
        assert shown_numbers(response) == {target.order_number}, term
        orders_queries = [sql for sql in sqls if 'FROM "orders_order"' in sql]
        # Neither the lookups nor the page's queries combine the order number with a subquery.
        assert not any("EXISTS" in sql and "tracking_number" in sql for sql in orders_queries)
        # The order number is compared exactly (an index lookup), never with LIKE.
        assert not any("LIKE" in sql for sql in sqls), term


def test_a_tracking_number_shared_by_two_orders_lists_both(as_role):
    first, second = place_order(), place_order()
    for order in (first, second):
        parcel = fulfillment_services.create_fulfillment(order=order)
        fulfillment_services.ship_fulfillment(
            fulfillment=parcel, carrier="cj", tracking_number="SAME-1"
        )
    response, _ = search(as_role("manager"), q="SAME-1")
    assert shown_numbers(response) == {first.order_number, second.order_number}


def test_an_exact_hit_outside_the_filter_falls_back_to_the_wide_search(as_role):
    """The exact match is tried within the filtered list; when the filter hides it, the search
    goes on to names, email and phone, as before."""
    target = place_order(paid=False)
    namesake = place_order()
    Order.objects.filter(pk=namesake.pk).update(customer_name=f"Buyer {target.order_number}")
    client = as_role("manager")
    response, _ = search(client, q=target.order_number, status__exact=OrderStatus.PAID)
    assert shown_numbers(response) == {namesake.order_number}
    response, _ = search(client, q=target.order_number)
    assert shown_numbers(response) == {target.order_number}


def test_the_query_count_of_an_exact_search_is_fixed(as_role, django_assert_max_num_queries):
    orders = [place_order() for _ in range(3)]
    client = as_role("manager")
    _, sqls = search(client, q=orders[0].order_number)
    for _ in range(5):
        place_order()
    with django_assert_max_num_queries(len(sqls)):
        response = client.get(LIST, {"q": orders[-1].order_number})
    assert shown_numbers(response) == {orders[-1].order_number}
