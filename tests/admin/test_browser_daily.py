"""The daily path walked in headless Chromium by the role that does each step, in English and
in Korean: mark an order paid (amount, method, reference), fulfil and ship it from its page or
from the "Unfulfilled" list, and read what a refund did. The checks read the page as staff
see it."""

from pathlib import Path

import pytest
from django.urls import reverse

from fulfillment.models import Fulfillment, FulfillmentStatus
from orders.models import OrderStatus, Transaction, TransactionKind
from returns import services as return_services
from returns.values import ReturnLine
from tests.admin.pages import expect, log_in, new_page
from tests.admin.shortcuts import deliver_everything, place_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

WORDS = {
    "en": {
        "mark_paid": "Mark paid",
        "bank_transfer": "Bank transfer",
        "fulfil_and_ship": "Fulfil and ship",
        "shipped": "Shipped",
        "amount_wrong": "has 20,000 KRW due, not 5,000",
        "no_tracking": "needs a tracking number",
        "not_shipped": "was not shipped",
        "refunded": "Refunded",
        "paid": "Paid",
        "card": "Card",
        "choose_units": "Choose units",
    },
    "ko": {
        "mark_paid": "결제 완료 처리",
        "bank_transfer": "계좌 이체",
        "fulfil_and_ship": "출고 및 발송",
        "shipped": "발송됨",
        "amount_wrong": "has 20,000 KRW due, not 5,000",
        "no_tracking": "needs a tracking number",
        "not_shipped": "발송하지 않았습니다",
        "refunded": "환불 완료",
        "paid": "결제 완료",
        "card": "카드",
        "choose_units": "수량 선택",
    },
}


@pytest.fixture
def page(chromium, live_server, lang):
    page = new_page(chromium, lang, 1366, 900)
    yield page
    page.context.close()


class Clicks:
    """Counts the clicks a flow takes (typing in a field is not a click)."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        self.count += 1
        locator.click()


def test_pay_then_fulfil_and_ship_from_the_order_page_in_three_clicks(
    page, live_server, users, lang
):
    words = WORDS[lang]
    order = place_order(quantities=(2, 1), price=10000, paid=False)
    log_in(page, live_server, "manager")  # a manager takes payments and ships
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    clicks = Clicks(page)

    clicks.click(page.locator("[data-action=pay]"))
    expect(page.locator("#id_amount")).to_have_value("30000")  # prefilled: all that is due
    expect(page.locator("#id_method option:checked")).to_have_text(words["bank_transfer"])
    page.fill("#id_reference", "김민지")
    clicks.click(page.locator("input[name=_run]"))

    panel = page.locator("#fulfil-panel")
    expect(panel.locator("input[type=number]").nth(0)).to_have_value("2")  # all remaining
    expect(panel.locator("input[type=number]").nth(1)).to_have_value("1")
    panel.locator("input[name=carrier]").fill("cj")
    panel.locator("input[name=tracking_number]").fill("6123 4567 8901")
    clicks.click(panel.get_by_role("button", name=words["fulfil_and_ship"]))

    assert clicks.count <= 3
    card = page.locator("#order-fulfillments .shop-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(words["shipped"])
    expect(card.locator(".tracking-link")).to_have_text("612345678901")
    expect(page.locator("#fulfil-panel")).to_have_count(0)  # nothing left to fulfil
    timeline = page.locator("#order-timeline")
    expect(timeline).to_contain_text(words["bank_transfer"])
    expect(timeline).to_contain_text("김민지")
    payments = page.locator("#order-payments tbody tr")
    expect(payments.first).to_contain_text("김민지")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    if lang == "en":
        page.locator("#order-fulfillments").scroll_into_view_if_needed()


def test_payments_marks_paid_and_a_wrong_amount_changes_nothing(page, live_server, users, lang):
    words = WORDS[lang]
    order = place_order(quantities=(2,), price=10000, paid=False)
    log_in(page, live_server, "payments")
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    expect(page.locator("#fulfil-panel")).to_have_count(0)  # not paid, and not theirs
    page.click("[data-action=pay]")
    page.fill("#id_amount", "5000")
    page.click("input[name=_run]")
    expect(page.locator(".errornote")).to_contain_text(words["amount_wrong"])
    assert not Transaction.objects.filter(order=order).exists()
    page.fill("#id_amount", "20000")
    page.fill("#id_reference", "KIM MINJI")
    page.click("input[name=_run]")
    expect(page.locator("#order-payments tbody tr")).to_contain_text("KIM MINJI")
    expect(page.locator("#order-payments tbody tr")).to_contain_text(words["bank_transfer"])
    expect(page.locator("#order-timeline")).to_contain_text("KIM MINJI")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_warehouse_ships_from_the_unfulfilled_list(page, live_server, users, lang):
    words = WORDS[lang]
    older = place_order(quantities=(3,))
    newer = place_order(quantities=(1, 1))
    unpaid = place_order(paid=False)
    log_in(page, live_server, "warehouse")
    page.goto(live_server.url + reverse("admin:fulfillment_unfulfilled"))
    rows = page.locator("#unfulfilled tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-order", older.order_number)  # oldest first
    expect(rows.nth(1)).to_have_attribute("data-order", newer.order_number)
    expect(page.locator("#unfulfilled")).not_to_contain_text(unpaid.order_number)

    # No tracking number: refused, nothing written.
    row = page.locator(f'tr[data-order="{older.order_number}"]')
    row.locator("input[name=carrier]").fill("cj")
    row.get_by_role("button", name=words["fulfil_and_ship"]).click()
    expect(page.locator(".messagelist .error")).to_contain_text(words["not_shipped"])
    expect(page.locator(".messagelist .error")).to_contain_text(words["no_tracking"])
    assert not Fulfillment.objects.filter(order=older).exists()

    # Two of the three units, chosen in the row's dialog.
    page.goto(live_server.url + reverse("admin:fulfillment_unfulfilled"))
    row = page.locator(f'tr[data-order="{older.order_number}"]')
    row.get_by_text(words["choose_units"]).click()
    row.locator("input[type=number]").fill("2")
    row.locator("input[name=carrier]").fill("cj")
    row.locator("input[name=tracking_number]").fill("5555-0001")
    if lang == "en":
        page.screenshot(path=str(SCREENSHOTS / "unfulfilled.png"), full_page=True)
    row.get_by_role("button", name=words["fulfil_and_ship"]).click()
    expect(page.locator(".messagelist .success")).to_contain_text(older.order_number)
    expect(page.locator(".messagelist .success")).to_contain_text("55550001")
    row = page.locator(f'tr[data-order="{older.order_number}"]')
    expect(row).to_contain_text("1 ×")  # one unit left, the order stays on the list
    parcel = Fulfillment.objects.get(order=older)
    assert parcel.status == FulfillmentStatus.SHIPPED
    assert parcel.items.get().quantity == 2

    # Every unit left, with a carrier typed by name.
    row = page.locator(f'tr[data-order="{newer.order_number}"]')
    row.locator("input[name=carrier]").fill("Hanjin")
    row.locator("input[name=tracking_number]").fill("HJ 42")
    row.get_by_role("button", name=words["fulfil_and_ship"]).click()
    expect(page.locator(f'tr[data-order="{newer.order_number}"]')).to_have_count(0)
    newer.refresh_from_db()
    assert newer.status == OrderStatus.SHIPPED


def test_the_order_page_fulfil_panel_screenshot(page, live_server, users, lang):
    if lang != "en":
        pytest.skip("one screenshot, in English")
    order = place_order(quantities=(2, 1))
    log_in(page, live_server, "warehouse")
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    panel = page.locator("#fulfil-panel")
    panel.locator("input[name=carrier]").fill("cj")
    panel.locator("input[name=tracking_number]").fill("612345678901")
    page.screenshot(path=str(SCREENSHOTS / "order-fulfil.png"))
    expect(panel).to_be_visible()


def test_a_refund_says_what_happened_never_paid(page, live_server, users, lang):
    words = WORDS[lang]
    order = place_order(quantities=(1,), price=30000)
    deliver_everything(order)
    request = return_services.request_return(
        order=order, reason="defective", items=[ReturnLine(order.items.get().pk, 1)]
    )
    return_services.approve_return(request=request)
    return_services.receive_return(request=request)
    return_services.complete_return(request=request)
    log_in(page, live_server, "service")
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    refund_txn = Transaction.objects.get(order=order, kind=TransactionKind.REFUND)
    rows = page.locator("#order-payments tbody tr")
    expect(rows).to_have_count(2)
    refund = rows.nth(1)
    expect(refund.locator(".badge")).to_have_text(words["refunded"])
    expect(refund.locator(".badge")).not_to_have_text(words["paid"])
    expect(refund).to_contain_text(words["card"])  # back the way the money came
    expect(refund).to_contain_text(refund_txn.reference)
    expect(rows.nth(0).locator(".badge")).to_have_text(words["paid"])
