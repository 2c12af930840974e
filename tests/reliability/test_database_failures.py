"""The database failing under a request: its connection ended by the server mid-request
(``pg_terminate_backend``, as a restart or a proxy does it) or a statement past the statement
timeout. The API answers in its error shape, a 503 (with ``Retry-After`` for a lost
connection), never a 500 or an HTML page, and an ``Idempotency-Key`` is never left taken by a
request that failed: the key's record commits with the work or not at all."""

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from orders.models import Order
from shop.keys import create_api_key
from shop.models import IdempotencyKey
from tests.reliability.data import order_body, stocked_cart

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _other_connection():
    params = connection.get_connection_params()
    wanted = {k: params[k] for k in ("dbname", "user", "host", "port", "password") if k in params}
    return psycopg.connect(**wanted, autocommit=True)


def terminate(pid: int) -> None:
    """End a backend from outside, and wait until it is gone."""
    with _other_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(500):
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} did not end")


@contextmanager
def connection_lost_at(marker: str):
    """The first statement whose SQL contains ``marker`` finds its connection ended by the
    server. Yields the statements that met that fate (one, if it was reached)."""
    hit: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if not hit and marker in sql:
            hit.append(sql)
            terminate(context["connection"].connection.info.backend_pid)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield hit


@pytest.fixture
def server():
    """The test client with a server's secret key; it answers what a client gets (no re-raise)."""
    client = Client(raise_request_exception=False)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {create_api_key(name='shop').secret_key}"
    return client


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def assert_unavailable(answer) -> None:
    assert answer.status_code == 503, answer.content
    assert answer["Content-Type"] == "application/json"
    assert answer["Retry-After"] == "1"
    assert answer.json() == {
        "errors": [
            {
                "name": "DatabaseUnavailable",
                "message": "The database is unavailable; retry in a moment.",
            }
        ]
    }


# -- a lost connection ------------------------------------------------------------------------


def test_a_connection_lost_during_a_write_is_a_503_with_retry_after(server):
    cart = stocked_cart()
    with connection_lost_at('INSERT INTO "orders_order"') as hit:
        answer = post(server, "/api/orders", order_body(cart))
    assert hit
    assert_unavailable(answer)
    assert not Order.objects.exists()
    assert post(server, "/api/orders", order_body(cart)).status_code == 201  # and then it works


def test_after_a_lost_connection_the_same_idempotency_key_runs_the_work(server):
    cart = stocked_cart()
    with connection_lost_at('INSERT INTO "orders_order"') as hit:
        answer = post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k1")
    assert hit
    assert_unavailable(answer)
    assert not IdempotencyKey.objects.exists()  # not "in progress": no record at all

    retried = post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k1")
    assert retried.status_code == 201
    again = post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_a_connection_lost_storing_the_answer_undoes_the_work(server):
    """The key's record is written in the work's transaction: losing the connection there
    loses the order too, so a retry with the key makes exactly one."""
    cart = stocked_cart()
    with connection_lost_at('INSERT INTO "shop_idempotencykey"') as hit:
        answer = post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k2")
    assert hit
    assert_unavailable(answer)
    assert not Order.objects.exists()
    assert not IdempotencyKey.objects.exists()

    assert (
        post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k2").status_code == 201
    )
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    "marker",
    [
        'DELETE FROM "shop_idempotencykey"',  # the middleware's first statement
        "pg_try_advisory_xact_lock",  # in its transaction
        'FROM "shop_idempotencykey"',  # looking the key up
    ],
)
def test_a_connection_lost_in_the_idempotency_middleware_is_a_503_in_the_api_shape(server, marker):
    cart = stocked_cart()
    with connection_lost_at(marker) as hit:
        answer = post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k3")
    assert hit
    assert_unavailable(answer)
    assert not Order.objects.exists()
    assert (
        post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k3").status_code == 201
    )


def test_a_request_that_failed_after_its_work_leaves_no_key_and_nothing_done(server, monkeypatch):
    """The order is written, then answering fails (a bug): with its key's record in the same
    transaction, the order goes too, so the retry makes exactly one."""
    from shop.api import views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug after the order was written")

    cart = stocked_cart()
    monkeypatch.setattr(views, "written_document", broken)
    failed = post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k4")
    assert failed.status_code == 500
    assert failed.json() == {"errors": [{"message": "Something went wrong."}]}
    assert not IdempotencyKey.objects.exists()
    assert not Order.objects.exists()

    monkeypatch.undo()
    assert (
        post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k4").status_code == 201
    )
    assert Order.objects.count() == 1


@pytest.mark.urls("tests.reliability.failing_urls")
def test_outside_a_view_a_lost_connection_is_a_503_and_a_bug_a_500_in_the_api_shape():
    client = Client(raise_request_exception=False)
    connection.ensure_connection()
    assert_unavailable(client.get("/api/lost-connection"))
    connection.close()  # what the end of a request does with a broken connection
    bug = client.get("/api/bug")
    assert bug.status_code == 500
    assert bug.json() == {"errors": [{"message": "Something went wrong."}]}
    page = client.get("/bug")  # not the API: Django's own page
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


# -- the statement timeout ---------------------------------------------------------------------


def test_every_connection_starts_with_the_statement_timeout():
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "5s"


def test_manage_py_commands_run_without_it():
    """migrate on a large database, an import: an operator's command is not cut off."""
    shown = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.DATABASE_STATEMENT_TIMEOUT_MS)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.splitlines()[-1] == "0"


@contextmanager
def short_timeout(milliseconds: int):
    """New connections start with a statement timeout of ``milliseconds``, as the setting
    makes them; the request answers as with that setting."""
    before = connection.settings_dict.get("OPTIONS", {})
    connection.settings_dict["OPTIONS"] = {
        **before,
        "options": f"-c statement_timeout={milliseconds}",
    }
    connection.close()
    try:
        with override_settings(DATABASE_STATEMENT_TIMEOUT_MS=milliseconds):
            yield
    finally:
        connection.settings_dict["OPTIONS"] = before
        connection.close()


@contextmanager
def slow(condition=lambda sql: '"orders_order"' in sql, seconds: float = 0.5):
    """Statements that meet ``condition`` take ``seconds`` longer (pg_sleep first)."""

    def wrapper(execute, sql, params, many, context):
        if condition(sql) and "pg_sleep" not in sql:
            with context["connection"].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(%s)", [seconds])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def test_a_query_past_the_statement_timeout_is_a_503_saying_so(server):
    stocked_cart()
    with short_timeout(100), slow():
        answer = server.get("/api/orders?where[customerSnapshot.email][like]=kim")
    assert answer.status_code == 503, answer.content
    assert answer.json() == {
        "errors": [
            {
                "name": "QueryTimeout",
                "message": "The query took longer than 0.1 s and was stopped; ask for less "
                "(a narrower where, a smaller limit) or retry later.",
            }
        ]
    }


def test_a_write_past_the_timeout_leaves_nothing_and_frees_its_key(server):
    cart = stocked_cart()
    with short_timeout(100), slow(lambda sql: 'INSERT INTO "orders_order"' in sql):
        answer = post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k5")
    assert answer.status_code == 503
    assert answer.json()["errors"][0]["name"] == "QueryTimeout"
    assert not Order.objects.exists() and not IdempotencyKey.objects.exists()
    assert (
        post(server, "/api/orders", order_body(cart), HTTP_IDEMPOTENCY_KEY="k5").status_code == 201
    )


def test_the_order_export_has_a_longer_timeout(server):
    """A statement slower than the request timeout still completes in the admin's CSV export
    (its transaction sets the export timeout), while the API's list is cut off."""
    cart = stocked_cart()
    assert post(server, "/api/orders", order_body(cart)).status_code == 201
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    with short_timeout(100):
        # Only the export's rows are read in a transaction: slow those.
        with slow(lambda sql: connection.in_atomic_block and '"orders_order"' in sql):
            export = staff.get(reverse("admin:orders_order_export"))
            assert export.status_code == 200
            lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
        assert len(lines) == 2  # the header and the order
        with slow():
            assert server.get("/api/orders").status_code == 503
