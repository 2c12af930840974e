"""Real HTTP to a live server for the reliability tests, and a way to send many requests at once.

Requests go through urllib with a server's secret key (``Authorization: Bearer sk_…``), so they
pass through every middleware (the Idempotency-Key one included) and run on the server's own
threads and database connections, as concurrent clients would.
"""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections


@dataclass
class Answer:
    status: int
    json: Any
    headers: dict

    @property
    def error(self) -> dict:
        return self.json["errors"][0]


class Http:
    def __init__(self, base_url: str, secret_key: str):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {secret_key}", "Accept": "application/json"}

    def __call__(self, method: str, path: str, body=None, **headers: str) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        sent = {**self.headers, **headers}
        if data is not None:
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=sent
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, content, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, content, got = error.code, error.read(), error.headers
        return Answer(status, json.loads(content) if content else None, dict(got.items()))

    def post(self, path: str, body, **headers: str) -> Answer:
        return self("POST", path, body, **headers)

    def patch(self, path: str, body, **headers: str) -> Answer:
        return self("PATCH", path, body, **headers)


def at_once(count: int, call: Callable[[int], Any]) -> list:
    """Run ``call(i)`` for i in range(count) on as many threads, released together by a barrier;
    the results in order. An exception in any thread is raised here."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call(index)
        except BaseException as error:  # re-raised in the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    if failures:
        raise failures[0]
    return results
