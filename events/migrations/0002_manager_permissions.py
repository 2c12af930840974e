from django.contrib.auth.management import create_permissions
from django.db import migrations

# What managers get of the events screens: endpoints, the event log, deliveries (resending is
# changing a delivery), background jobs.
MANAGER = [
    ("events", "view_webhookendpoint"),
    ("events", "add_webhookendpoint"),
    ("events", "change_webhookendpoint"),
    ("events", "view_outboxevent"),
    ("events", "view_delivery"),
    ("events", "change_delivery"),
    ("events", "view_job"),
]


def grant(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated
    # Permissions are normally created after migrate; on a fresh database they must exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=db)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    manager, _ = Group.objects.using(db).get_or_create(name="Manager")
    manager.permissions.add(
        *[
            Permission.objects.using(db).get(content_type__app_label=app, codename=codename)
            for app, codename in MANAGER
        ]
    )


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.using(db).filter(name="Manager"):
        group.permissions.remove(
            *Permission.objects.using(db).filter(
                content_type__app_label="events", codename__in=[c for _a, c in MANAGER]
            )
        )


class Migration(migrations.Migration):
    """Managers see and resend webhooks and emails, and manage webhook endpoints."""

    dependencies = [
        ("events", "0001_initial"),
        ("orders", "0003_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
