"""The home screen's work queues: what is waiting for staff, each a count linking to its list.

Every count filters on an indexed column first (order status + created_at, fulfilment status +
created_at, return/exchange status + created_at), and today's orders and revenue come from the
charts' daily totals, so the home screen stays quick on a big shop.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q, Value
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Delivery, DeliveryStatus
from fulfillment.models import Fulfillment, FulfillmentStatus
from fulfillment.services import FULFILLABLE
from orders import permissions
from orders.models import Order, OrderStatus
from returns.models import Exchange, RequestStatus, Return
from shop.admin_utils import money
from staff.charts import month_totals

# The unfulfilled list is the warehouse's: who may ship sees its queue.
FULFILLMENT_PERM = permissions.FULFILMENT.name
# Counted as COUNT(1): no column read, so a count is an index-only scan of the status index.
ONE = Value(1)
# A shipped parcel not delivered after this many days is late (settable per shop).
LATE_DELIVERY_DAYS_DEFAULT = 3


@dataclass
class Queue:
    key: str
    label: str
    count: int
    url: str
    permission: str
    detail: str = ""
    urgent: bool = False


def _list_url(model, **params) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def _iso(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def work_queues(request) -> dict:
    now = timezone.now()
    day_ago = now - timedelta(hours=24)
    late_days = getattr(settings, "SHOP_LATE_DELIVERY_DAYS", LATE_DELIVERY_DAYS_DEFAULT)
    late_cutoff = now - timedelta(days=late_days)

    # Orders awaiting payment and the unfulfilled list's (paid and preparing: the count is that
    # list's length), in one pass over the status index.
    fulfillable = Q(status__in=FULFILLABLE)
    counted = Order.objects.filter(status__in=[OrderStatus.PENDING, *FULFILLABLE]).aggregate(
        pending=Count(ONE, filter=Q(status=OrderStatus.PENDING)),
        unfulfilled=Count(ONE, filter=fulfillable),
        unfulfilled_old=Count(ONE, filter=fulfillable & Q(created_at__lt=day_ago)),
    )
    unfulfilled_old = counted["unfulfilled_old"]
    queues = [
        Queue(
            "awaiting_payment",
            _("Orders awaiting payment"),
            counted["pending"],
            _list_url(Order, status__exact=OrderStatus.PENDING),
            "orders.view_order",
        ),
        Queue(
            "to_fulfil",
            _("Paid, not yet shipped"),
            counted["unfulfilled"],
            reverse("admin:fulfillment_unfulfilled"),  # ship with tracking from the list
            FULFILLMENT_PERM,
            detail=str(_("%(count)s older than 24 h") % {"count": unfulfilled_old}),
            urgent=unfulfilled_old > 0,
        ),
        Queue(
            "packed",
            _("Parcels packed, not shipped"),
            Fulfillment.objects.filter(status=FulfillmentStatus.PACKED).count(),
            _list_url(Fulfillment, status__exact=FulfillmentStatus.PACKED),
            "fulfillment.view_fulfillment",
        ),
        Queue(
            "late_delivery",
            _("Shipped, not delivered after %(days)s days") % {"days": late_days},
            Fulfillment.objects.filter(
                status=FulfillmentStatus.SHIPPED, shipped_at__lt=late_cutoff
            ).count(),
            _list_url(
                Fulfillment,
                status__exact=FulfillmentStatus.SHIPPED,
                shipped_at__lt=_iso(late_cutoff),
            ),
            "fulfillment.view_fulfillment",
        ),
        *_request_queues(),
        _failed_deliveries(),
    ]
    queues = [q for q in queues if request.user.has_perm(q.permission)]

    # Today's orders and paid revenue, from the daily totals the charts read too.
    today = month_totals(request).get(timezone.localdate(), (0, 0))
    return {
        "work_queues": queues,
        "today_orders": today[0],
        "today_orders_url": _list_url(Order, created_at__gte=timezone.localdate().isoformat()),
        "today_revenue": money(today[1], settings.SHOP_CURRENCY),
        "show_today": request.user.has_perm("orders.view_order"),
    }


def _request_queues() -> list[Queue]:
    """Returns and exchanges waiting for a decision, then approved ones waiting to come back."""
    labels = {
        (Return, RequestStatus.REQUESTED): _("Returns waiting for a decision"),
        (Exchange, RequestStatus.REQUESTED): _("Exchanges waiting for a decision"),
        (Return, RequestStatus.APPROVED): _("Approved returns waiting to be received"),
        (Exchange, RequestStatus.APPROVED): _("Approved exchanges waiting to be received"),
    }
    stage = {RequestStatus.REQUESTED: "to_decide", RequestStatus.APPROVED: "to_receive"}
    # One query a model, both statuses counted in one pass over its status index.
    counted = {
        model: model.objects.filter(status__in=list(stage)).aggregate(
            **{status: Count(ONE, filter=Q(status=status)) for status in stage}
        )
        for model in (Return, Exchange)
    }
    return [
        Queue(
            f"{model._meta.model_name}s_{stage[status]}",
            label,
            counted[model][status],
            _list_url(model, status__exact=status),
            f"returns.view_{model._meta.model_name}",
        )
        for (model, status), label in labels.items()
    ]


def _failed_deliveries() -> Queue:
    """Webhooks and emails that failed for good: each can be resent from its page."""
    failed = Delivery.objects.filter(status=DeliveryStatus.FAILED).count()
    return Queue(
        "failed_deliveries",
        _("Failed webhook and email deliveries"),
        failed,
        _list_url(Delivery, status__exact=DeliveryStatus.FAILED),
        "events.view_delivery",
        urgent=failed > 0,
    )
