"""The load test, short: 30 seconds of mixed traffic against gunicorn on a throw-away database
must end with no 5xx and the bookkeeping intact (``tests/reliability/loadtest.py``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_thirty_seconds_of_mixed_traffic_end_without_5xx_and_with_the_books_balanced():
    seconds = os.environ.get("LOADTEST_SECONDS", "30")
    command = [sys.executable, "-m", "tests.reliability.loadtest", "--seconds", seconds]
    done = subprocess.run(
        [*command, "--clients", "6"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=float(seconds) + 240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "5xx: 0" in output and "invariants: ok" in output, output
    requests = int(output.split("requests: ", 1)[1].split()[0])
    assert requests > 100, output  # the server really was under load
