"""Documents staff hand on: the warehouse's pick list (a line per order line and parcel) and
the invoice with the seller, an invoice number, and the payment and refund state."""

import csv
import io

import pytest
from django.urls import reverse

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.values import CustomerSnapshot, ItemUnits, OrderDraft, OrderLine
from returns import services as return_services
from returns.values import ReturnLine
from shop.values import Address
from tests.admin.shortcuts import deliver_everything, place_order
from tests.factories import OptionFactory

pytestmark = pytest.mark.django_db

PICK_LIST = reverse("admin:fulfillment_pick_list")
LIST = reverse("admin:orders_order_changelist")


def pick_rows(client, **filters) -> list[dict]:
    response = client.get(PICK_LIST, filters)
    assert response.status_code == 200
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_pick_list_has_a_line_per_parcel_and_what_is_left_to_pick(as_role):
    option = OptionFactory(title="Oatmeal / L", sku="SHIRT-OAT-L", price=39000)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[
                OrderLine(
                    product=option.variant.product_id,
                    variant=option.variant_id,
                    option=option.pk,
                    quantity=3,
                    unit_price=39000,
                )
            ],
            customer_snapshot=CustomerSnapshot(name="Kim", email="kim@example.com", phone=""),
            shipping_address=Address(
                recipient_name="Kim Minji",
                phone="010",
                postal_code="04524",
                address1="Seoul",
                address2="",
            ),
            payment_id="pay_pick_1",
        )
    ).order
    item = order.items.get()
    parcel = fulfillment_services.create_fulfillment(order=order, items=[ItemUnits(item.pk, 2)])
    fulfillment_services.ship_fulfillment(
        fulfillment=parcel, carrier="cj", tracking_number="640012345678"
    )
    unpaid = place_order(paid=False)

    rows = pick_rows(as_role("warehouse"), status__exact="preparing")
    assert [(r["Order number"], r["Quantity"], r["Fulfilment"]) for r in rows] == [
        (order.order_number, "2", str(parcel.pk)),
        (order.order_number, "1", ""),  # one unit still to pick
    ]
    shipped = rows[0]
    assert shipped["SKU"] == "SHIRT-OAT-L"
    assert shipped["Option"] == "Oatmeal / L"
    assert shipped["Recipient"] == "Kim Minji"
    assert shipped["Carrier"] == "CJ Logistics"
    assert shipped["Tracking number"] == "640012345678"
    assert shipped["Fulfilment status"] == "Shipped"
    # The filter is the order list's: the unpaid order is not on a "preparing" pick list.
    assert unpaid.order_number not in {
        r["Order number"] for r in pick_rows(as_role("warehouse"), status__exact="preparing")
    }
    assert unpaid.order_number in {r["Order number"] for r in pick_rows(as_role("warehouse"))}


def test_the_order_list_links_to_the_pick_list_with_its_filters(as_role):
    page = as_role("warehouse").get(LIST, {"status__exact": "paid"}).content.decode()
    assert f'href="{PICK_LIST}?status__exact=paid"' in page


def test_pick_list_needs_the_parcels_view_permission(client):
    from django.contrib.auth.models import Permission

    from tests.admin.conftest import make_staff

    user = make_staff("orders-only")
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)
    assert client.get(PICK_LIST).status_code == 403
    assert 'class="pick-list-csv"' not in client.get(LIST).content.decode()


def test_invoice_carries_seller_invoice_number_and_payment_and_refund_state(as_role, settings):
    settings.SHOP_SELLER = {
        "name": "Seoul Linen Co., Ltd.",
        "address": "12 Sejong-daero, Jung-gu, Seoul",
        "business_number": "123-45-67890",
    }
    refunded = place_order(quantities=(2,), price=15000)
    deliver_everything(refunded)
    filed = return_services.request_return(
        order=refunded,
        reason="defective",
        items=[ReturnLine(refunded.items.get().pk, 1)],
    )
    return_services.approve_return(request=filed)
    return_services.receive_return(request=filed)
    return_services.complete_return(request=filed)
    unpaid = place_order(paid=False)

    html = (
        as_role("manager")
        .post(LIST, {"action": "print_invoices", "_selected_action": [refunded.pk, unpaid.pk]})
        .content.decode()
    )
    pages = html.split('<section class="page"')[1:]
    assert len(pages) == 2
    first, second = pages
    for page in pages:
        assert "Seoul Linen Co., Ltd." in page
        assert "12 Sejong-daero, Jung-gu, Seoul" in page
        assert "Business registration number: 123-45-67890" in page
    assert f"INV-{refunded.order_number}" in first
    assert "Paid in full" in first and "30,000 KRW" in first
    assert "Partly refunded" in first and "15,000 KRW" in first
    assert f"INV-{unpaid.order_number}" in second
    assert "Not paid" in second and "No refund" in second


def test_invoice_in_korean(as_role):
    order = place_order()
    html = (
        as_role("manager")
        .post(
            LIST,
            {"action": "print_invoices", "_selected_action": [order.pk]},
            HTTP_ACCEPT_LANGUAGE="ko",
        )
        .content.decode()
    )
    assert "결제 완료" in html
    assert "환불 없음" in html
    assert "판매자" in html
