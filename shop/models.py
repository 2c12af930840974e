"""The catalog and its customers: who buys, what they buy, and the carts they buy from."""

import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shop.fields import MillisecondDateTimeField
from shop.values import Address

EMAIL_TAKEN = _("A customer with this email already exists.")


def normalize_email(value: str) -> str:
    """The one form an email is stored under and looked up by: Unicode compatibility forms
    folded (NFKC: fullwidth letters, ligatures) and case folded (``ß`` is ``ss``, a long ``ſ`` is
    ``s``), applied until it no longer changes. A dotless ``ı`` stays a letter of its own."""
    folded = unicodedata.normalize("NFKC", (value or "").strip())
    return unicodedata.normalize("NFKC", folded.casefold())


class TimeStampedModel(models.Model):
    created_at = MillisecondDateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created")
    )
    updated_at = MillisecondDateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        abstract = True


class Customer(TimeStampedModel):
    """A shopper. Also an auth collection: customers log in to the storefront API.

    ``email`` is the address as it was given (mail goes there); ``normalized_email`` is its
    normal form (``normalize_email``), written on every save, unique, and what a login looks up.
    ``token_generation`` goes up whenever the customer is saved inactive: login tokens carry
    the generation they were issued in, so deactivating ends them for good.
    """

    name = models.CharField(max_length=200, verbose_name=_("name"))
    email = models.EmailField(db_index=True, verbose_name=_("email"))
    normalized_email = models.TextField(unique=True, blank=True, editable=False)
    phone = models.CharField(max_length=40, blank=True, verbose_name=_("phone"))
    password = models.CharField(max_length=128, blank=True, verbose_name=_("password"))
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    # The language of the emails they get; empty: the shop's (LANGUAGE_CODE).
    language = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",
        choices=settings.LANGUAGES,
        verbose_name=_("email language"),
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        written = set(update_fields) if update_fields is not None else None
        self.normalized_email = normalize_email(self.email)
        ends_tokens = (
            not self.is_active
            and not self._state.adding
            and (written is None or "is_active" in written)
        )
        if ends_tokens:
            self.token_generation = F("token_generation") + 1
        if written is not None:
            if "email" in written:
                written.add("normalized_email")
            if ends_tokens:
                written.add("token_generation")
            kwargs["update_fields"] = written
        super().save(*args, **kwargs)
        if ends_tokens:
            self.refresh_from_db(fields=["token_generation"])

    def validate_unique(self, exclude=None) -> None:
        """An address taken in any spelling is the email field's error (forms and the API say
        so next to the field); the database's unique index on the normal form still decides
        a race."""
        exclude = {*(exclude or ()), "normalized_email"}
        errors: dict = {}
        try:
            super().validate_unique(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if "email" not in exclude and self.email:
            taken = Customer.objects.filter(normalized_email=normalize_email(self.email))
            if taken.exclude(pk=self.pk).exists():
                errors.setdefault("email", []).append(ValidationError(EMAIL_TAKEN, code="unique"))
        if errors:
            raise ValidationError(errors)

    def set_password(self, raw_password: str | None) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        if not self.password:
            return False
        return check_password(raw_password, self.password)

    def snapshot(self) -> dict:
        return {"name": self.name, "email": self.email, "phone": self.phone}


class StockedItem(TimeStampedModel):
    """Something sellable: a product, a variant of it, or an option of a variant.

    ``price`` empty on a variant or option means "the parent's price"; ``stock`` empty means
    the item's stock is not tracked.
    """

    title = models.CharField(max_length=200, verbose_name=_("title"))
    sku = models.CharField(max_length=64, blank=True, verbose_name=_("SKU"))
    stock = models.IntegerField(null=True, blank=True, verbose_name=_("stock"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})" if self.sku else self.title


class Product(StockedItem):
    price = models.BigIntegerField(default=0, verbose_name=_("price"))
    is_active = models.BooleanField(default=True, verbose_name=_("on sale"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_gte_0"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="product_stock_gte_0"
            ),
            models.UniqueConstraint(fields=["sku"], condition=~Q(sku=""), name="product_sku_uniq"),
        ]


class Variant(StockedItem):
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="variants", verbose_name=_("product")
    )
    price = models.BigIntegerField(null=True, blank=True, verbose_name=_("price"))

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="variant_price_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="variant_stock_gte_0"
            ),
        ]


class Option(StockedItem):
    variant = models.ForeignKey(
        Variant, on_delete=models.PROTECT, related_name="options", verbose_name=_("variant")
    )
    price = models.BigIntegerField(null=True, blank=True, verbose_name=_("price"))

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="option_price_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="option_stock_gte_0"
            ),
        ]


def shop_currency() -> str:
    """The currency the shop sells in; prices carry no other."""
    return settings.SHOP_CURRENCY


class Cart(TimeStampedModel):
    """A customer's (or a guest's) basket. It checks out once: see ``orders.Order.cart``.

    The shipping address is filled in as the buyer goes; checkout needs it whole (or one of its
    own) for the parcel.
    """

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="carts"
    )
    currency = models.CharField(max_length=3, default=shop_currency)
    checked_out_at = MillisecondDateTimeField(null=True, blank=True)
    # shippingAddress {recipientName, phone, postalCode, address1, address2}, as on an order.
    shipping_recipient_name = models.CharField(
        max_length=200, blank=True, default="", db_default=""
    )
    shipping_phone = models.CharField(max_length=40, blank=True, default="", db_default="")
    shipping_postal_code = models.CharField(max_length=20, blank=True, default="", db_default="")
    shipping_address1 = models.CharField(max_length=300, blank=True, default="", db_default="")
    shipping_address2 = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="cart_customer_created")]

    def __str__(self) -> str:
        return f"Cart {self.pk}"

    @property
    def shipping_address(self) -> Address:
        return Address.of(self)


class CartItem(TimeStampedModel):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    option = models.ForeignKey(
        Option, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cartitem_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class ApiKey(TimeStampedModel):
    """A storefront's or server's key pair.

    The publishable key (``pk_…``) may sit in a browser and only identifies the storefront; the
    secret key (``sk_…``) is shown once at creation and only its SHA-256 digest is stored (it is
    a long random token, so a fast digest is as safe as a slow password hash, and cheap enough to
    check on every request).
    """

    name = models.CharField(max_length=100, verbose_name=_("name"))
    publishable_key = models.CharField(
        max_length=64, unique=True, verbose_name=_("publishable key")
    )
    secret_prefix = models.CharField(
        max_length=16, db_index=True, verbose_name=_("secret key prefix")
    )
    secret_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked"))

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.publishable_key})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginFailure(models.Model):
    """A failed customer login, kept for throttling by account and by address."""

    email = models.CharField(max_length=254)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["email", "created_at"], name="loginfailure_email"),
            models.Index(fields=["ip_address", "created_at"], name="loginfailure_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.ip_address}"


class IdempotencyKey(models.Model):
    """The first answer to a write sent with an ``Idempotency-Key`` header, replayed on retries."""

    caller = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_caller_key"),
        ]

    def __str__(self) -> str:
        return f"{self.caller}: {self.key}"
