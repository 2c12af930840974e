"""Staff screens for events: endpoints (the secret shown once), an event's page with its payload
and deliveries, resending, and who may do it."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from events import services
from events.models import Delivery, DeliveryStatus, OutboxEvent, WebhookEndpoint
from tests.admin.conftest import make_staff
from tests.helpers import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def test_an_endpoints_signing_secret_is_shown_once(boss):
    answer = boss.post(
        reverse("admin:events_webhookendpoint_add"),
        {"url": "https://erp.example/hooks", "description": "ERP", "event_types": ["order.paid"]},
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.event_types == ["order.paid"]
    assert endpoint.secret in answer.content.decode()  # the message after adding it
    page = boss.get(reverse("admin:events_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in page.content.decode()
    listing = boss.get(reverse("admin:events_webhookendpoint_changelist"))
    assert endpoint.secret not in listing.content.decode()

    old = endpoint.secret
    answer = boss.post(
        reverse("admin:events_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in answer.content.decode()


def test_an_events_page_shows_its_payload_and_deliveries_and_resends_them(boss):
    WebhookEndpoint.objects.create(url="https://erp.example/hooks")
    order = place_order(quantities=(1,), paid=False)
    services.relay_events()
    event = OutboxEvent.objects.get(document_id=order.pk)
    Delivery.objects.update(status=DeliveryStatus.FAILED, attempts=7, response_status=500)
    page = boss.get(reverse("admin:events_outboxevent_change", args=[event.pk])).content.decode()
    assert event.event_id in page and order.order_number in page  # the payload
    assert "https://erp.example/hooks" in page and "log and resend" in page
    assert boss.get(reverse("admin:events_outboxevent_changelist")).status_code == 200
    assert (
        boss.get(reverse("admin:events_delivery_changelist") + "?status__exact=failed").status_code
        == 200
    )

    boss.post(
        reverse("admin:events_outboxevent_changelist"),
        {"action": "resend_selected", "_selected_action": [event.pk]},
    )
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING  # attempted again from now on


def test_resending_needs_the_right_and_a_post(client):
    WebhookEndpoint.objects.create(url="https://erp.example/hooks")
    place_order(quantities=(1,), paid=False)
    services.relay_events()
    delivery = Delivery.objects.get()
    Delivery.objects.update(status=DeliveryStatus.FAILED)
    url = reverse("admin:events_delivery_resend", args=[delivery.pk])
    viewer = make_staff("viewer")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    page = client.get(reverse("admin:events_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200 and url not in page.content.decode()
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    assert Delivery.objects.get().status == DeliveryStatus.PENDING


def test_the_api_core_never_imports_the_events_app():
    """Domain services → events → the API core, never back: shop/api/ knows nothing of events."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "shop" / "api"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "events" or n.startswith("events.") for n in names), path


def test_managers_see_failed_deliveries_on_the_home_screen_and_can_resend(as_role):
    WebhookEndpoint.objects.create(url="https://erp.example/hooks")
    place_order(quantities=(1,), paid=False)
    services.relay_events()
    Delivery.objects.update(status=DeliveryStatus.FAILED)
    manager = as_role("manager")
    home = manager.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ko")
    queue = next(q for q in home.context["work_queues"] if q.key == "failed_deliveries")
    assert queue.count == 1 and "실패한 웹훅·이메일 전송" in home.content.decode()
    delivery = Delivery.objects.get()
    assert (
        manager.post(reverse("admin:events_delivery_resend", args=[delivery.pk])).status_code == 302
    )
    warehouse = as_role("warehouse")
    home = warehouse.get(reverse("admin:index"))
    assert all(q.key != "failed_deliveries" for q in home.context["work_queues"])
