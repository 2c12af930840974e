"""The order screens: the list staff work from, and the order page with everything under it.

Thin by rule: every change calls a service with the staff user as the actor; what a service
refuses is shown as its message. ``orders`` imports none of the apps under an order: their admin
modules add what they show on these screens (sections of the order page, its buttons and pages,
list filters, search, bulk actions) with ``register_order_screen_part``.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from orders import permissions
from orders import services as order_services
from orders.admin_documents import DocumentsMixin
from orders.admin_payments import (
    MarkPaidForm,
    describe_transactions,
    mark_paid,
    mark_paid_initial,
)
from orders.models import (
    MAX_COMMENT,
    Order,
    PaymentMethod,
    Transaction,
    TransactionKind,
    payment_method_label,
)
from orders.selectors import order_money, order_timeline
from shop.actors import Actor
from shop.admin_utils import (
    CappedPaginator,
    DateRangeFilter,
    ReasonForm,
    TransitionAction,
    TransitionAdminMixin,
    badge,
    error_message,
    money,
    run_bulk,
)
from shop.errors import DomainError


@dataclass
class OrderScreenPart:
    """What an app under an order adds to the order screens (see ``register_order_screen_part``)."""

    # Adds to the order page's context: called with (request, order, page, model_admin), where
    # ``page`` is the context built so far (``order_items`` among it); returns what it adds.
    context: Callable[..., dict] | None = None
    # The page's extra buttons for this user: (request, order) → [(label, url)].
    buttons: Callable[..., list[tuple[str, str]]] | None = None
    # Pages under an order: (route after the order id, view, url name); the view is called as
    # view(model_admin, request, object_id).
    pages: list[tuple[str, Callable, str]] = field(default_factory=list)
    list_filters: list = field(default_factory=list)
    # Order ids an exact search term names through the app's own index (a tracking number).
    exact_search: Callable[[str], Iterable[int]] | None = None
    actions: list[Callable] = field(default_factory=list)
    # A template included in the order page's main column (above the timeline), rendered with
    # the page's context (what ``context`` added among it).
    section: str | None = None


ORDER_SCREEN_PARTS: list[OrderScreenPart] = []


def register_order_screen_part(part: OrderScreenPart) -> None:
    """Add an app's part to the order screens (called from that app's admin module)."""
    ORDER_SCREEN_PARTS.append(part)


PAYMENT_PERM = permissions.PAYMENTS.name
FULFILLMENT_PERM = permissions.FULFILMENT.name
RETURN_PERM = permissions.RETURNS.name

PAYMENT_METHODS = PaymentMethod.choices


class PaymentMethodFilter(admin.SimpleListFilter):
    title = _("payment method")
    parameter_name = "payment_method"

    def lookups(self, request, model_admin):
        return PAYMENT_METHODS

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        payments = Transaction.objects.filter(
            order=OuterRef("pk"), kind=TransactionKind.PAYMENT, payment_method=self.value()
        )
        return queryset.filter(Exists(payments))


def _latest_payment():
    return Transaction.objects.filter(order=OuterRef("pk"), kind=TransactionKind.PAYMENT).order_by(
        "-created_at", "-id"
    )


def _order_actions() -> dict[str, TransitionAction]:
    """The order transitions staff run by hand (the rest follow parcels and returns)."""
    return {
        "pay": TransitionAction(
            _("Mark paid"),
            PAYMENT_PERM,
            mark_paid,
            form=MarkPaidForm,
            initial=mark_paid_initial,
            done=_("marked paid."),
        ),
        "fail": TransitionAction(
            _("Payment failed"),
            PAYMENT_PERM,
            lambda o, actor, data: order_services.fail_payment(
                order=o, actor=actor, reason=data["reason"]
            ),
            form=ReasonForm,
            danger=True,
            done=_("payment marked failed."),
        ),
        "retry": TransitionAction(
            _("Wait for payment again"),
            PAYMENT_PERM,
            lambda o, actor, data: order_services.retry_order(
                order=o, actor=actor, reason=data["reason"]
            ),
            form=ReasonForm,
            done=_("waiting for payment again."),
        ),
        "cancel": TransitionAction(
            _("Cancel order"),
            PAYMENT_PERM,
            lambda o, actor, data: order_services.cancel_order(
                order=o, actor=actor, reason=data["reason"]
            ),
            form=ReasonForm,
            danger=True,
            done=_("canceled."),
        ),
        "start_preparing": TransitionAction(
            _("Start preparing"),
            FULFILLMENT_PERM,
            lambda o, actor, data: order_services.start_preparing(order=o, actor=actor),
            done=_("preparing."),
        ),
        "confirm": TransitionAction(
            _("Confirm purchase"),
            FULFILLMENT_PERM,
            lambda o, actor, data: order_services.confirm_order(
                order=o, actor=actor, reason=data["reason"]
            ),
            form=ReasonForm,
            done=_("confirmed."),
        ),
    }


@admin.register(Order)
class OrderAdmin(DocumentsMixin, TransitionAdminMixin, admin.ModelAdmin):
    list_display = [
        "order_number",
        "customer_display",
        "status_badge",
        "total",
        "payment_state",
        "created",
    ]
    list_display_links = ["order_number"]
    list_filter = [
        "status",
        ("created_at", DateRangeFilter),
        PaymentMethodFilter,
    ]
    search_fields = ["order_number"]  # see get_search_results
    search_help_text = _(
        "Order number, customer name, email or phone, recipient name, or tracking number."
    )
    list_per_page = 50
    list_max_show_all = 200
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count whole tables
    paginator = CappedPaginator
    ordering = ["-created_at", "-id"]
    base_actions = ["start_preparing_action", "print_packing_slips", "print_invoices"]
    change_form_template = "admin/orders/order/change_form.html"
    change_list_template = "admin/orders/order/change_list.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "order_number",
                    "status_badge",
                    "created_at",
                    "updated_at",
                    "amounts",
                    "paid_so_far",
                ]
            },
        ),
        (
            _("Customer"),
            {"fields": ["customer_link", "customer_name", "customer_email", "customer_phone"]},
        ),
        (
            _("Shipping address"),
            {
                "fields": [
                    "shipping_recipient_name",
                    "shipping_phone",
                    "shipping_postal_code",
                    "shipping_address1",
                    "shipping_address2",
                    "delivery_note",
                ]
            },
        ),
        (_("Staff note"), {"fields": ["staff_note"]}),
    ]

    transition_actions = _order_actions()

    # -- list ---------------------------------------------------------------------------------

    @property
    def actions(self):
        return [*self.base_actions, *(a for part in ORDER_SCREEN_PARTS for a in part.actions)]

    def get_list_filter(self, request):
        return [*self.list_filter, *(f for part in ORDER_SCREEN_PARTS for f in part.list_filters)]

    def get_queryset(self, request):
        latest = _latest_payment()
        return (
            super()
            .get_queryset(request)
            .annotate(
                payment_status=Subquery(latest.values("status")[:1]),
                payment_method_used=Subquery(latest.values("payment_method")[:1]),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        """Exact hits on indexed columns first (order number, tracking number); only when none
        match, the wider search over names, email and phone."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # Each exact match through its own index: an OR of the two in one WHERE would keep
        # PostgreSQL from using either and scan the whole orders table.
        ids = set(Order.objects.filter(order_number=term).order_by().values_list("pk", flat=True))
        for part in ORDER_SCREEN_PARTS:
            if part.exact_search is not None:
                ids.update(part.exact_search(term))
        if ids:
            exact = queryset.filter(pk__in=ids)
            if exact.exists():
                return exact, False
        wide = (
            Q(order_number__icontains=term)
            | Q(customer_name__icontains=term)
            | Q(customer_email__icontains=term)
            | Q(customer_phone=term)
            | Q(shipping_recipient_name__icontains=term)
            | Q(shipping_phone=term)
        )
        return queryset.filter(wide), False

    @admin.display(description=_("customer"), ordering="customer_name")
    def customer_display(self, obj):
        # A long email may break before its "@" rather than widen the column past the screen.
        local, at, domain = obj.customer_email.partition("@")
        return format_html(
            '{}<br><span class="quiet">{}{}{}</span>',
            obj.customer_name or "—",
            local,
            mark_safe("<wbr>@") if at else "",
            domain,
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=_("total"), ordering="total_amount")
    def total(self, obj):
        return format_html('<span class="num">{}</span>', money(obj.total_amount, obj.currency))

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj):
        # The date over the time: a column a third as wide as the admin's one-line datetime.
        when = timezone.localtime(obj.created_at)
        return format_html(
            '<span class="nowrap">{}</span><br><span class="quiet">{}</span>',
            date_format(when, "DATE_FORMAT"),
            time_format(when, "TIME_FORMAT"),
        )

    @admin.display(description=_("payment"))
    def payment_state(self, obj):
        status = getattr(obj, "payment_status", None)
        if not status:
            return "—"
        label = dict(Transaction._meta.get_field("status").choices).get(status, status)
        method = payment_method_label(getattr(obj, "payment_method_used", "") or "")
        return format_html('{} <span class="quiet">{}</span>', badge(status, label), method)

    # -- detail -------------------------------------------------------------------------------

    def has_add_permission(self, request):
        return False  # orders come from checkout and the server API

    def has_delete_permission(self, request, obj=None):
        return False  # an order is a record: cancel it instead

    def get_readonly_fields(self, request, obj=None):
        editable = {"staff_note"}
        names = [f for _, opts in self.fieldsets for f in opts["fields"] if f not in editable]
        return names

    @admin.display(description=_("amounts"))
    def amounts(self, obj):
        return format_html(
            "{} {} + {} {} − {} {} = <strong>{}</strong>",
            gettext("subtotal"),
            money(obj.subtotal_amount, obj.currency),
            gettext("shipping"),
            money(obj.shipping_amount, obj.currency),
            gettext("discount"),
            money(obj.discount_amount, obj.currency),
            money(obj.total_amount, obj.currency),
        )

    @admin.display(description=_("paid / refunded"))
    def paid_so_far(self, obj):
        held = order_money(obj)
        return f"{money(held.paid, obj.currency)} / {money(held.refunded, obj.currency)}"

    @admin.display(description=_("customer account"))
    def customer_link(self, obj):
        if not obj.customer_id:
            return gettext("guest")
        url = reverse("admin:shop_customer_change", args=[obj.customer_id])
        return format_html('<a href="{}" id="customer-page">{}</a>', url, obj.customer.name)

    def save_model(self, request, obj, form, change):
        # The one editable field goes through its service like every other change.
        order_services.set_staff_note(
            order=obj, note=form.cleaned_data["staff_note"], actor=Actor.staff(request.user)
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if order is not None:
            extra_context.update(self.detail_context(request, order))
        return super().change_view(request, object_id, form_url, extra_context)

    def detail_context(self, request, order) -> dict:
        """Everything under the order, each kind in one query, and the buttons the user gets;
        the apps under an order add their sections and buttons."""
        items = list(order.items.all())
        for item in items:
            item.unit_price_display = money(item.unit_price, order.currency)
        transactions = list(order.transactions.order_by("created_at", "id"))
        describe_transactions(transactions, order.currency)
        timeline = order_timeline(order)
        for line in timeline:
            if line.entry is None:  # a staff comment: no move to show
                continue
            line.source_badge = _state_badge(line.entry, line.entry.source)
            line.target_badge = _state_badge(line.entry, line.entry.target)
        page = {
            "title": gettext("Order"),  # not "Change order": staff read it more than they edit it
            "order_items": items,
            "transactions": transactions,
            "timeline": timeline,
            "comment_max_length": MAX_COMMENT,
            "comment_url": reverse("admin:orders_order_comment", args=[order.pk]),
            "extra_buttons": [],
            "sections": [],
            "currency": order.currency,
            "status_badge_html": self.status_badge(order),
            "amounts_html": self.amounts(order),
            "total_display": money(order.total_amount, order.currency),
            "paid_so_far_display": self.paid_so_far(order),
            "customer_link_html": self.customer_link(order),
            "contact_rows": _field_rows(order, CONTACT_FIELDS),
            "address_rows": _field_rows(order, ADDRESS_FIELDS),
            "customer_order_count": (
                Order.objects.filter(customer_id=order.customer_id).count()
                if order.customer_id
                else None
            ),
        }
        for part in ORDER_SCREEN_PARTS:
            if part.context is not None:
                page.update(part.context(request, order, page, self))
            if part.buttons is not None:
                page["extra_buttons"] += part.buttons(request, order)
            if part.section:
                page["sections"].append(part.section)
        return page

    # -- pages of their own -------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        comment = path(
            "<path:object_id>/comment/", view(self.comment_view), name="orders_order_comment"
        )
        return [
            comment,
            *(
                path(f"<path:object_id>/{route}", view(partial(page, self)), name=name)
                for part in ORDER_SCREEN_PARTS
                for route, page, name in part.pages
            ),
            *super().get_urls(),
        ]

    def comment_view(self, request, object_id):
        """The timeline's "Add comment" form posts here: whoever may see the order may write in
        its timeline (a comment changes no state); back to the timeline with what happened."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.order_or_404(request, object_id)
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        try:
            order_services.comment_on_order(
                order=order, actor=Actor.staff(request.user), body=request.POST.get("body", "")
            )
        except DomainError as error:
            self.message_user(request, error_message(error), messages.ERROR)
        else:
            self.message_user(request, gettext("Comment added."), messages.SUCCESS)
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        return HttpResponseRedirect(f"{change_url}#order-timeline")

    def order_or_404(self, request, object_id):
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404(gettext("Not found."))
        return order

    def units_page(self, request, order, form, title, intro, lines_caption):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": order,
            "form": form,
            "intro": intro,
            "lines_caption": lines_caption,
            "back": reverse("admin:orders_order_change", args=[order.pk]),
            "action": {"label": title},
        }
        return TemplateResponse(request, "admin/shop/action_form.html", context)

    # -- bulk actions -------------------------------------------------------------------------

    def bulk(self, request, queryset, run, done_message):
        run_bulk(self, request, queryset.order_by("pk"), run, done=done_message)

    @admin.action(description=_("Start preparing"), permissions=["fulfil"])
    def start_preparing_action(self, request, queryset):
        self.bulk(
            request,
            queryset,
            lambda order, actor: order_services.start_preparing(order=order, actor=actor),
            lambda n: (
                ngettext(
                    "%(count)d order is now preparing.", "%(count)d orders are now preparing.", n
                )
                % {"count": n}
            ),
        )

    def has_fulfil_permission(self, request):
        return request.user.has_perm(FULFILLMENT_PERM)


CONTACT_FIELDS = ["customer_name", "customer_email", "customer_phone"]
ADDRESS_FIELDS = [
    "shipping_recipient_name",
    "shipping_phone",
    "shipping_postal_code",
    "shipping_address1",
    "shipping_address2",
    "delivery_note",
]


def _field_rows(order: Order, names: list[str]) -> list[tuple[str, str, str]]:
    """``(name, label, value)`` for the side column, labelled as the fields are named."""
    return [
        (name, capfirst(Order._meta.get_field(name).verbose_name), getattr(order, name))
        for name in names
    ]


def _state_badge(entry, value: str):
    model = entry.content_type.model_class()
    try:
        choices = dict(model._meta.get_field("status").choices)
    except Exception:  # a model without a status field: show the raw value
        choices = {}
    return badge(value, choices.get(value, value))
