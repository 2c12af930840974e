"""The order page's layout from the server's answer: the side column's parts, a section an app
under an order registers (in the main column, above the timeline), a guest order, and a query
count that does not grow with the order's parcels or timeline."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment import services as fulfillment_services
from orders import admin as order_admin
from orders.values import ItemUnits
from tests.admin.shortcuts import place_order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def columns(html):
    main = html.index('id="order-main"')
    side = html.index('id="order-side"')
    return html[main:side], html[side:]


def test_the_side_column_holds_the_customer_contact_address_and_notes(as_role):
    customer = CustomerFactory(name="Kim Minji")
    place_order(customer=customer)
    order = place_order(customer=customer, delivery_note="Leave at the door")
    html = as_role("service").get(change_url(order)).content.decode()
    main, side = columns(html)
    url = reverse("admin:shop_customer_change", args=[customer.pk])
    assert f'<a href="{url}" id="customer-page">Kim Minji</a>' in side
    assert '<p class="quiet" id="customer-order-count">2 orders</p>' in side
    assert "Leave at the door" in side
    assert 'name="staff_note"' in side
    assert "<h1>Order</h1>" in html  # read more than edited: not "Change order"
    for section in ('id="order-items"', 'id="order-payments"', 'id="order-timeline"'):
        assert section in main
        assert section not in side


def test_a_guest_order_says_so_and_has_no_count(as_role):
    order = place_order()
    html = as_role("service").get(change_url(order)).content.decode()
    _main, side = columns(html)
    assert "(guest)" in side
    assert "customer-order-count" not in side


def test_a_registered_section_is_in_the_main_column_above_the_timeline(as_role, monkeypatch):
    part = order_admin.OrderScreenPart(
        context=lambda request, order, page, model_admin: {
            "rows": [("gift", "Gift message", f"For order {order.order_number}")]
        },
        section="admin/orders/order/side_rows.html",
    )
    monkeypatch.setattr(order_admin, "ORDER_SCREEN_PARTS", [*order_admin.ORDER_SCREEN_PARTS, part])
    order = place_order()
    html = as_role("manager").get(change_url(order)).content.decode()
    main, _side = columns(html)
    assert f"For order {order.order_number}" in main
    assert main.index("field-gift") < main.index('id="order-timeline"')


def test_the_page_reads_in_the_same_number_of_queries_for_more_parcels(as_role):
    client = as_role("manager")

    def queries_for(parcels):
        order = place_order(quantities=(1,) * parcels)
        for item in order.items.all():
            parcel = fulfillment_services.create_fulfillment(
                order=order, items=[ItemUnits(item.pk, 1)]
            )
            fulfillment_services.ship_fulfillment(
                fulfillment=parcel, carrier="cj", tracking_number=f"64{item.pk}"
            )
        client.get(change_url(order))  # warm the caches (content types, sessions)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(change_url(order)).status_code == 200
        return len(queries)

    assert queries_for(4) == queries_for(1)
