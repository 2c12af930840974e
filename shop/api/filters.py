"""Each collection's filterable paths and operators, declared as a django-filter ``FilterSet``.

The ``FilterSet`` of a collection has one filter per queryable path and ``where`` operator
(``status__equals``, ``createdAt__greater_than``, ``shippingAddress.postalCode__like``), made from
the collection's declaration. Each filter's form field cleans a value as the field's type reads
it (whole numbers, ISO 8601 dates, one of a choice's values, text without NUL), with the API's
messages. The ``where`` compiler (``shop.api.query``) consults it: a path with no filter cannot be
queried, an operator with no filter on its path cannot be used there, and every value goes
through the filter's ``clean`` before it reaches a ``Q``. The Payload semantics of each operator
(null handling, ``like`` word by word) stay in the compiler, which nests conditions in and/or
trees as a flat ``FilterSet`` cannot.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

from shop.api.collections import TEXT_SEARCH, Choice, CoercionError, Collection, Field

# The Django lookup each where operator narrows to, for a filter used on its own (a plain
# FilterSet over a QuerySet); the compiler builds Payload's fuller conditions itself.
LOOKUPS = {
    "equals": "exact",
    "not_equals": "exact",
    "in": "in",
    "not_in": "in",
    "exists": "isnull",
    "greater_than": "gt",
    "greater_than_equal": "gte",
    "less_than": "lt",
    "less_than_equal": "lte",
    "like": "icontains",
    "not_like": "icontains",
    "contains": "icontains",
}


class ValueField(forms.Field):
    """A ``where`` value read as an API field's type; a value that cannot be is a
    ``ValidationError`` whose message says what was expected (``expected a whole number``)."""

    def __init__(self, *, api_field: Field, choices: bool = True, **kwargs):
        self.api_field = api_field
        self.choices = choices  # text search on a choice field takes any text
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        """A form's reading: an absent or empty value is no filter."""
        if value in self.empty_values:
            return None
        return self.read(value)

    def read(self, value: Any) -> Any:
        """The value as the field's type, whatever it is (the where compiler's reading: an
        empty string is a value there)."""
        try:
            if self.choices and isinstance(self.api_field, Choice):
                return self.api_field.coerce_choice(value)
            return self.api_field.coerce(value)
        except CoercionError as error:
            raise forms.ValidationError(str(error), code="invalid") from None

    def validate(self, value: Any) -> None:
        """Every value ``to_python`` accepts is valid (emptiness is the operator's business)."""


class PathFilter(django_filters.Filter):
    """One operator on one path: its field cleans one value of the operator (each value of an
    ``in`` list alone)."""

    field_class = ValueField

    def __init__(self, *, path: str, operator: str, api_field: Field, column: str):
        exclude = operator in ("not_equals", "not_in", "not_like")
        super().__init__(
            field_name=column,
            lookup_expr=LOOKUPS[operator],
            exclude=exclude,
            api_field=api_field,
            choices=operator not in TEXT_SEARCH,
        )
        self.path = path
        self.operator = operator
        self.api_field = api_field

    def clean(self, value: Any) -> Any:
        """The value as the field's type (``forms.ValidationError`` when it is not one)."""
        return self.field.read(value)


def build_filterset(collection: Collection) -> type[django_filters.FilterSet]:
    """The ``FilterSet`` class of a collection: a filter per queryable path and operator."""
    filters: dict[str, PathFilter] = {}
    for path, (column, found) in collection.paths.items():
        if not found.queryable:
            continue
        for operator in sorted(found.operators):
            filters[f"{path}__{operator}"] = PathFilter(
                path=path, operator=operator, api_field=found, column=column
            )
    name = "".join(part.capitalize() for part in collection.slug.split("-")) + "FilterSet"
    meta = type("Meta", (), {"model": collection.model, "fields": []})
    return type(name, (django_filters.FilterSet,), {**filters, "Meta": meta})


# Per collection (declarations are made once per process): the class and its filters by path.
_filtersets: dict[Collection, tuple[type[django_filters.FilterSet], dict]] = {}


def filterset(collection: Collection) -> type[django_filters.FilterSet]:
    """The collection's ``FilterSet`` class (built once)."""
    return _built(collection)[0]


def path_filters(collection: Collection, path: str) -> dict[str, PathFilter] | None:
    """``{operator: filter}`` of a path of the collection; None when it cannot be queried."""
    return _built(collection)[1].get(path)


def _built(collection: Collection) -> tuple[type[django_filters.FilterSet], dict]:
    found = _filtersets.get(collection)
    if found is None:
        cls = build_filterset(collection)
        by_path: dict[str, dict[str, PathFilter]] = {}
        for item in cls.base_filters.values():
            by_path.setdefault(item.path, {})[item.operator] = item
        found = _filtersets[collection] = (cls, by_path)
    return found
