"""The home charts, the customer page, the pick list, bulk summaries and invoices, walked in
headless Chromium by the role that uses each, in English and in Korean; the checks read the
page as staff see it."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from returns import services as return_services
from returns.values import ReturnLine
from tests.admin.pages import expect, log_in, log_in_with_the_form, new_page
from tests.admin.shortcuts import deliver_everything, place_order
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What each language's page says, by what it is.
WORDS = {
    "en": {
        "charts": "Last 30 days",
        "orders_per_day": "Orders per day",
        "lead": "Time from payment to shipment",
        "reasons": "Returns by reason",
        "defective": "Defective",
        "total_spent": "Total spent",
        "return_name": "Return {id} of order {number}",
        "pick_list": "Pick list CSV",
        "pick_header": "Order number",
        "start_preparing": "Start preparing",
        "skipped": "{count} orders skipped: not paid yet",
        "preparing_now": "orders are now preparing",
        "print_invoices": "Print invoices",
        "seller": "Seller",
        "paid_in_full": "Paid in full",
    },
    "ko": {
        "charts": "최근 30일",
        "orders_per_day": "일별 주문",
        "lead": "결제부터 발송까지 걸린 시간",
        "reasons": "사유별 반품",
        "defective": "불량",
        "total_spent": "총 구매액",
        "return_name": "주문 {number}의 반품 {id}",
        "pick_list": "피킹 리스트 CSV",
        "pick_header": "주문 번호",
        "start_preparing": "상품 준비 시작",
        "skipped": "주문 {count}건 건너뜀: 결제 전",
        "preparing_now": "상품 준비 중입니다",
        "print_invoices": "거래 명세서 인쇄",
        "seller": "판매자",
        "paid_in_full": "결제 완료",
    },
}


@pytest.fixture
def page(chromium, live_server, lang):
    page = new_page(chromium, lang, 1366, 900, accept_downloads=True)
    yield page
    page.context.close()


def test_manager_reads_the_month_on_the_home_screen(page, live_server, users, lang):
    words = WORDS[lang]
    for days_ago in (0, 0, 2):
        order = place_order()
        Order.objects.filter(pk=order.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )
    returned = place_order()
    deliver_everything(returned)
    return_services.request_return(
        order=returned,
        reason="defective",
        items=[ReturnLine(returned.items.get().pk, 1)],
    )
    log_in_with_the_form(page, live_server, "manager")
    charts = page.locator("#charts")
    expect(charts.locator("h2")).to_have_text(words["charts"])
    orders_chart = charts.locator('[data-chart="orders_per_day"]')
    expect(orders_chart.locator("figcaption")).to_contain_text(words["orders_per_day"])
    expect(orders_chart.locator("g.bar")).to_have_count(30)
    today = timezone.localdate().isoformat()
    expect(orders_chart.locator(f'g.bar[data-key="{today}"]')).to_have_attribute("data-value", "3")
    # A drawn bar, not an empty box: its height is on the screen.
    assert orders_chart.locator(f'g.bar[data-key="{today}"] rect').bounding_box()["height"] > 10
    expect(charts.locator('[data-chart="payment_to_shipment"] figcaption')).to_contain_text(
        words["lead"]
    )
    reasons = charts.locator('[data-chart="returns_by_reason"]')
    expect(reasons.locator("figcaption")).to_contain_text(words["reasons"])
    expect(reasons.locator('g.bar[data-key="defective"]')).to_contain_text(words["defective"])
    expect(reasons.locator('g.bar[data-key="defective"]')).to_have_attribute("data-value", "1")
    # The daily work comes first in the list of screens.
    expect(page.locator("#content-main .app-orders").first).to_be_visible()
    first_section = page.locator("#content-main div[class^='app-']").first
    expect(first_section).to_have_class("app-orders module")


def test_customer_service_goes_from_an_order_to_its_customer(page, live_server, users, lang):
    words = WORDS[lang]
    customer = CustomerFactory(name="Kim Minji")
    first = place_order(quantities=(1,), price=40000, customer=customer)
    deliver_everything(first)
    filed = return_services.request_return(
        order=first,
        reason="defective",
        items=[ReturnLine(first.items.get().pk, 1)],
    )
    second = place_order(quantities=(2,), price=10000, customer=customer)

    log_in(page, live_server, "service")
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[second.pk]))
    page.click("#customer-page")
    expect(page.locator("#customer-summary [data-figure=order_count] .count")).to_have_text("2")
    expect(page.locator("#customer-summary [data-figure=total_spent]")).to_contain_text(
        words["total_spent"]
    )
    expect(page.locator("#customer-summary [data-figure=total_spent] .count")).to_have_text(
        "60,000 KRW"
    )
    orders = page.locator("#customer-orders tbody tr")
    expect(orders).to_have_count(2)
    expect(orders.first).to_contain_text(second.order_number)
    returns = page.locator("#customer-returns")
    expect(returns).to_contain_text(
        words["return_name"].format(id=filed.pk, number=first.order_number)
    )
    returns.get_by_role("link", name=first.order_number, exact=True).click()
    expect(page.locator("h2", has_text=first.order_number)).to_be_visible()


def test_warehouse_downloads_the_pick_list_of_the_filtered_orders(page, live_server, users, lang):
    words = WORDS[lang]
    to_pick = place_order(quantities=(2,))
    unpaid = place_order(paid=False)
    log_in(page, live_server, "warehouse")
    page.goto(live_server.url + reverse("admin:orders_order_changelist") + "?status__exact=paid")
    with page.expect_download() as download:
        page.click(f"text={words['pick_list']}")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == words["pick_header"]
    assert [row[0] for row in rows[1:]] == [to_pick.order_number]
    assert rows[1][5] == "2"  # both units still to pick
    assert unpaid.order_number not in raw.decode("utf-8-sig")


def test_warehouse_gets_one_summary_from_a_bulk_action(page, live_server, users, lang):
    words = WORDS[lang]
    paid = [place_order(), place_order()]
    unpaid = [place_order(paid=False) for _ in range(3)]
    log_in(page, live_server, "warehouse")
    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    for order in [*paid, *unpaid]:
        page.locator("tr", has_text=order.order_number).locator("input.action-select").check()
    page.select_option("select[name=action]", label=words["start_preparing"])
    page.click("button[name=index]")
    messages = page.locator(".messagelist li")
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_contain_text(words["preparing_now"])
    for order in paid:
        expect(messages.nth(0)).to_contain_text(order.order_number)
    expect(messages.nth(1)).to_contain_text(words["skipped"].format(count=3))
    for order in unpaid:
        expect(messages.nth(1)).to_contain_text(order.order_number)


def test_manager_prints_an_invoice(page, live_server, users, lang, settings):
    words = WORDS[lang]
    settings.SHOP_SELLER = {
        "name": "Seoul Linen Co., Ltd.",
        "address": "12 Sejong-daero, Jung-gu, Seoul",
        "business_number": "123-45-67890",
    }
    order = place_order()
    log_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    page.locator("tr", has_text=order.order_number).locator("input.action-select").check()
    page.select_option("select[name=action]", label=words["print_invoices"])
    page.click("button[name=index]")
    sheet = page.locator(f'section[data-order="{order.order_number}"]')
    expect(sheet.locator(".invoice-number")).to_have_text(f"INV-{order.order_number}")
    expect(sheet.locator(".seller")).to_contain_text(words["seller"])
    expect(sheet.locator(".seller")).to_contain_text("123-45-67890")
    expect(sheet.locator(".payment-state")).to_contain_text(words["paid_in_full"])
