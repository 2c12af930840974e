"""Who may see and do what through the API: the one module every view asks.

Three questions, always in this order:

1. ``check(request, collection, action)``: may the caller do ``action`` (``view``, ``add``,
   ``change``, ``delete``) on the collection at all? If not: 403.
2. ``scope(request, collection, queryset)``: which rows exist for the caller? Applied before any
   ``where``, so a query can narrow what the caller sees and never widen it; a row outside the
   scope is a 404, never a 403.
3. ``writable_fields(request, collection, action)``: which fields the caller may write.

Today's rule: authenticated Django staff with the model's Django permissions (a superuser has
them all) see and do everything those permissions allow; everyone else is refused.
"""

from django.db.models import QuerySet

from shop.actors import Actor
from shop.api.collections import Collection
from shop.api.errors import Forbidden

ACTIONS = ("view", "add", "change", "delete")


def _staff(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active and user.is_staff:
        return user
    return None


def has_permission(request, collection: Collection, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    user = _staff(request)
    if user is None:
        return False
    return user.has_perm(f"{collection.app_label}.{action}_{collection.model_name}")


def check(request, collection: Collection, action: str) -> None:
    """403 unless the caller may do ``action`` on ``collection``."""
    if not has_permission(request, collection, action):
        raise Forbidden()


def scope(request, collection: Collection, queryset: QuerySet) -> QuerySet:
    """The rows of ``collection`` the caller may see (before ``where`` is applied)."""
    if _staff(request) is None:
        return queryset.none()
    return queryset


def writable_fields(request, collection: Collection, action: str) -> set[str] | None:
    """The camelCase fields the caller may write (None: all the collection accepts)."""
    return None


def actor(request) -> Actor:
    """Who the transition log records for a change made by this request."""
    user = _staff(request)
    if user is None:
        raise Forbidden()
    return Actor.staff(user)
