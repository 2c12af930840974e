import pytest
from django.urls import reverse

from fulfillment import services as fulfillment_services
from fulfillment.models import FulfillmentStatus
from orders.models import OrderStatus
from tests.admin.shortcuts import place_order

pytestmark = pytest.mark.django_db


def run_url(parcel, name):
    return reverse("admin:fulfillment_fulfillment_run", args=[parcel.pk, name])


def change_url(parcel):
    return reverse("admin:fulfillment_fulfillment_change", args=[parcel.pk])


def test_pack_ship_deliver_through_the_buttons(as_role):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    client = as_role("warehouse")

    html = client.get(change_url(parcel)).content.decode()
    assert 'data-action="pack"' in html
    assert 'data-action="ship"' in html
    assert 'data-action="deliver"' not in html  # not from pending

    client.post(run_url(parcel, "pack"))
    parcel.refresh_from_db()
    assert parcel.status == FulfillmentStatus.PACKED

    form = client.get(run_url(parcel, "ship")).content.decode()
    assert "<datalist" in form and 'value="hanjin"' in form  # known carriers to pick from
    client.post(run_url(parcel, "ship"), {"carrier": "hanjin", "tracking_number": "5123"})
    parcel.refresh_from_db()
    order.refresh_from_db()
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == ("shipped", "hanjin", "5123")
    assert order.status == OrderStatus.SHIPPED
    assert "hanjin.com" in client.get(change_url(parcel)).content.decode()  # tracking link

    client.post(run_url(parcel, "deliver"))
    parcel.refresh_from_db()
    order.refresh_from_db()
    assert parcel.status == FulfillmentStatus.DELIVERED
    assert order.status == OrderStatus.DELIVERED


def test_free_text_carrier_has_no_link(as_role):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    client = as_role("warehouse")
    client.post(run_url(parcel, "ship"), {"carrier": "Bike courier", "tracking_number": "B-1"})
    html = client.get(change_url(parcel)).content.decode()
    assert "Bike courier" in html and "B1" in html  # the number as stored, without its dash
    assert "tracking-link" not in html


def test_ship_without_tracking_number_shows_the_reason_on_the_form(as_role):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    response = as_role("warehouse").post(
        run_url(parcel, "ship"), {"carrier": "cj", "tracking_number": ""}
    )
    assert response.status_code == 200
    assert "needs a tracking number" in response.content.decode()
    parcel.refresh_from_db()
    assert parcel.status == FulfillmentStatus.PENDING
    assert parcel.carrier == ""


def test_fail_needs_the_warehouse_permission(as_role):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    assert as_role("service").post(run_url(parcel, "fail"), {"reason": "x"}).status_code == 403
    as_role("warehouse").post(run_url(parcel, "fail"), {"reason": "lost"})
    parcel.refresh_from_db()
    assert parcel.status == FulfillmentStatus.FAILED


def test_parcel_buttons_on_the_order_page_come_back_to_it(as_role):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    order_url = reverse("admin:orders_order_change", args=[order.pk])
    client = as_role("warehouse")
    html = client.get(order_url).content.decode()
    assert f"{run_url(parcel, 'pack')}?next={order_url}" in html
    response = client.post(f"{run_url(parcel, 'pack')}?next={order_url}")
    assert response.status_code == 302 and response["Location"] == order_url


def test_fulfilment_list_searches_by_tracking_number(as_role):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="Z9")
    response = as_role("warehouse").get(
        reverse("admin:fulfillment_fulfillment_changelist"), {"q": "Z9"}
    )
    assert [f.pk for f in response.context["cl"].result_list] == [parcel.pk]
