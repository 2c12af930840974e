"""Staff screens for what leaves the system: webhook endpoints (the signing secret is shown once),
the event log with each event's deliveries, and the deliveries themselves (failed ones are the
home screen's work queue) with a resend button."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from events import services, tasks
from events.models import (
    EVENT_TYPES,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Job,
    OutboxEvent,
    WebhookEndpoint,
)
from shop.admin_utils import CappedPaginator, badge

RESEND_PERM = "events.change_delivery"


def _deliver_after_commit() -> None:
    transaction.on_commit(lambda: tasks.request_deliveries(1), robust=True)


# ---------------------------------------------------------------------------------------------
# Endpoints


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "description", "types", "is_active", "failed_link", "created_at"]
    list_filter = ["is_active"]
    actions = ["rotate_secret"]

    @admin.display(description=_("event types"))
    def types(self, obj):
        return ", ".join(obj.event_types) or gettext("every event")

    @admin.display(description=_("failed deliveries"))
    def failed_link(self, obj):
        url = reverse("admin:events_delivery_changelist")
        count = obj.deliveries.filter(status=DeliveryStatus.FAILED).count()
        return format_html(
            '<a href="{}?endpoint__id__exact={}&status__exact=failed">{}</a>', url, obj.pk, count
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj)

    def _show_secret(self, request, obj):
        messages.warning(
            request,
            format_html(
                "{} <code class='signing-secret'>{}</code>",
                gettext("Signing secret of %(url)s, shown this once: copy it to the receiver now.")
                % {"url": obj.url},
                obj.secret,
            ),
        )

    @admin.action(description=_("Rotate the signing secret (shown once)"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            services.rotate_secret(endpoint)
            self._show_secret(request, endpoint)


# ---------------------------------------------------------------------------------------------
# Deliveries


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "ok", "response_status", "excerpt", "retry_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-number"]

    @admin.display(description=_("response"))
    def excerpt(self, obj):
        return format_html("<code>{}</code>", obj.response_excerpt[:300])

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryButtons:
    """A POST-only "Resend" URL for one delivery (the button on its page and in event pages)."""

    def resend_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(RESEND_PERM):
            raise PermissionDenied
        delivery = get_object_or_404(Delivery, pk=pk)
        with transaction.atomic():
            services.resend([delivery])
            _deliver_after_commit()
        messages.success(
            request, gettext("Delivery %(id)s will be attempted again now.") % {"id": delivery.pk}
        )
        return HttpResponseRedirect(reverse("admin:events_delivery_change", args=[pk]))


@admin.register(Delivery)
class DeliveryAdmin(DeliveryButtons, admin.ModelAdmin):
    list_display = [
        "id",
        "event_link",
        "channel",
        "recipient",
        "status_badge",
        "attempts",
        "last_attempt_at",
        "response_status",
        "next_attempt",
    ]
    list_filter = ["status", "channel", "endpoint"]
    list_select_related = ["event"]
    search_fields = ["=event__event_id", "=recipient"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedPaginator
    list_per_page = 50
    actions = ["resend_selected"]
    inlines = [AttemptInline]
    change_form_template = "admin/events/delivery/change_form.html"
    fields = [
        "event_link",
        "channel",
        "endpoint",
        "recipient",
        "language",
        "status_badge",
        "attempts",
        "last_attempt_at",
        "next_attempt",
        "delivered_at",
        "response_status",
        "response_excerpt",
        "created_at",
    ]
    readonly_fields = fields

    def get_urls(self):
        return [
            path(
                "<int:pk>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="events_delivery_resend",
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only; resending is a button

    @admin.display(description=_("event"), ordering="event")
    def event_link(self, obj):
        url = reverse("admin:events_outboxevent_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event.type)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=_("next attempt"))
    def next_attempt(self, obj):
        return obj.next_attempt_at if obj.status == DeliveryStatus.PENDING else "—"

    @admin.action(description=_("Resend the selected deliveries now"), permissions=["resend"])
    def resend_selected(self, request, queryset):
        with transaction.atomic():
            count = services.resend(list(queryset))
            _deliver_after_commit()
        self.message_user(
            request,
            ngettext(
                "%(count)s delivery will be attempted again.",
                "%(count)s deliveries will be attempted again.",
                count,
            )
            % {"count": count},
        )

    def has_resend_permission(self, request):
        return request.user.has_perm(RESEND_PERM)

    def render_change_form(self, request, context, *args, **kwargs):
        obj = kwargs.get("obj")
        if obj is not None and request.user.has_perm(RESEND_PERM):
            context["resend_url"] = reverse("admin:events_delivery_resend", args=[obj.pk])
        return super().render_change_form(request, context, *args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Events


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = [
        "channel",
        "recipient",
        "status_badge",
        "attempts",
        "last_attempt_at",
        "response_status",
        "excerpt",
        "log",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description=_("status"))
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=_("response"))
    def excerpt(self, obj):
        return format_html("<code>{}</code>", obj.response_excerpt[:120])

    @admin.display(description=_("attempts"))
    def log(self, obj):
        url = reverse("admin:events_delivery_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("log and resend"))

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "document", "created_at", "relayed_at", "delivery_state"]
    list_filter = ["type", "collection"]
    search_fields = ["=event_id", "=document_id"]
    search_help_text = _("Exact event id or document id.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedPaginator
    list_per_page = 50
    actions = ["resend_selected"]
    inlines = [DeliveryInline]
    fields = ["event_id", "type", "document", "created_at", "relayed_at", "pretty_payload"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("deliveries")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("document"))
    def document(self, obj):
        models = {
            "orders": "orders_order",
            "fulfillments": "fulfillment_fulfillment",
            "returns": "returns_return",
            "exchanges": "returns_exchange",
        }
        name = models.get(obj.collection)
        if name is None:
            return f"{obj.collection} {obj.document_id}"
        url = reverse(f"admin:{name}_change", args=[obj.document_id])
        return format_html('<a href="{}">{} {}</a>', url, obj.collection, obj.document_id)

    @admin.display(description=_("deliveries"))
    def delivery_state(self, obj):
        counts = {}
        for delivery in obj.deliveries.all():
            counts[delivery.status] = counts.get(delivery.status, 0) + 1
        return format_html(
            "{}",
            ", ".join(f"{n} {DeliveryStatus(s).label}" for s, n in sorted(counts.items())) or "—",
        )

    @admin.display(description=_("payload"))
    def pretty_payload(self, obj):
        text = json.dumps(json.loads(obj.payload), indent=2, ensure_ascii=False)
        return format_html('<pre class="payload">{}</pre>', text)

    @admin.action(description=_("Resend the selected events now"), permissions=["resend"])
    def resend_selected(self, request, queryset):
        with transaction.atomic():
            count = sum(services.resend_event(event) for event in queryset)
            _deliver_after_commit()
        self.message_user(
            request,
            ngettext(
                "%(count)s delivery will be attempted again.",
                "%(count)s deliveries will be attempted again.",
                count,
            )
            % {"count": count},
        )

    def has_resend_permission(self, request):
        return request.user.has_perm(RESEND_PERM)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    fields = ["kind", "status", "progress", "created_by", "created_at", "finished_at", "error"]
    readonly_fields = fields

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.done} / {obj.total}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
