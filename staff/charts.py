"""The home screen's charts over the last 30 days, drawn on the server as inline SVG.

Three charts, one small query each, whatever the shop's size. On PostgreSQL the orders and
revenue per day and the time from payment to shipment are read from rollups the database keeps
exact on every write (``orders.OrderSlotTotal`` and ``fulfillment.ShipmentLeadSlot``, per
quarter hour, maintained by triggers; see their migrations): a month is at most a few thousand
small rows, where counting the rows themselves meant reading some 40,000 orders and 40,000
parcels with their payments at a million orders. Elsewhere (the SQLite demo) the same figures
are counted from the rows (``direct_*`` below, which the tests also compare the rollups with).
Returns by reason count the returns of the window (a few thousand) through their created_at
index.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fulfillment.models import Fulfillment, ShipmentLeadSlot
from orders.models import Order, OrderSlotTotal, Transaction, TransactionKind, TransactionStatus
from returns.models import Return, ReturnReason
from shop.admin_utils import money

DAYS = 30
# The SVG's drawing box; the browser scales it to the card's width.
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 600, 180, 44, 22, 10

# Orders whose money counts as revenue: paid, and what follows payment. The rollup's trigger
# (orders migration 0009) names the same statuses.
UNPAID = ("pending", "failed", "canceled")

# Payment → shipment, in buckets a shop reads at a glance (upper bounds in hours). The rollup's
# trigger (fulfillment migration 0007) buckets with the same bounds, by index in this list.
LEAD_BUCKETS = [
    (24, _("within 1 day")),
    (48, _("1–2 days")),
    (72, _("2–3 days")),
    (120, _("3–5 days")),
    (None, _("over 5 days")),
]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what the bar stands for (a day, a reason)
    value: int
    value_display: str
    key: str = ""


@dataclass
class Chart:
    key: str
    title: str
    bars: list[Bar]
    total_display: str
    empty: bool
    axis: list[dict] = field(default_factory=list)  # gridlines: {"y", "label"}
    ticks: list[dict] = field(default_factory=list)  # x labels: {"x", "label"}
    horizontal: bool = False
    width: int = WIDTH
    height: int = HEIGHT


def _window(now: datetime) -> tuple[date, datetime]:
    first_day = timezone.localdate(now) - timedelta(days=DAYS - 1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    return first_day, start


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (so gridlines fall on round numbers)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _short(value: float) -> str:
    """Axis labels: 1,200,000 → 1.2M, 35,000 → 35K, 2.5 → 2.5."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K"), (1, "")):
        if abs(value) >= size or size == 1:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return str(value)


def _day_chart(key, title, days: list[date], values: dict[date, int], display, total) -> Chart:
    top = _nice_ceiling(max(values.values(), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / len(days)
    bars = []
    for index, day in enumerate(days):
        value = values.get(day, 0)
        height = plot_h * value / top
        bars.append(
            Bar(
                x=round(PAD_LEFT + index * slot + slot * 0.15, 1),
                y=round(PAD_TOP + plot_h - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=formats.date_format(day, "SHORT_DATE_FORMAT"),
                value=value,
                value_display=display(value),
                key=day.isoformat(),
            )
        )
    axis = [
        {"y": round(PAD_TOP + plot_h * (1 - share), 1), "label": _short(top * share)}
        for share in (0, 0.5, 1)
    ]
    ticks = [
        {
            "x": round(PAD_LEFT + index * slot + slot / 2, 1),
            "label": day.strftime("%m-%d"),
            "anchor": "end" if index == len(days) - 1 else "middle",
        }
        for index, day in enumerate(days)
        # Every week from the first day, and the last day (unless a week's label is too close).
        if (index % 7 == 0 and len(days) - 1 - index >= 4) or index == len(days) - 1
    ]
    return Chart(
        key=key,
        title=title,
        bars=bars,
        total_display=total,
        empty=not any(values.values()),
        axis=axis,
        ticks=ticks,
    )


def _category_chart(key, title, rows: list[tuple[str, str, int]], total_display) -> Chart:
    """Horizontal bars, one per category (``(key, label, count)``), longest first."""
    rows = sorted(rows, key=lambda row: -row[2])
    top = max((count for _key, _label, count in rows), default=0) or 1
    label_w, row_h = 150, 26
    plot_w = WIDTH - label_w - 50
    bars = [
        Bar(
            x=label_w,
            y=index * row_h + 4,
            width=round(plot_w * count / top, 1),
            height=row_h - 8,
            label=str(label),
            value=count,
            value_display=f"{count:,}",
            key=row_key,
        )
        for index, (row_key, label, count) in enumerate(rows)
    ]
    return Chart(
        key=key,
        title=title,
        bars=bars,
        total_display=total_display,
        empty=not any(count for _key, _label, count in rows),
        horizontal=True,
        height=max(len(rows), 1) * row_h + 8,
    )


def _rollups() -> bool:
    """Whether the database keeps the rollups (their triggers are PostgreSQL's)."""
    return connection.vendor == "postgresql"


def direct_orders_per_day(start: datetime) -> dict[date, tuple[int, int]]:
    """``{day: (orders, revenue)}`` counted from the orders themselves."""
    zone = timezone.get_current_timezone()
    rows = (
        Order.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(
            orders=Count("id"),
            revenue=Sum("total_amount", filter=~Q(status__in=UNPAID), default=0),
        )
    )
    return {row["day"]: (row["orders"], row["revenue"]) for row in rows}


def totals_per_day(start: datetime) -> dict[date, tuple[int, int]]:
    """``{day: (orders, revenue)}`` of the orders placed since ``start`` (a local midnight)."""
    if not _rollups():
        return direct_orders_per_day(start)
    zone = timezone.get_current_timezone()
    rows = (
        OrderSlotTotal.objects.filter(slot__gte=start)
        .annotate(day=TruncDate("slot", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(orders=Sum("orders"), revenue=Sum("revenue"))
    )
    return {row["day"]: (row["orders"], row["revenue"]) for row in rows if row["orders"]}


def month_totals(request) -> dict[date, tuple[int, int]]:
    """``totals_per_day`` over the charts' window, read once a request (the home's "today"
    figures and the charts share it)."""
    found = getattr(request, "_shop_month_totals", None)
    if found is None:
        found = request._shop_month_totals = totals_per_day(_window(timezone.now())[1])
    return found


def orders_per_day(totals: dict[date, tuple[int, int]], days: list[date]) -> tuple[Chart, Chart]:
    counts = {day: orders for day, (orders, _revenue) in totals.items()}
    revenue = {day: amount for day, (_orders, amount) in totals.items()}
    currency = settings.SHOP_CURRENCY
    orders_chart = _day_chart(
        "orders_per_day",
        gettext("Orders per day"),
        days,
        counts,
        lambda n: f"{n:,}",
        gettext("%(count)s orders") % {"count": f"{sum(counts.values()):,}"},
    )
    revenue_chart = _day_chart(
        "revenue_per_day",
        gettext("Revenue per day (paid orders)"),
        days,
        revenue,
        lambda n: money(n, currency),
        money(sum(revenue.values()), currency),
    )
    return orders_chart, revenue_chart


def direct_lead_buckets(start: datetime) -> list[int]:
    """Parcels shipped since ``start`` (not an exchange's replacement) per bucket of
    ``LEAD_BUCKETS``, by the time from the order's latest paid payment at or before the
    shipment, counted from the parcels themselves."""
    paid_at = (
        Transaction.objects.filter(
            order=OuterRef("order_id"),
            kind=TransactionKind.PAYMENT,
            status=TransactionStatus.PAID,
            created_at__lte=OuterRef("shipped_at"),
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    lead = ExpressionWrapper(F("shipped_at") - Subquery(paid_at), output_field=DurationField())
    leads = (
        Fulfillment.objects.filter(shipped_at__gte=start, exchange__isnull=True)
        .order_by()
        .annotate(lead=lead)
        .values_list("lead", flat=True)
    )
    counted = [0] * len(LEAD_BUCKETS)
    bounds = [timedelta(hours=hours) if hours else None for hours, _label in LEAD_BUCKETS]
    for value in leads.iterator(chunk_size=5000):
        if value is None:  # an order without a recorded payment
            continue
        for index, bound in enumerate(bounds):
            if bound is None or value < bound:
                counted[index] += 1
                break
    return counted


def lead_buckets(start: datetime) -> list[int]:
    if not _rollups():
        return direct_lead_buckets(start)
    counted = [0] * len(LEAD_BUCKETS)
    rows = (
        ShipmentLeadSlot.objects.filter(slot__gte=start)
        .order_by()
        .values_list("bucket")
        .annotate(n=Sum("parcels"))
    )
    for bucket, n in rows:
        counted[bucket] += n
    return counted


def payment_to_shipment(start: datetime) -> Chart:
    """Hours from an order's payment to each of its parcels leaving, for parcels shipped in the
    window; replacement parcels of exchanges are not counted (nobody paid for them)."""
    counted = {f"b{index}": n for index, n in enumerate(lead_buckets(start))}
    rows = [
        (f"b{index}", label, counted[f"b{index}"] or 0)
        for index, (_hours, label) in enumerate(LEAD_BUCKETS)
    ]
    total = sum(count for _key, _label, count in rows)
    quick = sum(count for key, _label, count in rows if key in ("b0", "b1"))
    summary = (
        gettext("%(share)s%% of %(count)s parcels within 2 days")
        % {"share": round(100 * quick / total), "count": f"{total:,}"}
        if total
        else gettext("No parcels shipped")
    )
    chart = _category_chart(
        "payment_to_shipment", gettext("Time from payment to shipment"), rows, summary
    )
    # Buckets read in time order, not by size.
    chart.bars.sort(key=lambda bar: bar.key)
    for index, bar in enumerate(chart.bars):
        bar.y = index * 26 + 4
    return chart


def returns_by_reason(start: datetime) -> Chart:

    counted = dict(
        Return.objects.filter(created_at__gte=start)
        .order_by()
        .values_list("reason")
        .annotate(n=Count("id"))
    )
    rows = [(value, label, counted.get(value, 0)) for value, label in ReturnReason.choices]
    total = sum(counted.values())
    return _category_chart(
        "returns_by_reason",
        gettext("Returns by reason"),
        rows,
        gettext("%(count)s returns") % {"count": f"{total:,}"},
    )


def charts(request) -> list[Chart]:
    """The charts this user may see (each needs the view permission on what it counts)."""
    now = timezone.now()
    first_day, start = _window(now)
    days = [first_day + timedelta(days=n) for n in range(DAYS)]
    found: list[Chart] = []
    user = request.user
    if user.has_perm("orders.view_order"):
        found.extend(orders_per_day(month_totals(request), days))
    if user.has_perm("fulfillment.view_fulfillment"):
        found.append(payment_to_shipment(start))
    if user.has_perm("returns.view_return"):
        found.append(returns_by_reason(start))
    return found
