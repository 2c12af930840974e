"""Timestamps are kept at millisecond precision (shop.fields.MillisecondDateTimeField): cut
the values stored before, so a value the API showed matches its row exactly."""

from django.db import migrations

from shop.fields import truncate_to_milliseconds

TABLES = {
    'returns_return': ['created_at', 'updated_at', 'received_at', 'completed_at'],
    'returns_returnitem': ['created_at', 'updated_at'],
    'returns_exchange': ['created_at', 'updated_at', 'received_at', 'completed_at'],
    'returns_exchangeitem': ['created_at', 'updated_at'],
}


class Migration(migrations.Migration):
    dependencies = [("returns", "0001_initial")]

    operations = [
        migrations.RunPython(truncate_to_milliseconds(TABLES), migrations.RunPython.noop),
    ]
