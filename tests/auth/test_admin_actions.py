"""Every admin action checks the permission the change it makes needs: a staff user who may only
look at a list cannot change its rows through the list's action menu."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory
from django.urls import reverse

from orders.models import Order, OrderStatus
from shop import keys
from shop.models import ApiKey
from tests.helpers import place_order

pytestmark = pytest.mark.django_db


def staff_with(*codenames: str) -> Client:
    user = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def offered_actions(listing) -> set[str]:
    form = listing.context["action_form"]  # None when no action is offered
    return {name for name, _label in form.fields["action"].choices} if form else set()


def test_a_staff_user_who_may_only_view_keys_cannot_revoke_one():
    issued = keys.create_api_key(name="Server")
    client = staff_with("view_apikey")
    listing = client.get(reverse("admin:shop_apikey_changelist"))
    assert listing.status_code == 200
    assert "revoke" not in offered_actions(listing)

    answer = client.post(
        reverse("admin:shop_apikey_changelist"),
        {"action": "revoke", "_selected_action": [issued.key.pk]},
    )
    assert answer.status_code in (200, 302)  # the list again: no such action for this user
    assert ApiKey.objects.get(pk=issued.key.pk).revoked_at is None
    assert keys.key_for_secret(issued.secret_key) == issued.key


def test_a_staff_user_who_may_change_keys_revokes_one():
    issued = keys.create_api_key(name="Server")
    client = staff_with("view_apikey", "change_apikey")
    answer = client.post(
        reverse("admin:shop_apikey_changelist"),
        {"action": "revoke", "_selected_action": [issued.key.pk]},
    )
    assert answer.status_code == 302
    assert keys.key_for_secret(issued.secret_key) is None


@pytest.mark.parametrize("action", ["start_preparing_action", "create_fulfillments_action"])
def test_a_staff_user_who_may_only_view_orders_cannot_run_an_order_action(action):
    order = place_order()
    assert order.status == OrderStatus.PAID
    client = staff_with("view_order")
    assert action not in offered_actions(client.get(reverse("admin:orders_order_changelist")))
    answer = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": action, "_selected_action": [order.pk]},
    )
    assert answer.status_code in (200, 302)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not order.fulfillments.exists()
    assert Order.objects.get(pk=order.pk).updated_at == order.updated_at


def test_every_admin_action_declares_the_permission_it_needs():
    """The audit as a test: an action without ``permissions=`` is open to anyone who can see
    the list, so each one must say what it needs (view for printing, change or a transition
    permission for anything that writes)."""
    superuser = get_user_model().objects.create_superuser("root", "r@example.com", "x")
    request = RequestFactory().get("/admin/")
    request.user = superuser
    undeclared = []
    registered = [model for model in apps.get_models() if admin.site.is_registered(model)]
    assert len(registered) > 10  # the shop's screens, not an empty site
    for model in registered:
        # A superuser is offered every action, so none escapes the audit.
        actions = admin.site.get_model_admin(model).get_actions(request)
        for func, name, _description in actions.values():
            if not getattr(func, "allowed_permissions", None):
                undeclared.append(f"{model._meta.label}.{name}")
    assert undeclared == []
