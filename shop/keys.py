"""API keys for storefronts and servers, and login tokens for customers."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from shop import statements
from shop.errors import DomainError
from shop.models import ApiKey, Customer, LoginFailure

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
        ("active-api-key",),
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


def issue_customer_token(customer: Customer) -> tuple[str, int]:
    """A signed token for the customer and its expiry (seconds since the epoch)."""
    expires = timezone.now() + token_lifetime()
    exp = int(expires.timestamp())
    payload = {
        "sub": str(customer.pk),
        "collection": "customers",
        "email": customer.email,
        "exp": exp,
        # Changing the password invalidates earlier tokens.
        "pwd": _digest(customer.password)[:16],
    }
    return jwt.encode(payload, _signing_key(), algorithm="HS256"), exp


def read_customer_token(token: str) -> tuple[Customer, int] | None:
    """The active customer a valid, unexpired token names and the token's expiry; None for
    anything else (a bad signature, another kind of token, a changed password)."""
    try:
        payload = jwt.decode(
            token, _signing_key(), algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    if payload.get("collection") != "customers" or not str(payload.get("sub")).isdigit():
        return None
    customer = Customer.objects.filter(pk=payload["sub"], is_active=True).first()
    if customer is None or _digest(customer.password)[:16] != payload.get("pwd"):
        return None
    return customer, int(payload["exp"])


def customer_for_token(token: str) -> Customer | None:
    """The active customer a valid, unexpired token names; None for anything else."""
    found = read_customer_token(token)
    return found[0] if found else None


class LoginThrottled(DomainError):
    status_code = 429
    name = "TooManyRequests"


def authenticate_customer(*, email: str, password: str, ip_address: str | None) -> Customer | None:
    """The customer for these credentials, or None. Too many recent failures for the account or
    the address refuse even a right password until the window passes."""
    email = (email or "").strip().lower()
    window = timezone.now() - timedelta(seconds=settings.SHOP_LOGIN_FAILURE_WINDOW)
    recent = LoginFailure.objects.filter(created_at__gte=window)
    limit = settings.SHOP_LOGIN_FAILURE_LIMIT
    if recent.filter(email=email).count() >= limit or (
        ip_address and recent.filter(ip_address=ip_address).count() >= limit * 4
    ):
        raise LoginThrottled("Too many failed login attempts. Try again later.")
    customer = Customer.objects.filter(email__iexact=email, is_active=True).first()
    if not isinstance(password, str):
        password = ""
    if customer is not None and customer.check_password(password):
        return customer
    if customer is None:
        # Hash anyway, so an unknown address takes as long as a wrong password.
        make_password(password)
    LoginFailure.objects.create(email=email, ip_address=ip_address or None)
    return None
