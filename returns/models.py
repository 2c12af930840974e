"""Returns and exchanges: units coming back from the buyer, refunded or replaced."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from orders.models import Order, OrderItem, Transaction
from shop.fields import MillisecondDateTimeField
from shop.models import Option, TimeStampedModel, Variant


class RequestStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    PROCESSING = "processing", _("Processing")
    COMPLETED = "completed", _("Completed")


R = RequestStatus

OPEN_STATUSES = (R.REQUESTED, R.APPROVED, R.PROCESSING)
# Units in a request in one of these states are spoken for: they cannot be asked for again.
COUNTED_STATUSES = (R.REQUESTED, R.APPROVED, R.PROCESSING, R.COMPLETED)


class ReturnReason(models.TextChoices):
    CHANGE_OF_MIND = "change_of_mind", _("Change of mind")
    DEFECTIVE = "defective", _("Defective")
    WRONG_DELIVERY = "wrong_delivery", _("Wrong delivery")
    DAMAGED = "damaged", _("Damaged")
    OTHER = "other", _("Other")


class ExchangeReason(models.TextChoices):
    WRONG_SIZE = "wrong_size", _("Wrong size")
    WRONG_COLOR = "wrong_color", _("Wrong colour")
    DEFECTIVE = "defective", _("Defective")
    OTHER = "other", _("Other")


class RequestMachine(FSMModelMixin, TimeStampedModel):
    """requested → approved | rejected; approved → processing (units received) → completed."""

    status = FSMField(
        max_length=16,
        choices=R.choices,
        default=R.REQUESTED,
        protected=True,
        verbose_name=_("status"),
    )
    note = models.TextField(blank=True, verbose_name=_("note"))
    rejection_reason = models.TextField(blank=True, verbose_name=_("reason for rejection"))
    received_at = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("received on"))
    completed_at = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("completed on"))

    class Meta:
        abstract = True

    @transition(field=status, source=R.REQUESTED, target=R.APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=R.REQUESTED, target=R.REJECTED)
    def reject(self):
        pass

    @transition(field=status, source=R.APPROVED, target=R.PROCESSING)
    def start_processing(self):
        pass

    @transition(field=status, source=R.PROCESSING, target=R.COMPLETED)
    def complete(self):
        pass


class Return(RequestMachine):
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="returns", verbose_name=_("order")
    )
    reason = models.CharField(max_length=32, choices=ReturnReason.choices, verbose_name=_("reason"))
    refund_amount = models.BigIntegerField(default=0, verbose_name=_("refund amount"))
    refund_transaction = models.OneToOneField(
        Transaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunded_return",
        verbose_name=_("refund"),
    )

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(refund_amount__gte=0), name="return_refund_gte_0"),
        ]
        indexes = [
            models.Index(fields=["order", "-created_at"], name="return_order_created"),
            models.Index(fields=["status", "created_at"], name="return_status_created"),
        ]

    def __str__(self) -> str:
        return _("Return %(id)s of order %(number)s") % {
            "id": self.pk,
            "number": self.order.order_number,
        }


class ReturnItem(TimeStampedModel):
    return_request = models.ForeignKey(
        Return,
        on_delete=models.PROTECT,
        related_name="items",
        db_column="return_id",
        verbose_name=_("return"),
    )
    order_item = models.ForeignKey(
        OrderItem,
        on_delete=models.PROTECT,
        related_name="return_items",
        verbose_name=_("order item"),
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    # Decided when the parcel comes back: how many of the units go back on the shelf.
    restock_quantity = models.PositiveIntegerField(default=0, verbose_name=_("units back in stock"))

    class Meta:
        verbose_name = _("return item")
        verbose_name_plural = _("return items")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="returnitem_qty_gte_1"),
            models.CheckConstraint(
                condition=Q(restock_quantity__lte=models.F("quantity")),
                name="returnitem_restock_lte_qty",
            ),
            models.UniqueConstraint(
                fields=["return_request", "order_item"], name="returnitem_once_per_return"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item.title}"


class Exchange(RequestMachine):
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="exchanges", verbose_name=_("order")
    )
    reason = models.CharField(
        max_length=32, choices=ExchangeReason.choices, verbose_name=_("reason")
    )
    # The replacement units' catalog price less what the buyer paid for the units they send
    # back, set when the exchange is requested (Medusa's ``difference_due``): above zero the
    # buyer owes it (the replacement waits for their payment), below zero it is refunded to them.
    difference_due = models.BigIntegerField(
        default=0, db_default=0, verbose_name=_("price difference")
    )
    # The payment that settled a positive difference, or the refund of a negative one.
    difference_transaction = models.OneToOneField(
        Transaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settled_exchange",
        verbose_name=_("price difference settled by"),
    )

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["order", "-created_at"], name="exchange_order_created"),
            models.Index(fields=["status", "created_at"], name="exchange_status_created"),
        ]

    def __str__(self) -> str:
        return _("Exchange %(id)s of order %(number)s") % {
            "id": self.pk,
            "number": self.order.order_number,
        }


class ExchangeItem(TimeStampedModel):
    exchange = models.ForeignKey(
        Exchange, on_delete=models.PROTECT, related_name="items", verbose_name=_("exchange")
    )
    order_item = models.ForeignKey(
        OrderItem,
        on_delete=models.PROTECT,
        related_name="exchange_items",
        verbose_name=_("order item"),
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    replacement_variant = models.ForeignKey(
        Variant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("replacement variant"),
    )
    replacement_option = models.ForeignKey(
        Option,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("replacement option"),
    )
    restock_quantity = models.PositiveIntegerField(default=0, verbose_name=_("units back in stock"))

    class Meta:
        verbose_name = _("exchange item")
        verbose_name_plural = _("exchange items")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="exchangeitem_qty_gte_1"),
            models.CheckConstraint(
                condition=Q(restock_quantity__lte=models.F("quantity")),
                name="exchangeitem_restock_lte_qty",
            ),
            models.UniqueConstraint(
                fields=["exchange", "order_item"], name="exchangeitem_once_per_exchange"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item.title}"
