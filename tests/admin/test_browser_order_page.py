"""The order page and the order list as staff read them, in headless Chromium, in English and
in Korean: two columns side by side at 1366 px (one on a narrow screen), the actions the state
allows above the items, the customer linked with their order count, the timeline in sentences;
the order list without a cut column at 1366 px."""

import pytest
from django.urls import reverse

from orders import services as order_services
from orders.models import Order, OrderStatus
from returns import services as return_services
from returns.values import ReturnLine
from shop.actors import Actor
from tests.admin.browser import ensure_staff_groups
from tests.admin.conftest import ROLES, make_staff
from tests.admin.pages import expect, log_in, new_page
from tests.admin.shortcuts import deliver_everything, place_order
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {
        "paid_by_kim": "Kim (Payments) marked the payment of 30,000 KRW paid",
        "orders": "2 orders",
        "start_preparing": "Start preparing",
        "preparing": "Preparing",
        "started": "Kim Park (Warehouse) started preparing order {number}",
        "save_note": "Save note",
    },
    "ko": {
        "paid_by_kim": "Kim (결제)이(가) 30,000 KRW 결제를 결제 완료로 처리했습니다",
        "orders": "주문 2건",
        "start_preparing": "상품 준비 시작",
        "preparing": "상품 준비 중",
        "started": "Kim Park (창고)이(가) 주문 {number}의 상품 준비를 시작했습니다",
        "save_note": "메모 저장",
    },
}


@pytest.fixture
def users(transactional_db):
    ensure_staff_groups()
    users = {role: make_staff(role, group) for role, group in ROLES.items()}
    users["payments"].first_name = "Kim"
    users["payments"].save()
    users["warehouse"].first_name, users["warehouse"].last_name = "Kim", "Park"
    users["warehouse"].save()
    return users


@pytest.fixture
def page(chromium, live_server, lang):
    page = new_page(chromium, lang, 1366, 768)
    yield page
    page.context.close()


def box(page, selector):
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def paid_order_of_a_returning_customer(users):
    customer = CustomerFactory(name="Kim Minji")
    place_order(customer=customer)  # an earlier order
    order = place_order(customer=customer, quantities=(2, 1), price=10000, paid=False)
    order_services.pay_order(
        order=order,
        actor=Actor.staff(users["payments"]),
        method="bank_transfer",
        reference="김민지",
    )
    return customer, order


def test_the_warehouse_reads_a_paid_order_in_two_columns_with_its_actions_on_top(
    page, live_server, users, lang
):
    words = WORDS[lang]
    customer, order = paid_order_of_a_returning_customer(users)
    log_in(page, live_server, "warehouse")
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))

    # Two columns side by side: the side column's box to the right of the main one.
    main, side = box(page, "#order-main"), box(page, "#order-side")
    assert side["x"] >= main["x"] + main["width"]
    assert side["y"] < main["y"] + 200  # side by side, not below
    for part in ("#order-items", "#order-fulfillments", "#order-payments", "#order-timeline"):
        expect(page.locator(f"#order-main {part}")).to_be_visible()
    for part in ("#order-customer", "#order-contact", "#order-address", "#order-staff-note"):
        expect(page.locator(f"#order-side {part}")).to_be_visible()
    # Nothing wider than the page, and every column of the items and payments on screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    scrolled = page.evaluate(
        """() => [...document.querySelectorAll('#order-main .table-scroll')]
            .filter(t => t.scrollWidth > t.clientWidth).map(t => t.parentElement.id)"""
    )
    assert scrolled == []

    # The actions the state allows, above the items.
    actions = page.locator("#transition-buttons")
    start = actions.locator("[data-action=start_preparing]")
    expect(start).to_have_text(words["start_preparing"])
    expect(actions.locator("[data-action=pay]")).to_have_count(0)  # paid already
    items = box(page, "#order-items")
    assert (
        box(page, "#transition-buttons")["y"] + box(page, "#transition-buttons")["height"]
        <= items["y"]
    )
    assert box(page, "#fulfil-panel")["y"] < items["y"]

    # The customer, linked to their page, with their order count.
    link = page.locator("#order-customer #customer-page")
    expect(link).to_have_text("Kim Minji")
    expect(link).to_have_attribute(
        "href", reverse("admin:shop_customer_change", args=[customer.pk])
    )
    expect(page.locator("#customer-order-count")).to_have_text(words["orders"])
    expect(page.locator("#order-address")).to_contain_text(order.shipping_address1)

    # The timeline in sentences, with what the payment was made with.
    timeline = page.locator("#order-timeline")
    expect(timeline).to_contain_text(words["paid_by_kim"])
    expect(timeline).to_contain_text("김민지")

    # The moved buttons still work.
    start.click()
    expect(page.locator(".field-status_badge .badge")).to_have_text(words["preparing"])
    expect(timeline.locator("li").last).to_contain_text(
        words["started"].format(number=order.order_number)
    )
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PREPARING

    # So does the staff note, saved from the side column.
    page.fill("#id_staff_note", "Gift wrap, please")
    page.get_by_role("button", name=words["save_note"]).click()
    expect(page.locator("#id_staff_note")).to_have_value("Gift wrap, please")
    assert Order.objects.get(pk=order.pk).staff_note == "Gift wrap, please"


def test_one_column_on_a_narrow_screen(chromium, live_server, users, lang):
    _customer, order = paid_order_of_a_returning_customer(users)
    page = new_page(chromium, lang, 760, 1000)
    try:
        log_in(page, live_server, "payments")
        page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
        main, side = box(page, "#order-main"), box(page, "#order-side")
        assert side["y"] >= main["y"] + main["height"]  # below the main column
        assert abs(side["x"] - main["x"]) < 2
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        page.context.close()


def test_the_order_list_has_no_cut_column_at_1366(page, live_server, users, lang):
    long_name = CustomerFactory(name="Kim Minji-Seoyeon", email="minji.seoyeon.kim@example.com")
    place_order(customer=long_name, quantities=(3,), price=1234000)
    unpaid = place_order(paid=False)
    order_services.fail_payment(order=unpaid, reason="card declined")
    returning = place_order(quantities=(1,))
    deliver_everything(returning)
    request = return_services.request_return(
        order=returning, reason="defective", items=[ReturnLine(returning.items.get().pk, 1)]
    )
    return_services.approve_return(request=request)  # "Return processing": the widest badge
    log_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    fits = page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const container = table.parentElement;
            const cut = [...table.querySelectorAll('th, td')]
                .filter(cell => cell.scrollWidth > cell.clientWidth + 1)
                .map(cell => cell.className + ': ' + cell.textContent.trim());
            const widths = [...table.querySelectorAll('thead th')]
                .map(th => th.className + ': ' + Math.round(th.getBoundingClientRect().width));
            return {table: table.scrollWidth, container: container.clientWidth, cut, widths};
        }"""
    )
    assert fits["table"] <= fits["container"], fits
    assert fits["cut"] == [], fits
    # The columns that matter are all on screen.
    right_edge = page.evaluate("window.innerWidth")
    for column in ("order_number", "customer_display", "status_badge", "total", "created"):
        cell = box(page, f"#result_list thead th.column-{column}")
        assert cell["x"] + cell["width"] <= right_edge, column
    expect(page.locator("#result_list tbody")).to_contain_text(unpaid.order_number)
