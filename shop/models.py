"""The catalog and its customers: who buys, what they buy, and the carts they buy from."""

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import Q


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Customer(TimeStampedModel):
    """A shopper. Also an auth collection: customers log in to the storefront API."""

    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    phone = models.CharField(max_length=40, blank=True)
    password = models.CharField(max_length=128, blank=True)
    is_active = models.BooleanField(default=True)
    # The language of the emails they get; empty: the shop's (LANGUAGE_CODE).
    language = models.CharField(
        max_length=10, blank=True, default="", db_default="", choices=settings.LANGUAGES
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

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

    title = models.CharField(max_length=200)
    sku = models.CharField(max_length=64, blank=True)
    stock = models.IntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})" if self.sku else self.title


class Product(StockedItem):
    price = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_gte_0"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="product_stock_gte_0"
            ),
            models.UniqueConstraint(fields=["sku"], condition=~Q(sku=""), name="product_sku_uniq"),
        ]


class Variant(StockedItem):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants")
    price = models.BigIntegerField(null=True, blank=True)

    class Meta:
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
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="options")
    price = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="option_price_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="option_stock_gte_0"
            ),
        ]


class Cart(TimeStampedModel):
    """A customer's (or a guest's) basket. It checks out once: see ``orders.Order.cart``."""

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="carts"
    )
    currency = models.CharField(max_length=3, default="KRW")
    checked_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="cart_customer_created")]

    def __str__(self) -> str:
        return f"Cart {self.pk}"


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

    name = models.CharField(max_length=100)
    publishable_key = models.CharField(max_length=64, unique=True)
    secret_prefix = models.CharField(max_length=16, db_index=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

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
