"""The harness's own arithmetic (percentiles, the JSON comparison with the floor) and options."""

import pytest

from bench.run import data_queries, differences, full_table_counts, main, query, summary


def test_summary_quotes_median_and_p95_in_milliseconds():
    seconds = [i / 1000 for i in range(1, 101)]  # 1 ms … 100 ms
    result = summary(seconds)
    assert result["n"] == 100
    assert result["median_ms"] == 50.5
    assert result["p95_ms"] == 95.0
    assert (result["min_ms"], result["max_ms"]) == (1.0, 100.0)
    assert summary([]) == {}


def test_differences_name_every_mismatch_by_path():
    floor = {"docs": [{"id": 1, "createdAt": "2026-01-01T00:00:00.000Z", "items": {"docs": []}}]}
    same = {"docs": [{"id": 1, "createdAt": "2026-01-01T00:00:00.000Z", "items": {"docs": []}}]}
    assert differences(same, floor) == []
    product = {"docs": [{"id": 2, "created_at": "x", "items": {"docs": [1]}}], "extra": True}
    assert differences(product, floor) == [
        "$.docs[0].createdAt: only in the floor",
        "$.docs[0].created_at: only in the product",
        "$.docs[0].id: product 2, floor 1",
        "$.docs[0].items.docs: 1 items in the product, 0 in the floor",
        "$.extra: only in the product",
    ]


def test_query_strings_are_encoded_as_payloads_client_does():
    assert query("/api/orders", [("where[customer][equals]", 7), ("limit", 10)]) == (
        "/api/orders?where%5Bcustomer%5D%5Bequals%5D=7&limit=10"
    )


def test_differences_report_each_kind_once():
    product = {"docs": [{"id": 1, "staffNote": ""}, {"id": 2, "staffNote": ""}]}
    floor = {"docs": [{"id": 1}, {"id": 2}]}
    assert differences(product, floor) == ["$.docs[0].staffNote: only in the product"]


def test_data_queries_leave_out_who_is_asking():
    sqls = [
        'SELECT "django_session"."session_key" FROM "django_session" WHERE x',
        'SELECT "auth_user"."id" FROM "auth_user" WHERE "auth_user"."id" = 1',
        'SELECT "orders_order"."id" FROM "orders_order" WHERE "orders_order"."customer_id" = 7',
        'SELECT * FROM "orders_orderitem" WHERE "order_id" IN (SELECT "id" FROM "auth_user")',
    ]
    assert data_queries(sqls) == 2


def test_full_table_counts_spot_unbounded_counts_only():
    sqls = [
        'SELECT COUNT(*) AS "__count" FROM "orders_order"',
        'SELECT COUNT(*) FROM (SELECT "orders_order"."id" AS "pk" FROM "orders_order" '
        "LIMIT 10001) subquery",
        'SELECT COUNT(*) AS "__count" FROM "orders_order" WHERE "orders_order"."status" = \'paid\'',
        'SELECT COUNT(*) AS "__count" FROM "shop_customer"',
    ]
    assert full_table_counts(sqls, "orders_order") == 1


def test_the_product_never_runs_without_persistent_connections(capsys):
    with pytest.raises(SystemExit) as refused:
        main(["--conn-max-age", "0"])
    assert refused.value.code == 2
    assert "--conn-max-age must be positive" in capsys.readouterr().err
