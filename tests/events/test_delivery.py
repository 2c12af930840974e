"""Delivery on a real broker by a real worker process: every committed change reaches the
receiver (at least once, signed), none is lost when the worker is killed, failing receivers are
retried with growing delays, and those that never recover end in the admin's failed queue."""

import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from events.models import Delivery, DeliveryAttempt, DeliveryStatus, OutboxEvent
from orders import services as order_services
from shop.keys import create_api_key
from tests import sizes
from tests.events.conftest import wait_until
from tests.factories import ProductFactory
from tests.helpers import ADDRESS, SNAPSHOT, place_order
from tests.reliability.http import Http

# What every order needs for its parcel, in the API's shape.
PARCEL_BODY = {"customerSnapshot": SNAPSHOT, "shippingAddress": ADDRESS}

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# State changes made through the API: 100 in ``make test``, 1,000 in ``make test-long``.
CHANGES = sizes.size("SHOP_TEST_EVENT_CHANGES", quick=100, long=1000)


def delivered_everything(receiver):
    """True once every outbox event reached the receiver and every delivery is recorded."""
    events = set(OutboxEvent.objects.values_list("event_id", flat=True))
    return (
        events
        and events <= receiver.received().keys()
        and not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()
    )


def test_state_changes_from_the_api_each_reach_the_receiver_signed(
    live_server, worker, endpoint, receiver
):
    http = Http(live_server.url, create_api_key(name="events test").secret_key)
    products = [ProductFactory(price=1000 * (i + 1)) for i in range(3)]
    worker.start()
    created_count, paid_count = int(CHANGES * 0.4), int(CHANGES * 0.4)
    canceled_count = CHANGES - created_count - paid_count

    def create(i):
        line = {"product": products[i % 3].pk, "quantity": 1 + i % 2}
        answer = http.post("/api/orders", {"orderProducts": [line], **PARCEL_BODY})
        assert answer.status == 201, answer.json
        return answer.json["doc"]["id"]

    def pay(order_id):
        answer = http.post("/api/transactions", {"order": order_id, "paymentId": f"p-{order_id}"})
        assert answer.status == 201, answer.json

    def cancel(order_id):
        answer = http.patch(f"/api/orders/{order_id}", {"status": "canceled"})
        assert answer.status == 200, answer.json

    with ThreadPoolExecutor(4) as pool:
        orders = list(pool.map(create, range(created_count)))
        list(pool.map(pay, orders[:paid_count]))
        list(pool.map(cancel, orders[:canceled_count]))

    # Exactly the events of the changes, no more, no fewer.
    events = list(OutboxEvent.objects.values_list("type", "document_id"))
    assert Counter(t for t, _ in events) == {
        "order.created": created_count,
        "order.paid": paid_count,
        "order.canceled": canceled_count,
    }
    assert {d for t, d in events if t == "order.created"} == set(orders)
    assert {d for t, d in events if t == "order.paid"} == set(orders[:paid_count])
    assert {d for t, d in events if t == "order.canceled"} == set(orders[:canceled_count])

    wait_until(lambda: delivered_everything(receiver), what=f"{CHANGES} deliveries")
    assert receiver.bad_signatures == 0
    stored = {e.event_id: e for e in OutboxEvent.objects.all()}
    received = receiver.received()
    assert received.keys() == stored.keys()
    for event_id, payload in received.items():
        assert payload["id"] == event_id
        assert payload["type"] == stored[event_id].type
        assert payload["data"]["id"] == stored[event_id].document_id
    # The body is the document a client reads: the last event of an order is the order now.
    last = max(
        (e for e in stored.values() if e.document_id == orders[0]), key=lambda e: e.created_at
    )
    assert received[last.event_id]["type"] == "order.canceled"
    assert received[last.event_id]["data"] == http("GET", f"/api/orders/{orders[0]}").json


def test_a_worker_killed_mid_delivery_loses_nothing(worker, endpoint, receiver):
    receiver.delay = 0.05  # slow enough that the kill lands mid-stream
    # A 1 s timeout (the receiver answers in 0.05 s): the killed worker's batch is leased for
    # 9 s instead of 11, and the restarted worker waits that out before it delivers the batch.
    quick = {"SHOP_WEBHOOK_TIMEOUT": 1.0}
    worker.start(**quick)
    made = [place_order(quantities=(1,), paid=i % 2 == 0) for i in range(80)]
    expected = OutboxEvent.objects.count()
    assert expected == 80 + 40  # created for all, paid for every other one
    wait_until(lambda: len(receiver.received()) >= expected // 4, what="the first deliveries")
    worker.kill()
    delivered_before_kill = len(receiver.received())
    assert delivered_before_kill < expected, "everything was delivered before the kill"
    # More changes while no worker runs: they wait in the outbox.
    for order in made[:20]:
        order_services.cancel_order(order=order)
    expected = OutboxEvent.objects.count()
    worker.start(**quick)
    wait_until(lambda: delivered_everything(receiver), what="every event after the restart")
    assert len(receiver.received()) == expected
    assert set(receiver.received()) == set(OutboxEvent.objects.values_list("event_id", flat=True))
    assert receiver.bad_signatures == 0


def test_a_failing_receiver_is_retried_with_growing_delays_until_it_answers(
    worker, endpoint, receiver
):
    receiver.answer = lambda message_id, seen: 500 if seen <= 4 else 200
    worker.start()
    order = place_order(quantities=(1,), paid=False)
    (event,) = OutboxEvent.objects.filter(document_id=order.pk)
    wait_until(lambda: event.event_id in receiver.received(), what="the delivery after retries")
    delivery = Delivery.objects.get(event=event)
    wait_until(
        lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED,
        what="the delivery to be recorded",
    )
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.response_status for a in attempts] == [500, 500, 500, 500, 200]
    assert [a.ok for a in attempts] == [False] * 4 + [True]
    # Each retry was scheduled later than the one before, and none ran before its time.
    delays = [(a.retry_at - a.started_at).total_seconds() for a in attempts[:-1]]
    assert all(later > earlier for earlier, later in itertools.pairwise(delays)), delays
    for attempt, following in itertools.pairwise(attempts):
        assert following.started_at >= attempt.retry_at
    assert receiver.tries[event.event_id] == 5


def test_a_receiver_that_never_recovers_ends_failed_in_the_admin_queue_and_can_be_resent(
    worker, endpoint, receiver, client
):
    receiver.answer = lambda message_id, seen: 503
    worker.start(SHOP_DELIVERY_RETRY_WINDOW=3)
    order = place_order(quantities=(1,), paid=False)
    (event,) = OutboxEvent.objects.filter(document_id=order.pk)
    delivery = wait_until(
        lambda: Delivery.objects.filter(event=event, status=DeliveryStatus.FAILED).first(),
        what="the delivery to fail",
    )
    assert delivery.attempts >= 3 and delivery.response_status == 503
    assert event.event_id not in receiver.received()

    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(staff)
    home = client.get(reverse("admin:index"))
    queue = next(q for q in home.context["work_queues"] if q.key == "failed_deliveries")
    assert queue.count == 1 and queue.urgent
    failed_list = client.get(queue.url)
    assert failed_list.status_code == 200 and event.type in failed_list.content.decode()
    page = client.get(reverse("admin:events_delivery_change", args=[delivery.pk]))
    resend_url = reverse("admin:events_delivery_resend", args=[delivery.pk])
    assert resend_url in page.content.decode()

    receiver.answer = lambda message_id, seen: 200  # the receiver is fixed
    answer = client.post(resend_url)
    assert answer.status_code == 302
    wait_until(lambda: event.event_id in receiver.received(), what="the resent delivery")
    wait_until(
        lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED,
        what="the resent delivery to be recorded",
    )
    home = client.get(reverse("admin:index"))
    queue = next(q for q in home.context["work_queues"] if q.key == "failed_deliveries")
    assert queue.count == 0


def test_a_receiver_that_hangs_never_holds_up_the_change(live_server, worker, endpoint, receiver):
    import threading

    released = threading.Event()
    receiver.delay = 0
    hang = receiver.handle

    def handle(body, headers):
        released.wait(timeout=60)
        return hang(body, headers)

    receiver.handle = handle
    worker.start()
    http = Http(live_server.url, create_api_key(name="events test").secret_key)
    product = ProductFactory(price=5000)
    first = http.post(
        "/api/orders", {"orderProducts": [{"product": product.pk, "quantity": 1}], **PARCEL_BODY}
    )
    assert first.status == 201
    # The worker is stuck in the receiver (past its timeout); changes still go through.
    wait_until(
        lambda: DeliveryAttempt.objects.filter(ok=False, response_status=None).exists(),
        what="an attempt to time out",
    )
    second = http.post(
        "/api/orders", {"orderProducts": [{"product": product.pk, "quantity": 2}], **PARCEL_BODY}
    )
    assert second.status == 201
    assert receiver.received() == {}
    timed_out = DeliveryAttempt.objects.filter(ok=False).first()
    assert "timed out" in timed_out.response_excerpt.lower()
    released.set()
    wait_until(lambda: delivered_everything(receiver), what="the deliveries after the receiver")
    assert {p["data"]["id"] for p in receiver.received().values()} == {
        first.json["doc"]["id"],
        second.json["doc"]["id"],
    }


def test_beat_confirms_orders_delivered_long_ago_without_a_cron_entry(worker, endpoint, receiver):
    from datetime import timedelta

    from django.utils import timezone

    from fulfillment.models import Fulfillment
    from orders.models import OrderStatus
    from tests.helpers import deliver_everything

    old, recent = place_order(quantities=(1,)), place_order(quantities=(1,))
    for order in (old, recent):
        deliver_everything(order)
    long_ago = timezone.now() - timedelta(days=30)
    Fulfillment.objects.filter(order=old).update(delivered_at=long_ago)
    worker.start(SHOP_AUTO_CONFIRM_EVERY=1)
    wait_until(
        lambda: type(old).objects.get(pk=old.pk).status == OrderStatus.CONFIRMED,
        what="beat to confirm the old order",
    )
    assert type(recent).objects.get(pk=recent.pk).status == OrderStatus.DELIVERED
    confirmed = OutboxEvent.objects.get(type="order.confirmed")
    assert confirmed.document_id == old.pk
    wait_until(lambda: confirmed.event_id in receiver.received(), what="order.confirmed delivered")
