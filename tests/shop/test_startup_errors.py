"""A wrong DATABASE_URL (or another wrong setting) is one line saying what is wrong, exit code 1,
not a page of traceback: from manage.py and from gunicorn."""

import subprocess
import sys

import pytest

from tests.shop.processes import ROOT, database_url, environment, free_port, manage


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unknown_scheme_is_named_in_one_line_without_the_password():
    line = one_line(manage("migrate", DATABASE_URL="mysqlx://shop:hunter2@db.internal/shop"))
    assert line.startswith("manage.py: DATABASE_URL has scheme 'mysqlx'")
    assert "postgres://USER:PASSWORD@HOST:5432/NAME" in line
    assert "hunter2" not in line


def test_a_url_that_cannot_be_read_is_one_line():
    line = one_line(manage("check", DATABASE_URL="postgres://shop:hunter2@db.internal:54x2/shop"))
    assert line.startswith("manage.py: DATABASE_URL cannot be read (is the port a number")
    assert "hunter2" not in line


def test_a_database_server_that_does_not_answer_is_one_line():
    port = free_port()  # nothing listens there
    url = f"postgres://postgres:hunter2@127.0.0.1:{port}/shop"
    line = one_line(manage("migrate", DATABASE_URL=url))
    assert line.startswith(f"manage.py: cannot connect to the database 'shop' on 127.0.0.1:{port}")
    assert "Connection refused" in line
    assert "hunter2" not in line


@pytest.mark.postgres
def test_a_database_that_does_not_exist_is_one_line():
    line = one_line(manage("migrate", DATABASE_URL=database_url("shop_no_such_database")))
    assert "cannot connect to the database 'shop_no_such_database'" in line
    assert 'database "shop_no_such_database" does not exist' in line


def test_a_missing_secret_key_is_one_line():
    line = one_line(manage("check", DEBUG="0", SECRET_KEY=None))
    assert line == "manage.py: SECRET_KEY must be set when DEBUG is off."


def test_gunicorn_with_a_wrong_database_url_stops_with_one_line():
    env = environment(
        DATABASE_URL="mysqlx://shop:hunter2@db.internal/shop", SECRET_KEY="x" * 50, DEBUG="0"
    )
    command = [sys.executable, "-m", "gunicorn", "shop.wsgi:application"]
    command += [f"--bind=127.0.0.1:{free_port()}", "--workers=1", "--no-control-socket"]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert server.returncode != 0  # it stops instead of restarting workers
    assert "Traceback" not in output
    assert "shop.wsgi: DATABASE_URL has scheme 'mysqlx'" in output
    assert "hunter2" not in output
