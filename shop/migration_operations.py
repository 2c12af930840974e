"""Migration operations of the project's own.

``AlterAtOnce`` runs many ``AlterField`` and ``AlterModelOptions`` of one app as one step: the
same state and the same SQL as running them one by one, with the models rendered again once
instead of after each of them. Django renders a model (and every model related to it) again
after each ``AlterField``; the migrations that only reword what staff read (verbose names, help
texts, the labels of choices) alter up to 49 fields each, and replaying them one by one took more
than half of a fresh ``migrate``, which every new database pays (``make setup``, the tests, the
benchmark's builds).
"""

from django.db.migrations.operations import AlterField, AlterModelOptions
from django.db.migrations.operations.base import Operation


class AlterAtOnce(Operation):
    """``AlterField`` and ``AlterModelOptions`` operations of one app, each on its own field or
    model, run together: their states first, then each one's schema change (none for a label)
    between the state before them all and the state after."""

    def __init__(self, operations):
        for operation in operations:
            if not isinstance(operation, AlterField | AlterModelOptions):
                raise TypeError(f"AlterAtOnce runs AlterField and AlterModelOptions: {operation}")
        targets = [self._target(operation) for operation in operations]
        if len(set(targets)) != len(targets):
            raise ValueError("AlterAtOnce alters each field and each model's options once")
        self.operations = list(operations)

    @staticmethod
    def _target(operation) -> tuple:
        if isinstance(operation, AlterField):
            return ("field", operation.model_name_lower, operation.name_lower)
        return ("options", operation.name_lower)

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operations], {})

    def state_forwards(self, app_label, state):
        # Without rendered models each operation only edits the model states; the models are
        # rendered again once, when the next step asks for them.
        state.__dict__.pop("apps", None)
        for operation in self.operations:
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        for operation in self.operations:
            operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for operation in reversed(self.operations):
            operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Alter {len(self.operations)} fields and model options at once"

    @property
    def migration_name_fragment(self):
        return "alter_at_once"
