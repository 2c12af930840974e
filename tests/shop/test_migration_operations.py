"""``AlterAtOnce`` (shop.migration_operations) leaves the same state and runs the same SQL as
its ``AlterField`` and ``AlterModelOptions`` one by one; the migrations rewording labels use it."""

import pytest
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ModelState, ProjectState

from shop.migration_operations import AlterAtOnce

pytestmark = pytest.mark.django_db


def toy_state() -> ProjectState:
    state = ProjectState()
    state.add_model(
        ModelState(
            "toys",
            "Toy",
            [
                ("id", models.AutoField(primary_key=True)),
                ("name", models.CharField(max_length=10)),
                ("size", models.IntegerField(default=0)),
            ],
            options={"verbose_name": "toy"},
        )
    )
    state.apps  # rendered, as a migration's state is before each operation  # noqa: B018
    return state


def changes():
    return [
        migrations.AlterModelOptions(name="toy", options={"verbose_name": "plaything"}),
        migrations.AlterField("toy", "name", models.CharField(max_length=20, verbose_name="n")),
        migrations.AlterField("toy", "size", models.IntegerField(default=0, help_text="cm")),
    ]


def run(operations, *, backwards=False) -> tuple[ProjectState, list[str]]:
    """The state after ``operations`` and the SQL they collect, forwards or back."""
    before = toy_state()
    after = before.clone()
    steps = []
    for operation in operations:
        start = after.clone()
        operation.state_forwards("toys", after)
        steps.append((operation, start, after.clone()))
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        for operation, start, end in reversed(steps) if backwards else steps:
            if backwards:
                operation.database_backwards("toys", editor, end, start)
            else:
                operation.database_forwards("toys", editor, start, end)
    return after, editor.collected_sql


def test_the_same_state_and_sql_as_one_by_one_forwards_and_back():
    one_by_one, sql = run(changes())
    together, sql_together = run([AlterAtOnce(changes())])
    assert together.models == one_by_one.models
    toy = together.apps.get_model("toys", "Toy")
    assert toy._meta.verbose_name == "plaything"
    assert toy._meta.get_field("name").max_length == 20
    assert toy._meta.get_field("size").help_text == "cm"
    assert sql_together == sql
    assert any("20" in statement for statement in sql)  # the wider column is altered
    assert run([AlterAtOnce(changes())], backwards=True)[1] == run(changes(), backwards=True)[1]


def test_labels_alone_run_no_sql():
    labels = [
        migrations.AlterField("toy", "name", models.CharField(max_length=10, verbose_name="n")),
        migrations.AlterModelOptions(name="toy", options={"verbose_name": "plaything"}),
    ]
    assert run([AlterAtOnce(labels)])[1] == []


def test_other_operations_and_a_field_twice_are_refused():
    with pytest.raises(TypeError, match="AlterField and AlterModelOptions"):
        AlterAtOnce([migrations.RemoveField("toy", "size")])
    twice = [
        migrations.AlterField("toy", "size", models.IntegerField(default=1)),
        migrations.AlterField("Toy", "Size", models.IntegerField(default=2)),
    ]
    with pytest.raises(ValueError, match="once"):
        AlterAtOnce(twice)


def test_the_relabelling_migrations_end_in_the_state_of_their_operations_one_by_one():
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    relabelled = [
        key
        for key, migration in loader.graph.nodes.items()
        if any(isinstance(operation, AlterAtOnce) for operation in migration.operations)
    ]
    assert len(relabelled) == 4
    for app_label, name in relabelled:
        before = loader.project_state((app_label, name), at_end=False)
        together = loader.project_state((app_label, name), at_end=True)
        one_by_one = before.clone()
        for batch in loader.get_migration(app_label, name).operations:
            for operation in batch.operations:
                operation.state_forwards(app_label, one_by_one)
        assert together.models == one_by_one.models
