"""Forms of the order screens. They collect input; the services decide what is allowed."""

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from fulfillment.carriers import CARRIERS
from returns.models import ReturnReason


def quantity_field(label: str, initial: int, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        initial=initial,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"style": "width: 6em"}),
    )


class UnitsForm(forms.Form):
    """One quantity per order line (``qty_<order item id>``), plus the fields a subclass adds."""

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"qty_{line['id']}"] = quantity_field(
                line["label"], line["initial"], line.get("help", "")
            )

    def quantities(self) -> dict[int, int]:
        """Every line's quantity, zeros included."""
        return {line["id"]: self.cleaned_data.get(f"qty_{line['id']}") or 0 for line in self.lines}

    def units(self) -> list[dict]:
        """``[{"orderItem": id, "quantity": n}]`` for every line with a quantity above zero."""
        chosen = []
        for line in self.lines:
            quantity = self.cleaned_data.get(f"qty_{line['id']}") or 0
            if quantity > 0:
                chosen.append({"orderItem": line["id"], "quantity": quantity})
        return chosen


class CreateFulfillmentForm(UnitsForm):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RequestReturnForm(UnitsForm):
    reason = forms.ChoiceField(label=_("Reason"), choices=ReturnReason.choices)
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


class RefundForm(forms.Form):
    refund_amount = forms.IntegerField(
        label=_("Refund amount"),
        min_value=0,
        help_text=_("In the currency's minor unit. Never more than was paid and not refunded."),
    )


def units_form(lines: list[dict], base: type[UnitsForm] = UnitsForm) -> type[UnitsForm]:
    """A form class with its lines built in (for views that instantiate forms by class)."""

    class BoundUnitsForm(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, lines=lines, **kwargs)

    return BoundUnitsForm
