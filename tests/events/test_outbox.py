"""The outbox: every change writes its events in its own transaction, each carrying the document
exactly as the API renders it; a change that rolls back leaves no event; relaying makes one
delivery per endpoint that wants the event and per customer email it calls for."""

import itertools
from datetime import timedelta

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from events import services as event_services
from events.models import Delivery, DeliveryChannel, OutboxEvent, WebhookEndpoint
from events.webhooks import Outcome
from fulfillment import services as fulfillment_services
from orders import services as order_services
from returns import services as return_services
from shop.errors import TransitionError
from tests.factories import CartItemFactory, CustomerFactory
from tests.helpers import all_units, deliver_everything, place_order
from tests.reliability.test_fault_injection import Injected, fail_statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def read(client):
    """``read(collection, id)``: the document as a server reads it from the API now."""
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))

    def get(collection: str, pk: int) -> dict:
        answer = client.get(f"/api/{collection}/{pk}")
        assert answer.status_code == 200, answer.content
        return answer.json()

    return get


class Outbox:
    """The events written since the last look."""

    def __init__(self):
        self.seen = 0

    def new(self) -> list[tuple[str, dict]]:
        events = list(OutboxEvent.objects.filter(pk__gt=self.seen).order_by("pk"))
        if events:
            self.seen = events[-1].pk
        return [(e.type, orjson.loads(e.payload)) for e in events]


def check(outbox, read, expected: list[tuple[str, str, int]]):
    """The events since the last check are ``expected`` (type, collection, id), in order, each
    carrying the document the API answers now, with its own id, type and time."""
    got = outbox.new()
    assert [(t, p["data"]["id"]) for t, p in got] == [(t, pk) for t, _c, pk in expected]
    for (event_type, payload), (_t, collection, pk) in zip(got, expected, strict=True):
        assert payload["type"] == event_type and payload["id"].startswith("evt_")
        assert payload["timestamp"].endswith("Z")
        assert payload["data"] == read(collection, pk), event_type
    return [payload for _t, payload in got]


def test_every_change_records_its_events_with_the_document_the_api_renders(read):
    outbox = Outbox()
    order = place_order(quantities=(2, 1), paid=False)
    check(outbox, read, [("order.created", "orders", order.pk)])
    order_services.record_payment(order=order, payment_id="pay-1")
    check(outbox, read, [("order.paid", "orders", order.pk)])

    parcel = fulfillment_services.create_fulfillment(order=order)
    fulfillment_services.pack_fulfillment(fulfillment=parcel)
    check(outbox, read, [])  # no event for these
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="64")
    (shipped,) = check(outbox, read, [("fulfillment.shipped", "fulfillments", parcel.pk)])
    assert shipped["data"]["carrier"] == "cj" and shipped["data"]["trackingNumber"] == "64"
    assert "64" in shipped["data"]["trackingUrl"]
    assert shipped["data"]["order"]["orderNumber"] == order.order_number
    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    check(
        outbox,
        read,
        [
            ("order.delivered", "orders", order.pk),
            ("fulfillment.delivered", "fulfillments", parcel.pk),
        ],
    )

    request = return_services.request_return(
        order=order, reason="defective", items=all_units(order)
    )
    check(outbox, read, [("return.requested", "returns", request.pk)])
    return_services.approve_return(request=request)
    check(outbox, read, [("return.approved", "returns", request.pk)])
    return_services.receive_return(request=request)
    check(outbox, read, [("return.received", "returns", request.pk)])
    return_services.complete_return(request=request)
    (completed,) = check(outbox, read, [("return.completed", "returns", request.pk)])
    assert completed["data"]["refundAmount"] == order.total_amount
    assert completed["data"]["refundTransaction"]["kind"] == "refund"


def test_exchanges_rejections_cancels_and_confirmations_record_their_events(read):
    outbox = Outbox()
    order = place_order(quantities=(1,))
    deliver_everything(order)
    outbox.new()
    exchange = return_services.request_exchange(
        order=order, reason="wrong_size", items=all_units(order)
    )
    check(outbox, read, [("exchange.requested", "exchanges", exchange.pk)])
    return_services.reject_exchange(request=exchange, reason="worn")
    check(outbox, read, [("exchange.rejected", "exchanges", exchange.pk)])
    exchange = return_services.request_exchange(
        order=order, reason="wrong_size", items=all_units(order)
    )
    check(outbox, read, [("exchange.requested", "exchanges", exchange.pk)])
    for step, verb in (
        (return_services.approve_exchange, "approved"),
        (return_services.receive_exchange, "received"),
        (return_services.complete_exchange, "completed"),
    ):
        step(request=exchange)
        check(outbox, read, [(f"exchange.{verb}", "exchanges", exchange.pk)])
    replacement = exchange.replacement_fulfillments.get()
    fulfillment_services.ship_fulfillment(
        fulfillment=replacement, carrier="cj", tracking_number="9"
    )
    check(outbox, read, [("fulfillment.shipped", "fulfillments", replacement.pk)])
    fulfillment_services.deliver_fulfillment(fulfillment=replacement)
    check(outbox, read, [("fulfillment.delivered", "fulfillments", replacement.pk)])
    order_services.confirm_order(order=order)
    check(outbox, read, [("order.confirmed", "orders", order.pk)])

    rejected = place_order(quantities=(1,))
    deliver_everything(rejected)
    outbox.new()
    request = return_services.request_return(
        order=rejected, reason="change_of_mind", items=all_units(rejected)
    )
    check(outbox, read, [("return.requested", "returns", request.pk)])
    return_services.reject_return(request=request, reason="opened")
    (payload,) = check(outbox, read, [("return.rejected", "returns", request.pk)])
    assert payload["data"]["rejectionReason"] == "opened"

    canceled = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=canceled)
    outbox.new()
    order_services.cancel_order(order=canceled, reason="customer asked")
    check(
        outbox,
        read,
        [
            ("order.canceled", "orders", canceled.pk),
            ("fulfillment.failed", "fulfillments", parcel.pk),
        ],
    )
    lost = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=lost)
    outbox.new()
    fulfillment_services.fail_fulfillment(fulfillment=parcel, reason="lost")
    check(outbox, read, [("fulfillment.failed", "fulfillments", parcel.pk)])


def test_scheduled_confirmations_and_imports_record_their_events(read):
    outbox = Outbox()
    old = place_order(quantities=(1,))
    parcel = deliver_everything(old)
    type(parcel).objects.filter(pk=parcel.pk).update(
        delivered_at=timezone.now() - timedelta(days=30)
    )
    outbox.new()
    assert fulfillment_services.confirm_delivered_orders(days=7) == 1
    check(outbox, read, [("order.confirmed", "orders", old.pk)])

    order = place_order(quantities=(1, 2))
    outbox.new()
    parcel = fulfillment_services.ship_new_fulfillment(
        order=order, carrier="hanjin", tracking_number="5123"
    )
    (shipped,) = check(outbox, read, [("fulfillment.shipped", "fulfillments", parcel.pk)])
    assert len(shipped["data"]["items"]["docs"]) == 2


def test_a_checkout_records_created_and_paid_with_the_answer_it_gives(client, read):
    outbox = Outbox()
    item = CartItemFactory(quantity=2)
    from shop.keys import create_api_key

    key = create_api_key(name="shop").secret_key
    answer = client.post(
        "/api/checkout",
        {"cartId": item.cart_id, "paymentId": "pay-checkout"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 201, answer.content
    doc = answer.json()["doc"]
    payloads = check(
        outbox, read, [("order.created", "orders", doc["id"]), ("order.paid", "orders", doc["id"])]
    )
    assert payloads[0]["data"] == doc and payloads[0]["id"] != payloads[1]["id"]


# ---------------------------------------------------------------------------------------------
# Transactions


def test_a_change_that_rolls_back_at_any_step_leaves_no_event():
    def shippable():
        order = place_order(quantities=(1,))
        return fulfillment_services.create_fulfillment(order=order).pk

    def ship(pk):
        fulfillment_services.ship_fulfillment(fulfillment=pk, carrier="cj", tracking_number="1")

    ship(shippable())  # caches warm: every later run takes the same steps
    counted: list = []
    pk = shippable()
    with fail_statement(None, counted):
        ship(pk)
    outbox_insert = next(i for i, sql in enumerate(counted, 1) if "events_outboxevent" in sql)
    assert outbox_insert > 1
    for number in range(1, len(counted) + 1):
        pk = shippable()
        before = OutboxEvent.objects.count()
        with pytest.raises(Injected), fail_statement(number, []):
            ship(pk)
        assert OutboxEvent.objects.count() == before, f"statement {number} left an event"


def test_an_error_after_the_event_is_written_rolls_the_event_back(monkeypatch):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    written = []

    def record_then_fail(*args, **kwargs):
        written.extend(record_event(*args, **kwargs))
        raise RuntimeError("injected after the event row")

    from events.outbox import record_event

    monkeypatch.setattr(fulfillment_services, "record_event", record_then_fail)
    with pytest.raises(RuntimeError):
        fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="7")
    assert written and not OutboxEvent.objects.filter(pk=written[0].pk).exists()
    parcel.refresh_from_db()
    assert parcel.status == "pending"


@pytest.mark.django_db(transaction=True)
def test_relaying_is_asked_for_once_per_committed_transaction(monkeypatch):
    asked = []
    monkeypatch.setattr("events.tasks.request_relay", lambda: asked.append(1))
    order = place_order(quantities=(1,))
    fulfillment_services.create_fulfillment(order=order)
    asked.clear()
    order_services.cancel_order(order=order)  # order.canceled and fulfillment.failed
    assert (
        OutboxEvent.objects.filter(type__in=["order.canceled", "fulfillment.failed"]).count() == 2
    )
    assert len(asked) == 1
    with pytest.raises(TransitionError):
        order_services.cancel_order(order=order)  # already canceled: refused, nothing to relay
    assert len(asked) == 1
    with transaction.atomic():
        for _ in range(3):
            place_order(quantities=(1,))
        assert len(asked) == 1  # not before the commit
    assert len(asked) == 2  # once for the whole transaction
    with pytest.raises(RuntimeError), transaction.atomic():
        place_order(quantities=(1,))
        raise RuntimeError("rolled back")
    assert len(asked) == 2


def test_no_events_are_written_when_they_are_turned_off(settings):
    settings.SHOP_EVENTS = False
    place_order(quantities=(1,))
    assert not OutboxEvent.objects.exists()


# ---------------------------------------------------------------------------------------------
# Relaying and attempts


def test_relaying_makes_a_delivery_per_endpoint_that_wants_the_event_and_per_email():
    everything = WebhookEndpoint.objects.create(url="https://a.example/hooks")
    shipping = WebhookEndpoint.objects.create(
        url="https://b.example/hooks", event_types=["fulfillment.shipped"]
    )
    WebhookEndpoint.objects.create(url="https://c.example/hooks", is_active=False)
    korean = CustomerFactory(language="ko")
    order = place_order(quantities=(1,), customer=korean)
    parcel = fulfillment_services.ship_new_fulfillment(
        order=order, carrier="cj", tracking_number="1"
    )
    guest = place_order(quantities=(1,), paid=False)
    assert event_services.relay_events() > 0
    assert event_services.relay_events() == 0  # relayed once
    assert not OutboxEvent.objects.filter(relayed_at__isnull=True).exists()
    made = {
        (d.event.type, d.event.document_id, d.channel, d.endpoint_id, d.recipient, d.language)
        for d in Delivery.objects.select_related("event")
    }
    hook, email = DeliveryChannel.WEBHOOK, DeliveryChannel.EMAIL
    a = everything.url
    assert made == {
        ("order.created", order.pk, hook, everything.pk, a, ""),
        ("order.paid", order.pk, hook, everything.pk, a, ""),
        ("order.paid", order.pk, email, None, korean.email, "ko"),
        ("fulfillment.shipped", parcel.pk, hook, everything.pk, a, ""),
        ("fulfillment.shipped", parcel.pk, hook, shipping.pk, shipping.url, ""),
        ("fulfillment.shipped", parcel.pk, email, None, korean.email, "ko"),
        ("order.created", guest.pk, hook, everything.pk, a, ""),
    }


def test_a_failed_attempt_is_retried_later_each_time_until_the_window_ends(settings):
    settings.SHOP_DELIVERY_RETRY_BASE = 10
    settings.SHOP_DELIVERY_RETRY_MAX_DELAY = 3600
    settings.SHOP_DELIVERY_RETRY_WINDOW = 3 * 24 * 3600
    WebhookEndpoint.objects.create(url="https://a.example/hooks")
    place_order(quantities=(1,), paid=False)
    event_services.relay_events()
    delivery = Delivery.objects.get()
    failure = Outcome(False, 500, "boom", 3)
    delays = []
    for _ in range(12):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        (claimed,) = event_services.claim_due()
        delays.append(event_services.record_attempt(claimed, failure, timezone.now()))
    assert delays[0] >= 10 and all(b > a for a, b in itertools.pairwise(delays[:8]))
    assert 3600 <= delays[-1] <= 3600 * 1.1  # capped
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 12
    # Three days after the first attempt, a failure is final.
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now(), window_started_at=timezone.now() - timedelta(days=3)
    )
    (claimed,) = event_services.claim_due()
    assert event_services.record_attempt(claimed, failure, timezone.now()) is None
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempt_log.count() == 13


@pytest.mark.postgres
def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(settings):
    WebhookEndpoint.objects.create(url="https://a.example/hooks")
    place_order(quantities=(1,), paid=False)
    event_services.relay_events()
    assert len(event_services.claim_due()) == 1
    assert event_services.claim_due() == []  # held by the first worker's lease
    Delivery.objects.update(next_attempt_at=timezone.now())  # the lease ran out
    assert len(event_services.claim_due()) == 1
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_what_waited_is_delivered_by_the_command(monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setattr("events.tasks.request_relay", lambda: None)  # as if nothing ran
    sent = []
    monkeypatch.setattr(
        "events.webhooks.post", lambda *args: sent.append(args[2]) or Outcome(True, 200, "", 1)
    )
    WebhookEndpoint.objects.create(url="https://a.example/hooks")
    place_order(quantities=(1,), paid=False)
    (event,) = OutboxEvent.objects.all()
    assert event.relayed_at is None and not sent
    out = StringIO()
    call_command("deliver_events", stdout=out)
    assert sent == [event.event_id]
    assert "1 deliveries made, 1 attempted" in out.getvalue()
    assert Delivery.objects.get().status == "delivered"
