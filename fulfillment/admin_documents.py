"""The pick list: one CSV line per order line and parcel, for the warehouse.

It lives with the parcels (the order app knows nothing of them) and reads the orders the order
list shows, filtered and searched as on screen: the order list links here with its query.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fulfillment.models import FulfillmentItem
from orders.admin_documents import stream_csv
from orders.models import Order, OrderItem

PICK_LIST_COLUMNS = [
    _("Order number"),
    _("Recipient"),
    _("Item"),
    _("SKU"),
    _("Option"),
    _("Quantity"),
    _("Fulfilment"),
    _("Fulfilment status"),
    _("Carrier"),
    _("Tracking number"),
]
PERMISSION = "fulfillment.view_fulfillment"


def _option(item: OrderItem) -> str:
    if item.option_id:
        return item.option.title
    if item.variant_id:
        return item.variant.title
    return ""


def pick_list_rows(orders):
    """A row per (order line, parcel) with the units the parcel carries, then a row with no
    parcel for the units of the line in none yet (what is left to pick)."""
    lines = (
        OrderItem.objects.filter(order__in=orders.order_by().values("pk"))
        .select_related("order", "option", "variant")
        .prefetch_related(
            Prefetch(
                "fulfillment_items",
                queryset=FulfillmentItem.objects.select_related("fulfillment").order_by("id"),
            )
        )
        .order_by("order__created_at", "order_id", "id")
    )
    for item in lines.iterator(chunk_size=500):
        order = item.order
        start = [order.order_number, order.shipping_recipient_name, item.title, item.sku]
        option = _option(item)
        in_parcels = 0
        for unit in item.fulfillment_items.all():
            parcel = unit.fulfillment
            if parcel.exchange_id is None:  # a replacement's units are not the order's own
                in_parcels += unit.quantity
            yield [
                *start,
                option,
                unit.quantity,
                parcel.pk,
                parcel.get_status_display(),
                parcel.carrier_name,
                parcel.tracking_number,
            ]
        if item.quantity > in_parcels:
            yield [*start, option, item.quantity - in_parcels, "", "", "", ""]


def pick_list_view(admin_site, request):
    """The order list as it is filtered on screen, line by line, with parcels and tracking."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    order_admin = admin_site._registry[Order]
    if not order_admin.has_view_permission(request):
        raise PermissionDenied
    orders = order_admin.get_changelist_instance(request).queryset
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return stream_csv(PICK_LIST_COLUMNS, pick_list_rows(orders), f"pick-list-{stamp}.csv")
