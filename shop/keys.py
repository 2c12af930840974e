"""API keys for storefronts and servers, and login tokens for customers."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from shop import statements
from shop.errors import DomainError
from shop.models import ApiKey, Customer, LoginFailure, normalize_email

PUBLISHABLE_PREFIX = "pk_"
SECRET_PREFIX = "sk_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret_key: str  # shown once; only its digest is stored

    def as_json(self) -> dict:
        return {
            "name": self.key.name,
            "publishableKey": self.key.publishable_key,
            "secretKey": self.secret_key,
        }


def create_api_key(*, name: str) -> IssuedKey:
    name = (name or "").strip()
    if not name:
        raise DomainError("An API key needs a name.", field="name")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name[:100],
        publishable_key=PUBLISHABLE_PREFIX + secrets.token_urlsafe(24),
        secret_prefix=secret[:12],
        secret_hash=_digest(secret),
    )
    return IssuedKey(key=key, secret_key=secret)


def revoke_api_key(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
    return key


def key_for_secret(secret: str) -> ApiKey | None:
    """The active key whose secret this is, or None. Marks it used (at most once a minute)."""
    if not secret or not secret.startswith(SECRET_PREFIX):
        return None
    found = next(iter(_active_keys(_digest(secret))), None)
    if found is not None:
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=found.pk).update(last_used_at=now)
    return found


def _active_keys(digest: str) -> list[ApiKey]:
    """The active key with this digest (at most one: digests are unique). Every request a
    server makes asks this, so its statement is compiled once (``shop.statements``)."""
    return statements.fetch_instances(
        ApiKey,
        lambda digest: ApiKey.objects.filter(
            secret_hash=digest, revoked_at__isnull=True
        ).order_by(),
        [digest],
        limit=1,
    )


def key_for_publishable(value: str) -> ApiKey | None:
    if not value or not value.startswith(PUBLISHABLE_PREFIX):
        return None
    return ApiKey.objects.filter(publishable_key=value, revoked_at__isnull=True).first()


# ---------------------------------------------------------------------------------------------
# Customer login tokens (JWT, HS256, signed with SECRET_KEY, short-lived)


def _signing_key() -> bytes:
    """A 32-byte key for customer tokens only, derived from SECRET_KEY (domain-separated)."""
    return hashlib.sha256(b"shop.customer-token:" + settings.SECRET_KEY.encode()).digest()


def token_lifetime() -> timedelta:
    return timedelta(seconds=settings.SHOP_CUSTOMER_TOKEN_SECONDS)


def issue_customer_token(customer: Customer, *, key: ApiKey) -> tuple[str, int]:
    """A signed token for the customer, issued through ``key`` (the storefront's or server's
    key pair the login came with), and its expiry (seconds since the epoch)."""
    expires = timezone.now() + token_lifetime()
    exp = int(expires.timestamp())
    payload = {
        "sub": str(customer.pk),
        "collection": "customers",
        "email": customer.email,
        "exp": exp,
        # The key pair it was issued through: revoking that key ends the token.
        "key": key.pk,
        # Deactivating the customer (a new generation) ends earlier tokens for good.
        "gen": customer.token_generation,
        # Changing the password invalidates earlier tokens.
        "pwd": _digest(customer.password)[:16],
    }
    return jwt.encode(payload, _signing_key(), algorithm="HS256"), exp


def read_customer_token(token: str, *, key: ApiKey) -> tuple[Customer, int] | None:
    """The active customer a valid, unexpired token names and the token's expiry, when the
    token was issued through ``key`` (an active key pair: the caller found it by its publishable
    key); None for anything else (a bad signature, another kind of token, another or a revoked
    key, a changed password, a customer deactivated since)."""
    try:
        payload = jwt.decode(
            token,
            _signing_key(),
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "key", "gen"]},
        )
    except jwt.PyJWTError:
        return None
    if payload.get("collection") != "customers" or not str(payload.get("sub")).isdigit():
        return None
    if key is None or key.revoked_at is not None or payload["key"] != key.pk:
        return None
    customer = Customer.objects.filter(pk=payload["sub"], is_active=True).first()
    if (
        customer is None
        or payload["gen"] != customer.token_generation
        or _digest(customer.password)[:16] != payload.get("pwd")
    ):
        return None
    return customer, int(payload["exp"])


def customer_for_token(token: str, *, key: ApiKey) -> Customer | None:
    """The active customer a valid, unexpired token issued through ``key`` names; else None."""
    found = read_customer_token(token, key=key)
    return found[0] if found else None


class LoginThrottled(DomainError):
    status_code = 429
    name = "TooManyRequests"


def _lock_login_counts(*names: str) -> None:
    """Serialise the count-then-record of failures for these accounts/addresses until the
    transaction ends. PostgreSQL: transaction-level advisory locks, taken in one order so two
    logins never wait on each other in a cycle. SQLite takes the database's write lock when
    the transaction begins (``transaction_mode`` IMMEDIATE), which serialises it already."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name in sorted(set(names)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def authenticate_customer(*, email: str, password: str, ip_address: str | None) -> Customer | None:
    """The customer for these credentials, or None.

    Failures are counted under the email's normal form, the same one the lookup uses, so every
    spelling of an address draws on one count. Each attempt is recorded as a failure before the
    password is checked, in the same locked transaction that counted the earlier ones, and the
    record is removed when the password is right: concurrent attempts can never check more
    passwords than the limit allows. Too many recent failures for the account (or four times as
    many from the address) refuse even a right password until the window passes.
    """
    account = normalize_email(email if isinstance(email, str) else "")
    if not isinstance(password, str):
        password = ""
    counted = account[: LoginFailure._meta.get_field("email").max_length]
    limit = settings.SHOP_LOGIN_FAILURE_LIMIT
    with transaction.atomic():
        names = [f"shop.login.account:{counted}"]
        if ip_address:
            names.append(f"shop.login.address:{ip_address}")
        _lock_login_counts(*names)
        window = timezone.now() - timedelta(seconds=settings.SHOP_LOGIN_FAILURE_WINDOW)
        recent = LoginFailure.objects.filter(created_at__gte=window)
        if recent.filter(email=counted).count() >= limit or (
            ip_address and recent.filter(ip_address=ip_address).count() >= limit * 4
        ):
            raise LoginThrottled("Too many failed login attempts. Try again later.")
        attempt = LoginFailure.objects.create(email=counted, ip_address=ip_address or None)
    customer = Customer.objects.filter(normalized_email=account, is_active=True).first()
    if customer is not None and customer.check_password(password):
        LoginFailure.objects.filter(pk=attempt.pk).delete()
        return customer
    if customer is None:
        # Hash anyway, so an unknown address takes as long as a wrong password.
        make_password(password)
    return None
