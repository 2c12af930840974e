"""What one condition of a where may ask is capped (a clear 400 naming the limit), and what is
allowed costs work in proportion to its size: a thousand ids take ten times what a hundred take,
not a hundred times."""

import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop import statements
from shop.api.query import MAX_IN_VALUES, MAX_LIKE_WORDS, MAX_TEXT_LENGTH
from tests.helpers import place_order

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def query_error(http_client, query: str) -> dict:
    answer = http_client.get(f"/api/orders?{query}")
    assert answer.status_code == 400, answer.content
    (error,) = answer.json()["errors"]
    assert error["name"] == "QueryError"
    return error


def test_like_takes_at_most_ten_words(http_client):
    words = " ".join(f"w{i}" for i in range(900))
    error = query_error(http_client, f"where[customerSnapshot.email][like]={words}")
    assert error["message"] == (
        f"like on customerSnapshot.email takes at most {MAX_LIKE_WORDS} words, not 900."
    )
    assert error["data"] == [
        {"path": "customerSnapshot.email", "operator": "like", "limit": MAX_LIKE_WORDS}
    ]
    ten = " ".join(f"w{i}" for i in range(MAX_LIKE_WORDS))
    answer = http_client.get(f"/api/orders?where[customerSnapshot.email][like]={ten}")
    assert answer.status_code == 200


@pytest.mark.parametrize("operator", ["like", "not_like", "contains"])
def test_text_matches_take_at_most_two_hundred_characters(http_client, operator):
    error = query_error(http_client, f"where[orderNumber][{operator}]={'x' * 201}")
    assert error["message"] == (
        f"{operator} on orderNumber takes at most {MAX_TEXT_LENGTH} characters, not 201."
    )
    assert error["data"][0]["limit"] == MAX_TEXT_LENGTH


@pytest.mark.parametrize("operator", ["in", "not_in"])
def test_in_takes_at_most_a_thousand_values(http_client, operator):
    many = ",".join(str(i) for i in range(1, 8002))
    error = query_error(http_client, f"where[id][{operator}]={many}")
    assert error["message"] == f"{operator} on id takes at most {MAX_IN_VALUES} values, not 8001."
    assert error["data"] == [{"path": "id", "operator": operator, "limit": MAX_IN_VALUES}]

    as_array = "&".join(f"where[id][{operator}][{i}]={i + 1}" for i in range(1001))
    error = query_error(http_client, as_array)
    assert "has more than 1000 elements" in error["message"]


def ids_query(count: int, start: int = 1) -> str:
    """Ids as a Payload client sends an array: one where[id][in][i]=… pair each."""
    return "&".join(f"where[id][in][{i}]={start + i}" for i in range(count))


def python_lines(call) -> int:
    """How many lines of Python ``call`` runs: a measure of its work that does not depend on
    the machine's speed."""
    count = 0

    def line(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return line

    sys.settrace(lambda frame, event, arg: line)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def test_a_thousand_ids_are_handled_in_proportion_to_their_number(http_client):
    order = place_order()
    answer = http_client.get(f"/api/orders?{ids_query(MAX_IN_VALUES, start=order.pk)}&depth=0")
    assert answer.status_code == 200
    assert [doc["id"] for doc in answer.json()["docs"]] == [order.pk]

    def work(count: int) -> int:
        statements.forget()  # the shape of each length is compiled, as the first time
        query = f"/api/orders?{ids_query(count, start=order.pk)}&depth=0"
        return python_lines(lambda: http_client.get(query))

    work(10)
    quarter, half, full = (work(MAX_IN_VALUES // 4), work(MAX_IN_VALUES // 2), work(MAX_IN_VALUES))
    # Linear: the second 500 ids cost what the 250 before them cost, twice (quadratic: 4 times).
    assert (full - half) < 2.5 * (half - quarter), (quarter, half, full)


def test_a_thousand_ids_take_the_same_queries_as_three(http_client, django_assert_num_queries):
    order = place_order()
    # Both lists start at the order's own id, so both find it (ids depend on what ran before).
    three, thousand = ids_query(3, start=order.pk), ids_query(MAX_IN_VALUES, start=order.pk)
    http_client.get(f"/api/orders?{three}")  # the session's queries, once
    with CaptureQueriesContext(connection) as few:
        http_client.get(f"/api/orders?{three}")
    with django_assert_num_queries(len(few)):
        answer = http_client.get(f"/api/orders?{thousand}")
    assert answer.status_code == 200
