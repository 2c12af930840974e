"""Who makes a change: recorded with every transition."""

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    API_KEY = "api_key", _("API key")
    CUSTOMER = "customer", _("Customer")
    SYSTEM = "system", _("System")


@dataclass(frozen=True)
class Actor:
    kind: str
    label: str = ""
    user: Any = None  # a staff django.contrib.auth user, when kind is staff

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(kind=ActorKind.STAFF, label=user.get_username(), user=user)

    @classmethod
    def api_key(cls, name: str) -> "Actor":
        return cls(kind=ActorKind.API_KEY, label=name)

    @classmethod
    def customer(cls, customer) -> "Actor":
        return cls(kind=ActorKind.CUSTOMER, label=f"customer:{customer.pk} {customer.email}")


SYSTEM = Actor.system()
