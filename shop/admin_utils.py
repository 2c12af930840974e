"""Building blocks the staff screens share: a paginator that never counts a whole table, a date
range filter, status badges, money, and the transition buttons every state machine gets.

The admin adds no business rule of its own: a button runs one service with the staff user as
the actor, and a refused change comes back as the service's own message.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shop.actors import Actor
from shop.errors import DomainError, TransitionError

# ---------------------------------------------------------------------------------------------
# Lists that stay fast on millions of rows


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows (``SELECT COUNT(*) FROM (… LIMIT cap + 1)``), never a table.

    Past the cap the list says "more than …" and offers the pages up to it; narrowing with a
    filter or a search is how staff reach anything further back.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        # Only the keys, in no particular order: annotations and sorting cost nothing here.
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


class DateRangeFilter(admin.FieldListFilter):
    """From and to dates (inclusive, in the shop's time zone) on a date-time field."""

    template = "admin/shop/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_gte = f"{field_path}__gte"
        self.lookup_lt = f"{field_path}__lt"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = getattr(field, "verbose_name", field_path)

    def expected_parameters(self):
        return [self.lookup_gte, self.lookup_lt]

    def _value(self, name: str) -> str:
        value = self.used_parameters.get(name)
        if isinstance(value, list):
            value = value[-1] if value else None
        return value or ""

    @staticmethod
    def _start_of(value: str) -> datetime | None:
        """The moment a ``YYYY-MM-DD`` (or full ISO date-time) starts, in the current zone."""
        if not value:
            return None
        day = parse_date(value[:10])
        if day is None:
            raise admin.options.IncorrectLookupParameters(value)
        if len(value) > 10:
            parsed = datetime.fromisoformat(value)
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        return timezone.make_aware(datetime.combine(day, time.min))

    def queryset(self, request, queryset):
        try:
            start = self._start_of(self._value(self.lookup_gte))
            end = self._value(self.lookup_lt)
            end_at = self._start_of(end)
        except ValueError as error:
            raise admin.options.IncorrectLookupParameters(error) from error
        if start:
            queryset = queryset.filter(**{self.lookup_gte: start})
        if end_at:
            if len(end) <= 10:  # a date is inclusive: up to the start of the next day
                end_at += timedelta(days=1)
            queryset = queryset.filter(**{self.lookup_lt: end_at})
        return queryset

    def choices(self, changelist):
        # One "choice": the form itself. The template reads the current values from here.
        yield {
            "selected": bool(self._value(self.lookup_gte) or self._value(self.lookup_lt)),
            "gte_name": self.lookup_gte,
            "lt_name": self.lookup_lt,
            "gte_value": self._value(self.lookup_gte)[:10],
            "lt_value": self._value(self.lookup_lt)[:10],
            "clear_url": changelist.get_query_string(remove=[self.lookup_gte, self.lookup_lt]),
            "other_params": [
                (key, value)
                for key, values in changelist.params.items()
                if key not in (self.lookup_gte, self.lookup_lt, "p")
                for value in (values if isinstance(values, list) else [values])
            ],
        }


# ---------------------------------------------------------------------------------------------
# Rendering


BADGE_COLOURS = {
    # order
    "pending": "grey",
    "paid": "blue",
    "failed": "red",
    "canceled": "black",
    "preparing": "amber",
    "shipped": "purple",
    "delivered": "green",
    "confirmed": "teal",
    "return_requested": "orange",
    "return_processing": "orange",
    "returned": "brown",
    # fulfilment, return, exchange, transaction
    "packed": "amber",
    "requested": "orange",
    "approved": "blue",
    "rejected": "black",
    "processing": "amber",
    "completed": "green",
}


def badge(value: str, label: Any = None):
    """A coloured pill for a status value (colour by value, text is its translated label)."""
    colour = BADGE_COLOURS.get(value, "grey")
    return format_html(
        '<span class="badge badge-{}" data-status="{}">{}</span>', colour, value, label or value
    )


ZERO_DECIMAL_CURRENCIES = {"KRW", "JPY", "VND", "CLP", "ISK", "TWD", "HUF"}


def money(amount: int | None, currency: str = "KRW") -> str:
    """An amount in minor units, written for people: ``59,000 KRW``, ``12.50 USD``."""
    if amount is None:
        return "—"
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{amount:,} {currency}"
    return f"{amount / 100:,.2f} {currency}"


def error_message(error: DomainError) -> str:
    """The text staff see for a refused change: the service's message, and where it can go."""
    if isinstance(error, TransitionError):
        allowed = ", ".join(error.allowed) or gettext("none")
        return gettext("%(message)s (current state: %(current)s; possible next: %(allowed)s)") % {
            "message": error.message,
            "current": error.current,
            "allowed": allowed,
        }
    return error.message


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# ---------------------------------------------------------------------------------------------
# Transition buttons


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class RequiredReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


@dataclass(frozen=True)
class TransitionAction:
    """A button for one transition of a state machine: which service runs it and who may.

    ``run(obj, actor, data)`` calls the service; ``form`` (a class, or a callable taking the
    object and returning one) asks for what the service needs first.
    """

    label: Any
    permission: str
    run: Callable[[Any, Actor, dict], Any]
    form: Any = None
    danger: bool = False
    done: Any = ""
    initial: Callable[[Any], dict] | None = None

    def form_class(self, obj):
        if self.form is None:
            return None
        if isinstance(self.form, type) and issubclass(self.form, forms.BaseForm):
            return self.form
        return self.form(obj)


@dataclass
class Button:
    name: str
    label: Any
    url: str
    needs_form: bool
    danger: bool


class TransitionAdminMixin:
    """Buttons for the transitions an object's current state allows and the user may run.

    Which transitions exist comes from the model's state machine (its ``@transition`` methods
    whose source is the current state); ``transition_actions`` only says which service runs each
    one and which permission it needs. Transitions the services run by themselves (an order
    follows its parcels) have no entry, hence no button.
    """

    transition_actions: dict[str, TransitionAction] = {}
    state_field = "status"

    def available_transitions(self, obj) -> list[str]:
        current = getattr(obj, self.state_field)
        names: list[str] = []
        for transition in getattr(obj, f"get_all_{self.state_field}_transitions")():
            if transition.source in (current, "*") and transition.name not in names:
                names.append(transition.name)
        return names

    def transition_buttons(self, request, obj, next_url: str = "") -> list[Button]:
        buttons = []
        for name in self.available_transitions(obj):
            action = self.transition_actions.get(name)
            if action is None or not request.user.has_perm(action.permission):
                continue
            url = reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_run",
                args=[obj.pk, name],
            )
            if next_url:
                url += f"?next={next_url}"
            buttons.append(
                Button(name, action.label, url, action.form_class(obj) is not None, action.danger)
            )
        return buttons

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/run/<str:name>/",
                self.admin_site.admin_view(self.run_transition_view),
                name="{}_{}_run".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context.setdefault("transition_buttons", self.transition_buttons(request, obj))
        return super().change_view(request, object_id, form_url, extra_context)

    def run_transition_view(self, request, object_id, name):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(gettext("Not found."))
        action = self.transition_actions.get(name)
        if action is None:
            raise Http404(gettext("No such action."))
        if not request.user.has_perm(action.permission):
            raise PermissionDenied
        change_url = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[obj.pk],
        )
        back = safe_next(request, change_url)
        form_class = action.form_class(obj)
        data: dict = {}
        if form_class is not None:
            initial = action.initial(obj) if action.initial else None
            form = form_class(request.POST or None, initial=initial)
            if request.method != "POST" or not form.is_valid():
                return self.render_action_form(request, obj, action, form, back)
            data = form.cleaned_data
        elif request.method != "POST":
            return HttpResponseRedirect(back)
        try:
            action.run(obj, Actor.staff(request.user), data)
        except DomainError as error:
            if form_class is None:
                self.message_user(request, error_message(error), messages.ERROR)
                return HttpResponseRedirect(back)
            # Nothing was written: show the form again with the service's reason.
            form.add_error(None, error_message(error))
            return self.render_action_form(request, obj, action, form, back)
        self.message_user(request, f"{obj}: {action.done or gettext('Done.')}", messages.SUCCESS)
        return HttpResponseRedirect(back)

    def render_action_form(self, request, obj, action, form, back):
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.label}: {obj}",
            "opts": self.opts,
            "original": obj,
            "form": form,
            "intro": getattr(form, "intro", ""),
            "action": action,
            "back": back,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/shop/action_form.html", context)


# ---------------------------------------------------------------------------------------------
# Bulk actions: one summary, never one banner per row

# Why a row was skipped, in words, by the state it is in (the same words for every machine
# that has the state); a state not listed is reported by the service's own message.
SKIP_REASONS = {
    "pending": _("not paid yet"),
    "failed": _("payment failed"),
    "canceled": _("canceled"),
    "preparing": _("already being prepared"),
    "shipped": _("already shipped"),
    "delivered": _("already delivered"),
    "confirmed": _("already confirmed"),
    "return_requested": _("in a return"),
    "return_processing": _("in a return"),
    "returned": _("returned"),
}
# Names listed per group before "and N more".
NAMES_SHOWN = 10


@dataclass
class BulkOutcome:
    """What a bulk action did: the rows it changed, and the ones it skipped grouped by why."""

    changed: list[str]
    skipped: dict[str, list[str]]

    @property
    def skipped_count(self) -> int:
        return sum(len(names) for names in self.skipped.values())


def skip_reason(obj, error: DomainError) -> str:
    state = error.current if isinstance(error, TransitionError) else getattr(obj, "status", "")
    if state in SKIP_REASONS:
        return str(SKIP_REASONS[state])
    return error.message.replace(str(obj), "…")


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        more = len(names) - NAMES_SHOWN
        shown += " " + gettext("and %(count)s more") % {"count": more}
    return shown


def run_bulk(modeladmin, request, objects, run, *, done=None, reason=skip_reason) -> BulkOutcome:
    """Run ``run(obj, actor)`` on each object (each its own service call, so one refusal leaves
    the others done) and report once: which changed, by name, and which were skipped, grouped
    by reason ("3 orders skipped: not paid yet (DEMO-0003, …)")."""
    actor = Actor.staff(request.user)
    outcome = BulkOutcome(changed=[], skipped={})
    for obj in objects:
        try:
            run(obj, actor)
        except DomainError as error:
            outcome.skipped.setdefault(reason(obj, error), []).append(str(obj))
        else:
            outcome.changed.append(str(obj))
    report_bulk(modeladmin, request, outcome, done=done)
    return outcome


def report_bulk(modeladmin, request, outcome: BulkOutcome, *, done=None) -> None:
    """``done(count)`` says what happened to the changed rows ("2 orders are now preparing.");
    without it, "2 orders changed"."""
    opts = modeladmin.opts

    def things(count: int) -> str:
        return str(opts.verbose_name if count == 1 else opts.verbose_name_plural)

    if outcome.changed:
        count = len(outcome.changed)
        if done is not None:
            summary = str(done(count))
        else:
            summary = gettext("%(count)s %(things)s changed.") % {
                "count": count,
                "things": things(count),
            }
        modeladmin.message_user(request, f"{summary} {_names(outcome.changed)}", messages.SUCCESS)
    if outcome.skipped:
        lines = [
            gettext("%(count)s %(things)s skipped: %(reason)s (%(names)s)")
            % {
                "count": len(names),
                "things": things(len(names)),
                "reason": reason,
                "names": _names(names),
            }
            for reason, names in sorted(outcome.skipped.items(), key=lambda kv: -len(kv[1]))
        ]
        message = format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))
        modeladmin.message_user(request, message, messages.WARNING)
