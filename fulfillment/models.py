"""Fulfilments: parcels that carry some of an order's units to the buyer."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from fulfillment.carriers import find_carrier, tracking_link
from orders.models import Order, OrderItem
from shop.fields import MillisecondDateTimeField
from shop.models import TimeStampedModel


class FulfillmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


F_ = FulfillmentStatus


def has_tracking_number(fulfillment: "Fulfillment") -> bool:
    return bool((fulfillment.tracking_number or "").strip())


class Fulfillment(FSMModelMixin, TimeStampedModel):
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="fulfillments", verbose_name=_("order")
    )
    status = FSMField(
        max_length=16,
        choices=F_.choices,
        default=F_.PENDING,
        protected=True,
        verbose_name=_("status"),
    )
    carrier = models.CharField(max_length=100, blank=True, verbose_name=_("carrier"))
    tracking_number = models.CharField(
        max_length=100, blank=True, verbose_name=_("tracking number")
    )
    shipped_at = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("shipped on"))
    delivered_at = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("delivered on"))
    # Set on the parcel that carries an exchange's replacement units; those units do not count
    # against the order's own quantities.
    exchange = models.ForeignKey(
        "returns.Exchange",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacement_fulfillments",
        verbose_name=_("replacement for exchange"),
    )
    note = models.TextField(blank=True, verbose_name=_("note"))

    class Meta:
        verbose_name = _("fulfilment")
        verbose_name_plural = _("fulfilments")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["order", "-created_at"], name="fulfillment_order_created"),
            models.Index(fields=["status", "created_at"], name="fulfillment_status_created"),
            models.Index(fields=["tracking_number"], name="fulfillment_tracking"),
            models.Index(fields=["carrier"], name="fulfillment_carrier"),
            # The home screen's time from payment to shipment: parcels shipped in a window.
            models.Index(fields=["shipped_at"], name="fulfillment_shipped"),
        ]

    def __str__(self) -> str:
        return _("Fulfilment %(id)s of order %(number)s") % {
            "id": self.pk,
            "number": self.order.order_number,
        }

    @property
    def carrier_name(self) -> str:
        known = find_carrier(self.carrier)
        return known.name if known else self.carrier

    @property
    def tracking_url(self) -> str | None:
        return tracking_link(self.carrier, self.tracking_number)

    @transition(field=status, source=F_.PENDING, target=F_.PACKED)
    def pack(self):
        pass

    @transition(
        field=status,
        source=[F_.PENDING, F_.PACKED],
        target=F_.SHIPPED,
        conditions=[has_tracking_number],
    )
    def ship(self):
        pass

    @transition(field=status, source=F_.SHIPPED, target=F_.DELIVERED)
    def deliver(self):
        pass

    @transition(field=status, source=[F_.PENDING, F_.PACKED, F_.SHIPPED], target=F_.FAILED)
    def fail(self):
        pass

    @transition(field=status, source=F_.FAILED, target=F_.PENDING)
    def retry(self):
        pass


class FulfillmentItem(TimeStampedModel):
    fulfillment = models.ForeignKey(
        Fulfillment, on_delete=models.PROTECT, related_name="items", verbose_name=_("fulfilment")
    )
    order_item = models.ForeignKey(
        OrderItem,
        on_delete=models.PROTECT,
        related_name="fulfillment_items",
        verbose_name=_("order item"),
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))

    class Meta:
        verbose_name = _("fulfilment item")
        verbose_name_plural = _("fulfilment items")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="fulfillmentitem_qty_gte_1"),
            models.UniqueConstraint(
                fields=["fulfillment", "order_item"], name="fulfillmentitem_once_per_parcel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item.title}"


class ShipmentLeadSlot(models.Model):
    """Parcels shipped per quarter hour by time from the order's payment (``bucket``: the
    index in ``staff.charts.LEAD_BUCKETS``), for the home screen's chart.

    Kept by database triggers on ``fulfillment_fulfillment`` and ``orders_transaction``
    (PostgreSQL; see migration 0007): a parcel counts once shipped, unless it carries an
    exchange's replacement, in the bucket of the time from the order's latest paid payment at
    or before its shipment. Read, never written, by the application.
    """

    slot = models.DateTimeField(verbose_name=_("quarter hour"))
    shard = models.SmallIntegerField(default=0, verbose_name=_("shard"))
    bucket = models.SmallIntegerField(verbose_name=_("bucket"))
    parcels = models.IntegerField(default=0, verbose_name=_("parcels"))

    class Meta:
        verbose_name = _("parcels shipped per quarter hour")
        verbose_name_plural = _("parcels shipped per quarter hour")
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "shard", "bucket"], name="shipmentleadslot_slot_shard_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.slot:%Y-%m-%d %H:%M} #{self.bucket}: {self.parcels}"
