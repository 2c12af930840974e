"""Timestamps are kept at millisecond precision (shop.fields.MillisecondDateTimeField): cut
the values stored before, so a value the API showed matches its row exactly."""

from django.db import migrations

from shop.fields import truncate_to_milliseconds

TABLES = {
    'orders_order': ['created_at', 'updated_at'],
    'orders_orderitem': ['created_at', 'updated_at'],
    'orders_transaction': ['created_at', 'updated_at'],
    'orders_transitionlog': ['created_at'],
}


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_transitionlog_changes")]

    operations = [
        migrations.RunPython(truncate_to_milliseconds(TABLES), migrations.RunPython.noop),
    ]
