import pytest
from django.urls import reverse

from orders.models import OrderStatus, Transaction, TransactionKind
from returns import services as return_services
from returns.models import RequestStatus
from returns.values import ReturnLine
from shop.models import Product
from tests.admin.shortcuts import deliver_everything, place_order
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def run_url(request, name, model="return"):
    return reverse(f"admin:returns_{model}_run", args=[request.pk, name])


def delivered_return(quantities=(2, 1), stock=10):
    products = [ProductFactory(price=10000, stock=stock) for _ in quantities]
    order = place_order(quantities=quantities, products=products)
    deliver_everything(order)
    items = [ReturnLine(order_item=i.pk, quantity=i.quantity) for i in order.items.order_by("pk")]
    return order, return_services.request_return(order=order, reason="defective", items=items)


def test_approve_receive_with_disposition_and_complete(as_role):
    order, request = delivered_return()
    first, second = order.items.order_by("pk")
    stock_before = {p.pk: p.stock for p in Product.objects.all()}
    client = as_role("service")

    page = client.get(reverse("admin:returns_return_change", args=[request.pk])).content.decode()
    assert 'data-action="approve"' in page and 'data-action="reject"' in page
    client.post(run_url(request, "approve"))
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED

    form = client.get(run_url(request, "start_processing")).content.decode()
    assert f'name="qty_{first.pk}"' in form
    # first line: 1 of 2 units can be sold again; second line: none
    client.post(run_url(request, "start_processing"), {f"qty_{first.pk}": 1, f"qty_{second.pk}": 0})
    request.refresh_from_db()
    assert request.status == RequestStatus.PROCESSING
    assert {i.order_item_id: i.restock_quantity for i in request.items.all()} == {
        first.pk: 1,
        second.pk: 0,
    }

    assert 'value="30000"' in client.get(run_url(request, "complete")).content.decode()
    client.post(run_url(request, "complete"), {"refund_amount": 30000})
    request.refresh_from_db()
    order.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert order.status == OrderStatus.RETURNED
    refund = Transaction.objects.get(order=order, kind=TransactionKind.REFUND)
    assert refund.amount == 30000
    stock_after = {p.pk: p.stock for p in Product.objects.all()}
    assert stock_after[first.product_id] == stock_before[first.product_id] + 1
    assert stock_after[second.product_id] == stock_before[second.product_id]


def test_reject_needs_a_reason(as_role):
    order, request = delivered_return()
    client = as_role("service")
    response = client.post(run_url(request, "reject"), {"reason": ""})
    assert response.status_code == 200  # the form again
    request.refresh_from_db()
    assert request.status == RequestStatus.REQUESTED
    client.post(run_url(request, "reject"), {"reason": "worn"})
    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.status, request.rejection_reason) == ("rejected", "worn")
    assert order.status == OrderStatus.DELIVERED


def test_refund_above_what_was_paid_is_refused_on_the_form(as_role):
    order, request = delivered_return(quantities=(1,))
    return_services.approve_return(request=request)
    return_services.receive_return(request=request)
    response = as_role("service").post(run_url(request, "complete"), {"refund_amount": 999999})
    assert response.status_code == 200
    assert "more than the" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.PROCESSING
    assert not Transaction.objects.filter(order=order, kind=TransactionKind.REFUND).exists()


def test_warehouse_cannot_decide_returns(as_role):
    _, request = delivered_return()
    client = as_role("warehouse")
    page = client.get(reverse("admin:returns_return_change", args=[request.pk])).content.decode()
    assert 'data-action="approve"' not in page
    assert client.post(run_url(request, "approve")).status_code == 403


def test_exchange_completes_into_a_replacement_parcel(as_role):
    order = place_order(quantities=(1,))
    deliver_everything(order)
    item = order.items.get()
    exchange = return_services.request_exchange(
        order=order, reason="wrong_size", items=[ReturnLine(order_item=item.pk, quantity=1)]
    )
    client = as_role("service")
    client.post(run_url(exchange, "approve", "exchange"))
    client.post(run_url(exchange, "start_processing", "exchange"), {f"qty_{item.pk}": 1})
    client.post(run_url(exchange, "complete", "exchange"))
    exchange.refresh_from_db()
    assert exchange.status == RequestStatus.COMPLETED
    parcel = exchange.replacement_fulfillments.get()
    page = client.get(reverse("admin:returns_exchange_change", args=[exchange.pk]))
    assert (
        reverse("admin:fulfillment_fulfillment_change", args=[parcel.pk]) in page.content.decode()
    )


def test_returns_list_filters_by_status(as_role):
    delivered_return()  # still waiting: not listed
    _, approved = delivered_return()
    return_services.approve_return(request=approved)
    response = as_role("service").get(
        reverse("admin:returns_return_changelist"), {"status__exact": "approved"}
    )
    assert [r.pk for r in response.context["cl"].result_list] == [approved.pk]
