"""Forms of the return and exchange screens. They collect input; the services decide what is
allowed."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.admin_forms import UnitsForm
from orders.admin_payments import MarkPaidForm
from returns.models import ExchangeReason, ReturnReason


class RequestReturnForm(UnitsForm):
    reason = forms.ChoiceField(label=_("Reason"), choices=ReturnReason.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RefundForm(forms.Form):
    refund_amount = forms.IntegerField(
        label=_("Refund amount"),
        min_value=0,
        help_text=_("In the currency's minor unit. Never more than was paid and not refunded."),
    )


class RequestExchangeForm(UnitsForm):
    """Per order line: how many units and what is sent instead (``replacement_<order item
    id>``: ``""`` the same unit, ``v<id>`` a variant, ``o<id>`` an option of a variant)."""

    reason = forms.ChoiceField(label=_("Reason"), choices=ExchangeReason.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, lines=lines, **kwargs)
        for line in self.lines:
            self.fields[f"replacement_{line['id']}"] = forms.ChoiceField(
                label=_("Replacement: %(title)s") % {"title": line["title"]},
                choices=line["replacements"],
                required=False,
            )
        # Each line's quantity, then its replacement; the reason and note last.
        order = [
            name
            for line in self.lines
            for name in (f"qty_{line['id']}", f"replacement_{line['id']}")
        ]
        self.order_fields([*order, "reason", "note"])

    def replacement(self, order_item: int) -> tuple[int | None, int | None]:
        """The (variant, option) ids chosen for a line; ``(None, None)``: the same unit."""
        value = self.cleaned_data.get(f"replacement_{order_item}") or ""
        kind, _sep, ids = value.partition(":")
        if kind == "v":
            return int(ids), None
        if kind == "o":
            variant, option = ids.split(",")
            return int(variant), int(option)
        return None, None


class DifferencePaymentForm(MarkPaidForm):
    """The buyer paid what they owe for an exchange into a dearer unit."""

    intro = _(
        "Check the amount, method and reference against the money received, then confirm: the "
        "exchange's replacement can then be sent, and the timeline records the payment."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = _("What the buyer owes: the whole price difference.")
