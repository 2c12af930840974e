"""The daily shipping screens: the order page's "Fulfil" panel, which creates and ships a parcel
in one step, and the "Unfulfilled" list (paid and preparing orders, oldest first) from which
staff ship each order with its carrier and tracking number without opening it.

Both call ``fulfillment.services.ship_new_fulfillment``: one atomic call that refuses (and
writes nothing) without a tracking number or with more units than are left.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import TIME_STRINGS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fulfillment import services as fulfillment_services
from fulfillment.admin_forms import CarrierInput
from fulfillment.carriers import CARRIERS
from fulfillment.selectors import parcel_annotations, parcel_units
from orders.admin import OrderScreenPart, register_order_screen_part
from orders.admin_forms import UnitsForm
from orders.models import Order, OrderItem, OrderStatus
from orders.values import ItemUnits
from shop.actors import Actor
from shop.admin_utils import CappedPaginator, error_message
from shop.errors import DomainError

FULFILLMENT_PERM = "orders.run_fulfillment_transitions"
UNFULFILLED_PER_PAGE = 50


class FulfilAndShipForm(UnitsForm):
    carrier = forms.CharField(
        label=_("Carrier"),
        max_length=100,
        required=False,
        widget=CarrierInput(),
        help_text=_("Pick a known carrier (it gets a tracking link) or type any name."),
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100, required=False)


def _line_label(item) -> str:
    return f"{item.title} ({item.sku})" if item.sku else item.title


def _fulfil_lines(order) -> list[dict]:
    """The order's lines with units left to fulfil, all of them by default."""
    quantities = parcel_units(order)
    return [
        {
            "id": item.pk,
            "label": _line_label(item),
            "initial": quantities[item.pk].remaining,
            "help": gettext("%(remaining)s of %(ordered)s left to fulfil")
            % {"remaining": quantities[item.pk].remaining, "ordered": item.quantity},
        }
        for item in order.items.order_by("id")
        if quantities[item.pk].remaining > 0
    ]


def _can_fulfil(request, order) -> bool:
    return order.status in fulfillment_services.FULFILLABLE and request.user.has_perm(
        FULFILLMENT_PERM
    )


def _ship(request, order_id, *, carrier: str, tracking_number: str, items) -> str | None:
    """Run the one service; returns the refusal's message, or ``None`` once shipped."""
    try:
        parcel = fulfillment_services.ship_new_fulfillment(
            order=order_id,
            actor=Actor.staff(request.user),
            carrier=carrier,
            tracking_number=tracking_number,
            items=items,
        )
    except DomainError as error:
        return error_message(error)
    messages.success(
        request,
        gettext("Order %(number)s: fulfilment %(id)s shipped with %(carrier)s %(tracking)s.")
        % {
            "number": parcel.order.order_number,
            "id": parcel.pk,
            "carrier": parcel.carrier_name or "—",
            "tracking": parcel.tracking_number,
        },
    )
    return None


def _order_page_fulfil_panel(request, order, page, order_admin) -> dict:
    if not _can_fulfil(request, order):
        return {}
    lines = _fulfil_lines(order)
    if not lines:
        return {}
    return {
        "fulfil_panel": {
            "form": FulfilAndShipForm(lines=lines),
            "action": reverse("admin:orders_order_fulfil_ship", args=[order.pk]),
        }
    }


def fulfil_and_ship_view(order_admin, request, object_id):
    """The panel's POST: create and ship the parcel; on a refusal, the same form with why."""
    if not request.user.has_perm(FULFILLMENT_PERM):
        raise PermissionDenied
    order = order_admin.order_or_404(request, object_id)
    back = reverse("admin:orders_order_change", args=[order.pk])
    form = FulfilAndShipForm(request.POST or None, lines=_fulfil_lines(order))
    if request.method == "POST" and form.is_valid():
        if not form.units():
            form.add_error(None, gettext("Choose at least one unit."))
        else:
            refused = _ship(
                request,
                order.pk,
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                items=[ItemUnits(pk, quantity) for pk, quantity in form.units().items()],
            )
            if refused is None:
                return HttpResponseRedirect(back)
            form.add_error(None, refused)
    return order_admin.units_page(
        request,
        order,
        form,
        gettext("Fulfil and ship"),
        gettext("Choose the units this parcel carries, its carrier and tracking number."),
        gettext("Units"),
    )


# ---------------------------------------------------------------------------------------------
# The "Unfulfilled" list


def unfulfilled_orders():
    return Order.objects.filter(status__in=fulfillment_services.FULFILLABLE).order_by(
        "created_at", "id"
    )


def _remaining_lines(order_ids) -> dict[int, list[dict]]:
    """Per order: its lines with units left to fulfil, for every order of a page in one query."""
    rows = (
        OrderItem.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "id")
        .annotate(**parcel_annotations())
        .values("pk", "order_id", "title", "sku", "quantity", "allocated")
    )
    lines: dict[int, list[dict]] = {pk: [] for pk in order_ids}
    for row in rows:
        remaining = row["quantity"] - row["allocated"]
        if remaining > 0:
            label = f"{row['title']} ({row['sku']})" if row["sku"] else row["title"]
            lines[row["order_id"]].append({"id": row["pk"], "label": label, "remaining": remaining})
    return lines


def _posted_units(request) -> list[ItemUnits] | None:
    """The row's per-line quantities (``qty_<order item id>``); ``None``: all that are left."""
    units = []
    for key, value in request.POST.items():
        if key.startswith("qty_") and key[4:].isdigit():
            try:
                quantity = int(value)
            except ValueError:
                raise DomainError(
                    gettext("A quantity must be a whole number, not %(value)r.") % {"value": value}
                ) from None
            if quantity:
                units.append(ItemUnits(int(key[4:]), quantity))
    if not units and any(k.startswith("qty_") for k in request.POST):
        raise DomainError(gettext("Choose at least one unit."))
    return units or None


def _age(delta: timedelta) -> str:
    """How long an order has waited, in its largest whole unit ("3 days", "5 hours"): what
    ``timesince`` says to a day, in its words, at a fraction of its cost on a page of 50."""
    for unit, count in (
        ("day", delta.days),
        ("hour", delta.seconds // 3600),
        ("minute", delta.seconds // 60),
    ):
        if count > 0:
            return TIME_STRINGS[unit] % {"num": count}
    return TIME_STRINGS["minute"] % {"num": 0}


def unfulfilled_view(parcel_admin, request):
    if not request.user.has_perm(FULFILLMENT_PERM):
        raise PermissionDenied
    if request.method == "POST":
        order_id = request.POST.get("order", "")
        order = Order.objects.filter(pk=int(order_id) if order_id.isdigit() else None).first()
        if order is None:
            messages.error(request, gettext("Not found."))
        else:
            try:
                items = _posted_units(request)
            except DomainError as error:
                refused = error.message
            else:
                refused = _ship(
                    request,
                    order.pk,
                    carrier=request.POST.get("carrier", ""),
                    tracking_number=request.POST.get("tracking_number", ""),
                    items=items,
                )
            if refused:
                messages.error(
                    request,
                    gettext("Order %(number)s was not shipped: %(reason)s")
                    % {"number": order.order_number, "reason": refused},
                )
        return HttpResponseRedirect(request.get_full_path())
    paginator = CappedPaginator(unfulfilled_orders(), UNFULFILLED_PER_PAGE)
    page = paginator.get_page(request.GET.get("p"))
    orders = list(page.object_list)
    lines = _remaining_lines([order.pk for order in orders])
    # Worked out once for the page, not once a row: a row's status label and its order's link.
    status_labels = {value: str(label) for value, label in OrderStatus.choices}
    order_list = reverse("admin:orders_order_changelist")
    now, ago = timezone.now(), gettext("%(age)s ago")
    for order in orders:
        order.remaining_lines = lines[order.pk]
        order.status_label = status_labels.get(order.status, order.status)
        order.change_url = f"{order_list}{order.pk}/change/"
        order.age = ago % {"age": _age(now - order.created_at)}
    context = {
        **parcel_admin.admin_site.each_context(request),
        "title": gettext("Unfulfilled orders"),
        "opts": parcel_admin.opts,
        "orders": orders,
        "page": page,
        "paginator": paginator,
        "carriers": list(CARRIERS.values()),
    }
    return TemplateResponse(request, "admin/fulfillment/unfulfilled.html", context)


register_order_screen_part(
    OrderScreenPart(
        context=_order_page_fulfil_panel,
        pages=[("fulfil-ship/", fulfil_and_ship_view, "orders_order_fulfil_ship")],
    )
)
