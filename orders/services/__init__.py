"""Every state change of orders and their payments, one atomic function per verb.

Find a rule by its verb here; each lives in the module named for what it does:
``checkout`` (createOrder, a cart's checkout), ``payments``, ``staff`` (cancel, confirm, start
preparing, the note and the address, comments), ``following`` (the order follows its parcels,
returns and exchanges, which call it with what changed).

Locking: a service that changes anything under an order locks the order row first
(``lock_order``), then the rows under it, then stock rows (``shop.stock``), always in that order,
so concurrent services on one order queue behind each other and never deadlock.
"""

from orders.services.checkout import (
    PARCEL_NEEDS,
    OrderResult,
    PaymentTaken,
    checkout_cart,
    create_order,
    generate_order_number,
)
from orders.services.common import item_stock_unit, lock_order
from orders.services.following import (
    CHILDREN,
    AfterSales,
    move_order_to,
    sync_order_after_requests,
    sync_order_after_shipping,
)
from orders.services.payments import (
    fail_payment,
    pay_order,
    record_payment,
    refuse_known_payment_id,
    retry_order,
)
from orders.services.staff import (
    STATUS_SERVICES,
    cancel_order,
    comment_on_order,
    confirm_order,
    move_order,
    set_staff_note,
    start_preparing,
    update_order_details,
)

__all__ = [
    "CHILDREN",
    "PARCEL_NEEDS",
    "STATUS_SERVICES",
    "AfterSales",
    "OrderResult",
    "PaymentTaken",
    "cancel_order",
    "checkout_cart",
    "comment_on_order",
    "confirm_order",
    "create_order",
    "fail_payment",
    "generate_order_number",
    "item_stock_unit",
    "lock_order",
    "move_order",
    "move_order_to",
    "pay_order",
    "record_payment",
    "refuse_known_payment_id",
    "retry_order",
    "set_staff_note",
    "start_preparing",
    "sync_order_after_requests",
    "sync_order_after_shipping",
    "update_order_details",
]
