"""Running the project's own commands (make, manage.py, bin/serve) in child processes, as a user
would, against the test database or a throw-away one."""

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# What pytest or a developer's shell may have set that a user's process would not have.
# (The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright's event loop.)
NOT_INHERITED = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG", "DEMO"}
NOT_INHERITED |= {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}


def database_url(name: str | None = None) -> str:
    """A postgres:// URL of the test's server, naming ``name`` (default: the test database)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name or db['NAME']}"


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment without test-only settings, with ``overrides`` applied
    (a value of None removes the variable)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(command: list[str], timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env=environment(**env), capture_output=True, text=True, timeout=timeout
    )


def manage(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], timeout=timeout, **env)


def make(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """``make`` with the project's Makefile; ``-o install`` keeps it from re-syncing packages."""
    return run(["make", "--no-print-directory", "-o", "install", *args], timeout=timeout, **env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_sql(statement: str) -> None:
    """One statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    import psycopg

    url = database_url("postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as maintenance:
        maintenance.execute(statement)


@contextmanager
def throwaway_database(prefix: str = "shop_throwaway") -> Iterator[str]:
    """A new, empty PostgreSQL database with a name unique to this call; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
