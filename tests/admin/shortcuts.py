"""``place_order`` for these tests: the shared helper's payment id is built from ``id()`` of a
short-lived list, which can repeat within one test and hand back an earlier order; here the
payment is recorded separately, so every call makes a new order."""

from orders import services as order_services
from tests import helpers
from tests.helpers import deliver_everything

__all__ = ["deliver_everything", "place_order"]


def place_order(*, paid=True, **kwargs):
    order = helpers.place_order(paid=False, **kwargs)
    if paid:
        order_services.record_payment(order=order, payment_method="card")
        order.refresh_from_db()
    return order
