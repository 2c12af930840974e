"""Database helpers shared by every app's services."""

import contextlib
import functools
import time

from django.db import OperationalError, connection, transaction

# PostgreSQL's serialization_failure and deadlock_detected: safe to retry from the start.
RETRYABLE_SQLSTATES = {"40001", "40P01"}


def is_retryable(error: OperationalError) -> bool:
    """A deadlock or serialization failure: the whole transaction may simply run again."""
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def service(func=None, *, attempts: int = 3):
    """Run a service function in one atomic block, retrying it on a deadlock or serialization
    failure when it is the outermost transaction (a nested call joins its caller's block)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if connection.in_atomic_block:
                with transaction.atomic():
                    return fn(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return fn(*args, **kwargs)
                except OperationalError as error:
                    if attempt == attempts or not is_retryable(error):
                        raise
                    time.sleep(0.01 * attempt)
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate


@contextlib.contextmanager
def statement_timeout(milliseconds: int):
    """One transaction whose statements may each run ``milliseconds`` (0: without limit)
    instead of the connection's ``statement_timeout`` (PostgreSQL; elsewhere just atomic)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [str(milliseconds)]
                )
        yield
