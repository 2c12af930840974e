"""Relaying outbox events to their deliveries, and attempting deliveries until they succeed or
their retry window ends. Every step is safe to run twice and from several workers at once:
rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, and a claimed delivery carries a lease
(its ``next_attempt_at`` moved past the attempt's longest duration), so a worker that dies
mid-attempt leaves it to be claimed again once the lease ends. A delivery is therefore made at
least once; receivers deduplicate by ``webhook-id``.
"""

import random
import time
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events import emails, webhooks
from events.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryChannel,
    DeliveryStatus,
    OutboxEvent,
    WebhookEndpoint,
    new_signing_secret,
)

RELAY_BATCH = 500


# ---------------------------------------------------------------------------------------------
# Relaying: outbox events → deliveries


def relay_events(*, limit: int = RELAY_BATCH) -> int:
    """Create the deliveries of up to ``limit`` events not yet relayed, oldest first; the number
    of deliveries created. Events another worker is relaying are skipped, not waited for."""
    with transaction.atomic():
        batch = list(
            OutboxEvent.objects.filter(relayed_at__isnull=True)
            .order_by("pk")
            .select_for_update(skip_locked=True)[:limit]
        )
        if not batch:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True).order_by("pk"))
        now = timezone.now()
        deliveries = []
        for event in batch:
            deliveries += [
                Delivery(
                    event=event,
                    channel=DeliveryChannel.WEBHOOK,
                    endpoint=endpoint,
                    recipient=endpoint.url,
                    next_attempt_at=now,
                    window_started_at=now,
                )
                for endpoint in endpoints
                if endpoint.wants(event.type)
            ]
            email = emails.recipient_for(event.type, orjson.loads(event.payload)["data"])
            if email is not None:
                address, language = email
                deliveries.append(
                    Delivery(
                        event=event,
                        channel=DeliveryChannel.EMAIL,
                        recipient=address,
                        language=language,
                        next_attempt_at=now,
                        window_started_at=now,
                    )
                )
        Delivery.objects.bulk_create(deliveries)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in batch]).update(relayed_at=now)
    return len(deliveries)


def unrelayed_count() -> int:
    return OutboxEvent.objects.filter(relayed_at__isnull=True).count()


# ---------------------------------------------------------------------------------------------
# Delivering


def lease_seconds() -> float:
    """How long a claimed batch is kept from other workers: every attempt in it timing out."""
    return settings.SHOP_DELIVERY_BATCH * (settings.SHOP_WEBHOOK_TIMEOUT + 1) + 5


def claim_due(*, limit: int | None = None) -> list[Delivery]:
    """Claim up to ``limit`` deliveries that are due, skipping those another worker holds."""
    limit = limit or settings.SHOP_DELIVERY_BATCH
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")[:limit]
        )
        if due:
            Delivery.objects.filter(pk__in=[d.pk for d in due]).update(
                next_attempt_at=now + timedelta(seconds=lease_seconds()),
                attempts=F("attempts") + 1,
            )
    for delivery in due:
        delivery.attempts += 1
    return due


def due_count() -> int:
    return Delivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
    ).count()


def retry_delay(attempt: int) -> float:
    """Seconds before the retry after attempt ``attempt`` (1, 2, …): doubling from
    ``SHOP_DELIVERY_RETRY_BASE`` up to ``SHOP_DELIVERY_RETRY_MAX_DELAY``, plus up to 10 % of
    jitter so receivers that come back are not hit by every retry at once."""
    base = settings.SHOP_DELIVERY_RETRY_BASE * 2 ** min(attempt - 1, 40)
    return min(base, settings.SHOP_DELIVERY_RETRY_MAX_DELAY) * (1 + random.random() / 10)


def attempt(delivery: Delivery) -> float | None:
    """Make one claimed attempt and record it; the seconds until the retry it scheduled, or None
    (delivered, or failed for good)."""
    started = timezone.now()
    if delivery.channel == DeliveryChannel.WEBHOOK:
        outcome = webhooks.post(
            delivery.endpoint.url,
            delivery.endpoint.secret,
            delivery.event.event_id,
            delivery.event.payload,
        )
    else:
        outcome = emails.send(delivery)
    return record_attempt(delivery, outcome, started)


def record_attempt(delivery: Delivery, outcome: webhooks.Outcome, started) -> float | None:
    now = timezone.now()
    delay = None
    changes = {
        "last_attempt_at": started,
        "response_status": outcome.status,
        "response_excerpt": outcome.excerpt,
    }
    if outcome.ok:
        changes.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
    else:
        window_end = delivery.window_started_at + timedelta(
            seconds=settings.SHOP_DELIVERY_RETRY_WINDOW
        )
        if now >= window_end:
            changes["status"] = DeliveryStatus.FAILED
        else:
            delay = retry_delay(delivery.attempts)
            changes["next_attempt_at"] = now + timedelta(seconds=delay)
    with transaction.atomic():
        # Only a delivery still waiting is updated (staff may have resent or it may have been
        # delivered by a worker that claimed it after this one's lease ended).
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(**changes)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started,
            duration_ms=outcome.duration_ms,
            response_status=outcome.status,
            response_excerpt=outcome.excerpt,
            ok=outcome.ok,
            retry_at=changes.get("next_attempt_at"),
        )
    return delay


def deliver_due(*, budget_seconds: float = 30.0) -> tuple[int, list[float]]:
    """Claim and attempt due deliveries, batch after batch, until none is due or the time budget
    is spent: (attempts made, the retry delays they scheduled)."""
    started = time.monotonic()
    made, delays = 0, []
    while time.monotonic() - started < budget_seconds:
        batch = claim_due()
        if not batch:
            break
        for delivery in batch:
            delay = attempt(delivery)
            made += 1
            if delay is not None:
                delays.append(delay)
    return made, delays


# ---------------------------------------------------------------------------------------------
# Staff


def resend(deliveries) -> int:
    """Attempt the deliveries again now, with a new retry window (a failed one included)."""
    now = timezone.now()
    return Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, window_started_at=now
    )


def resend_event(event: OutboxEvent) -> int:
    """Send an event again to every place it went, and to active endpoints that want it and
    did not get it (added since). An event not relayed yet gets its deliveries from the relay."""
    with transaction.atomic():
        event = OutboxEvent.objects.select_for_update().get(pk=event.pk)
        if event.relayed_at is None:
            return 0
        have = set(event.deliveries.values_list("endpoint_id", flat=True))
        Delivery.objects.bulk_create(
            Delivery(
                event=event,
                channel=DeliveryChannel.WEBHOOK,
                endpoint=endpoint,
                recipient=endpoint.url,
            )
            for endpoint in WebhookEndpoint.objects.filter(is_active=True).exclude(pk__in=have)
            if endpoint.wants(event.type)
        )
        return resend(list(event.deliveries.all()))


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    endpoint.secret = new_signing_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint.secret
