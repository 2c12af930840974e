"""Each role logs in and does its day's work in a real browser; the checks read the page."""

import pytest
from django.urls import reverse

from fulfillment.models import Fulfillment
from orders.models import Order, OrderStatus, Transaction, TransactionKind
from tests.admin.pages import expect, log_in, log_in_with_the_form, new_page
from tests.admin.shortcuts import deliver_everything, place_order
from tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium, live_server):
    page = new_page(chromium, "en", 1400, 1000)
    yield page
    page.context.close()


def open_order(page, live_server, order):
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    expect(page.locator("h2", has_text=order.order_number)).to_be_visible()


def order_status(page):
    return page.locator(".field-status_badge .badge")


def test_payments_marks_an_order_paid(page, live_server, users):
    order = place_order(paid=False)
    log_in(page, live_server, "payments")
    open_order(page, live_server, order)
    expect(order_status(page)).to_have_text("Pending payment")
    # Payments does not get the warehouse's buttons.
    expect(page.locator('[data-action="start_preparing"]')).to_have_count(0)

    page.click('[data-action="pay"]')
    page.select_option("#id_method", label="Other (cash, by hand)")
    page.click("input[name=_run]")  # the amount due, prefilled
    expect(page.locator(".messagelist")).to_contain_text("marked paid")
    expect(order_status(page)).to_have_text("Paid")
    timeline = page.locator("#order-timeline")
    expect(timeline).to_contain_text("payments")
    expect(timeline.locator("li").last).to_contain_text("Pending payment")
    expect(page.locator("#order-payments")).to_contain_text("Marked paid by staff")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_warehouse_creates_ships_and_delivers_a_parcel(page, live_server, users):
    order = place_order(quantities=(2, 1))
    log_in(page, live_server, "warehouse")
    open_order(page, live_server, order)
    expect(page.locator('[data-action="pay"]')).to_have_count(0)

    page.click("text=Create fulfilment")
    expect(page.locator("h1")).to_contain_text("Create fulfilment")
    page.click("input[name=_run]")  # all remaining units, the default
    expect(page.locator(".messagelist")).to_contain_text("created")
    expect(order_status(page)).to_have_text("Preparing")
    card = page.locator("#order-fulfillments .shop-card").first
    expect(card.locator(".badge")).to_have_text("Pending")

    card.locator('[data-action="ship"]').click()
    page.fill("input[name=carrier]", "cj")
    page.fill("input[name=tracking_number]", "640012345678")
    page.click("input[name=_run]")
    expect(page.locator(".messagelist")).to_contain_text("shipped")
    expect(order_status(page)).to_have_text("Shipped")
    link = card.locator("a.tracking-link")
    expect(link).to_have_text("640012345678")
    assert "cjlogistics" in link.get_attribute("href")

    card.locator('[data-action="deliver"]').click()
    expect(order_status(page)).to_have_text("Delivered")
    expect(card.locator(".badge")).to_have_text("Delivered")
    assert Fulfillment.objects.get(order=order).status == "delivered"


def test_customer_service_files_and_completes_a_return_with_restock(page, live_server, users):
    product = ProductFactory(price=12000, stock=5)
    order = place_order(quantities=(2,), products=[product])
    deliver_everything(order)
    log_in(page, live_server, "service")
    open_order(page, live_server, order)
    expect(order_status(page)).to_have_text("Delivered")

    page.click("text=Request return")
    item = order.items.get()
    page.fill(f"input[name=qty_{item.pk}]", "2")
    page.select_option("select[name=reason]", "defective")
    page.click("input[name=_run]")
    expect(page.locator(".messagelist")).to_contain_text("requested")
    expect(order_status(page)).to_have_text("Return requested")
    card = page.locator("#order-returns [data-return]").first
    expect(card).to_contain_text("24,000 KRW")

    card.locator('[data-action="approve"]').click()
    expect(card.locator(".badge")).to_have_text("Approved")
    card.locator('[data-action="start_processing"]').click()
    page.fill(f"input[name=qty_{item.pk}]", "1")  # one unit goes back on the shelf
    page.click("input[name=_run]")
    expect(card.locator(".badge")).to_have_text("Processing")
    expect(card).to_contain_text("1 restocked")

    card.locator('[data-action="complete"]').click()
    expect(page.locator("input[name=refund_amount]")).to_have_value("24000")
    page.click("input[name=_run]")
    expect(page.locator(".messagelist")).to_contain_text("refunded")
    expect(order_status(page)).to_have_text("Returned")
    expect(card.locator(".badge")).to_have_text("Completed")
    expect(page.locator("#order-payments")).to_contain_text("Refund")

    product.refresh_from_db()
    assert product.stock == 5 - 2 + 1
    assert Transaction.objects.get(order=order, kind=TransactionKind.REFUND).amount == 24000


def test_warehouse_imports_tracking_numbers_with_one_bad_row(page, live_server, users):
    first = place_order(quantities=(1,))
    second = place_order(quantities=(3,))
    rows = "\n".join(
        [
            "order number,carrier,tracking number",
            f"{first.order_number},cj,700000000001",
            "DOES-NOT-EXIST,hanjin,700000000002",
            f"{second.order_number},lotte,700000000003",
        ]
    )
    log_in(page, live_server, "warehouse")
    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    page.click("text=Import tracking numbers")
    page.fill("textarea[name=text]", rows)
    page.click("input[name=_preview]")

    preview = page.locator("#import-rows")
    expect(page.locator("#import-preview")).to_contain_text("nothing has been written")
    expect(preview.locator('[data-outcome="new"]')).to_have_count(2)
    bad = preview.locator('[data-outcome="error"]')
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("Order DOES-NOT-EXIST does not exist.")
    assert not Fulfillment.objects.exists()

    page.click("input[name=_apply]")
    expect(page.locator("#import-result")).to_contain_text("2 row(s) applied")
    expect(page.locator("#import-result")).to_contain_text("1 not applied")
    expect(page.locator('#import-rows [data-outcome="error"]')).to_contain_text("DOES-NOT-EXIST")

    open_order(page, live_server, second)
    expect(order_status(page)).to_have_text("Shipped")
    expect(page.locator("a.tracking-link")).to_have_text("700000000003")


def test_manager_home_screen_links_to_the_queue(page, live_server, users):
    waiting = place_order(paid=False)
    place_order()
    log_in_with_the_form(page, live_server, "manager")
    queue = page.locator('[data-queue="awaiting_payment"]')
    expect(queue.locator(".count")).to_have_text("1")
    queue.click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(waiting.order_number)
    expect(rows.first.locator(".badge")).to_have_text("Pending payment")


def test_the_admin_speaks_korean(chromium, live_server, users):
    context = chromium.new_context(locale="ko-KR")
    page = context.new_page()
    try:
        log_in_with_the_form(page, live_server, "manager")
        expect(page.locator("#work-queues")).to_contain_text("결제 대기 중인 주문")
    finally:
        context.close()
