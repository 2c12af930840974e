"""The benchmark reads the product's declarations: the floor's documents hold every field of
each collection, and the generator's rows every column of each model."""

import pytest

from bench.floor import COLLECTIONS
from bench.generate import TABLES, row, table_columns
from orders.models import Order
from shop.api.collections import registry


def test_the_floor_renders_every_declared_field_of_each_collection():
    for slug, floor in COLLECTIONS.items():
        declared = registry.get(slug)
        blank = (None,) * len(floor.columns.split(", "))
        assert list(floor.render(blank)) == [item.name for item in declared.fields], slug
        assert floor.table == declared.model._meta.db_table
        assert [join.field for join in floor.joins] == [join.name for join in declared.joins]


def test_the_generator_writes_every_column_of_each_model_by_name():
    columns = table_columns()
    assert set(columns) == set(TABLES)
    assert [c[0] for c in columns["orders_order"]] == [
        f.column for f in Order._meta.concrete_fields
    ]
    values = {name: f"<{name}>" for name, required, _default in columns["orders_order"] if required}
    made = row("orders_order", **values, status="paid")
    by_column = dict(zip([c[0] for c in columns["orders_order"]], made, strict=True))
    assert by_column["id"] == "<id>" and by_column["status"] == "paid"
    # Not given: the default a new row gets from the model.
    assert by_column["staff_note"] == "" and by_column["total_amount"] == 0
    assert by_column["customer_id"] is None
    with pytest.raises(TypeError, match="created_at"):
        row("orders_order", **{k: v for k, v in values.items() if k != "created_at"})
