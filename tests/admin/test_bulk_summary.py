"""A bulk action answers with one summary: what changed by order number, what was skipped
grouped by why; never one red banner per order."""

import pytest
from django.contrib.messages import constants
from django.urls import reverse

from orders.models import Order, OrderStatus
from tests.admin.shortcuts import place_order

pytestmark = pytest.mark.django_db

LIST = reverse("admin:orders_order_changelist")


def run_action(client, action, orders, **headers):
    response = client.post(
        LIST,
        {"action": action, "_selected_action": [o.pk for o in orders]},
        follow=True,
        **headers,
    )
    return [(m.level, str(m)) for m in response.context["messages"]]


def test_start_preparing_reports_changed_and_skipped_by_reason(as_role):
    paid = [place_order(), place_order()]
    unpaid = [place_order(paid=False) for _ in range(3)]
    canceled = place_order(paid=False)
    from orders import services as order_services

    order_services.cancel_order(order=canceled)
    messages = run_action(
        as_role("warehouse"), "start_preparing_action", [*paid, *unpaid, canceled]
    )

    assert len(messages) == 2  # one success, one warning with a line per reason
    (level, done), (warn_level, skipped) = messages
    assert level == constants.SUCCESS
    assert done.startswith("2 orders are now preparing.")
    assert all(o.order_number in done for o in paid)
    assert warn_level == constants.WARNING
    lines = skipped.split("<br>")
    assert lines[0].startswith("3 orders skipped: not paid yet (")
    assert all(o.order_number in lines[0] for o in unpaid)
    assert lines[1] == f"1 order skipped: canceled ({canceled.order_number})"
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in unpaid]).values_list("status", flat=True)
    ) == {OrderStatus.PENDING}


def test_a_long_group_names_ten_orders_and_counts_the_rest(as_role):
    unpaid = [place_order(paid=False) for _ in range(12)]
    messages = run_action(as_role("warehouse"), "start_preparing_action", unpaid)
    assert len(messages) == 1
    level, text = messages[0]
    assert level == constants.WARNING
    assert text.startswith("12 orders skipped: not paid yet (")
    assert text.endswith("and 2 more)")
    assert sum(o.order_number in text for o in unpaid) == 10


def test_the_summary_in_korean(as_role):
    unpaid = place_order(paid=False)
    paid = place_order()
    messages = run_action(
        as_role("warehouse"), "start_preparing_action", [paid, unpaid], HTTP_ACCEPT_LANGUAGE="ko"
    )
    text = " ".join(text for _level, text in messages)
    assert "결제 전" in text
    assert unpaid.order_number in text and paid.order_number in text
