from django.contrib.auth.management import create_permissions
from django.db import migrations

# Group → (app_label, codename) permissions. Each role sees the orders; the transition
# permissions say which buttons it gets. A manager gets everything the others have.
VIEW_ORDERS = [
    ("orders", "view_order"),
    ("orders", "change_order"),  # the staff note
    ("orders", "view_orderitem"),
    ("orders", "view_transaction"),
    ("fulfillment", "view_fulfillment"),
    ("fulfillment", "view_fulfillmentitem"),
    ("returns", "view_return"),
    ("returns", "view_returnitem"),
    ("returns", "view_exchange"),
    ("returns", "view_exchangeitem"),
    ("shop", "view_customer"),
    ("shop", "view_product"),
    ("shop", "view_variant"),
    ("shop", "view_option"),
]
ROLES = {
    "Payments": [*VIEW_ORDERS, ("orders", "run_payment_transitions")],
    "Warehouse": [*VIEW_ORDERS, ("orders", "run_fulfillment_transitions")],
    "Customer service": [*VIEW_ORDERS, ("orders", "run_return_transitions")],
}
ROLES["Manager"] = sorted(
    {perm for perms in ROLES.values() for perm in perms}
    | {
        ("shop", "change_customer"),
        ("shop", "add_product"),
        ("shop", "change_product"),
        ("shop", "add_variant"),
        ("shop", "change_variant"),
        ("shop", "add_option"),
        ("shop", "change_option"),
    }
)


def create_groups(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated
    # Permissions are normally created after migrate; on a fresh database they must exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=db)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=name)
        wanted = []
        for app_label, codename in perms:
            wanted.append(
                Permission.objects.using(db).get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.add(*wanted)


def remove_groups(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated
    apps.get_model("auth", "Group").objects.using(db).filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    """Staff roles as groups: payments, warehouse (fulfilment), customer service (returns and
    exchanges), and manager (all of them)."""

    dependencies = [
        ("orders", "0002_order_number_sequence"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("fulfillment", "0002_initial"),
        ("returns", "0001_initial"),
        ("shop", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
