"""Forms of the parcel screens. They collect input; the services decide what is allowed."""

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from fulfillment.carriers import CARRIERS
from orders.admin_forms import UnitsForm


class CreateFulfillmentForm(UnitsForm):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CarrierInput(forms.TextInput):
    """Free text with the known carriers offered as suggestions (an HTML datalist)."""

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{name}-carriers"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((c.code, c.name) for c in CARRIERS.values())
        )
        return html + format_html('<datalist id="{}">{}</datalist>', list_id, options)


class ShipForm(forms.Form):
    carrier = forms.CharField(
        label=_("Carrier"),
        max_length=100,
        required=False,
        widget=CarrierInput(),
        help_text=_("Pick a known carrier (it gets a tracking link) or type any name."),
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100, required=False)
