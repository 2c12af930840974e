import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders import services as order_services
from orders.models import Order, OrderStatus, TransitionLog
from orders.values import ItemUnits
from returns.values import ReturnLine
from tests.admin.shortcuts import deliver_everything, place_order

pytestmark = pytest.mark.django_db

LIST = reverse("admin:orders_order_changelist")


def change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def run_url(order, name):
    return reverse("admin:orders_order_run", args=[order.pk, name])


def shown_numbers(response) -> set[str]:
    return {order.order_number for order in response.context["cl"].result_list}


# -- list ---------------------------------------------------------------------------------------


def test_list_shows_number_customer_badge_total_and_payment(as_role):
    order = place_order(quantities=(2,), price=15000, paid=False)
    order_services.record_payment(order=order, payment_method="kakaopay")
    response = as_role("manager").get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert order.order_number in html
    assert "John Doe" in html
    assert 'data-status="paid"' in html  # the badge
    assert "30,000 KRW" in html
    assert "kakaopay" in html  # the payment's method beside its state


def test_list_filters_by_status_and_date_range(as_role):
    paid = place_order()
    pending = place_order(paid=False)
    old = place_order()
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    client = as_role("manager")

    assert shown_numbers(client.get(LIST, {"status__exact": "pending"})) == {pending.order_number}
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert shown_numbers(client.get(LIST, {"created_at__gte": since})) == {
        paid.order_number,
        pending.order_number,
    }
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert shown_numbers(client.get(LIST, {"created_at__lt": until})) == {old.order_number}


def test_list_filters_by_payment_method_and_carrier(as_role):
    by_card = place_order(paid=False)
    order_services.record_payment(order=by_card, payment_method="card")
    by_transfer = place_order(paid=False)
    order_services.record_payment(order=by_transfer, payment_method="bank_transfer")
    parcel = fulfillment_services.create_fulfillment(order=by_card)
    fulfillment_services.ship_fulfillment(
        fulfillment=parcel, carrier="CJ Logistics", tracking_number="111"
    )
    client = as_role("manager")

    assert shown_numbers(client.get(LIST, {"payment_method": "card"})) == {by_card.order_number}
    assert shown_numbers(client.get(LIST, {"payment_method": "bank_transfer"})) == {
        by_transfer.order_number
    }
    # "CJ Logistics" typed as free text is the known carrier "cj".
    assert shown_numbers(client.get(LIST, {"carrier": "cj"})) == {by_card.order_number}
    assert shown_numbers(client.get(LIST, {"carrier": "hanjin"})) == set()


def test_search_by_number_tracking_name_email_phone_recipient(as_role):
    target = place_order()
    other = place_order()
    Order.objects.filter(pk=target.pk).update(
        customer_name="Seo Jiwoo",
        customer_email="jiwoo@example.net",
        customer_phone="010-9999-0000",
        shipping_recipient_name="Han Byul",
    )
    parcel = fulfillment_services.create_fulfillment(order=target)
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="TRK77")
    client = as_role("manager")
    for term in [target.order_number, "TRK77", "jiwoo", "jiwoo@example.net", "010-9999-0000"]:
        assert shown_numbers(client.get(LIST, {"q": term})) == {target.order_number}, term
    assert shown_numbers(client.get(LIST, {"q": "Han Byul"})) == {target.order_number}
    assert other.order_number not in shown_numbers(client.get(LIST, {"q": "nobody-like-this"}))


def test_csv_export_follows_the_filters(as_role):
    paid = place_order()
    place_order(paid=False)
    response = as_role("manager").get(
        reverse("admin:orders_order_export"), {"status__exact": "paid"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "Order number"
    assert [row[0] for row in rows[1:]] == [paid.order_number]
    assert rows[1][2] == "paid"
    assert rows[1][15] == str(paid.total_amount)


# -- detail and buttons -------------------------------------------------------------------------


def test_detail_shows_items_payments_parcels_and_timeline(as_role):
    order = place_order(quantities=(2, 1))
    deliver_everything(order)
    html = as_role("manager").get(change_url(order)).content.decode()
    for item in order.items.all():
        assert item.title in html
    assert "6401" in html  # the tracking number, linked for a known carrier
    assert "trace.cjlogistics.com" in html
    assert 'id="order-timeline"' in html
    # one timeline row per logged transition, with source → target
    assert (
        html.count('<li>\n      <span class="when">')
        == TransitionLog.objects.filter(order=order).count()
    )
    assert "every unit delivered" in html  # a transition's reason


def test_buttons_follow_state_and_role(as_role):
    pending = place_order(paid=False)
    payments_html = as_role("payments").get(change_url(pending)).content.decode()
    assert 'data-action="pay"' in payments_html
    assert 'data-action="cancel"' in payments_html
    assert 'data-action="start_preparing"' not in payments_html  # not a pending order's move

    warehouse_html = as_role("warehouse").get(change_url(pending)).content.decode()
    assert 'data-action="pay"' not in warehouse_html  # not the warehouse's permission

    paid = place_order()
    warehouse_html = as_role("warehouse").get(change_url(paid)).content.decode()
    assert 'data-action="start_preparing"' in warehouse_html
    assert "Create fulfilment" in warehouse_html


def test_pay_button_runs_the_service_and_logs_the_staff_user(as_role, staff):
    order = place_order(paid=False)
    response = as_role("payments").post(
        run_url(order, "pay"),
        {"amount": order.total_amount, "method": "bank_transfer", "reference": ""},
        follow=True,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    log = TransitionLog.objects.get(order=order, transition="pay")
    assert log.actor_user == staff["payments"]
    assert "marked paid" in response.content.decode()


def test_refused_transition_shows_the_reason_and_writes_nothing(as_role):
    order = place_order()  # already paid
    before = TransitionLog.objects.count()
    response = as_role("payments").post(
        run_url(order, "pay"), {"amount": 1, "method": "bank_transfer"}, follow=True
    )
    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert "from paid to paid" in errors and "current state: paid" in errors
    assert TransitionLog.objects.count() == before


def test_transition_without_permission_is_forbidden(as_role):
    order = place_order(paid=False)
    response = as_role("warehouse").post(run_url(order, "pay"))
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_cancel_asks_for_a_reason_then_cancels(as_role):
    order = place_order()
    client = as_role("payments")
    form = client.get(run_url(order, "cancel"))
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    client.post(run_url(order, "cancel"), {"reason": "buyer called"})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert TransitionLog.objects.filter(order=order, target="canceled", reason="buyer called")


def test_staff_note_is_saved_through_its_service(as_role):
    order = place_order()
    response = as_role("payments").post(
        change_url(order), {"staff_note": "  Leave at the door  "}, follow=True
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.staff_note == "Leave at the door"
    assert order.status == OrderStatus.PAID


def test_create_fulfilment_with_chosen_units(as_role):
    order = place_order(quantities=(3, 1))
    first, second = order.items.order_by("pk")
    url = reverse("admin:orders_order_fulfil", args=[order.pk])
    client = as_role("warehouse")
    page = client.get(url).content.decode()
    assert 'value="3"' in page  # all remaining units by default
    client.post(url, {f"qty_{first.pk}": 2, f"qty_{second.pk}": 0, "note": ""})
    parcel = Fulfillment.objects.get(order=order)
    assert {(i.order_item_id, i.quantity) for i in parcel.items.all()} == {(first.pk, 2)}
    order.refresh_from_db()
    assert order.status == OrderStatus.PREPARING


def test_create_fulfilment_refused_shows_the_form_again(as_role):
    order = place_order(quantities=(1,))
    item = order.items.get()
    url = reverse("admin:orders_order_fulfil", args=[order.pk])
    response = as_role("warehouse").post(url, {f"qty_{item.pk}": 5, "note": ""})
    assert response.status_code == 200
    assert "Only 1 unit(s)" in response.content.decode()
    assert not Fulfillment.objects.filter(order=order).exists()


def test_bulk_start_preparing_and_create_fulfilments(as_role):
    first, second = place_order(), place_order()
    unpaid = place_order(paid=False)
    client = as_role("warehouse")
    response = client.post(
        LIST,
        {"action": "start_preparing_action", "_selected_action": [first.pk, unpaid.pk]},
        follow=True,
    )
    first.refresh_from_db()
    unpaid.refresh_from_db()
    assert first.status == OrderStatus.PREPARING
    assert unpaid.status == OrderStatus.PENDING
    messages = [str(m) for m in response.context["messages"]]
    assert any(unpaid.order_number in m for m in messages)

    client.post(
        LIST,
        {"action": "create_fulfillments_action", "_selected_action": [first.pk, second.pk]},
    )
    assert Fulfillment.objects.filter(order__in=[first, second]).count() == 2
    assert all(
        f.status == FulfillmentStatus.PENDING for f in Fulfillment.objects.filter(order=second)
    )


def test_bulk_actions_are_not_offered_without_permission(as_role):
    response = as_role("payments").get(LIST)
    choices = dict(response.context["action_form"].fields["action"].choices)
    assert "start_preparing_action" not in choices
    assert "print_packing_slips" in choices


def test_print_packing_slips_and_invoices_one_page_per_order(as_role):
    orders = [place_order(quantities=(1, 2)), place_order()]
    client = as_role("manager")
    selected = [o.pk for o in orders]
    slips = client.post(
        LIST, {"action": "print_packing_slips", "_selected_action": selected}
    ).content.decode()
    assert slips.count('class="page"') == 2
    assert "@media print" in slips
    for order in orders:
        assert f'data-order="{order.order_number}"' in slips
    invoices = client.post(
        LIST, {"action": "print_invoices", "_selected_action": selected}
    ).content.decode()
    assert invoices.count('class="page"') == 2
    assert "30,000 KRW" in invoices  # 1 × 10,000 + 2 × 10,000 on the first invoice


def test_request_return_form_files_a_return(as_role):
    order = place_order(quantities=(2,))
    deliver_everything(order)
    item = order.items.get()
    url = reverse("admin:orders_order_request_return", args=[order.pk])
    client = as_role("service")
    assert "Request return" in client.get(change_url(order)).content.decode()
    client.post(url, {f"qty_{item.pk}": 1, "reason": "defective", "note": "cracked"})
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURN_REQUESTED
    filed = order.returns.get()
    assert filed.items.get().quantity == 1
    assert filed.refund_amount == 10000


def test_request_return_for_more_than_delivered_is_refused(as_role):
    order = place_order(quantities=(1,))
    deliver_everything(order)
    item = order.items.get()
    url = reverse("admin:orders_order_request_return", args=[order.pk])
    response = as_role("service").post(url, {f"qty_{item.pk}": 3, "reason": "defective"})
    assert response.status_code == 200
    assert "can be asked back" in response.content.decode()
    assert not order.returns.exists()


def test_order_page_queries_do_not_grow_with_its_rows(as_role, django_assert_max_num_queries):
    from returns import services as return_services

    client = as_role("manager")
    small = place_order(quantities=(1,))
    deliver_everything(small)
    return_services.request_return(
        order=small, reason="defective", items=[ReturnLine(order_item=small.items.get().pk)]
    )
    big = place_order(quantities=(2, 2, 2, 2, 2))
    for item in big.items.all():
        parcel = fulfillment_services.create_fulfillment(
            order=big, items=[ItemUnits(order_item=item.pk, quantity=2)]
        )
        fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="1")
        fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    for item in big.items.all()[:3]:
        return_services.request_return(
            order=big, reason="defective", items=[ReturnLine(order_item=item.pk, quantity=1)]
        )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(change_url(small))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(change_url(big)).status_code == 200
