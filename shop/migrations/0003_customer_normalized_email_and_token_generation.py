# Customers' emails become unique in their normal form (NFKC + casefold), and login tokens get a
# per-customer generation. Existing rows get their normal form; customers who already share one
# stop the migration with their ids and addresses listed: orders and carts point at each of them,
# so which one keeps the address (and what the other becomes) is for staff to decide, not for a
# migration. Change or merge them, then migrate again.

import unicodedata

from django.db import migrations, models


def normalize_email(value):
    # A copy of shop.models.normalize_email as it is today: a migration must not change
    # meaning when the application's code does.
    folded = unicodedata.normalize("NFKC", (value or "").strip())
    return unicodedata.normalize("NFKC", folded.casefold())


def fill_normalized_emails(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated
    Customer = apps.get_model("shop", "Customer")
    groups = {}
    for pk, email in Customer.objects.using(db).order_by("pk").values_list("pk", "email").iterator():
        groups.setdefault(normalize_email(email), []).append((pk, email))
    shared = {key: rows for key, rows in groups.items() if len(rows) > 1}
    if shared:
        lines = [
            f"  {key}: " + ", ".join(f"customer {pk} ({email})" for pk, email in rows)
            for key, rows in sorted(shared.items())
        ]
        raise RuntimeError(
            "Customers share an email once case and Unicode forms are ignored, so it cannot be "
            "made unique. Give each of them its own address (or merge them), then migrate "
            "again:\n" + "\n".join(lines)
        )
    changed = []
    for key, [(pk, _email)] in groups.items():
        changed.append(Customer(pk=pk, normalized_email=key))
    Customer.objects.using(db).bulk_update(changed, ["normalized_email"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0002_keys_logins_idempotency"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="normalized_email",
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="customer",
            name="token_generation",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(fill_normalized_emails, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="customer",
            name="normalized_email",
            field=models.TextField(blank=True, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="customer",
            name="email",
            field=models.EmailField(db_index=True, max_length=254),
        ),
    ]
