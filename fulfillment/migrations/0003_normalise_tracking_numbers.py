"""Store every tracking number in the one spelling the services now write: full-width forms
folded (NFKC), spaces and dashes removed, upper case (``6123 4567 8901`` → ``612345678901``).

The rule is copied here, as it stands today, so this migration keeps doing what it did if
``fulfillment.carriers.normalize_tracking_number`` changes later.
"""

import re
import unicodedata

from django.db import migrations

SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
BATCH = 2000


def normalise(value: str) -> str:
    return SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()


def normalise_tracking_numbers(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated
    Fulfillment = apps.get_model("fulfillment", "Fulfillment")
    # Only a number with something besides digits and capitals can change.
    candidates = (
        Fulfillment.objects.using(db).filter(tracking_number__regex=r"[^0-9A-Z]")
        .order_by("pk")
        .only("pk", "tracking_number")
    )
    changed = []
    for parcel in candidates.iterator(chunk_size=BATCH):
        number = normalise(parcel.tracking_number)[:100]
        if number != parcel.tracking_number:
            parcel.tracking_number = number
            changed.append(parcel)
        if len(changed) >= BATCH:
            Fulfillment.objects.using(db).bulk_update(changed, ["tracking_number"])
            changed = []
    if changed:
        Fulfillment.objects.using(db).bulk_update(changed, ["tracking_number"])


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0002_initial")]

    operations = [
        # Nothing to undo: the numbers as typed are not kept.
        migrations.RunPython(normalise_tracking_numbers, migrations.RunPython.noop),
    ]
