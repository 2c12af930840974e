"""A process that cannot start says why in one line: a setting that is wrong (DATABASE_URL,
SECRET_KEY, …) or a database that does not answer, instead of a page of traceback."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError


def database_unreachable(error: OperationalError) -> str | None:
    """The one-line reason when ``error`` is a failure to connect, not one in mid-work."""
    from django.db import connections

    if "default" not in connections.settings or connections["default"].connection is not None:
        return None
    db = connections["default"].settings_dict
    where = f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or 'default port'}"
    reason = " ".join(str(error).split())  # psycopg's message spans lines
    return f"cannot connect to the database {db.get('NAME')!r} on {where} (DATABASE_URL): {reason}"


@contextmanager
def one_line_errors(program: str, traceback: bool = False) -> Iterator[None]:
    """Turn a configuration error or an unreachable database into ``program: reason``, exit 1."""
    try:
        yield
    except ImproperlyConfigured as error:
        if traceback:
            raise
        sys.exit(f"{program}: {' '.join(str(error).split())}")
    except OperationalError as error:
        reason = None if traceback else database_unreachable(error)
        if reason is None:
            raise
        sys.exit(f"{program}: {reason}")
