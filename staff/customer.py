"""The customer page's summary: their orders (by number, linked), what they spent, how many
orders, and their returns and exchanges.

A screen across apps, so it lives here with the home screen rather than in the catalog's admin.
Every read is one query bounded by the customer's index (``order_customer_created``) and capped
lists, so a customer with thousands of orders costs the same number of statements.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse

from orders.models import Order, Transaction, TransactionKind, TransactionStatus
from returns.models import Exchange, Return
from shop.admin_utils import badge, money

# Orders and requests listed on the page; the rest is one click away in the filtered list.
RECENT = 20
# Orders whose money the shop has not kept: not paid, or called off.
NOT_SPENT = ("pending", "failed", "canceled")


@dataclass
class CustomerOverview:
    order_count: int
    total_spent: str
    refunded: str
    return_count: int
    exchange_count: int
    orders: list
    requests: list
    orders_url: str
    returns_url: str


def _list_url(name: str, **params) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


def customer_overview(request, customer) -> CustomerOverview:

    orders = Order.objects.filter(customer=customer)
    totals = orders.aggregate(
        count=Count("id"),
        spent=Sum("total_amount", filter=~Q(status__in=NOT_SPENT), default=0),
    )
    refunded = Transaction.objects.filter(
        order__customer=customer, kind=TransactionKind.REFUND, status=TransactionStatus.PAID
    ).aggregate(total=Sum("amount", default=0))["total"]
    currency = settings.SHOP_CURRENCY
    recent = list(orders.order_by("-created_at", "-id")[:RECENT])
    for order in recent:
        order.url = reverse("admin:orders_order_change", args=[order.pk])
        order.badge_html = badge(order.status, order.get_status_display())
        order.total_display = money(order.total_amount, order.currency)

    requests = []
    counts = {}
    for model in (Return, Exchange):
        found = model.objects.filter(order__customer=customer)
        counts[model] = found.count()
        for filed in found.select_related("order").order_by("-created_at", "-id")[:RECENT]:
            filed.kind_label = model._meta.verbose_name
            filed.url = reverse(f"admin:returns_{model._meta.model_name}_change", args=[filed.pk])
            filed.order_url = reverse("admin:orders_order_change", args=[filed.order_id])
            filed.badge_html = badge(filed.status, filed.get_status_display())
            requests.append(filed)
    requests.sort(key=lambda filed: filed.created_at, reverse=True)
    return CustomerOverview(
        order_count=totals["count"],
        total_spent=money(totals["spent"] - refunded, currency),
        refunded=money(refunded, currency),
        return_count=counts[Return],
        exchange_count=counts[Exchange],
        orders=recent,
        requests=requests[:RECENT],
        orders_url=_list_url("admin:orders_order_changelist", customer__id__exact=customer.pk),
        returns_url=_list_url(
            "admin:returns_return_changelist", order__customer__id__exact=customer.pk
        ),
    )
