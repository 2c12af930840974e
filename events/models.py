"""What leaves the system: the outbox of events, the webhook endpoints they go to, every delivery
(a webhook call or a customer email) with its attempts, and background jobs with their progress.

An ``OutboxEvent`` is written in the same transaction as the change it reports (``events.outbox``),
so it exists exactly when the change committed. Relaying it (``events.services.relay_events``)
creates one ``Delivery`` per endpoint that wants it and per customer email it calls for; workers
then claim due deliveries, attempt them and record each attempt.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Every event type the outbox records (DESIGN.md, "Events").
EVENT_TYPES = [
    "order.created",
    "order.paid",
    "order.canceled",
    "order.delivered",
    "order.confirmed",
    "fulfillment.shipped",
    "fulfillment.delivered",
    "fulfillment.failed",
    "return.requested",
    "return.approved",
    "return.rejected",
    "return.received",
    "return.completed",
    "exchange.requested",
    "exchange.approved",
    "exchange.rejected",
    "exchange.received",
    "exchange.completed",
]


class PayloadField(models.TextField):
    """Text inserted as a plain parameter even with other rows: Django's multi-row INSERT on
    PostgreSQL (``UNNEST`` of arrays) quotes array elements in Python, slowly for large JSON
    text; a field with its own placeholder is inserted as ``VALUES (…), (…)`` instead."""

    def get_placeholder(self, value, compiler, connection):
        return "%s"


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class OutboxEvent(models.Model):
    """One change a shop cares about, with the document as the API rendered it at that moment."""

    event_id = models.CharField(
        _("event id"), max_length=40, unique=True, default=new_event_id, editable=False
    )
    type = models.CharField(_("type"), max_length=40)
    # The collection and id of the document the event is about (for the admin's filters).
    collection = models.CharField(_("collection"), max_length=40)
    document_id = models.BigIntegerField(_("document id"))
    # The exact JSON sent to receivers: {"id", "type", "timestamp", "data": <document>}. Kept as
    # text so every retry sends (and signs) the same bytes, keys in the API's order.
    payload = PayloadField(_("payload"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set once the event's deliveries exist; the sweep relays whatever is still unset.
    relayed_at = models.DateTimeField(_("relayed"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(relayed_at__isnull=True), name="outbox_unrelayed"
            ),
            models.Index(fields=["collection", "document_id"], name="outbox_document"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.collection} {self.document_id}"


def new_signing_secret() -> str:
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    """A receiver of signed event webhooks (Standard Webhooks)."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event types it receives; empty: every type.
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Needed in full to sign; shown once (when created or rotated), never on a page again.
    secret = models.CharField(max_length=100, default=new_signing_secret, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.event_types or event_type in self.event_types)


class DeliveryChannel(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    EMAIL = "email", _("Email")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event going to one place: a webhook endpoint, or a customer's mailbox."""

    event = models.ForeignKey(
        OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=DeliveryChannel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    # The endpoint's URL or the email address, as it was when the delivery was made.
    recipient = models.CharField(_("recipient"), max_length=500)
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When a worker may next attempt it; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # Retries stop (the delivery fails) once this is older than the retry window; a resend
    # starts a new window.
    window_started_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_excerpt = models.TextField(_("response"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"],
                condition=Q(endpoint__isnull=False),
                name="delivery_once_per_endpoint",
            ),
            models.UniqueConstraint(
                fields=["event", "channel"],
                condition=Q(endpoint__isnull=True),
                name="delivery_once_per_channel",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(fields=["status", "-id"], name="delivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.recipient}"


class DeliveryAttempt(models.Model):
    """One try of a delivery: when, how long, what came back, and when the next one is due."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_excerpt = models.TextField(_("response"), blank=True)
    ok = models.BooleanField(_("succeeded"))
    # The retry this attempt scheduled (empty after a success or the last attempt).
    retry_at = models.DateTimeField(_("retry at"), null=True, blank=True)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """Long work started from the admin and run by a worker (a large tracking import): its input,
    how far it got, and its result."""

    kind = models.CharField(_("kind"), max_length=40)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    input = models.TextField(blank=True)
    # The language of the person who started it: messages in the result are written in it.
    language = models.CharField(max_length=10, blank=True)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0
