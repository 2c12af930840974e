"""Settings for the test suite: the product's settings, a test key, and the database to test on.

DATABASE_URL wins when it is set (CI sets a postgres:// URL). Otherwise the suite uses the local
PostgreSQL on 127.0.0.1:5432 when one answers, and the embedded SQLite otherwise; tests that need
PostgreSQL are then skipped with a printed reason.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")


def _local_postgres_url() -> str | None:
    try:
        import psycopg

        url = "postgresql://postgres@127.0.0.1:5432/postgres"
        with psycopg.connect(url, connect_timeout=2):
            return "postgres://postgres@127.0.0.1:5432/shop"
    except Exception:
        return None


if not os.environ.get("DATABASE_URL"):
    found = _local_postgres_url()
    if found:
        os.environ["DATABASE_URL"] = found

from shop.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Every statement served from shop.statements' cache is checked against a fresh compile: a cache
# key that misses what a query depends on, or a Django whose internals changed, fails the test.
SHOP_STATEMENTS_VERIFY = True

# A test database name unique to this run, so two runs on one PostgreSQL never share (or drop)
# each other's database. Subprocesses (pytest-xdist workers, servers a test starts) inherit the
# name through the environment; pytest-xdist adds its own per-worker suffix.
os.environ.setdefault("SHOP_TEST_RUN", f"{os.getpid()}_{os.urandom(3).hex()}")
DATABASES["default"].setdefault("TEST", {})  # noqa: F405
DATABASES["default"]["TEST"]["NAME"] = (  # noqa: F405
    f"test_{DATABASES['default']['NAME']}_{os.environ['SHOP_TEST_RUN']}"  # noqa: F405
    if DATABASES["default"]["ENGINE"].endswith("postgresql")  # noqa: F405
    else None
)
