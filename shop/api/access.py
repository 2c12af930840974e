"""Who may see and do what through the API: the one module every view asks.

The authentication classes (``shop.api.auth``) turn a request's credentials into one ``Caller``:

- ``staff``: a Django staff user (admin session or ``Authorization: Token …``). Django model
  permissions decide, plus the transition groups' permissions for writes that run a transition.
- ``server``: a secret key (``Authorization: Bearer sk_…``). Everything the API offers.
- ``storefront``: a publishable key alone (``X-Publishable-Key: pk_…``). Reads the catalog.
- ``customer``: a publishable key with a customer's login token. Reads the catalog, their own
  orders and everything under them, their carts; writes their carts and cart items, and
  requests returns and exchanges on their own orders.
- ``anonymous``: anything else, including a revoked key or an invalid or expired token.

Every view asks, in this order:

1. ``check(request, collection, action)``: may the caller do ``action`` (``view``, ``add``,
   ``change``, ``delete``) on the collection at all? If not: 403, whatever the id.
2. ``scope(request, collection, queryset)``: which rows exist for the caller? Applied before any
   ``where``, to lists, counts, documents by id, depth expansions and joins, so a query can narrow
   what the caller sees and never widen it; a row outside the scope is a 404, never a 403.
3. ``writable_fields(request, collection, action)``: which fields the caller may send (others:
   403), and ``forced_values``: what a write gets whatever the caller sent (a customer's cart is
   theirs).
4. ``check_transition(request, collection, status)``: may the caller run this state change?
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from shop.actors import Actor
from shop.api.collections import Collection
from shop.api.errors import Forbidden

ACTIONS = ("view", "add", "change", "delete")

STAFF = "staff"
SERVER = "server"
STOREFRONT = "storefront"
CUSTOMER = "customer"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authentication classes found out (``request.auth``)."""

    kind: str
    user: Any = None  # staff: the Django user
    api_key: Any = None  # server, storefront, customer: the shop.ApiKey used
    customer: Any = None  # customer: the shop.Customer logged in
    token: str | None = None  # customer: their login token
    token_exp: int | None = None  # customer: when it expires (seconds since the epoch)

    @classmethod
    def staff(cls, user) -> Caller:
        return cls(STAFF, user=user)

    @classmethod
    def server(cls, key) -> Caller:
        return cls(SERVER, api_key=key)

    @classmethod
    def storefront(cls, key) -> Caller:
        return cls(STOREFRONT, api_key=key)

    @classmethod
    def for_customer(cls, customer, key, *, token: str, exp: int) -> Caller:
        return cls(CUSTOMER, api_key=key, customer=customer, token=token, token_exp=exp)

    @property
    def sees_private_fields(self) -> bool:
        """Staff and servers see fields declared private (an order's staff note)."""
        return self.kind in (STAFF, SERVER)


NOBODY = Caller(ANONYMOUS)


def caller(request) -> Caller:
    found = getattr(request, "auth", None)
    return found if isinstance(found, Caller) else NOBODY


# ---------------------------------------------------------------------------------------------
# The rules. What is particular to a collection (whose rows a customer owns, what they may
# write, which permission runs its transitions) is declared on the collection by its app.


def _model_permission(collection: Collection, action: str) -> str:
    if action == "view" and collection.view_permission:
        return collection.view_permission
    return f"{collection.app_label}.{action}_{collection.model_name}"


def _staff_may(user, collection: Collection, action: str) -> bool:
    if action == "view":
        return user.has_perm(_model_permission(collection, action))
    group = collection.transition_permission
    if group is not None and action in ("add", "change"):
        return user.has_perm(group)
    if collection.status_permissions and action == "change":
        return user.has_perm(_model_permission(collection, action)) or any(
            user.has_perm(p) for p in set(collection.status_permissions.values())
        )
    return user.has_perm(_model_permission(collection, action))


def has_permission(request, collection: Collection, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    who = caller(request)
    if who.kind == SERVER:
        return True
    if who.kind == STAFF:
        return _staff_may(who.user, collection, action)
    if who.kind == CUSTOMER:
        if action == "view":
            return collection.public or collection.owner is not None
        return action in collection.customer_writes
    if who.kind == STOREFRONT:
        return action == "view" and collection.public
    return False


def check(request, collection: Collection, action: str) -> None:
    """403 unless the caller may do ``action`` on ``collection``."""
    if not has_permission(request, collection, action):
        raise Forbidden()


# How a scope narrows a collection: every row, no row, or the rows of one customer.
ALL, NONE, OWNER = "all", "none", "owner"


def scope_rule(request, collection: Collection) -> tuple[str, str | None, int | None]:
    """``(rule, path, customer id)``: how ``scope`` narrows the collection for the caller."""
    who = caller(request)
    if who.kind == SERVER:
        return ALL, None, None
    if who.kind == STAFF:
        if who.user.has_perm(_model_permission(collection, "view")):
            return ALL, None, None
        return NONE, None, None
    if who.kind in (CUSTOMER, STOREFRONT) and collection.public:
        return ALL, None, None
    if who.kind == CUSTOMER and collection.owner is not None:
        return OWNER, collection.owner, who.customer.pk
    return NONE, None, None


def narrow(queryset: QuerySet, rule: str, path: str | None, owner: int | None) -> QuerySet:
    """``queryset`` narrowed by a ``scope_rule``."""
    if rule == ALL:
        return queryset
    if rule == OWNER:
        return queryset.filter(**{path: owner})
    return queryset.none()


def scope(request, collection: Collection, queryset: QuerySet) -> QuerySet:
    """The rows of ``collection`` the caller may see (before ``where`` is applied)."""
    return narrow(queryset, *scope_rule(request, collection))


def writable_fields(request, collection: Collection, action: str) -> frozenset[str] | None:
    """The camelCase fields the caller may write (None: all the collection accepts)."""
    who = caller(request)
    if who.kind == CUSTOMER:
        return collection.customer_writes.get(action, frozenset())
    if (
        who.kind == STAFF
        and action == "change"
        and collection.status_permissions
        and not who.user.has_perm(_model_permission(collection, action))
    ):
        return collection.status_fields  # a transition group without the edit right
    return None


def forced_values(request, collection: Collection, action: str) -> dict:
    """Values a write gets whatever the body says (checked like any value the caller sent)."""
    who = caller(request)
    if who.kind == CUSTOMER and collection.owned_on_create and action == "add":
        return {collection.owned_on_create: who.customer.pk}
    return {}


def check_transition(request, collection: Collection, status: str) -> None:
    """403 unless the caller may move a document of ``collection`` to ``status``."""
    who = caller(request)
    if who.kind == SERVER:
        return
    if who.kind == STAFF:
        if collection.status_permissions:
            needed = collection.status_permissions.get(status)
        else:
            needed = collection.transition_permission
        if needed is None or who.user.has_perm(needed):
            return
    raise Forbidden()


def sees_private_fields(request) -> bool:
    return caller(request).sees_private_fields


def actor(request) -> Actor:
    """Who the transition log records for a change made by this request."""
    who = caller(request)
    if who.kind == STAFF:
        return Actor.staff(who.user)
    if who.kind == SERVER:
        return Actor.api_key(who.api_key.name)
    if who.kind == CUSTOMER:
        return Actor.customer(who.customer)
    raise Forbidden()


def sees(request):
    """``seen(collection)`` for ``compile_where``: whether the caller sees any of its rows (a
    ``where`` through a join to children the caller cannot see is refused like an unknown path)."""
    return lambda collection: scope_rule(request, collection)[0] != NONE
