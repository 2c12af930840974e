"""Staff comments on the order page, in headless Chromium, in English and in Korean: customer
service types a comment at the top of the timeline, is told it was added, and reads it in the
timeline after the changes, by name and role, as typed (markup shown as text)."""

import pytest
from django.urls import reverse

from orders import services as order_services
from orders.models import OrderComment
from shop.actors import Actor
from tests.admin.browser import ensure_staff_groups
from tests.admin.conftest import PASSWORD, ROLES, make_staff
from tests.admin.pages import expect, new_page
from tests.admin.shortcuts import place_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {
        "add": "Add comment",
        "added": "Comment added.",
        "commented": "Kim (Customer service) commented:",
        "paid": "Lee (Payments) marked order {number} paid",
    },
    "ko": {
        "add": "댓글 남기기",
        "added": "댓글을 남겼습니다.",
        "commented": "Kim (고객 상담)이(가) 댓글을 남겼습니다:",
        "paid": "Lee (결제)이(가) 주문 {number}을(를) 결제 완료로 처리했습니다",
    },
}


@pytest.fixture
def users(transactional_db):
    ensure_staff_groups()
    users = {role: make_staff(role, group) for role, group in ROLES.items()}
    users["service"].first_name = "Kim"
    users["service"].save()
    users["payments"].first_name = "Lee"
    users["payments"].save()
    return users


@pytest.fixture
def page(chromium, live_server, lang):
    page = new_page(chromium, lang, 1366, 768)
    yield page
    page.context.close()


def test_customer_service_comments_in_the_timeline(page, live_server, users, lang):
    words = WORDS[lang]
    order = place_order(paid=False)
    order_services.pay_order(order=order, actor=Actor.staff(users["payments"]))

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "service")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()
    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))

    timeline = page.locator("#order-timeline")
    form = timeline.locator("#timeline-comment")
    expect(form).to_be_visible()
    # The form sits at the top of the timeline, above its first entry.
    assert form.bounding_box()["y"] < timeline.locator("ol.timeline li").first.bounding_box()["y"]

    # An empty comment is not sent: the browser asks for text first.
    form.get_by_role("button", name=words["add"]).click()
    assert page.evaluate("document.querySelector('#id_comment_body').validity.valueMissing")
    assert not OrderComment.objects.exists()

    page.fill("#id_comment_body", "Buyer called: <b>leave at the door</b>\n경비실에 맡겨 주세요")
    form.get_by_role("button", name=words["add"]).click()

    expect(page.locator(".messagelist")).to_contain_text(words["added"])
    last = timeline.locator("ol.timeline li").last
    expect(last.locator(".sentence")).to_have_text(words["commented"])
    expect(last.locator(".comment")).to_have_text(
        "Buyer called: <b>leave at the door</b>\n경비실에 맡겨 주세요".replace("\n", "")
    )
    expect(last.locator(".comment b")).to_have_count(0)  # shown as text, never as markup
    # After the payment, in time order.
    paid = timeline.locator("li", has_text=words["paid"].format(number=order.order_number))
    expect(paid).to_have_count(1)
    assert paid.bounding_box()["y"] < last.bounding_box()["y"]
    # The form is empty again for the next comment.
    expect(page.locator("#id_comment_body")).to_have_value("")

    stored = OrderComment.objects.get()
    assert stored.author == users["service"]
    assert stored.body == "Buyer called: <b>leave at the door</b>\n경비실에 맡겨 주세요"
