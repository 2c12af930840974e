"""Celery tasks: relaying the outbox, delivering, the periodic sweep, and background work.

Without a broker (``CELERY_TASK_ALWAYS_EAGER``, the embedded first run) a task runs in the
process that asks for it, after the change committed; retries then wait for the next sweep (a
worker with beat, or ``manage.py deliver_events``).
"""

import contextlib
import math

from celery import current_app, shared_task
from django.conf import settings

from events import services

# Tasks acknowledge a message only once they have run (acks_late): a worker killed mid-task
# leaves its message to be delivered again. Every task is safe to run twice.
TASK = {"acks_late": True, "ignore_result": True}
MAX_PARALLEL = 16  # deliver_due tasks asked for at once


def eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def request_relay() -> None:
    """Relay new outbox rows (called once a transaction that wrote some has committed).

    Under load many changes commit while one relay waits to run; they need no relay of their
    own (it will see their rows), so a flag in Redis says one is asked for: set here when it was
    not (then the task is sent), cleared by the task as it starts. It expires, so a lost task
    holds nothing up for long; the sweep relays anything left in any case."""
    if not eager():
        flag = _relay_flag()
        if flag is not None:
            client, key = flag
            try:
                if not client.set(key, 1, nx=True, px=RELAY_FLAG_MS):
                    return
            except Exception:  # the broker's Redis is unreachable: send the task (it will say)
                pass
    relay.delay()


RELAY_FLAG_MS = 2000
_flags: dict[tuple[str, str], tuple] = {}


def _relay_flag():
    """(redis client, key) of the "relay asked for" flag, when the broker is Redis."""
    url = current_app.conf.broker_url or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    prefix = (current_app.conf.broker_transport_options or {}).get("global_keyprefix", "")
    if (url, prefix) not in _flags:
        import redis

        _flags[url, prefix] = (redis.Redis.from_url(url), f"{prefix}shop:relay-requested")
    return _flags[url, prefix]


@shared_task(**TASK)
def relay() -> int:
    """Create the deliveries of every event not yet relayed, then have them delivered."""
    flag = None if eager() else _relay_flag()
    if flag is not None:
        client, key = flag
        with contextlib.suppress(Exception):
            client.delete(key)  # commits from now on ask again; earlier ones are relayed below
    created = 0
    while made := services.relay_events():
        created += made
    if created:
        request_deliveries(created)
    return created


def request_deliveries(count: int, *, countdown: float | None = None) -> None:
    """Ask for enough ``deliver_due`` tasks to work through ``count`` deliveries in parallel."""
    if eager():
        if countdown is None:  # no scheduling without a broker: the sweep retries
            deliver_due.delay()
        return
    tasks = min(MAX_PARALLEL, max(1, math.ceil(count / settings.SHOP_DELIVERY_BATCH)))
    for _ in range(tasks):
        deliver_due.apply_async(countdown=countdown)


@shared_task(**TASK)
def deliver_due() -> int:
    """Attempt due deliveries until none is left (or the time budget is spent, then again)."""
    made, delays = services.deliver_due()
    if not eager():
        if made and services.due_count():
            deliver_due.delay()  # the budget ran out with work left
        # A retry soon is asked for now; a later one is left to the sweep (a broker holds
        # countdown tasks in the worker's memory, so they are kept short).
        for delay in sorted(set(round(d, 1) for d in delays))[:MAX_PARALLEL]:
            if delay <= settings.SHOP_DELIVERY_COUNTDOWN_MAX:
                deliver_due.apply_async(countdown=delay)
    return made


@shared_task(**TASK)
def sweep() -> dict:
    """Every ``SHOP_EVENTS_SWEEP_SECONDS`` (Celery beat): relay what was left unrelayed (a
    broker that was down, a worker that died) and have every due delivery attempted."""
    relayed = 0
    while made := services.relay_events():
        relayed += made
    due = services.due_count()
    if due:
        request_deliveries(due)
    return {"relayed": relayed, "due": due}
