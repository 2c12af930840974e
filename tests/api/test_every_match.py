"""No silent data loss: every match means every match, totals are true, and a timestamp the API
showed finds its document again."""

import pytest
from django.db import connection

from orders.models import Order
from shop.fields import truncate_to_milliseconds
from tests.api.shop_data import paid_order

pytestmark = pytest.mark.django_db

ENVELOPE_OF_EVERYTHING = {
    "limit": 0,
    "totalPages": 1,
    "page": 1,
    "pagingCounter": 1,
    "hasPrevPage": False,
    "hasNextPage": False,
    "prevPage": None,
    "nextPage": None,
}


@pytest.fixture
def twelve_orders():
    return [paid_order(quantities=(1,)) for _ in range(12)]


def envelope(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "docs"}


def test_pagination_false_without_a_limit_answers_every_match(api, twelve_orders):
    """Payload: ``packages/payload/src/collections/operations/find.ts`` (``sanitizedLimit =
    limit ?? (usePagination ? 10 : 0)``) and ``packages/drizzle/src/find/findMany.ts`` (limit 0:
    no LIMIT, ``totalDocs = rawDocs.length``): all 12, not the default 10."""
    answer = api.transport("GET", "/api/orders?pagination=false&depth=0").json
    assert len(answer["docs"]) == 12
    assert envelope(answer) == {"totalDocs": 12, **ENVELOPE_OF_EVERYTHING}
    assert {d["id"] for d in answer["docs"]} == {o.pk for o in twelve_orders}


def test_limit_zero_answers_every_match_and_echoes_what_was_applied(api, twelve_orders):
    """Payload: ``packages/drizzle/src/find/findMany.ts`` (``limit === 0`` → no pagination, no
    LIMIT, offset 0 whatever the page). ``limit=0&page=2`` is every match, so the answer says
    page 1 (Payload echoes the page it was asked, ours what it applied)."""
    answer = api.transport("GET", "/api/orders?limit=0&depth=0").json
    assert len(answer["docs"]) == 12
    assert envelope(answer) == {"totalDocs": 12, **ENVELOPE_OF_EVERYTHING}
    second = api.transport("GET", "/api/orders?limit=0&page=2&depth=0").json
    assert len(second["docs"]) == 12
    assert envelope(second) == {"totalDocs": 12, **ENVELOPE_OF_EVERYTHING}


def test_every_match_past_the_maximum_is_a_400_that_says_to_paginate(api, twelve_orders, settings):
    """Ours (``API_MAX_LIMIT``): Payload has no maximum; rather than a list shorter than what
    exists, more matches than the maximum are refused with a message that says what to do."""
    settings.API_MAX_LIMIT = 5
    for query in ("limit=0", "pagination=false", "limit=0&page=2"):
        answer = api.transport("GET", f"/api/orders?{query}&depth=0")
        assert answer.status == 400, query
        error = answer.json["errors"][0]
        assert error["name"] == "QueryError"
        assert error["message"] == (
            "More than 5 documents match: ask for them a page at a time "
            "(limit and page, at most 5 a page)."
        )
    narrowed = api.transport(
        "GET", f"/api/orders?limit=0&depth=0&where[id][in]={twelve_orders[0].pk}"
    )
    assert narrowed.status == 200 and narrowed.json["totalDocs"] == 1


def test_a_limit_above_the_maximum_echoes_the_limit_applied_with_true_totals(
    api, twelve_orders, settings
):
    """Payload: ``packages/drizzle/src/find/findMany.ts`` computes totalPages and hasNextPage
    from the limit; ours applies at most ``API_MAX_LIMIT`` and says so in ``limit``."""
    settings.API_MAX_LIMIT = 5
    answer = api.transport("GET", "/api/orders?limit=5000&depth=0").json
    assert len(answer["docs"]) == 5
    assert envelope(answer) == {
        "totalDocs": 12,
        "limit": 5,
        "totalPages": 3,
        "page": 1,
        "pagingCounter": 1,
        "hasPrevPage": False,
        "hasNextPage": True,
        "prevPage": None,
        "nextPage": 2,
    }


def test_pagination_false_with_a_limit_never_claims_fewer_than_exist(api, twelve_orders):
    """Payload (``findMany.ts``) answers ``totalDocs = rawDocs.length`` here, a total that is
    not true; ours counts, so ``totalDocs`` and ``hasNextPage`` are true."""
    answer = api.transport("GET", "/api/orders?pagination=false&limit=4&depth=0").json
    assert len(answer["docs"]) == 4
    assert answer["totalDocs"] == 12 and answer["hasNextPage"] is True
    assert answer["totalPages"] == 3


def test_a_bulk_change_without_a_limit_covers_every_match_or_is_refused(
    api, twelve_orders, settings
):
    """Payload's bulk update (``packages/payload/src/collections/operations/update.ts``)
    changes every match; ours refuses past the maximum instead of changing only some."""
    settings.API_MAX_LIMIT = 5
    answer = api.transport(
        "PATCH", "/api/orders?where[status][equals]=paid", {"staffNote": "checked"}
    )
    assert answer.status == 400
    assert "More than 5 documents match" in answer.json["errors"][0]["message"]
    assert not Order.objects.filter(staff_note="checked").exists()


def test_a_timestamp_the_api_showed_finds_its_document(api):
    """Payload stores dates as JavaScript Dates (milliseconds), so a ``createdAt`` read back
    ``equals`` its document and ``greater_than`` excludes it
    (``packages/drizzle/src/queries/sanitizeQueryValue.ts`` compares the value as given)."""
    created = api.post(
        "/api/orders",
        {
            "orderProducts": [{"product": paid_order().items.first().product_id, "quantity": 1}],
            "customerSnapshot": {"name": "Kim"},
            "shippingAddress": {
                "recipientName": "Kim",
                "phone": "010-1234-5678",
                "postalCode": "06123",
                "address1": "1 Main St",
            },
        },
    )
    assert created.status == 201, created.json
    doc = created.json["doc"]
    for field in ("createdAt", "updatedAt"):
        stamp = doc[field]
        equal = api.from_("orders").find(where={field: {"equals": stamp}}, depth=0)
        assert [d["id"] for d in equal["docs"]] == [doc["id"]], field
        later = api.from_("orders").find(where={field: {"greater_than": stamp}}, depth=0)
        assert doc["id"] not in [d["id"] for d in later["docs"]], field
        since = api.from_("orders").find(where={field: {"greater_than_equal": stamp}}, depth=0)
        assert doc["id"] in [d["id"] for d in since["docs"]], field
    # Read again, the document shows the same instant it was answered with.
    again = api.from_("orders").find_by_id(doc["id"], depth=0)
    assert (again["createdAt"], again["updatedAt"]) == (doc["createdAt"], doc["updatedAt"])


def test_stored_timestamps_are_cut_to_milliseconds(db):
    """What the data migration does to rows written before: microseconds cut, never rounded."""
    order = paid_order()
    table = Order._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET created_at = '2026-11-23 02:41:07.215999+00' WHERE id = %s",
                [order.pk],
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET created_at = '2026-11-23 02:41:07.215999' WHERE id = %s",
                [order.pk],
            )

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    truncate_to_milliseconds({table: ["created_at"]})(None, editor)
    assert Order.objects.get(pk=order.pk).created_at.microsecond == 215000
