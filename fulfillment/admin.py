"""The fulfilment screens: parcels and their buttons, and the bulk tracking import."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from events.models import Job
from fulfillment import imports
from fulfillment import services as fulfillment_services
from fulfillment.admin_daily import unfulfilled_view
from fulfillment.admin_documents import pick_list_view
from fulfillment.admin_forms import CreateFulfillmentForm, ShipForm
from fulfillment.carriers import CARRIERS, names_of, normalize_tracking_number
from fulfillment.models import Fulfillment, FulfillmentItem, FulfillmentStatus
from fulfillment.selectors import parcel_units
from fulfillment.tasks import KIND as TRACKING_IMPORT
from fulfillment.tasks import counts as tracking_import_counts
from fulfillment.tasks import start_tracking_import
from orders import permissions
from orders.admin import OrderScreenPart, register_order_screen_part
from orders.values import ItemUnits
from shop.actors import Actor
from shop.admin_utils import (
    CappedPaginator,
    DateRangeFilter,
    ReasonForm,
    TransitionAction,
    TransitionAdminMixin,
    badge,
    error_message,
)
from shop.errors import DomainError

FULFILLMENT_PERM = permissions.FULFILMENT.name
# Orders a search by tracking number lists at most (a tracking number names one parcel).
EXACT_MATCHES = 1000
CORRECT_TRACKING = fulfillment_services.CORRECT_TRACKING


class CorrectTrackingForm(ShipForm):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown in the order's timeline with the old and new values."),
    )


def _fulfillment_actions() -> dict[str, TransitionAction]:
    return {
        "pack": TransitionAction(
            _("Pack"),
            FULFILLMENT_PERM,
            lambda f, actor, data: fulfillment_services.pack_fulfillment(
                fulfillment=f, actor=actor
            ),
            done=_("packed."),
        ),
        "ship": TransitionAction(
            _("Ship"),
            FULFILLMENT_PERM,
            lambda f, actor, data: fulfillment_services.ship_fulfillment(
                fulfillment=f,
                actor=actor,
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
            ),
            form=ShipForm,
            initial=lambda f: {"carrier": f.carrier, "tracking_number": f.tracking_number},
            done=_("shipped."),
        ),
        "deliver": TransitionAction(
            _("Mark delivered"),
            FULFILLMENT_PERM,
            lambda f, actor, data: fulfillment_services.deliver_fulfillment(
                fulfillment=f, actor=actor
            ),
            done=_("delivered."),
        ),
        "fail": TransitionAction(
            _("Mark failed"),
            FULFILLMENT_PERM,
            lambda f, actor, data: fulfillment_services.fail_fulfillment(
                fulfillment=f, actor=actor, reason=data["reason"]
            ),
            form=ReasonForm,
            danger=True,
            done=_("marked failed."),
        ),
        "retry": TransitionAction(
            _("Retry"),
            FULFILLMENT_PERM,
            lambda f, actor, data: fulfillment_services.retry_fulfillment(
                fulfillment=f, actor=actor, reason=data["reason"]
            ),
            form=ReasonForm,
            done=_("back to pending."),
        ),
        # Not a transition: the parcel keeps its state, the timeline records the change.
        CORRECT_TRACKING: TransitionAction(
            _("Correct tracking"),
            FULFILLMENT_PERM,
            lambda f, actor, data: fulfillment_services.update_tracking(
                fulfillment=f,
                actor=actor,
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
                reason=data["reason"],
            ),
            form=CorrectTrackingForm,
            initial=lambda f: {"carrier": f.carrier, "tracking_number": f.tracking_number},
            done=_("tracking details corrected."),
        ),
    }


class FulfillmentItemInline(admin.TabularInline):
    model = FulfillmentItem
    fields = ["order_item", "quantity"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_item")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Fulfillment)
class FulfillmentAdmin(TransitionAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "order_link",
        "status_badge",
        "carrier_display",
        "tracking",
        "shipped_at",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["status", ("shipped_at", DateRangeFilter), ("created_at", DateRangeFilter)]
    list_select_related = ["order"]
    search_fields = ["=tracking_number", "=order__order_number"]
    search_help_text = _("Exact tracking number or order number.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count whole tables
    paginator = CappedPaginator
    list_per_page = 50
    inlines = [FulfillmentItemInline]
    change_form_template = "admin/shop/change_form.html"
    change_list_template = "admin/fulfillment/fulfillment/change_list.html"
    fields = [
        "order_link",
        "status_badge",
        "carrier_display",
        "tracking",
        "exchange",
        "note",
        "shipped_at",
        "delivered_at",
        "created_at",
    ]
    readonly_fields = fields
    transition_actions = _fulfillment_actions()

    def available_transitions(self, obj) -> list[str]:
        """The state's transitions, and a correction of the tracking details on a parcel that
        has a carrier or number to correct and is not delivered yet."""
        names = super().available_transitions(obj)
        if obj.status != FulfillmentStatus.DELIVERED and (obj.carrier or obj.tracking_number):
            names.append(CORRECT_TRACKING)
        return names

    def get_search_results(self, request, queryset, search_term):
        """A tracking number as printed on the label ("6123 4567 8901") finds the parcel: the
        term is looked up as one normalised number first, then as the usual search."""
        number = normalize_tracking_number(search_term.strip())
        if number:
            exact = queryset.filter(tracking_number=number)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False  # parcels are created from their order ("Create fulfilment")

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # every change is a button; the page itself is read-only

    @admin.display(description=_("order"), ordering="order__order_number")
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.order_number)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=_("carrier"), ordering="carrier")
    def carrier_display(self, obj):
        return obj.carrier_name or "—"

    @admin.display(description=_("tracking number"), ordering="tracking_number")
    def tracking(self, obj):
        if not obj.tracking_number:
            return "—"
        if obj.tracking_url:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener" class="tracking-link">{}</a>',
                obj.tracking_url,
                obj.tracking_number,
            )
        return obj.tracking_number

    # -- bulk tracking import -----------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "pick-list.csv",
                self.admin_site.admin_view(
                    lambda request: pick_list_view(self.admin_site, request)
                ),
                name="fulfillment_pick_list",
            ),
            path(
                "unfulfilled/",
                self.admin_site.admin_view(lambda request: unfulfilled_view(self, request)),
                name="fulfillment_unfulfilled",
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="fulfillment_fulfillment_import",
            ),
            path(
                "import/<int:job_id>/",
                self.admin_site.admin_view(self.import_job_view),
                name="fulfillment_fulfillment_import_job",
            ),
            path(
                "import/<int:job_id>/status/",
                self.admin_site.admin_view(self.import_status_view),
                name="fulfillment_fulfillment_import_status",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Paste or upload rows; a dry run shows each row's outcome; confirming applies them."""
        if not request.user.has_perm(FULFILLMENT_PERM):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import tracking numbers"),
            "opts": self.opts,
            "text": "",
        }
        if request.method == "POST":
            upload = request.FILES.get("file")
            text = upload.read() if upload else request.POST.get("text", "")
            try:
                rows = imports.parse(text)
                if isinstance(text, bytes):
                    text = text.decode("utf-8-sig")
            except DomainError as error:
                context.update(text=text if isinstance(text, str) else "", error=error.message)
                return TemplateResponse(request, "admin/fulfillment/import.html", context)
            if "_apply" in request.POST:
                # Applied by a worker; this page follows its progress (fulfillment/tasks.py).
                job = start_tracking_import(
                    text=text, user=request.user, language=translation.get_language()
                )
                url = reverse("admin:fulfillment_fulfillment_import_job", args=[job.pk])
                return HttpResponseRedirect(url)
            planned = imports.plan(rows)
            context["text"] = text
            context.update(report=imports.Report(planned), stage="preview")
            report = context["report"]
            context["counts"] = {
                "new": report.count(imports.Action.NEW),
                "ship": report.count(imports.Action.SHIP),
                "skip": report.count(imports.Action.SKIP),
                "error": report.count(imports.Action.ERROR),
                "good": report.applied,
            }
        return TemplateResponse(request, "admin/fulfillment/import.html", context)

    def _import_job(self, request, job_id: int) -> Job:
        if not request.user.has_perm(FULFILLMENT_PERM):
            raise PermissionDenied
        return get_object_or_404(Job, pk=job_id, kind=TRACKING_IMPORT)

    def import_job_view(self, request, job_id: int):
        """An import being applied: a progress bar filling as rows apply, then the report."""
        job = self._import_job(request, job_id)
        rows = (job.result or {}).get("rows", [])
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import tracking numbers"),
            "opts": self.opts,
            "job": job,
            "rows": rows,
            "counts": tracking_import_counts(rows),
            "status_url": reverse("admin:fulfillment_fulfillment_import_status", args=[job.pk]),
        }
        return TemplateResponse(request, "admin/fulfillment/import_job.html", context)

    def import_status_view(self, request, job_id: int):
        job = self._import_job(request, job_id)
        return JsonResponse(
            {"status": job.status, "done": job.done, "total": job.total, "percent": job.percent}
        )


# ---------------------------------------------------------------------------------------------
# The order screens' parcels: the order page's section and button, the page that makes a
# parcel, the carrier filter and tracking-number search of the order list, the bulk action.


class CarrierFilter(admin.SimpleListFilter):
    title = _("carrier")
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        return [(c.code, c.name) for c in CARRIERS.values()]

    def queryset(self, request, queryset):
        code = self.value()
        if not code:
            return queryset
        match = Q()
        for name in names_of(code):
            match |= Q(carrier__iexact=name)
        return queryset.filter(Exists(Fulfillment.objects.filter(match, order=OuterRef("pk"))))


def _orders_with_tracking_number(term: str):
    return (
        Fulfillment.objects.filter(tracking_number=normalize_tracking_number(term))
        .order_by()
        .values_list("order_id", flat=True)[:EXACT_MATCHES]
    )


def _order_page_parcels(request, order, page, order_admin) -> dict:
    here = request.get_full_path()
    parcel_admin = order_admin.admin_site._registry[Fulfillment]
    parcels = list(
        Fulfillment.objects.filter(order=order)
        .select_related("exchange")
        .prefetch_related("items__order_item")
        .order_by("created_at", "id")
    )
    for parcel in parcels:
        parcel.buttons = parcel_admin.transition_buttons(request, parcel, here)
        parcel.badge_html = badge(parcel.status, parcel.get_status_display())
    return {"fulfillments": parcels}


def _order_page_buttons(request, order) -> list[tuple[str, str]]:
    if order.status not in fulfillment_services.FULFILLABLE or not request.user.has_perm(
        FULFILLMENT_PERM
    ):
        return []
    if not any(q.remaining > 0 for q in parcel_units(order).values()):
        return []
    return [(gettext("Create fulfilment"), reverse("admin:orders_order_fulfil", args=[order.pk]))]


def fulfil_view(order_admin, request, object_id):
    """Create a parcel: one quantity per line, all remaining units by default."""
    if not request.user.has_perm(FULFILLMENT_PERM):
        raise PermissionDenied
    order = order_admin.order_or_404(request, object_id)
    quantities = parcel_units(order)
    lines = [
        {
            "id": item.pk,
            "label": f"{item.title} ({item.sku})" if item.sku else item.title,
            "initial": quantities[item.pk].remaining,
            "help": gettext("%(remaining)s of %(ordered)s left to fulfil")
            % {"remaining": quantities[item.pk].remaining, "ordered": item.quantity},
        }
        for item in order.items.all()
    ]
    form = CreateFulfillmentForm(request.POST or None, lines=lines)
    if request.method == "POST" and form.is_valid() and not form.units():
        form.add_error(None, gettext("Choose at least one unit."))
    if request.method == "POST" and form.is_valid():
        try:
            parcel = fulfillment_services.create_fulfillment(
                order=order,
                actor=Actor.staff(request.user),
                items=[ItemUnits(pk, quantity) for pk, quantity in form.units().items()],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            form.add_error(None, error_message(error))
        else:
            order_admin.message_user(
                request,
                gettext("Fulfilment %(id)s created.") % {"id": parcel.pk},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
    return order_admin.units_page(
        request,
        order,
        form,
        gettext("Create fulfilment"),
        gettext("Choose the units this parcel carries."),
        gettext("Units"),
    )


@admin.action(description=_("Create fulfilments for all remaining units"), permissions=["fulfil"])
def create_fulfillments_action(order_admin, request, queryset):
    order_admin.bulk(
        request,
        queryset,
        lambda order, actor: fulfillment_services.create_fulfillment(order=order, actor=actor),
        lambda n: (
            ngettext("%(count)d fulfilment created.", "%(count)d fulfilments created.", n)
            % {"count": n}
        ),
    )


register_order_screen_part(
    OrderScreenPart(
        context=_order_page_parcels,
        buttons=_order_page_buttons,
        pages=[("fulfil/", fulfil_view, "orders_order_fulfil")],
        list_filters=[CarrierFilter],
        exact_search=_orders_with_tracking_number,
        actions=[create_fulfillments_action],
    )
)
