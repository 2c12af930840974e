"""The order list on a big table: the same queries at 100 or 100,000 orders, and no count of the
whole table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order
from shop.db import statement_timeout

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

LIST = reverse("admin:orders_order_changelist")


def insert_orders(start: int, count: int) -> None:
    """Rows straight into the tables in one statement each (not through services): only the
    list is under test. Created one second apart, so the newest is the highest number. Without
    the statement timeout: the bulk insert, not the pages, may take long on a busy machine."""
    with statement_timeout(0), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_order (
                order_number, customer_name, customer_email, customer_phone,
                shipping_recipient_name, shipping_phone, shipping_postal_code,
                shipping_address1, shipping_address2, status, currency, subtotal_amount,
                shipping_amount, discount_amount, total_amount, staff_note,
                created_at, updated_at
            )
            SELECT 'SCALE-' || lpad(n::text, 7, '0'), 'Buyer ' || n, 'buyer' || n || '@example.com',
                   '', '', '', '', '', '', 'paid', 'KRW', 10000, 0, 0, 10000, '',
                   now() - interval '200000 seconds' + n * interval '1 second',
                   now()
            FROM generate_series(%s, %s) AS n
            """,
            [start, start + count - 1],
        )
        cursor.execute(
            """
            INSERT INTO orders_transaction (
                order_id, kind, status, amount, payment_method, created_at, updated_at
            )
            SELECT o.id, 'payment', 'paid', o.total_amount, 'card', o.created_at, o.created_at
            FROM orders_order o
            WHERE NOT EXISTS (SELECT 1 FROM orders_transaction t WHERE t.order_id = o.id)
            """
        )
        cursor.execute("ANALYZE orders_order")
        cursor.execute("ANALYZE orders_transaction")


def list_queries(client, params=None) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, params or {})
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries], response


def whole_table_counts(queries: list[str]) -> list[str]:
    """COUNT queries not bounded by a LIMIT (a count of everything that matches)."""
    return [q for q in queries if "COUNT(" in q.upper() and "LIMIT" not in q.upper()]


def test_order_list_queries_stay_the_same_from_100_to_100000_orders(
    as_role, django_assert_max_num_queries
):
    client = as_role("manager")
    insert_orders(0, 100)
    small, _ = list_queries(client)
    small_filtered, _ = list_queries(client, {"status__exact": "paid", "payment_method": "card"})

    insert_orders(100, 99_900)
    assert Order.objects.count() == 100_000
    large, response = list_queries(client)
    large_filtered, _ = list_queries(client, {"status__exact": "paid", "payment_method": "card"})

    assert len(large) == len(small)
    assert len(large_filtered) == len(small_filtered)
    assert whole_table_counts(large) == []
    assert whole_table_counts(large_filtered) == []
    html = response.content.decode()
    assert "More than 10000 orders" in html
    assert "SCALE-0099999" in html  # newest first
    assert len(response.context["cl"].result_list) == 50
    with django_assert_max_num_queries(len(small)):
        client.get(LIST, {"p": "3"})
