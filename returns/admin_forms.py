"""Forms of the return and exchange screens. They collect input; the services decide what is
allowed."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.admin_forms import UnitsForm
from returns.models import ReturnReason


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
