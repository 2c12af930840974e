"""Timestamps are kept at millisecond precision (shop.fields.MillisecondDateTimeField): cut
the values stored before, so a value the API showed matches its row exactly."""

from django.db import migrations

from shop.fields import truncate_to_milliseconds

TABLES = {
    'fulfillment_fulfillment': ['created_at', 'updated_at', 'shipped_at', 'delivered_at'],
    'fulfillment_fulfillmentitem': ['created_at', 'updated_at'],
}


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0003_normalise_tracking_numbers")]

    operations = [
        migrations.RunPython(truncate_to_milliseconds(TABLES), migrations.RunPython.noop),
    ]
