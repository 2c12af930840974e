"""The order page's money: the "Mark paid" form (amount, method, reference) and what each
payment or refund row says, a refund's state in words and what staff must do about it."""

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from orders import services as order_services
from orders.models import PaymentMethod, TransactionKind
from orders.models import TransactionStatus as T
from orders.selectors import order_money
from shop.admin_utils import badge, money

# The methods staff mark an order paid with (a payment through a provider comes by itself).
STAFF_PAYMENT_METHODS = [
    (PaymentMethod.BANK_TRANSFER.value, PaymentMethod.BANK_TRANSFER.label),
    (PaymentMethod.VIRTUAL_ACCOUNT.value, PaymentMethod.VIRTUAL_ACCOUNT.label),
    (PaymentMethod.CARD.value, PaymentMethod.CARD.label),
    (PaymentMethod.KAKAOPAY.value, PaymentMethod.KAKAOPAY.label),
    (PaymentMethod.NAVERPAY.value, PaymentMethod.NAVERPAY.label),
    (PaymentMethod.TOSSPAY.value, PaymentMethod.TOSSPAY.label),
    (PaymentMethod.MANUAL.value, _("Other (cash, by hand)")),
]


class MarkPaidForm(forms.Form):
    intro = _(
        "Check the amount, method and reference against the money received, then confirm: the "
        "order becomes paid and ready to ship, and the timeline records them."
    )

    amount = forms.IntegerField(
        label=_("Amount"), min_value=1, help_text=_("What the buyer paid: all that is due.")
    )
    method = forms.ChoiceField(label=_("Payment method"), choices=STAFF_PAYMENT_METHODS)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=200,
        required=False,
        help_text=_("What matches the money: a bank transfer's payer name, a receipt number."),
    )


def mark_paid_initial(order) -> dict:
    due = order.total_amount - order_money(order).paid
    return {"amount": due, "method": PaymentMethod.BANK_TRANSFER.value}


def mark_paid(order, actor, data):
    return order_services.pay_order(
        order=order,
        actor=actor,
        amount=data["amount"],
        method=data["method"],
        reference=data["reference"],
    )


# A refund's state as staff read it, and what they must do about it.
REFUND_STATES = {
    T.PENDING: (
        "amber",
        _("Waiting at the payment provider"),
        _("Nothing to do yet: the provider confirms the refund."),
    ),
    T.PAID: ("green", _("Refunded"), _("Done: the money went back to the buyer.")),
    T.FAILED: (
        "red",
        _("Refund failed"),
        _("Refund the buyer another way (a bank transfer) and note it on the order."),
    ),
    T.CANCELED: ("grey", _("Refund canceled"), _("Nothing was refunded.")),
}


def describe_transactions(transactions, currency: str) -> None:
    """Set each row's badge, amount and next step for the order page (refunds in their own
    words: never "Paid")."""
    for txn in transactions:
        txn.amount_display = money(txn.amount, currency)
        txn.next_step = ""
        if txn.kind == TransactionKind.REFUND and txn.status in REFUND_STATES:
            colour, label, next_step = REFUND_STATES[txn.status]
            txn.badge_html = format_html(
                '<span class="badge badge-{}" data-status="refund-{}">{}</span>',
                colour,
                txn.status,
                label,
            )
            txn.next_step = next_step
        else:
            txn.badge_html = badge(txn.status, txn.get_status_display())
        txn.reference_display = txn.reference or txn.payment_id or ""
