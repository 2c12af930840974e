"""The API answers JSON: to clients that accept it, to clients that say nothing, to ``format=json``;
a client that accepts only something else gets 406, as DRF's negotiation answers."""

import pytest

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; q=0.9"])
def test_json_to_whoever_accepts_it(http_client, accept):
    ProductFactory()
    headers = {"Accept": accept} if accept else {}
    answer = http_client.get("/api/products", headers=headers)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["totalDocs"] == 1


def test_a_client_that_accepts_only_html_is_refused(http_client):
    answer = http_client.get("/api/products", headers={"Accept": "text/html"})
    assert answer.status_code == 406
    assert answer.json()["errors"][0]["message"]


def test_format_override(http_client):
    assert http_client.get("/api/products?format=json").status_code == 200
    assert http_client.get("/api/products?format=xml").status_code == 404
