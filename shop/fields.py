"""Model fields shared by the apps.

``MillisecondDateTimeField``: timestamps are stored at millisecond precision, the precision the
API shows (``2026-11-23T02:41:07.215Z``) and Payload stores (a JavaScript ``Date``). A value a
client read back in a ``where`` then matches the row exactly: ``equals`` finds it and
``greater_than`` excludes it, so "changed since the last updatedAt" polling ends.
"""

from datetime import datetime

from django.db import models


def to_milliseconds(value):
    """``value`` with its microseconds cut (never rounded) to whole milliseconds."""
    if isinstance(value, datetime) and value.microsecond % 1000:
        return value.replace(microsecond=value.microsecond - value.microsecond % 1000)
    return value


class MillisecondDateTimeField(models.DateTimeField):
    """A ``DateTimeField`` whose stored value (and the instance's, after a save) is cut to
    milliseconds. The column is an ordinary timestamp column: migrations see a
    ``DateTimeField``."""

    def pre_save(self, model_instance, add):
        value = to_milliseconds(super().pre_save(model_instance, add))
        if value is not None:
            setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value):
        return to_milliseconds(super().get_prep_value(value))

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs


def truncate_to_milliseconds(tables: dict[str, list[str]]):
    """A migration operation's function: cut the stored values of ``{table: [columns]}`` to
    milliseconds (rows written before the columns were ``MillisecondDateTimeField``)."""

    def run(apps, schema_editor):
        connection = schema_editor.connection
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table, columns in tables.items():
                if connection.vendor == "postgresql":
                    sets = [f"{quote(c)} = date_trunc('milliseconds', {quote(c)})" for c in columns]
                elif connection.vendor == "sqlite":
                    # Stored as text, "YYYY-MM-DD HH:MM:SS[.ffffff]": keep three digits.
                    sets = [
                        f"{quote(c)} = CASE WHEN length({quote(c)}) > 23 "
                        f"THEN substr({quote(c)}, 1, 23) || '000' ELSE {quote(c)} END"
                        for c in columns
                    ]
                else:
                    continue
                cursor.execute(f"UPDATE {quote(table)} SET {', '.join(sets)}")

    return run
