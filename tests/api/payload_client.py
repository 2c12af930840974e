"""A Payload-style REST client for the tests: it builds URLs exactly as ``@payloadcms/sdk`` does
(``buildSearchParams``: the same keys in the same order, encoded by a port of ``qs`` with
percent-encoded brackets) and sends them over a transport: in process (Django's test client,
so queries can be counted) or over real HTTP to a live server."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import qs_codec


def search_params(
    *,
    depth=None,
    page=None,
    limit=None,
    pagination=None,
    sort=None,
    where=None,
    joins=None,
    select=None,
    populate=None,
) -> str:
    search: dict[str, Any] = {}
    if isinstance(depth, int):
        search["depth"] = str(depth)
    if isinstance(page, int):
        search["page"] = str(page)
    if isinstance(limit, int):
        search["limit"] = str(limit)
    if isinstance(pagination, bool):
        search["pagination"] = "true" if pagination else "false"
    if sort:
        search["sort"] = ",".join(sort) if isinstance(sort, list) else sort
    if select:
        search["select"] = select
    if where:
        search["where"] = where
    if populate:
        search["populate"] = populate
    if joins:
        search["joins"] = joins
    if not search:
        return ""
    return qs_codec.encode(search, qs_codec.EncodeOptions(add_query_prefix=True))


@dataclass
class Answer:
    status: int
    json: Any


class DjangoTransport:
    def __init__(self, client):
        self.client = client

    def __call__(self, method: str, url: str, body=None) -> Answer:
        data = json.dumps(body) if body is not None else ""
        response = self.client.generic(method, url, data=data, content_type="application/json")
        content = response.content
        return Answer(response.status_code, json.loads(content) if content else None)


class HTTPTransport:
    def __init__(self, base_url: str, headers: dict[str, str]):
        self.base_url = base_url.rstrip("/")
        self.headers = {**headers, "Accept": "application/json"}

    def __call__(self, method: str, url: str, body=None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base_url + url, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, content = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, content = error.code, error.read()
        return Answer(status, json.loads(content) if content else None)


class Collection:
    def __init__(self, transport, slug: str):
        self.transport = transport
        self.slug = slug

    def find_raw(self, **args) -> Answer:
        return self.transport("GET", f"/api/{self.slug}{search_params(**args)}")

    def find(self, **args) -> dict:
        answer = self.find_raw(**args)
        assert answer.status == 200, answer.json
        return answer.json

    def find_by_id(self, pk, **args) -> dict:
        answer = self.transport("GET", f"/api/{self.slug}/{pk}{search_params(**args)}")
        assert answer.status == 200, answer.json
        return answer.json

    def count(self, **args) -> dict:
        answer = self.transport("GET", f"/api/{self.slug}/count{search_params(**args)}")
        assert answer.status == 200, answer.json
        return answer.json

    def create(self, data, **args) -> Answer:
        return self.transport("POST", f"/api/{self.slug}{search_params(**args)}", data)

    def update(self, data, pk=None, **args) -> Answer:
        suffix = f"/{pk}" if pk is not None else ""
        return self.transport("PATCH", f"/api/{self.slug}{suffix}{search_params(**args)}", data)

    def delete(self, pk=None, **args) -> Answer:
        suffix = f"/{pk}" if pk is not None else ""
        return self.transport("DELETE", f"/api/{self.slug}{suffix}{search_params(**args)}")


class PayloadClient:
    """``client.from_('orders').find(where=…, sort=…, limit=…, depth=…)``."""

    def __init__(self, transport):
        self.transport = transport

    def from_(self, slug: str) -> Collection:
        return Collection(self.transport, slug)

    def post(self, path: str, body) -> Answer:
        return self.transport("POST", path, body)

    def get(self, path: str) -> Answer:
        return self.transport("GET", path)
