"""Reads about an order's units and money that more than one service needs, and the order's
timeline in sentences."""

import re
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db.models import OuterRef, Q, Subquery, Sum, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders.models import (
    Order,
    OrderComment,
    Transaction,
    TransactionKind,
    TransactionStatus,
    TransitionLog,
    payment_method_label,
)
from shop.actors import ActorKind
from shop.admin_utils import money


@dataclass
class ItemQuantities:
    """Where an order line's units are. Replacement parcels of exchanges are not counted.

    The apps under an order fill in what they hold (``fulfillment.selectors.parcel_units``:
    allocated, shipped, delivered; ``returns.selectors.item_quantities``: all of it) and hand
    it to the order's services, which move the order from it."""

    ordered: int = 0
    allocated: int = 0  # in a fulfilment of any state (a failed one is retried, not dropped)
    shipped: int = 0  # in a shipped or delivered fulfilment
    delivered: int = 0
    claimed: int = 0  # asked back by a return or exchange that was not rejected
    returned: int = 0  # in a completed return

    @property
    def remaining(self) -> int:
        return self.ordered - self.allocated

    @property
    def claimable(self) -> int:
        return self.delivered - self.claimed


def units_of(model, *, statuses=None, **filters) -> Coalesce:
    """Units of the outer order line in ``model`` rows matching the filters (0 when none): the
    child apps (parcels, returns) annotate order lines with it."""
    rows = model.objects.filter(order_item=OuterRef("pk"), **filters)
    if statuses is not None:
        rows = rows.filter(**statuses)
    total = rows.order_by().values("order_item").annotate(units=Sum("quantity")).values("units")
    return Coalesce(Subquery(total), 0)


@dataclass
class Money:
    paid: int
    refunded: int

    @property
    def refundable(self) -> int:
        return self.paid - self.refunded


def order_money(order: Order) -> Money:
    """What has come in (paid payments) and gone out (paid refunds) for an order."""
    sums = Transaction.objects.filter(order=order, status=TransactionStatus.PAID).aggregate(
        paid=Sum("amount", filter=Q(kind=TransactionKind.PAYMENT), default=0),
        refunded=Sum("amount", filter=Q(kind=TransactionKind.REFUND), default=0),
    )
    return Money(paid=sums["paid"], refunded=sums["refunded"])


# ---------------------------------------------------------------------------------------------
# The order's timeline in sentences: "Kim (Payments) marked the payment of 260,000 KRW paid".
#
# ``orders`` imports none of the apps under an order, so their rows are read through the
# timeline entry's content type and named here by model name; a transition without a phrase of
# its own is told by the state it reached ("… moved return 3 to Processing").

# Group names of the staff roles (the migration's groups), so that they are translated.
STAFF_ROLES = {
    "Payments": _("Payments"),
    "Warehouse": _("Warehouse"),
    "Customer service": _("Customer service"),
    "Manager": _("Manager"),
}

# (model name, transition) → the sentence; %(actor)s is who did it.
PHRASES = {
    ("order", "pay"): _("%(actor)s marked order %(order)s paid"),
    ("order", "fail"): _("%(actor)s marked the payment of order %(order)s failed"),
    ("order", "retry"): _("%(actor)s set order %(order)s to wait for payment again"),
    ("order", "cancel"): _("%(actor)s canceled order %(order)s"),
    ("order", "start_preparing"): _("%(actor)s started preparing order %(order)s"),
    ("order", "ship"): _("%(actor)s marked order %(order)s shipped"),
    ("order", "deliver"): _("%(actor)s marked order %(order)s delivered"),
    ("order", "confirm"): _("%(actor)s confirmed the purchase of order %(order)s"),
    ("payment", "mark_paid"): _("%(actor)s marked the payment of %(amount)s paid"),
    ("payment", "mark_failed"): _("%(actor)s marked the payment of %(amount)s failed"),
    ("payment", "void"): _("%(actor)s voided the payment of %(amount)s"),
    ("refund", "mark_paid"): _("%(actor)s refunded %(amount)s"),
    ("refund", "mark_failed"): _("%(actor)s marked the refund of %(amount)s failed"),
    ("refund", "void"): _("%(actor)s canceled the refund of %(amount)s"),
    ("fulfillment", "pack"): _("%(actor)s packed parcel %(number)s"),
    ("fulfillment", "ship"): _("%(actor)s shipped parcel %(number)s with %(carrier)s %(tracking)s"),
    ("fulfillment", "deliver"): _("%(actor)s marked parcel %(number)s delivered"),
    ("fulfillment", "fail"): _("%(actor)s marked parcel %(number)s failed"),
    ("fulfillment", "retry"): _("%(actor)s sent parcel %(number)s back to pending"),
    ("fulfillment", "correct_tracking"): _(
        "%(actor)s corrected the tracking of parcel %(number)s to %(carrier)s %(tracking)s"
    ),
    ("return", "approve"): _("%(actor)s approved return %(number)s"),
    ("return", "reject"): _("%(actor)s rejected return %(number)s"),
    ("return", "start_processing"): _("%(actor)s received the parcel of return %(number)s"),
    ("return", "complete"): _("%(actor)s completed return %(number)s"),
    ("exchange", "approve"): _("%(actor)s approved exchange %(number)s"),
    ("exchange", "reject"): _("%(actor)s rejected exchange %(number)s"),
    ("exchange", "start_processing"): _("%(actor)s received the parcel of exchange %(number)s"),
    ("exchange", "complete"): _("%(actor)s completed exchange %(number)s"),
}
# A move without a phrase of its own, by what moved.
MOVED = {
    "order": _("%(actor)s moved order %(order)s to %(state)s"),
    "payment": _("%(actor)s moved the payment of %(amount)s to %(state)s"),
    "refund": _("%(actor)s moved the refund of %(amount)s to %(state)s"),
    "fulfillment": _("%(actor)s moved parcel %(number)s to %(state)s"),
    "return": _("%(actor)s moved return %(number)s to %(state)s"),
    "exchange": _("%(actor)s moved exchange %(number)s to %(state)s"),
}
MOVED_OTHER = _("%(actor)s moved %(subject)s %(number)s to %(state)s")
CHANGED_OTHER = _("%(actor)s changed %(subject)s %(number)s")

# The reasons the services write by themselves, in words staff read in their language.
MACHINE_REASONS = {
    "every unit shipped": _("every unit shipped"),
    "every unit delivered": _("every unit delivered"),
    "payment received": _("payment received"),
    "order canceled": _("order canceled"),
    "paid at creation": _("paid at creation"),
    "replacement delivered": _("replacement delivered"),
}
REQUEST_REASONS = {
    ("return", ""): _("for return %(number)s"),
    ("return", "requested"): _("return %(number)s requested"),
    ("return", "approved"): _("return %(number)s approved"),
    ("return", "rejected"): _("return %(number)s rejected"),
    ("return", "completed"): _("return %(number)s completed"),
    ("exchange", ""): _("for exchange %(number)s"),
    ("exchange", "requested"): _("exchange %(number)s requested"),
    ("exchange", "approved"): _("exchange %(number)s approved"),
    ("exchange", "rejected"): _("exchange %(number)s rejected"),
    ("exchange", "completed"): _("exchange %(number)s completed"),
}
REQUEST_REASON = re.compile(
    r"^(return|exchange) (\d+)(?: (requested|approved|rejected|completed))?$"
)


@dataclass
class TimelineLine:
    """One timeline entry as staff read it: a change (``entry``) or a staff comment
    (``staff_comment``, with ``entry`` None)."""

    entry: TransitionLog | None
    actor: str  # "Kim (Payments)"
    sentence: str  # "Kim (Payments) marked the payment of 260,000 KRW paid"
    details: list[str]  # what the move was made with: "Bank transfer", "reference 김민지"
    comment: str  # the reason (typed by staff, or the services' own in words), or the comment
    comment_by_staff: bool
    state_changed: bool
    staff_comment: OrderComment | None = None

    @property
    def created_at(self):
        return (self.entry or self.staff_comment).created_at

    @property
    def is_staff_comment(self) -> bool:
        return self.staff_comment is not None


def order_timeline(order: Order) -> list[TimelineLine]:
    """The order's timeline, oldest first, in sentences, its changes and staff comments in time
    order: the log in one query, the comments in one, the groups of everyone named in one, and
    each kind of row the log names in one (a bounded count, whatever its length)."""
    entries = list(
        TransitionLog.objects.filter(order=order)
        .select_related("content_type", "actor_user")
        .order_by("created_at", "id")
    )
    comments = list(
        OrderComment.objects.filter(order=order)
        .select_related("author")
        .order_by("created_at", "id")
    )
    people = [e.actor_user for e in entries if e.actor_user] + [
        c.author for c in comments if c.author
    ]
    prefetch_related_objects(people, "groups")
    ids: dict[type, set[int]] = defaultdict(set)
    for entry in entries:
        model = entry.content_type.model_class()
        if model is not None and model is not Order:
            ids[model].add(entry.object_id)
    subjects = {model: model.objects.in_bulk(pks) for model, pks in ids.items()}
    lines = []
    for entry in entries:
        model = entry.content_type.model_class()
        subject = order if model is Order else subjects.get(model, {}).get(entry.object_id)
        lines.append(timeline_line(entry, order=order, subject=subject))
    lines.extend(comment_line(comment) for comment in comments)
    # A change and a comment in the same millisecond: the change first.
    lines.sort(key=lambda line: (line.created_at, line.is_staff_comment))
    return lines


def comment_line(comment: OrderComment) -> TimelineLine:
    """A staff comment: "Kim (Customer service) commented:" over what they wrote."""
    actor = _staff_name(comment.author, comment.author_label)
    return TimelineLine(
        entry=None,
        actor=actor,
        sentence=gettext("%(actor)s commented:") % {"actor": actor},
        details=[],
        comment=comment.body,
        comment_by_staff=True,
        state_changed=False,
        staff_comment=comment,
    )


def timeline_line(entry: TransitionLog, *, order: Order, subject=None) -> TimelineLine:
    """One entry in a sentence, in the active language. ``subject`` is the row it is about
    (None when it is gone: the sentence then names it by id)."""
    model = entry.content_type.model_class()
    kind = _subject_kind(model, subject)
    actor = actor_name(entry)
    values = {
        "actor": actor,
        "order": order.order_number,
        "number": entry.object_id,
        "state": _state_label(model, entry.target),
        "subject": model._meta.verbose_name if model is not None else entry.content_type.model,
        "amount": money(subject.amount, order.currency) if kind in ("payment", "refund") else "",
        "carrier": "",
        "tracking": "",
    }
    changes = entry.changes or {}
    if kind == "fulfillment":
        values["carrier"] = _carrier_name(subject, changes)
        values["tracking"] = _changed_to(changes, "tracking_number") or getattr(
            subject, "tracking_number", ""
        )
    phrase = PHRASES.get((kind, entry.transition))
    if phrase is None:
        moved = entry.source != entry.target
        phrase = MOVED.get(kind, MOVED_OTHER) if moved else CHANGED_OTHER
    sentence = " ".join((str(phrase) % values).split())  # no double space for a blank value
    comment, by_staff = _comment(entry)
    return TimelineLine(
        entry=entry,
        actor=actor,
        sentence=sentence,
        details=_details(model, kind, changes),
        comment=comment,
        comment_by_staff=by_staff,
        state_changed=entry.source != entry.target,
    )


def actor_name(entry: TransitionLog) -> str:
    """Who did it, as staff know them: "Kim (Payments)", "System", "Storefront (API key)"."""
    if entry.actor_kind == ActorKind.STAFF:
        return _staff_name(entry.actor_user, entry.actor_label)
    if entry.actor_kind == ActorKind.API_KEY:
        return gettext("%(name)s (API key)") % {"name": entry.actor_label}
    if entry.actor_kind == ActorKind.CUSTOMER:
        email = entry.actor_label.partition(" ")[2] or entry.actor_label
        return gettext("%(name)s (customer)") % {"name": email}
    return gettext("System")


def _staff_name(user, label: str) -> str:
    """ "Kim (Payments)": the name, and the roles (groups) in words; the recorded label when
    the account is gone."""
    name = (user.get_full_name() or user.get_username()) if user else label
    role = _staff_role(user)
    return f"{name} ({role})" if role else name


def _staff_role(user) -> str:
    if user is None:
        return ""
    names = sorted(group.name for group in user.groups.all())
    if names:
        return ", ".join(str(STAFF_ROLES.get(name, name)) for name in names)
    return gettext("Administrator") if user.is_superuser else ""


def _subject_kind(model, subject) -> str:
    if model is None:
        return ""
    name = model._meta.model_name
    if name == "transaction":
        return getattr(subject, "kind", "") if subject is not None else ""
    return name


def _state_label(model, value: str) -> str:
    try:
        choices = dict(model._meta.get_field("status").choices)
    except Exception:  # a model without a status field: the raw value
        return value
    return str(choices.get(value, value))


def _changed_to(changes: dict, name: str) -> str:
    change = changes.get(name)
    return (change or {}).get("to") or ""


def _carrier_name(subject, changes: dict) -> str:
    """The carrier by name: the parcel names its own (it knows the carriers); one changed
    since is shown as recorded."""
    carrier = _changed_to(changes, "carrier") or getattr(subject, "carrier", "")
    if subject is not None and carrier == getattr(subject, "carrier", None):
        return getattr(subject, "carrier_name", carrier) or carrier
    return carrier


def _details(model, kind: str, changes: dict) -> list[str]:
    """What the move was made with (a payment's method and reference), and each detail a
    correction changed, from → to."""
    lines = []
    if kind in ("payment", "refund"):
        method = _changed_to(changes, "payment_method")
        if method:
            lines.append(str(payment_method_label(method)))
        reference = _changed_to(changes, "reference")
        if reference:
            lines.append(gettext("reference %(reference)s") % {"reference": reference})
    for name, change in changes.items():
        if change.get("from"):
            label = _field_label(model, name)
            lines.append(f"{label}: {change['from']} → {change.get('to') or '—'}")
    return lines


def _field_label(model, name: str) -> str:
    try:
        return capfirst(model._meta.get_field(name).verbose_name)
    except (AttributeError, FieldDoesNotExist):  # a field since renamed: the stored name
        return name


def _comment(entry: TransitionLog) -> tuple[str, bool]:
    reason = (entry.reason or "").strip()
    if not reason:
        return "", False
    if reason in MACHINE_REASONS:
        return str(MACHINE_REASONS[reason]), False
    match = REQUEST_REASON.match(reason)
    if match:
        what, number, verb = match.groups()
        return str(REQUEST_REASONS[(what, verb or "")]) % {"number": number}, False
    return reason, entry.actor_kind == ActorKind.STAFF
