"""The returns and exchanges screens: decide, receive with a disposition per line, complete."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders import permissions
from orders.admin import OrderScreenPart, register_order_screen_part
from orders.admin_forms import units_form
from returns import services as return_services
from returns.admin_forms import (
    DifferencePaymentForm,
    RefundForm,
    RequestExchangeForm,
    RequestReturnForm,
)
from returns.models import Exchange, ExchangeItem, RequestStatus, Return, ReturnItem
from returns.selectors import item_quantities
from returns.values import Restock, ReturnLine
from shop.actors import Actor
from shop.admin_utils import (
    CappedPaginator,
    DateRangeFilter,
    RequiredReasonForm,
    TransitionAction,
    TransitionAdminMixin,
    badge,
    error_message,
    money,
)
from shop.errors import DomainError
from shop.models import Option, Variant

RETURN_PERM = permissions.RETURNS.name


def receive_form(request):
    """Per line, how many of the units that came back go back on the shelf (all by default)."""
    lines = [
        {
            "id": line.order_item_id,
            "label": gettext("Restock: %(title)s") % {"title": line.order_item.title},
            "initial": line.quantity,
            "help": gettext("%(quantity)s unit(s) came back; 0 if none can be sold again")
            % {"quantity": line.quantity},
        }
        for line in request.items.select_related("order_item")
    ]
    return units_form(lines)


def _restock(data: dict) -> Restock:
    """``{"qty_<order item id>": n}`` from the receive form → the units back on the shelf."""
    return Restock({int(key.removeprefix("qty_")): value or 0 for key, value in data.items()})


def _request_actions(kind: str) -> dict[str, TransitionAction]:
    """The buttons of a return (``kind="return"``) or an exchange, one service each."""
    svc = return_services
    approve = svc.approve_return if kind == "return" else svc.approve_exchange
    reject = svc.reject_return if kind == "return" else svc.reject_exchange
    receive = svc.receive_return if kind == "return" else svc.receive_exchange
    actions = {
        "approve": TransitionAction(
            _("Approve"),
            RETURN_PERM,
            lambda r, actor, data: approve(request=r, actor=actor),
            done=_("approved."),
        ),
        "reject": TransitionAction(
            _("Reject"),
            RETURN_PERM,
            lambda r, actor, data: reject(request=r, actor=actor, reason=data["reason"]),
            form=RequiredReasonForm,
            danger=True,
            done=_("rejected."),
        ),
        "start_processing": TransitionAction(
            _("Receive"),
            RETURN_PERM,
            lambda r, actor, data: receive(request=r, actor=actor, restock=_restock(data)),
            form=receive_form,
            done=_("received."),
        ),
    }
    if kind == "return":
        actions["complete"] = TransitionAction(
            _("Complete and refund"),
            RETURN_PERM,
            lambda r, actor, data: svc.complete_return(
                request=r, actor=actor, refund_amount=data["refund_amount"]
            ),
            form=RefundForm,
            initial=lambda r: {"refund_amount": r.refund_amount},
            done=_("completed and refunded."),
        )
    else:
        actions["complete"] = TransitionAction(
            _("Complete and send replacement"),
            RETURN_PERM,
            lambda r, actor, data: svc.complete_exchange(request=r, actor=actor),
            done=_("completed: the replacement parcel is waiting to ship."),
        )
    return actions


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReturnItemInline(_ReadOnlyInline):
    model = ReturnItem
    fields = ["order_item", "quantity", "restock_quantity"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_item")


class ExchangeItemInline(_ReadOnlyInline):
    model = ExchangeItem
    fields = [
        "order_item",
        "quantity",
        "replacement_variant",
        "replacement_option",
        "restock_quantity",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("order_item", "replacement_variant", "replacement_option")
        )


class RequestAdmin(TransitionAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "order_link", "status_badge", "reason", "created_at"]
    list_filter = ["status", "reason", ("created_at", DateRangeFilter)]
    list_select_related = ["order"]
    search_fields = ["=order__order_number"]
    search_help_text = _("Exact order number.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count whole tables
    paginator = CappedPaginator
    list_per_page = 50
    change_form_template = "admin/shop/change_form.html"

    def has_add_permission(self, request):
        return False  # filed from the order ("Request return") or by the buyer through the API

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # every change is a button

    def lookup_allowed(self, lookup, value, request=None):
        # The customer page links to "this customer's returns".
        return lookup == "order__customer__id__exact" or super().lookup_allowed(
            lookup, value, request
        )

    @admin.display(description=_("order"), ordering="order__order_number")
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.order_number)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())


@admin.register(Return)
class ReturnAdmin(RequestAdmin):
    list_display = [*RequestAdmin.list_display[:4], "refund", "created_at"]
    inlines = [ReturnItemInline]
    fields = [
        "order_link",
        "status_badge",
        "reason",
        "note",
        "refund",
        "refund_transaction",
        "rejection_reason",
        "received_at",
        "completed_at",
        "created_at",
    ]
    readonly_fields = fields
    transition_actions = _request_actions("return")

    @admin.display(description=_("refund amount"), ordering="refund_amount")
    def refund(self, obj):
        return money(obj.refund_amount, obj.order.currency)


def difference_in_words(exchange: Exchange, currency: str) -> str:
    """An exchange's price difference as staff read it."""
    due = exchange.difference_due
    if due > 0:
        return gettext("The buyer owes %(amount)s.") % {"amount": money(due, currency)}
    if due < 0:
        return gettext("A refund of %(amount)s is owed to the buyer.") % {
            "amount": money(-due, currency)
        }
    return gettext("The same price: nothing to settle.")


def _pay_difference(exchange, actor, data):
    return return_services.pay_exchange_difference(
        request=exchange,
        actor=actor,
        amount=data["amount"],
        method=data["method"],
        reference=data["reference"],
    )


@admin.register(Exchange)
class ExchangeAdmin(RequestAdmin):
    inlines = [ExchangeItemInline]
    fields = [
        "order_link",
        "status_badge",
        "reason",
        "note",
        "price_difference",
        "replacement_parcels",
        "rejection_reason",
        "received_at",
        "completed_at",
        "created_at",
    ]
    readonly_fields = fields
    transition_actions = {
        **_request_actions("exchange"),
        "pay_difference": TransitionAction(
            _("Record the buyer's payment"),
            RETURN_PERM,
            _pay_difference,
            form=DifferencePaymentForm,
            initial=lambda e: {"amount": e.difference_due, "method": "bank_transfer"},
            done=_("the price difference is paid: the replacement can be sent."),
        ),
    }

    def available_transitions(self, obj) -> list[str]:
        """The machine's moves, and paying the price difference while the buyer owes it."""
        names = super().available_transitions(obj)
        if (
            obj.difference_due > 0
            and obj.difference_transaction_id is None
            and obj.status in (RequestStatus.APPROVED, RequestStatus.PROCESSING)
        ):
            names.insert(0, "pay_difference")
        return names

    @admin.display(description=_("price difference"))
    def price_difference(self, obj):
        words = difference_in_words(obj, obj.order.currency)
        settled = obj.difference_transaction
        if obj.difference_due > 0:
            state = (
                gettext("Paid (%(method)s).") % {"method": settled.payment_method_label}
                if settled is not None
                else gettext("Waiting for the buyer's payment: the replacement is not sent before.")
            )
        elif obj.difference_due < 0:
            state = (
                gettext("Refunded.")
                if settled is not None
                else gettext("Refunded when the exchange completes.")
            )
        else:
            return format_html('<span data-difference="0">{}</span>', words)
        return format_html(
            '<span data-difference="{}"><strong>{}</strong> {}</span>',
            obj.difference_due,
            words,
            state,
        )

    @admin.display(description=_("replacement fulfilments"))
    def replacement_parcels(self, obj):
        parcels = obj.replacement_fulfillments.order_by("pk")
        if not parcels:
            return gettext("none yet (created when the exchange completes)")
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> {}',
            (
                (
                    reverse("admin:fulfillment_fulfillment_change", args=[p.pk]),
                    p,
                    badge(p.status, p.get_status_display()),
                )
                for p in parcels
            ),
        )


# ---------------------------------------------------------------------------------------------
# The order screens' returns and exchanges: the order page's units table and section, its
# button, and the page where customer service files a return.


def _order_page_requests(request, order, page, order_admin) -> dict:
    here = request.get_full_path()
    registry = order_admin.admin_site._registry
    quantities = item_quantities(order)
    for item in page["order_items"]:
        item.units = quantities.get(item.pk)
    returns = list(
        Return.objects.filter(order=order)
        .prefetch_related("items__order_item")
        .order_by("created_at", "id")
    )
    for request_ in returns:
        request_.buttons = registry[Return].transition_buttons(request, request_, here)
        request_.badge_html = badge(request_.status, request_.get_status_display())
        request_.refund_display = money(request_.refund_amount, order.currency)
    exchanges = list(
        Exchange.objects.filter(order=order)
        .prefetch_related(
            "items__order_item", "items__replacement_variant", "items__replacement_option"
        )
        .order_by("created_at", "id")
    )
    for request_ in exchanges:
        request_.buttons = registry[Exchange].transition_buttons(request, request_, here)
        request_.badge_html = badge(request_.status, request_.get_status_display())
        request_.difference_display = difference_in_words(request_, order.currency)
    return {"returns": returns, "exchanges": exchanges}


def _order_page_buttons(request, order) -> list[tuple[str, str]]:
    if order.status in return_services.RETURNABLE and request.user.has_perm(RETURN_PERM):
        return [
            (
                gettext("Request return"),
                reverse("admin:orders_order_request_return", args=[order.pk]),
            ),
            (
                gettext("Request exchange"),
                reverse("admin:orders_order_request_exchange", args=[order.pk]),
            ),
        ]
    return []


def request_return_view(order_admin, request, object_id):
    """Customer service files a return on the buyer's behalf."""
    if not request.user.has_perm(RETURN_PERM):
        raise PermissionDenied
    order = order_admin.order_or_404(request, object_id)
    quantities = item_quantities(order)
    lines = [
        {
            "id": item.pk,
            "label": f"{item.title} ({item.sku})" if item.sku else item.title,
            "initial": 0,
            "help": gettext("%(claimable)s delivered unit(s) can be asked back")
            % {"claimable": quantities[item.pk].claimable},
        }
        for item in order.items.all()
    ]
    form = RequestReturnForm(request.POST or None, lines=lines)
    if request.method == "POST" and form.is_valid():
        try:
            filed = return_services.request_return(
                order=order,
                actor=Actor.staff(request.user),
                reason=form.cleaned_data["reason"],
                items=[ReturnLine(pk, quantity) for pk, quantity in form.units().items()],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            form.add_error(None, error_message(error))
        else:
            order_admin.message_user(
                request,
                gettext("Return %(id)s requested.") % {"id": filed.pk},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
    return order_admin.units_page(
        request,
        order,
        form,
        gettext("Request return"),
        gettext("Filed for the buyer: choose the units coming back and why."),
        gettext("Units"),
    )


def _replacement_choices(items, currency: str) -> dict[int, list[tuple[str, str]]]:
    """Per order line, what can be sent instead: the same unit, or another variant or option
    of its product, each with its catalog price (two queries for any number of lines)."""
    product_ids = {item.product_id for item in items if item.product_id}
    variants = list(
        Variant.objects.filter(product_id__in=product_ids)
        .select_related("product")
        .order_by("product_id", "pk")
    )
    options: dict[int, list[Option]] = {}
    for option in Option.objects.filter(variant__in=variants).order_by("pk"):
        options.setdefault(option.variant_id, []).append(option)
    choices: dict[int, list[tuple[str, str]]] = {}
    for item in items:
        found = [
            ("", gettext("The same (%(price)s)") % {"price": money(item.unit_price, currency)})
        ]
        for variant in variants:
            if variant.product_id != item.product_id:
                continue
            price = variant.price if variant.price is not None else variant.product.price
            for option in options.get(variant.pk, []):
                if (variant.pk, option.pk) == (item.variant_id, item.option_id):
                    continue
                option_price = option.price if option.price is not None else price
                found.append(
                    (
                        f"o:{variant.pk},{option.pk}",
                        f"{variant.title} / {option.title} · {money(option_price, currency)}",
                    )
                )
            if variant.pk not in options and variant.pk != item.variant_id:
                found.append((f"v:{variant.pk}", f"{variant.title} · {money(price, currency)}"))
        choices[item.pk] = found
    return choices


def request_exchange_view(order_admin, request, object_id):
    """Customer service files an exchange on the buyer's behalf: the units coming back, what is
    sent instead and why; the price difference is worked out by the service."""
    if not request.user.has_perm(RETURN_PERM):
        raise PermissionDenied
    order = order_admin.order_or_404(request, object_id)
    quantities = item_quantities(order)
    items = list(order.items.all())
    replacements = _replacement_choices(items, order.currency)
    lines = [
        {
            "id": item.pk,
            "title": item.title,
            "label": f"{item.title} ({item.sku})" if item.sku else item.title,
            "initial": 0,
            "help": gettext("%(claimable)s delivered unit(s) can be exchanged")
            % {"claimable": quantities[item.pk].claimable},
            "replacements": replacements[item.pk],
        }
        for item in items
    ]
    form = RequestExchangeForm(request.POST or None, lines=lines)
    if request.method == "POST" and form.is_valid():
        try:
            filed = return_services.request_exchange(
                order=order,
                actor=Actor.staff(request.user),
                reason=form.cleaned_data["reason"],
                items=[
                    ReturnLine(pk, quantity, *form.replacement(pk))
                    for pk, quantity in form.units().items()
                ],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            form.add_error(None, error_message(error))
        else:
            order_admin.message_user(
                request,
                gettext("Exchange %(id)s requested.") % {"id": filed.pk}
                + " "
                + difference_in_words(filed, order.currency),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:returns_exchange_change", args=[filed.pk]))
    return order_admin.units_page(
        request,
        order,
        form,
        gettext("Request exchange"),
        gettext(
            "Filed for the buyer: choose the units coming back, what is sent instead and why. "
            "A replacement of another price settles the difference: the buyer pays what they "
            "owe before it is sent, or is refunded what they are owed when it completes."
        ),
        gettext("Units"),
    )


register_order_screen_part(
    OrderScreenPart(
        context=_order_page_requests,
        buttons=_order_page_buttons,
        pages=[
            ("request-return/", request_return_view, "orders_order_request_return"),
            ("request-exchange/", request_exchange_view, "orders_order_request_exchange"),
        ],
    )
)
