import pytest

from orders.models import OrderStatus, TransitionLog
from returns import services as return_services
from returns.values import ReturnLine
from tests.helpers import deliver_everything, place_order

pytestmark = pytest.mark.django_db


def test_order_walks_from_payment_to_returned():
    order = place_order(quantities=(2, 1))
    assert order.status == OrderStatus.PAID
    deliver_everything(order)
    assert order.status == OrderStatus.DELIVERED
    items = [ReturnLine(i.pk, i.quantity) for i in order.items.all()]
    request = return_services.request_return(order=order, reason="defective", items=items)
    return_services.approve_return(request=request)
    return_services.receive_return(request=request)
    request = return_services.complete_return(request=request)
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert request.refund_transaction.amount == 30000
    assert TransitionLog.objects.filter(order=order).count() >= 10
