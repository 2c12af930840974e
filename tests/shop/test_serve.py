"""The README's production start (`make serve`: migrate, collectstatic, gunicorn with DEBUG off) on
a fresh PostgreSQL database serves the admin, the API docs and their static files."""

import http.client
import os
import re
import secrets
import signal
import subprocess
import time

import pytest

from tests.shop.processes import ROOT, database_url, environment, free_port, throwaway_database

STARTUP_SECONDS = 300  # migrating a fresh database and collecting static files, on a busy machine


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def wait_until_serving(server: subprocess.Popen, port: int, log) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"make serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(
        f"make serve did not answer /healthz within {STARTUP_SECONDS} s:\n{log.read_text()}"
    )


def stop(server: subprocess.Popen) -> None:
    """make, uv, bin/serve and gunicorn's master and workers: the whole process group."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


@pytest.mark.postgres
@pytest.mark.slow
def test_make_serve_on_a_fresh_database_serves_the_admin_and_the_docs(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with throwaway_database("shop_serve") as name:
        env = environment(
            # What .env.example asks a production environment for (DEBUG left unset: off).
            DATABASE_URL=database_url(name),
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            STATIC_ROOT=str(tmp_path / "static"),  # not the checkout's, which another run may use
            HOST="127.0.0.1",
            PORT=str(port),
            WEB_CONCURRENCY="2",
        )
        with log.open("wb") as output:
            server = subprocess.Popen(
                ["make", "--no-print-directory", "-o", "install", "serve"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_serving(server, port, log)
            for path in ("/admin/login/", "/api/docs"):
                status, page = get(port, path)
                assert status == 200, f"{path}: {status}\n{log.read_text()}"
                # DEBUG is off: static files come from collectstatic's manifest (hashed names),
                # and every one the page links to is served.
                assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
                assert assets, page
                assert all(re.search(r"\.[0-9a-f]{12}\.\w+$", asset) for asset in assets), assets
                for asset in assets:
                    assert get(port, asset)[0] == 200, asset
            assert get(port, "/api/docs?script=")[0] == 200
            assert "Traceback" not in log.read_text()
        finally:
            stop(server)
