"""Orders, their items and their money movements (payments and refunds).

Models hold fields, constraints and the state machines; every change across rows (and every
transition) is made by ``orders.services``.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from orders.permissions import TRANSITION_GROUPS
from orders.values import MAX_DELIVERY_NOTE, CustomerSnapshot
from shop.actors import ActorKind
from shop.fields import MillisecondDateTimeField
from shop.models import Cart, Customer, Option, Product, TimeStampedModel, Variant
from shop.values import Address


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending payment")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Payment failed")
    CANCELED = "canceled", _("Canceled")
    PREPARING = "preparing", _("Preparing")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CONFIRMED = "confirmed", _("Confirmed")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    RETURN_PROCESSING = "return_processing", _("Return processing")
    RETURNED = "returned", _("Returned")


S = OrderStatus


class Order(FSMModelMixin, TimeStampedModel):
    order_number = models.CharField(max_length=40, unique=True, verbose_name=_("order number"))
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("customer"),
    )
    # A cart checks out once: the database refuses a second order for the same cart.
    cart = models.OneToOneField(
        Cart,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order",
        verbose_name=_("cart"),
    )
    # customerSnapshot {name, email, phone}: captured at order time.
    customer_name = models.CharField(max_length=200, blank=True, verbose_name=_("customer name"))
    customer_email = models.CharField(max_length=254, blank=True, verbose_name=_("customer email"))
    customer_phone = models.CharField(max_length=40, blank=True, verbose_name=_("customer phone"))
    # shippingAddress {recipientName, phone, postalCode, address1, address2}
    shipping_recipient_name = models.CharField(
        max_length=200, blank=True, verbose_name=_("recipient name")
    )
    shipping_phone = models.CharField(max_length=40, blank=True, verbose_name=_("recipient phone"))
    shipping_postal_code = models.CharField(
        max_length=20, blank=True, verbose_name=_("postal code")
    )
    shipping_address1 = models.CharField(
        max_length=300, blank=True, verbose_name=_("address line 1")
    )
    shipping_address2 = models.CharField(
        max_length=300, blank=True, verbose_name=_("address line 2")
    )

    status = FSMField(
        max_length=32,
        choices=OrderStatus.choices,
        default=S.PENDING,
        protected=True,
        verbose_name=_("status"),
    )
    currency = models.CharField(max_length=3, default="KRW", verbose_name=_("currency"))
    subtotal_amount = models.BigIntegerField(default=0, verbose_name=_("subtotal"))
    shipping_amount = models.BigIntegerField(default=0, verbose_name=_("shipping"))
    discount_amount = models.BigIntegerField(default=0, verbose_name=_("discount"))
    total_amount = models.BigIntegerField(default=0, verbose_name=_("total"))
    staff_note = models.TextField(blank=True, verbose_name=_("staff note"))
    # The buyer's note for the courier or the warehouse ("leave it at the door").
    delivery_note = models.CharField(
        max_length=MAX_DELIVERY_NOTE,
        blank=True,
        default="",
        db_default="",
        verbose_name=_("delivery note"),
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(subtotal_amount__gte=0)
                & Q(shipping_amount__gte=0)
                & Q(discount_amount__gte=0)
                & Q(total_amount__gte=0),
                name="order_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(
                    total_amount=F("subtotal_amount") + F("shipping_amount") - F("discount_amount")
                ),
                name="order_total_adds_up",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="order_customer_created"),
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            models.Index(fields=["-created_at", "-id"], name="order_created_desc"),
            # The unfulfilled list: paid and preparing orders, oldest first (a few thousand of
            # a million, so a page reads 50 index entries instead of skipping shipped orders).
            models.Index(
                fields=["created_at", "id"],
                name="order_unfulfilled_created",
                condition=Q(status__in=["paid", "preparing"]),
            ),
        ]
        permissions = TRANSITION_GROUPS

    def __str__(self) -> str:
        return self.order_number

    @property
    def customer_snapshot(self) -> CustomerSnapshot:
        return CustomerSnapshot(self.customer_name, self.customer_email, self.customer_phone)

    @property
    def shipping_address(self) -> Address:
        return Address.of(self)

    # Payment
    @transition(field=status, source=S.PENDING, target=S.PAID)
    def pay(self):
        pass

    @transition(field=status, source=S.PENDING, target=S.FAILED)
    def fail(self):
        pass

    @transition(field=status, source=S.FAILED, target=S.PENDING)
    def retry(self):
        pass

    @transition(field=status, source=[S.PENDING, S.FAILED, S.PAID, S.PREPARING], target=S.CANCELED)
    def cancel(self):
        pass

    # Shipping: the services move these as the fulfilments progress.
    @transition(field=status, source=S.PAID, target=S.PREPARING)
    def start_preparing(self):
        pass

    @transition(field=status, source=S.PREPARING, target=S.SHIPPED)
    def ship(self):
        pass

    @transition(field=status, source=S.SHIPPED, target=S.DELIVERED)
    def deliver(self):
        pass

    @transition(field=status, source=S.DELIVERED, target=S.CONFIRMED)
    def confirm(self):
        pass

    # Returns and exchanges: the services move these as the requests progress.
    @transition(field=status, source=[S.DELIVERED, S.RETURN_PROCESSING], target=S.RETURN_REQUESTED)
    def request_return(self):
        pass

    @transition(field=status, source=S.RETURN_REQUESTED, target=S.DELIVERED)
    def reject_return(self):
        pass

    @transition(field=status, source=S.RETURN_REQUESTED, target=S.RETURN_PROCESSING)
    def start_return(self):
        pass

    @transition(field=status, source=S.RETURN_PROCESSING, target=S.RETURNED)
    def complete_return(self):
        pass

    @transition(field=status, source=S.RETURN_PROCESSING, target=S.DELIVERED)
    def close_return(self):
        """Back to delivered: a partial return or an exchange is over; units stay with the buyer."""


class OrderItem(TimeStampedModel):
    """A line of an order, with a snapshot of what was sold at what price."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="items", verbose_name=_("order")
    )
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("product"),
    )
    variant = models.ForeignKey(
        Variant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("variant"),
    )
    option = models.ForeignKey(
        Option,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("option"),
    )
    title = models.CharField(max_length=300, verbose_name=_("item"))
    sku = models.CharField(max_length=64, blank=True, verbose_name=_("SKU"))
    unit_price = models.BigIntegerField(verbose_name=_("unit price"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    total_price = models.BigIntegerField(verbose_name=_("line total"))

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderitem_quantity_gte_1"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderitem_price_gte_0"),
            models.CheckConstraint(
                condition=Q(total_price=F("unit_price") * F("quantity")),
                name="orderitem_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"


class TransactionKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")


class PaymentMethod(models.TextChoices):
    """The methods staff see by name. A payment may name any other method (the API takes free
    text): it is shown as it was given."""

    CARD = "card", _("Card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    VIRTUAL_ACCOUNT = "virtual_account", _("Virtual account")
    KAKAOPAY = "kakaopay", _("Kakao Pay")
    NAVERPAY = "naverpay", _("Naver Pay")
    TOSSPAY = "tosspay", _("Toss Pay")
    MANUAL = "manual", _("Marked paid by staff")


def payment_method_label(method: str) -> str:
    """A payment method in words: its name when it is a known one, else as it was given."""
    if method in PaymentMethod.values:
        return str(PaymentMethod(method).label)
    return method


class TransactionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


T = TransactionStatus


class Transaction(FSMModelMixin, TimeStampedModel):
    """Money moving for an order: a payment in, or a refund out (a paid refund has gone out)."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="transactions", verbose_name=_("order")
    )
    kind = models.CharField(
        max_length=16,
        choices=TransactionKind.choices,
        default=TransactionKind.PAYMENT,
        verbose_name=_("kind"),
    )
    status = FSMField(
        max_length=16,
        choices=T.choices,
        default=T.PENDING,
        protected=True,
        verbose_name=_("status"),
    )
    amount = models.BigIntegerField(verbose_name=_("amount"))
    payment_method = models.CharField(max_length=40, blank=True, verbose_name=_("payment method"))
    payment_id = models.CharField(
        max_length=200, null=True, blank=True, unique=True, verbose_name=_("payment reference")
    )
    # What staff read to match the money: a bank transfer's payer name, a receipt number.
    reference = models.CharField(
        max_length=200, blank=True, default="", db_default="", verbose_name=_("reference")
    )

    class Meta:
        verbose_name = _("payment or refund")
        verbose_name_plural = _("payments and refunds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="transaction_amount_gte_0"),
        ]
        indexes = [
            models.Index(fields=["order", "-created_at"], name="transaction_order_created"),
            models.Index(fields=["payment_method", "status"], name="transaction_method_status"),
        ]

    def __str__(self) -> str:
        amount = f"{self.amount:,} {self.order.currency}"
        return f"{self.get_kind_display()} {amount} ({self.get_status_display()})"

    @property
    def payment_method_label(self) -> str:
        return payment_method_label(self.payment_method)

    @transition(field=status, source=T.PENDING, target=T.PAID)
    def mark_paid(self):
        pass

    @transition(field=status, source=T.PENDING, target=T.FAILED)
    def mark_failed(self):
        pass

    @transition(field=status, source=[T.PENDING, T.PAID], target=T.CANCELED)
    def void(self):
        pass


class OrderSlotTotal(models.Model):
    """Orders and paid revenue per quarter hour of their creation, for the home screen's charts.

    Kept by a database trigger on ``orders_order`` (PostgreSQL; see migration 0009), so every
    write path, the services' bulk updates included, keeps it exact; read, never written, by
    the application. A quarter hour in UTC starts a day in every time zone. ``shard`` spreads
    concurrent checkouts over a few rows (the connection's process id), so they do not queue
    on the current quarter hour's row.
    """

    slot = models.DateTimeField(verbose_name=_("quarter hour"))
    shard = models.SmallIntegerField(default=0, verbose_name=_("shard"))
    orders = models.IntegerField(default=0, verbose_name=_("orders"))
    revenue = models.BigIntegerField(default=0, verbose_name=_("revenue"))

    class Meta:
        verbose_name = _("orders per quarter hour")
        verbose_name_plural = _("orders per quarter hour")
        constraints = [
            models.UniqueConstraint(fields=["slot", "shard"], name="orderslottotal_slot_shard")
        ]

    def __str__(self) -> str:
        return f"{self.slot:%Y-%m-%d %H:%M}: {self.orders}"


class OrderNumberCounter(models.Model):
    """Where a database has no sequence (SQLite), order numbers count up from this row."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class TransitionLog(models.Model):
    """Append-only record of every state change of an order or anything under it, and of every
    correction of what a state was reached with (a parcel's carrier or tracking number): such an
    entry has the same ``source`` and ``target`` and says what changed in ``changes``."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="transition_logs", verbose_name=_("order")
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    transition = models.CharField(max_length=64, verbose_name=_("change"))
    source = models.CharField(max_length=32, verbose_name=_("from"))
    target = models.CharField(max_length=32, verbose_name=_("to"))
    actor_kind = models.CharField(
        max_length=16, choices=ActorKind.choices, verbose_name=_("done by (kind)")
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("staff user"),
    )
    actor_label = models.CharField(max_length=200, blank=True, verbose_name=_("done by"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    # {field: {"from": old, "to": new}} for the details the entry set or corrected.
    changes = models.JSONField(
        default=dict,
        db_default=models.Value({}, models.JSONField()),
        blank=True,
        verbose_name=_("details changed"),
    )
    created_at = MillisecondDateTimeField(auto_now_add=True, verbose_name=_("when"))

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["order", "-created_at"], name="translog_order_created"),
            models.Index(fields=["content_type", "object_id"], name="translog_object"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id}: {self.source} → {self.target}"


MAX_COMMENT = 2000


class OrderComment(models.Model):
    """What a staff member wrote on an order (Shopify's timeline comment): shown in the order's
    timeline among its changes. Not a transition: it changes no state, so it is a row of its own
    rather than a ``TransitionLog`` entry with no subject and no move."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="comments", verbose_name=_("order")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,  # the comment stays when the staff account is deleted
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    author_label = models.CharField(max_length=200, blank=True, verbose_name=_("written by"))
    body = models.TextField(max_length=MAX_COMMENT, verbose_name=_("comment"))
    created_at = MillisecondDateTimeField(auto_now_add=True, verbose_name=_("when"))

    class Meta:
        verbose_name = _("order comment")
        verbose_name_plural = _("order comments")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="ordercomment_order_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    GreaterThan(Length(Trim("body")), 0),
                    LessThanOrEqual(Length("body"), MAX_COMMENT),
                ),
                name="ordercomment_body_not_blank_nor_too_long",
            )
        ]

    def __str__(self) -> str:
        return f"{self.author_label}: {self.body[:40]}"
