"""Repeated runs, the targets' verdicts and the comparison of two builds (bench.stats,
bench.flat): the arithmetic the report rests on."""

import json

import pytest
from django.db import connection

from bench import flat, stats


def summary(median, p95=None, n=10):
    return {"n": n, "median_ms": median, "p95_ms": p95 or median * 2, "min_ms": 1, "max_ms": 9}


def test_runs_combine_into_their_median_and_range():
    runs = [summary(3.0), summary(1.0), summary(2.0, p95=5)]
    assert stats.combine_summaries(runs) == {
        "n": 30, "median_ms": 2.0, "p95_ms": 5.0, "min_ms": 1, "max_ms": 9
    }  # fmt: skip
    assert stats.spread([1.2, 1.6, 1.4]) == {"min": 1.2, "max": 1.6, "runs": 3}


def test_read_ratios_are_taken_within_each_run_then_their_median():
    def entry(product, floor):
        same = {"same_json_as_floor": True}
        return {"key": "k", "title": "t", "product": summary(product) | same,
                "floor": summary(floor), "ratio": round(product / floor, 2)}  # fmt: skip

    (read,) = stats.combine_reads([[entry(3, 2)], [entry(4, 2)], [entry(2, 2)]])
    assert read["runs"]["ratio"] == [1.5, 2.0, 1.0]
    assert read["ratio"] == 1.5
    assert read["spread"] == {"min": 1.0, "max": 2.0, "runs": 3}
    assert read["product"]["median_ms"] == 3 and read["floor"]["median_ms"] == 2


def checkout(rate, errors=0, duplicates=0):
    return {"clients": 8, "requests": 100, "seconds": 1.0, "orders_per_second": rate,
            "statuses": {"201": 100}, "errors_5xx": errors, "latency": summary(50),
            "orders_in_db": 100, "duplicates": duplicates, "payments_in_db": 100}  # fmt: skip


def test_checkout_runs_keep_the_product_on_top_and_the_floor_beside_it():
    runs = [{"product": checkout(100), "floor": checkout(200)},
            {"product": checkout(120), "floor": checkout(300)},
            {"product": checkout(90), "floor": checkout(150)}]  # fmt: skip
    combined = stats.combine_checkout(runs)
    assert combined["orders_per_second"] == 100
    assert combined["runs_orders_per_second"] == [100, 120, 90]
    assert combined["floor"]["orders_per_second"] == 200
    assert combined["runs_ratio_to_floor"] == [0.5, 0.4, 0.6]
    assert combined["ratio_to_floor"] == 0.5
    assert combined["requests"] == combined["floor"]["requests"] == 300


def test_targets_say_met_or_missed_and_by_how_much():
    result = {
        "orders": 1_000_000,
        "reads": [
            {"title": "fast", "ratio": 1.2, "spread": {"min": 1.1, "max": 1.3, "runs": 3}},
            {"title": "slow", "ratio": 1.8},
            {
                "title": "chatty",
                "ratio": 1.1,
                "product": {"queries": 3, "auth_queries": 1},
                "floor": {"queries": 2},
            },
        ],
        "checkout": stats.combine_checkout([{"product": checkout(120, duplicates=1)}]),
        "tracking_import": {"rows": 10_000, "total_seconds": 18.0},
        "admin": [{"page": "home", "median_ms": 60.0}],
    }
    found = {t["target"]: t for t in stats.targets(result)}
    assert found["fast ≤ 1.5× floor"]["met"] is True
    slow = found["slow ≤ 1.5× floor"]
    assert slow["met"] is False and slow["by"] == "over by 0.30× (20%)"
    # Fast enough, but a query more than the floor's: missed, and why.
    chatty = found["chatty ≤ 1.5× floor"]
    assert chatty["met"] is False and chatty["by"] == "queries 3 (+1) against the floor's 2"
    (checkout_target,) = [t for name, t in found.items() if name.startswith("checkout")]
    assert checkout_target["met"] is False
    assert checkout_target["by"] == "under by 30.00/s (20%); 0 5xx, 1 duplicates"
    assert found["tracking import of 10,000 rows ≤ 20 s"]["met"] is True
    assert found["admin home ≤ 50 ms median"]["by"] == "over by 10.00 ms (20%)"
    lines = stats.targets_table(list(found.values()))
    assert any("MISSED, over by 0.30× (20%)" in line for line in lines)
    # An import of another size is not judged against the 10,000-row target.
    result["tracking_import"]["rows"] = 100
    (imported,) = [t for t in stats.targets(result) if t["target"].startswith("tracking")]
    assert imported["met"] is None and imported["by"] == "not comparable: 100 rows"


def results(orders, medians, plans):
    reads = [{"key": k, "title": k, "product": {"median_ms": m}, "ratio": 1.2}
             for k, m in medians.items()]  # fmt: skip
    return {"orders": orders, "date": "d", "reads": reads, "plans": plans}


def test_two_builds_are_flat_when_within_20_percent_with_the_same_plans(tmp_path, capsys):
    scan = ["Limit (Index Scan on orders_order using order_customer_created)"]
    small = results(1_000_000, {"mine": 2.0, "staff": 5.0}, {"mine": scan, "staff": scan})
    big = results(3_000_000, {"mine": 2.3, "staff": 5.0}, {"mine": scan, "staff": scan})
    rows = {r["key"]: r for r in flat.compare(small, big)}
    assert rows["mine"]["ratio"] == 1.15 and rows["mine"]["flat"] is True
    assert rows["mine"]["same_plans"] is True
    paths = []
    for name, data in (("small", small), ("big", big)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(data))
    assert flat.main([str(p) for p in paths] + ["--save", str(tmp_path / "out")]) == 0
    assert "flat" in capsys.readouterr().out
    saved = json.loads((tmp_path / "out" / "flat-1000000-3000000.json").read_text())
    assert saved["flat"] is True and [r["key"] for r in saved["reads"]] == ["mine", "staff"]

    # Slower by more than 20%, or another plan: not flat, and the plan change is shown.
    big["reads"][0]["product"]["median_ms"] = 2.5
    big["plans"]["staff"] = ["Limit (Sort (Seq Scan on orders_order))"]
    rows = {r["key"]: r for r in flat.compare(small, big)}
    assert rows["mine"]["flat"] is False
    assert rows["staff"]["same_plans"] is False
    assert rows["staff"]["plan_changes"] == [
        {"statement": "orders_order", "small": scan[0],
         "big": "Limit (Sort (Seq Scan on orders_order))"}
    ]  # fmt: skip
    # A statement on one build only (the sample lacked a relation) is no change of plan.
    big["plans"]["mine"] = [*scan, "Index Scan on shop_cart using shop_cart_pkey"]
    rows = {r["key"]: r for r in flat.compare(small, big)}
    assert rows["mine"]["same_plans"] is True and rows["mine"]["only_one_build"] == ["shop_cart"]
    paths[1].write_text(json.dumps(big))
    assert flat.main([str(p) for p in paths]) == 1
    assert "CHANGED" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_plans_shape_names_nodes_tables_and_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) SELECT id FROM orders_order WHERE id = 1")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert flat.shape(plan[0]["Plan"]) in (
        "Index Only Scan on orders_order using orders_order_pkey",
        "Index Scan on orders_order using orders_order_pkey",
    )


def test_a_run_repeats_each_phase_at_least_once(capsys):
    from bench.run import main

    with pytest.raises(SystemExit) as refused:
        main(["--repeat", "0"])
    assert refused.value.code == 2
    assert "--repeat must be at least 1" in capsys.readouterr().err
