"""Flat as the shop grows: the same reads on a bigger build, compared with a smaller one.

``bench.run`` records, for every read, the shape of the plan PostgreSQL chose for each of the
product's data statements (``EXPLAIN``'s node types, tables and indexes, without costs or row
counts, which change with the data). This command takes two result files, typically a
1,000,000-order build and a 3,000,000-order one, and prints for every read the product's median
at each size, their ratio (the target: within 20% of each other) and whether the plans are the
same:

    uv run python -m bench.flat bench/results/<1M>.json bench/results/<3M>.json

It exits with 1 when a read is more than 20% slower on the bigger build or its plans changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FLAT_WITHIN = 0.20  # the bigger build's median at most 20% above the smaller's


# ---------------------------------------------------------------------------------------------
# Recording plans (bench.run calls this once per run, after the reads)


def shape(node: dict) -> str:
    """A plan node and its children as one line: node types, with the table and index each
    scan uses (costs, row estimates and loop counts left out)."""
    text = node["Node Type"]
    if node.get("Relation Name"):
        text += f" on {node['Relation Name']}"
    if node.get("Index Name"):
        text += f" using {node['Index Name']}"
    children = node.get("Plans") or []
    if children:
        text += " (" + ", ".join(shape(child) for child in children) + ")"
    return text


def explain(conn, sql: str) -> str:
    """The shape of the plan for one statement the product ran (its values inlined as Django
    records them)."""
    plan = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return shape(plan[0]["Plan"])


def record_plans(url: str, paths: dict[str, str], *, headers, user) -> dict[str, list[str]]:
    """``{read key: [plan shape of each data statement, in the order run]}`` for the first
    sample of each read, as the product runs it (through Django's test client)."""
    import psycopg

    from bench.run import AUTH_TABLE, count_queries

    plans: dict[str, list[str]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for key, path in paths.items():
            count, sqls = count_queries(path, headers=headers, user=user)
            if count is None:
                continue
            shapes = []
            for sql in sqls:
                if AUTH_TABLE.search(sql.split(" WHERE ")[0]):
                    continue  # who is asking: not the read's data
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                try:
                    shapes.append(explain(conn, sql))
                except psycopg.Error as error:
                    shapes.append(f"(not explained: {type(error).__name__})")
            plans[key] = shapes
    return plans


# ---------------------------------------------------------------------------------------------
# Comparing two runs


def compare(small: dict, big: dict) -> list[dict]:
    """Each read present in both runs: medians, ratio (bigger build ÷ smaller), plans."""
    rows = []
    big_reads = {r["key"]: r for r in big.get("reads", [])}
    for read in small.get("reads", []):
        other = big_reads.get(read["key"])
        if other is None:
            continue
        a = read["product"].get("median_ms")
        b = other["product"].get("median_ms")
        plans_a = _by_table(small.get("plans", {}).get(read["key"]))
        plans_b = _by_table(big.get("plans", {}).get(read["key"]))
        both = None if plans_a is None or plans_b is None else plans_a.keys() & plans_b.keys()
        row = {
            "key": read["key"],
            "title": read["title"],
            "small_ms": a,
            "big_ms": b,
            "ratio": round(b / a, 2) if a and b else None,
            "floor_ratio_small": read.get("ratio"),
            "floor_ratio_big": other.get("ratio"),
            "same_plans": None if both is None else all(plans_a[t] == plans_b[t] for t in both),
        }
        row["flat"] = row["ratio"] is not None and row["ratio"] <= 1 + FLAT_WITHIN
        if both is not None:
            row["plan_changes"] = [
                {"statement": table, "small": plans_a[table], "big": plans_b[table]}
                for table in sorted(both)
                if plans_a[table] != plans_b[table]
            ]
            # A relation the sample lacks on one build (a guest's order has no customer row to
            # read) is a statement fewer, not another plan.
            row["only_one_build"] = sorted(plans_a.keys() ^ plans_b.keys())
        rows.append(row)
    return rows


def _by_table(shapes: list[str] | None) -> dict[str, str] | None:
    """Each statement's shape under the table it reads first (a second statement on the same
    table numbered): the samples differ between builds, so statements are matched by what they
    read rather than by position."""
    if shapes is None:
        return None
    keyed: dict[str, str] = {}
    for text in shapes:
        table = text.split(" on ", 1)[1].split()[0].rstrip(")") if " on " in text else "?"
        key, n = table, 2
        while key in keyed:
            key, n = f"{table}#{n}", n + 1
        keyed[key] = text
    return keyed


def report(small: dict, big: dict, rows: list[dict]) -> list[str]:
    lines = [
        f"Reads at {small.get('orders', 0):,} and {big.get('orders', 0):,} orders "
        f"({small.get('date', '?')}, {big.get('date', '?')}); flat: the bigger within "
        f"{FLAT_WITHIN:.0%}, with the same plans",
        f"{'read':32} {'small ms':>9} {'big ms':>9} {'ratio':>6} {'plans':>10}  verdict",
        "-" * 86,
    ]
    for row in rows:
        plans = {True: "same", False: "CHANGED", None: "unrecorded"}[row["same_plans"]]
        verdict = "flat" if row["flat"] and row["same_plans"] is not False else "NOT flat"
        if row["ratio"] is None:
            verdict = "not measured"
        lines.append(
            f"{row['title']:32} {_ms(row['small_ms']):>9} {_ms(row['big_ms']):>9} "
            f"{_or_dash(row['ratio']):>6} {plans:>10}  {verdict}"
        )
        for change in row.get("plan_changes", []):
            lines.append(f"    statement {change['statement']}: {change['small']}")
            lines.append(f"    {'':>{len(str(change['statement'])) + 10}}→ {change['big']}")
        if row.get("only_one_build"):
            lines.append(f"    read on one build only: {', '.join(row['only_one_build'])}")
    return lines


def _ms(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def _or_dash(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("small", type=Path, help="results of the smaller build")
    parser.add_argument("big", type=Path, help="results of the bigger build")
    parser.add_argument(
        "--save",
        type=Path,
        nargs="?",
        const=Path(__file__).resolve().parent / "results",
        help="also write the comparison as JSON into this folder (default bench/results)",
    )
    args = parser.parse_args(argv)
    small, big = (json.loads(p.read_text()) for p in (args.small, args.big))
    rows = compare(small, big)
    print("\n".join(report(small, big, rows)))
    flat = all(r["flat"] and r["same_plans"] is not False for r in rows) and bool(rows)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        out = args.save / f"flat-{small.get('orders', 0)}-{big.get('orders', 0)}.json"
        saved = {"small": args.small.name, "big": args.big.name, "flat": flat, "reads": rows}
        out.write_text(json.dumps(saved, indent=2, ensure_ascii=False) + "\n")
        print(f"\nSaved: {out}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
