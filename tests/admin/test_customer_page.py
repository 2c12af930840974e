"""The customer page: their orders by number, what they spent, their returns; linked from the
order page; the same number of queries for a customer with many orders."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import services as order_services
from returns import services as return_services
from returns.values import ReturnLine
from tests.admin.shortcuts import deliver_everything, place_order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def page_of(client, customer, **headers):
    return client.get(reverse("admin:shop_customer_change", args=[customer.pk]), **headers)


@pytest.fixture
def kim():
    customer = CustomerFactory(name="Kim Minji")
    kept = place_order(quantities=(2,), price=30000, customer=customer)
    deliver_everything(kept)
    returned = return_services.request_return(
        order=kept, reason="defective", items=[ReturnLine(kept.items.get().pk, 1)]
    )
    unpaid = place_order(quantities=(1,), price=9000, paid=False, customer=customer)
    canceled = place_order(quantities=(1,), price=7000, paid=False, customer=customer)
    order_services.cancel_order(order=canceled)
    place_order(quantities=(1,), price=50000)  # someone else's
    return customer, kept, unpaid, canceled, returned


def test_the_page_lists_orders_by_number_with_totals_and_returns(as_role, kim):
    customer, kept, unpaid, canceled, returned = kim
    response = page_of(as_role("service"), customer)
    overview = response.context["overview"]
    assert overview.order_count == 3
    assert overview.total_spent == "60,000 KRW"  # the unpaid and the canceled order are not
    assert overview.return_count == 1
    assert [o.order_number for o in overview.orders] == [
        canceled.order_number,
        unpaid.order_number,
        kept.order_number,
    ]
    page = response.content.decode()
    order_url = reverse("admin:orders_order_change", args=[kept.pk])
    assert f'<a href="{order_url}">{kept.order_number}</a>' in page
    return_url = reverse("admin:returns_return_change", args=[returned.pk])
    assert f'<a href="{return_url}">Return {returned.pk} of order {kept.order_number}</a>' in page

    # "Orders" opens the list of exactly this customer's orders; "Returns" their returns.
    listed = as_role("service").get(overview.orders_url)
    assert {o.order_number for o in listed.context["cl"].result_list} == {
        kept.order_number,
        unpaid.order_number,
        canceled.order_number,
    }
    returns = as_role("service").get(overview.returns_url)
    assert [r.pk for r in returns.context["cl"].result_list] == [returned.pk]


def test_a_refund_is_taken_off_what_the_customer_spent(as_role, kim):
    customer, *_rest, returned = kim
    return_services.approve_return(request=returned)
    return_services.receive_return(request=returned)
    return_services.complete_return(request=returned)
    overview = page_of(as_role("manager"), customer).context["overview"]
    assert overview.refunded == "30,000 KRW"
    assert overview.total_spent == "30,000 KRW"


def test_the_order_page_links_to_its_customer(as_role, kim):
    customer, kept, *_rest = kim
    page = (
        as_role("service")
        .get(reverse("admin:orders_order_change", args=[kept.pk]))
        .content.decode()
    )
    url = reverse("admin:shop_customer_change", args=[customer.pk])
    assert f'<a href="{url}" id="customer-page">Kim Minji</a>' in page


def test_the_customer_page_in_korean(as_role, kim):
    customer, kept, *_rest, returned = kim
    page = page_of(as_role("service"), customer, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "총 구매액" in page
    assert f"주문 {kept.order_number}의 반품 {returned.pk}" in page
    assert "반품과 교환" in page
    # Field labels in words, in Korean.
    assert re.search(r"<label[^>]*>이름:</label>", page)
    assert re.search(r"<label[^>]*>전화번호:</label>", page)


@pytest.mark.postgres
def test_the_page_costs_the_same_queries_with_many_orders(as_role, kim):
    customer, *_rest = kim
    client = as_role("manager")
    page_of(client, customer)
    with CaptureQueriesContext(connection) as few:
        page_of(client, customer)
    for _ in range(30):
        order = place_order(quantities=(1,), price=1000, customer=customer)
        deliver_everything(order)
        return_services.request_return(
            order=order,
            reason="damaged",
            items=[ReturnLine(order.items.get().pk, 1)],
        )
    with CaptureQueriesContext(connection) as many:
        response = page_of(client, customer)
    assert response.context["overview"].order_count == 33
    assert len(response.context["overview"].orders) == 20
    assert len(many) == len(few)
