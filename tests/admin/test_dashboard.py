from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment
from orders.models import Order
from returns import services as return_services
from returns.values import ReturnLine
from tests.admin.shortcuts import deliver_everything, place_order

pytestmark = pytest.mark.django_db

HOME = reverse("admin:index")


def queues(response) -> dict:
    return {q.key: q for q in response.context["work_queues"]}


def test_home_counts_each_queue_and_links_to_its_list(as_role):
    place_order(paid=False)  # awaiting payment
    fresh = place_order()  # paid, not in fulfilment
    stale = place_order()
    Order.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=30))
    packed = place_order()
    parcel = fulfillment_services.create_fulfillment(order=packed)
    fulfillment_services.pack_fulfillment(fulfillment=parcel)
    late = place_order()
    late_parcel = fulfillment_services.create_fulfillment(order=late)
    fulfillment_services.ship_fulfillment(
        fulfillment=late_parcel, carrier="cj", tracking_number="1"
    )
    Fulfillment.objects.filter(pk=late_parcel.pk).update(
        shipped_at=timezone.now() - timedelta(days=5)
    )
    returned = place_order()
    deliver_everything(returned)
    item = returned.items.get()
    asked = return_services.request_return(
        order=returned, reason="defective", items=[ReturnLine(order_item=item.pk, quantity=1)]
    )
    approved_order = place_order()
    deliver_everything(approved_order)
    approved = return_services.request_return(
        order=approved_order,
        reason="defective",
        items=[ReturnLine(order_item=approved_order.items.get().pk, quantity=1)],
    )
    return_services.approve_return(request=approved)

    client = as_role("manager")
    response = client.get(HOME)
    found = queues(response)
    assert found["awaiting_payment"].count == 1
    assert found["to_fulfil"].count == 2
    assert "1 older than 24 h" in found["to_fulfil"].detail
    assert found["packed"].count == 1
    assert found["late_delivery"].count == 1
    assert found["returns_to_decide"].count == 1
    assert found["returns_to_receive"].count == 1
    assert found["exchanges_to_decide"].count == 0

    # Each count is the length of the list its link opens.
    for key, pk_set in [
        ("to_fulfil", {fresh.order_number, stale.order_number}),
        ("awaiting_payment", None),
    ]:
        listed = client.get(found[key].url)
        assert listed.status_code == 200
        assert len(listed.context["cl"].result_list) == found[key].count
        if pk_set:
            assert {o.order_number for o in listed.context["cl"].result_list} == pk_set
    late_list = client.get(found["late_delivery"].url)
    assert [f.pk for f in late_list.context["cl"].result_list] == [late_parcel.pk]
    decide = client.get(found["returns_to_decide"].url)
    assert [r.pk for r in decide.context["cl"].result_list] == [asked.pk]


def test_today_counts_orders_and_paid_revenue(as_role):
    place_order(quantities=(1,), price=20000)
    place_order(quantities=(1,), price=5000, paid=False)  # not revenue
    yesterday = place_order(quantities=(1,), price=70000)
    Order.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(days=2))
    response = as_role("manager").get(HOME)
    assert response.context["today_orders"] == 2
    assert response.context["today_revenue"] == "20,000 KRW"
    assert "20,000 KRW" in response.content.decode()


def test_home_issues_a_fixed_number_of_queries(as_role, django_assert_max_num_queries):
    client = as_role("manager")
    for _ in range(5):
        place_order()
    with django_assert_max_num_queries(20):
        assert client.get(HOME).status_code == 200
