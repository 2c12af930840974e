"""Forms of the order screens, and the per-line quantities form the parcel and return screens
build on. They collect input; the services decide what is allowed."""

from django import forms


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

    def units(self) -> dict[int, int]:
        """Order item id → quantity, for every line with a quantity above zero."""
        return {pk: quantity for pk, quantity in self.quantities().items() if quantity > 0}


def units_form(lines: list[dict], base: type[UnitsForm] = UnitsForm) -> type[UnitsForm]:
    """A form class with its lines built in (for views that instantiate forms by class)."""

    class BoundUnitsForm(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, lines=lines, **kwargs)

    return BoundUnitsForm
