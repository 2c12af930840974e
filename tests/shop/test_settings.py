"""Settings behaviour that matters in production: database choice and the secret key guard."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({"engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
                  "port": db.get("PORT", ""), "user": db.get("USER", ""), "debug": settings.DEBUG,
                  "tz": settings.TIME_ZONE, "use_tz": settings.USE_TZ,
                  "hosts": settings.ALLOWED_HOSTS}))
"""


def load_settings(**env):
    """Import shop.settings in a fresh interpreter with exactly the given environment."""
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}
    }
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "shop.settings"
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_default_database_is_the_embedded_sqlite_file():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["engine"] == "django.db.backends.sqlite3"
    assert db["name"] == str(ROOT / "db.sqlite3")
    assert db["tz"] == "Asia/Seoul" and db["use_tz"] is True


def test_database_url_selects_postgresql():
    result = load_settings(DEBUG="1", DATABASE_URL="postgres://shopuser@db.internal:6543/shopdb")
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["engine"] == "django.db.backends.postgresql"
    assert (db["name"], db["host"], db["port"], db["user"]) == (
        "shopdb",
        "db.internal",
        6543,
        "shopuser",
    )


def test_secret_key_is_required_when_debug_is_off():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_given_secret_key_starts_without_debug():
    result = load_settings(DEBUG="0", SECRET_KEY="s3cret", ALLOWED_HOSTS="shop.example.com,api")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is False
    assert loaded["hosts"] == ["shop.example.com", "api"]


@pytest.mark.django_db
def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def refuse(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
