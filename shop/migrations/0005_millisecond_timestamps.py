"""Timestamps are kept at millisecond precision (shop.fields.MillisecondDateTimeField): cut
the values stored before, so a value the API showed matches its row exactly."""

from django.db import migrations

from shop.fields import truncate_to_milliseconds

TABLES = {
    'shop_customer': ['created_at', 'updated_at'],
    'shop_product': ['created_at', 'updated_at'],
    'shop_variant': ['created_at', 'updated_at'],
    'shop_option': ['created_at', 'updated_at'],
    'shop_cart': ['created_at', 'updated_at', 'checked_out_at'],
    'shop_cartitem': ['created_at', 'updated_at'],
    'shop_apikey': ['created_at', 'updated_at'],
}


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_cart_shipping_address")]

    operations = [
        migrations.RunPython(truncate_to_milliseconds(TABLES), migrations.RunPython.noop),
    ]
