"""API reads from a streaming replica, everything else on the primary, and read-your-writes.

With ``DATABASE_REPLICA_URL`` set, settings add a second database, ``replica`` (a PostgreSQL hot
standby of the primary, e.g. made with ``pg_basebackup -R``). Without it nothing here does
anything: every query goes to ``default``.

Which database a query uses:

- A read of the shop's data (the models of ``DATABASE_REPLICA_APPS``, credentials, login counts
  and idempotency records excepted) during an API request that only reads (GET, HEAD, OPTIONS
  under ``/api/``) goes to the replica: ``ReplicaRouter.db_for_read`` and, for the compiled
  statements of ``shop/statements.py``, the same router.
- Everything else goes to the primary: writes, reads inside a transaction on the primary
  (services, ``select_for_update``, which Django always sends as a write), the admin, management
  commands and migrations (``allow_migrate`` only on ``default``), Celery tasks.

Read-your-writes, by the LSN rather than by a clock. After an API request that may have written
(any other method), ``ReplicaReadsMiddleware`` records the primary's ``pg_current_wal_lsn()``
under the caller: a digest of the credentials it sent (``Authorization``, the customer's
``payload-token`` cookie, the session cookie, the publishable key), and its key pair, so a
storefront's customers read what the storefront's server just wrote for them (a checkout). A
later read by the same caller goes to the replica only once the replica has replayed that far
(``pg_last_wal_replay_lsn() >= the recorded LSN``); until then it goes to the primary. A customer
who has just checked out sees the order at once, whatever the replica's lag; other callers read
from the replica meanwhile. The check is one tiny query on the replica, asked only for a caller
who wrote within ``DATABASE_REPLICA_STICKY_SECONDS`` (the record's lifetime, 300 s by default:
a replica further behind than that is broken, not lagging). A replica that cannot be reached
for the check sends the caller to the primary.

The records live in Redis (``REDIS_URL``, which every application server shares; settings refuse a
replica without it).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Where reads of the shop's data go in this request (or task): the primary unless the
# middleware said otherwise.
_reads: ContextVar[str] = ContextVar("shop_db_reads", default=DEFAULT_DB_ALIAS)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _replica_models() -> tuple[frozenset[str], frozenset[str]]:
    apps = frozenset(getattr(settings, "DATABASE_REPLICA_APPS", ()))
    never = frozenset(getattr(settings, "DATABASE_REPLICA_NEVER", ()))
    return apps, never


class ReplicaRouter:
    """Sends reads of the shop's data to the replica when the request allows it; everything
    else to the primary."""

    def __init__(self):
        self.apps, self.never = _replica_models()

    def db_for_read(self, model, **hints):
        alias = _reads.get()
        if alias == DEFAULT_DB_ALIAS:
            return DEFAULT_DB_ALIAS
        meta = model._meta
        if meta.app_label not in self.apps or meta.label_lower in self.never:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS  # a read in a write's transaction sees that write
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database's rows, wherever they were read

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


# ---------------------------------------------------------------------------------------------
# Who the caller is, and what they last wrote


def callers_of(request) -> list[str]:
    """Who the request speaks for, as record names: a digest of the credentials it carries,
    and the key pair of its key (a server's secret key, or the publishable key a storefront's
    customers send). A storefront's server checks a customer out with its secret key and the
    customer then reads with the publishable key of the same pair: one pair, so the customer
    reads what the server just wrote for them."""
    from shop import keys

    meta, cookies = request.META, request.COOKIES
    authorization = meta.get("HTTP_AUTHORIZATION", "")
    publishable = meta.get("HTTP_X_PUBLISHABLE_KEY", "").strip()
    parts = [
        authorization,
        cookies.get("payload-token", ""),
        cookies.get(settings.SESSION_COOKIE_NAME, ""),
        publishable,
    ]
    if not any(parts):
        return []
    found = [hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]]
    credential = authorization.partition(" ")[2].strip()
    if credential.startswith(keys.SECRET_PREFIX):
        key = keys.key_for_secret(credential)
    else:
        key = keys.key_for_publishable(publishable) if publishable else None
    if key is not None:
        found.append(f"pair-{key.pk}")
    return found


class _RedisWrites:
    """The records in Redis, shared by every server; each expires on its own."""

    def __init__(self, url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = f"{prefix}shop:wrote:"

    def set(self, callers: list[str], lsn: str, ttl: float) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for caller in callers:
                pipe.set(self.prefix + caller, lsn, px=max(1, int(ttl * 1000)))
            pipe.execute()

    def get(self, callers: list[str]) -> list[str]:
        values = self.client.mget([self.prefix + caller for caller in callers])
        return [value.decode() for value in values if value is not None]


_store = None
_store_lock = threading.Lock()


def writes():
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                url = getattr(settings, "REDIS_URL", "")
                prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
                _store = _RedisWrites(url, prefix)
    return _store


UNKNOWN_LSN = "FFFFFFFF/FFFFFFFF"  # no replica reaches it: the primary until the record ends


def remember_write(callers: list[str]) -> str:
    """Record the primary's current WAL position as ``callers``' last write; return it. When
    the position cannot be read, the caller reads from the primary for the record's lifetime."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            lsn = cursor.fetchone()[0]
    except DatabaseError:
        lsn = UNKNOWN_LSN
    try:
        writes().set(callers, lsn, settings.DATABASE_REPLICA_STICKY_SECONDS)
    except Exception:  # the write is done: answer it; the caller may read the replica's past
        logger.warning("Could not record a write for read-your-writes", exc_info=True)
    return lsn


def replica_has_replayed(lsns: list[str]) -> bool:
    """Whether the replica has replayed the primary's WAL up to each of ``lsns`` (False when it
    cannot say: not a standby, or unreachable)."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= ALL(%s::pg_lsn[]), false)", [lsns]
            )
            return bool(cursor.fetchone()[0])
    except DatabaseError:
        connections[REPLICA].close()
        return False


def reads_for(callers: list[str]) -> str:
    """Where these callers' reads go now: the replica, unless they wrote something it has not
    replayed yet."""
    if not callers:
        return REPLICA
    try:
        lsns = writes().get(callers)
    except Exception:  # the shared store is down: no way to know, so the primary
        return DEFAULT_DB_ALIAS
    if not lsns or replica_has_replayed(lsns):
        return REPLICA
    return DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Chooses the database of each API request's reads, and records each caller's writes."""

    def __init__(self, get_response):
        if not replica_configured():
            raise MiddlewareNotUsed  # no replica: not even a call per request
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        callers = callers_of(request)
        if request.method in READ_ONLY_METHODS:
            token = _reads.set(reads_for(callers))
            try:
                return self.get_response(request)
            finally:
                _reads.reset(token)
        response = self.get_response(request)
        if callers:
            remember_write(callers)
        return response
