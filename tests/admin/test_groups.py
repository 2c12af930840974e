import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db

TRANSITIONS = {
    "Payments": {"run_payment_transitions"},
    "Warehouse": {"run_fulfillment_transitions"},
    "Customer service": {"run_return_transitions"},
    "Manager": {
        "run_payment_transitions",
        "run_fulfillment_transitions",
        "run_return_transitions",
    },
}


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_each_role_gets_its_transition_permissions_and_views(name):
    perms = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
    assert {p for p in perms if p.startswith("run_")} == TRANSITIONS[name]
    assert {"view_order", "change_order", "view_fulfillment", "view_return"} <= perms
    assert "delete_order" not in perms


def test_a_role_user_sees_the_admin_but_not_other_roles_buttons(staff):
    warehouse = staff["warehouse"]
    assert warehouse.has_perm("orders.run_fulfillment_transitions")
    assert not warehouse.has_perm("orders.run_payment_transitions")
    assert staff["manager"].has_perm("orders.run_return_transitions")
