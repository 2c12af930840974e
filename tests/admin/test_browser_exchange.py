"""Customer service files an exchange for a buyer in headless Chromium, in English and in
Korean: from the order page, into a dearer size (the page says what the buyer owes, the
replacement waits for their payment) and into a cheaper one (a refund is owed to them)."""

import pytest
from django.urls import reverse

from fulfillment.models import Fulfillment
from orders import services as order_services
from orders.values import OrderDraft, OrderLine
from returns.models import Exchange, RequestStatus
from tests.admin.pages import expect, log_in, new_page
from tests.admin.shortcuts import deliver_everything
from tests.factories import ProductFactory, VariantFactory
from tests.helpers import ADDRESS_VALUE, SNAPSHOT_VALUE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {
        "request_exchange": "Request exchange",
        "owes": "The buyer owes 5,000 KRW.",
        "waiting": "Waiting for the buyer's payment",
        "refund_owed": "A refund of 2,000 KRW is owed to the buyer.",
        "paid": "Paid (Bank transfer).",
    },
    "ko": {
        "request_exchange": "교환 접수",
        "owes": "구매자가 5,000 KRW을(를) 더 내야 합니다.",
        "waiting": "구매자의 결제를 기다리는 중입니다",
        "refund_owed": "구매자에게 2,000 KRW을(를) 환불해야 합니다.",
        "paid": "결제 완료 (계좌 이체).",
    },
}


@pytest.fixture
def page(chromium, live_server, lang):
    page = new_page(chromium, lang, 1366, 900)
    yield page
    page.context.close()


def shirt_order():
    """A delivered order of one shirt in M (10,000 KRW), an XL at 15,000 and an S at 8,000."""
    shirt = ProductFactory(price=10000, title="Shirt")
    ordered = VariantFactory(product=shirt, title="M", stock=5)
    dearer = VariantFactory(product=shirt, title="XL", price=15000, stock=5)
    cheaper = VariantFactory(product=shirt, title="S", price=8000, stock=5)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=shirt.pk, variant=ordered.pk, quantity=1)],
            customer_snapshot=SNAPSHOT_VALUE,
            shipping_address=ADDRESS_VALUE,
        )
    ).order
    order_services.record_payment(order=order, payment_method="card")
    deliver_everything(order)
    return order, dearer, cheaper


def file_exchange(page, live_server, order, replacement, words):
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    page.get_by_role("link", name=words["request_exchange"]).first.click()
    line = order.items.get()
    page.fill(f"#id_qty_{line.pk}", "1")
    page.select_option(f"#id_replacement_{line.pk}", f"v:{replacement.pk}")
    page.select_option("#id_reason", "wrong_size")
    page.click("input[name=_run]")
    return Exchange.objects.get(order=order)


def test_service_files_an_exchange_into_a_dearer_size_and_takes_the_payment(
    page, live_server, users, lang
):
    words = WORDS[lang]
    order, dearer, _cheaper = shirt_order()
    log_in(page, live_server, "service")
    exchange = file_exchange(page, live_server, order, dearer, words)
    difference = page.locator("[data-difference]")
    expect(difference).to_contain_text(words["owes"])
    expect(difference).to_contain_text(words["waiting"])
    expect(page.locator(".messagelist .success")).to_contain_text(words["owes"])
    assert exchange.difference_due == 5000

    page.click("[data-action=approve]")
    page.click("[data-action=pay_difference]")
    expect(page.locator("#id_amount")).to_have_value("5000")
    page.fill("#id_reference", "김민지")
    page.click("input[name=_run]")
    expect(page.locator("[data-difference]")).to_contain_text(words["paid"])
    exchange.refresh_from_db()
    assert exchange.status == RequestStatus.APPROVED
    assert exchange.difference_transaction.reference == "김민지"
    assert not Fulfillment.objects.filter(exchange=exchange).exists()


def test_service_files_an_exchange_into_a_cheaper_size_and_sees_the_refund_owed(
    page, live_server, users, lang
):
    words = WORDS[lang]
    order, _dearer, cheaper = shirt_order()
    log_in(page, live_server, "service")
    exchange = file_exchange(page, live_server, order, cheaper, words)
    expect(page.locator("[data-difference]")).to_contain_text(words["refund_owed"])
    assert exchange.difference_due == -2000
