"""Documents from the order list: printable packing slips and invoices, and the CSV export.

``stream_csv`` is the project's only CSV writer: every cell goes through ``spreadsheet_safe``,
and the file starts with a byte order mark so Excel reads it as UTF-8 (Hangul intact).
"""

import csv

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders.models import Transaction, TransactionKind, TransactionStatus
from shop.admin_utils import money
from shop.db import statement_timeout

EXPORT_COLUMNS = [
    ("order_number", _("Order number")),
    ("created_at", _("Created")),
    ("status", _("Status")),
    ("customer_name", _("Customer")),
    ("customer_email", _("Email")),
    ("customer_phone", _("Phone")),
    ("shipping_recipient_name", _("Recipient")),
    ("shipping_phone", _("Recipient phone")),
    ("shipping_postal_code", _("Postal code")),
    ("shipping_address1", _("Address")),
    ("shipping_address2", _("Address line 2")),
    ("currency", _("Currency")),
    ("subtotal_amount", _("Subtotal")),
    ("shipping_amount", _("Shipping")),
    ("discount_amount", _("Discount")),
    ("total_amount", _("Total")),
    ("payment_status", _("Payment")),
    ("payment_method_used", _("Payment method")),
]


# A cell a spreadsheet reads as a formula starts with one of these (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """``value`` as a CSV cell that no spreadsheet evaluates.

    Text that starts like a formula (``=HYPERLINK(…)``, ``@SUM(…)``, ``+82 10…``) gets a leading
    single quote, which spreadsheets take as "this is text" and do not show. Only text is
    touched: the numbers the system writes (money, which may be negative) stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# Excel opens a CSV as UTF-8 only when it starts with this; other readers skip it.
BOM = "\ufeff"


class _Echo:
    """A file-like sink for csv.writer that hands each line back instead of storing it."""

    def write(self, value):
        return value


def stream_csv(header, rows, filename: str, *, timeout_ms: int | None = None):
    """A streamed CSV download: ``header`` (labels), then each row of ``rows`` (an iterable read
    lazily, inside the export's own statement timeout when one is given)."""
    writer = csv.writer(_Echo())

    def lines():
        timeout = (
            settings.DATABASE_EXPORT_STATEMENT_TIMEOUT_MS if timeout_ms is None else timeout_ms
        )
        with statement_timeout(timeout):
            yield BOM + writer.writerow([spreadsheet_safe(str(label)) for label in header])
            for row in rows:
                yield writer.writerow([spreadsheet_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def invoice_number(order) -> str:
    """One invoice per order, numbered after it: stable, unique, and found by the order number."""
    return f"INV-{order.order_number}"


def payment_states(orders) -> dict:
    """Order id → what came in and went out (paid payments, paid and pending refunds), for the
    orders on a document, in one query."""
    paid, refund = TransactionStatus.PAID, TransactionKind.REFUND
    rows = (
        Transaction.objects.filter(order__in=[order.pk for order in orders])
        .order_by()
        .values("order_id")
        .annotate(
            paid=Sum("amount", filter=Q(kind=TransactionKind.PAYMENT, status=paid), default=0),
            refunded=Sum("amount", filter=Q(kind=refund, status=paid), default=0),
            refund_pending=Sum(
                "amount", filter=Q(kind=refund, status=TransactionStatus.PENDING), default=0
            ),
        )
    )
    return {row["order_id"]: row for row in rows}


def payment_summary(order, sums: dict | None) -> dict:
    sums = sums or {"paid": 0, "refunded": 0, "refund_pending": 0}
    if sums["paid"] >= order.total_amount > 0 or (order.total_amount == 0 and sums["paid"] == 0):
        state = gettext("Paid in full")
    elif sums["paid"]:
        state = gettext("Partly paid")
    else:
        state = gettext("Not paid")
    if sums["refunded"] and sums["refunded"] >= sums["paid"]:
        refund_state = gettext("Refunded in full")
    elif sums["refunded"]:
        refund_state = gettext("Partly refunded")
    else:
        refund_state = gettext("No refund")
    if sums["refund_pending"]:
        refund_state += " · " + gettext("%(amount)s waiting at the payment provider") % {
            "amount": money(sums["refund_pending"], order.currency)
        }
    return {
        "state": state,
        "paid": money(sums["paid"], order.currency),
        "refund_state": refund_state,
        "refunded": money(sums["refunded"], order.currency),
    }


class DocumentsMixin:
    """Admin actions that print the selected orders, and a CSV of the filtered list."""

    def _print(self, request, queryset, template, title):
        orders = list(queryset.prefetch_related("items").order_by("created_at", "id"))
        states = payment_states(orders)
        for order in orders:
            order.invoice_number = invoice_number(order)
            order.payment = payment_summary(order, states.get(order.pk))
            order.money = {
                name: money(getattr(order, f"{name}_amount"), order.currency)
                for name in ("subtotal", "shipping", "discount", "total")
            }
            order.document_lines = [
                {
                    "item": item,
                    "unit_price": money(item.unit_price, order.currency),
                    "total_price": money(item.total_price, order.currency),
                }
                for item in order.items.all()
            ]
        context = {
            "orders": orders,
            "title": title,
            "printed_at": timezone.now(),
            "seller": settings.SHOP_SELLER,
        }
        return TemplateResponse(request, template, context)

    @admin.action(description=_("Print packing slips"), permissions=["view"])
    def print_packing_slips(self, request, queryset):
        template = "documents/packing_slips.html"
        return self._print(request, queryset, template, gettext("Packing slips"))

    @admin.action(description=_("Print invoices"), permissions=["view"])
    def print_invoices(self, request, queryset):
        return self._print(request, queryset, "documents/invoices.html", gettext("Invoices"))

    def get_urls(self):
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def export_csv_view(self, request):
        """The list as it is filtered and searched on screen, every row, streamed."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        rows = changelist.queryset.values_list(*[name for name, _label in EXPORT_COLUMNS])

        def cells():
            for row in rows.iterator(chunk_size=2000):
                yield [
                    timezone.localtime(value).isoformat(timespec="seconds")
                    if name == "created_at"
                    else value
                    for (name, _label), value in zip(EXPORT_COLUMNS, row, strict=True)
                ]

        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        # Every row of a large shop can take longer than a request's statement timeout: the
        # export's transaction has its own (and its cursor streams the rows).
        return stream_csv(
            [label for _name, label in EXPORT_COLUMNS],
            cells(),
            f"orders-{stamp}.csv",
            timeout_ms=settings.DATABASE_EXPORT_STATEMENT_TIMEOUT_MS,
        )
