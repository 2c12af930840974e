"""Repeated runs and the issue's targets: each phase is run ``--repeat`` times on one build, and
every figure is reported as the median of the runs with its spread (lowest and highest run), so
a noisy machine shows in the figures instead of hiding in one lucky or unlucky run.

A run's figure is that run's median (of requests, pages or checkouts); across runs the report
takes the median of those and their range. A ratio to the floor is taken within each run (both
sides measured side by side, in the same minutes) and then its median across runs.
"""

from __future__ import annotations

import statistics

# The targets (bench/README.md, "Targets").
READ_RATIO_MAX = 1.5  # every read ≤ 1.5× the floor's median, with the floor's query count
CHECKOUT_MIN = 150.0  # orders a second with 8 clients
IMPORT_ROWS = 10_000
IMPORT_SECONDS_MAX = 20.0
ADMIN_MS_MAX = 50.0  # median, at 1,000,000 orders


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def spread(values: list[float]) -> dict:
    """The runs' lowest and highest value (and how many runs)."""
    values = [v for v in values if v is not None]
    if not values:
        return {}
    return {"min": round(min(values), 3), "max": round(max(values), 3), "runs": len(values)}


def combine_summaries(runs: list[dict]) -> dict:
    """One summary (``bench.run.summary``'s keys) from each run's: medians and p95s are the
    median of the runs', min and max the extremes, n the total."""
    runs = [r for r in runs if r.get("n")]
    if not runs:
        return {}
    return {
        "n": sum(r["n"] for r in runs),
        "median_ms": round(statistics.median(r["median_ms"] for r in runs), 2),
        "p95_ms": round(statistics.median(r["p95_ms"] for r in runs), 2),
        "min_ms": min(r["min_ms"] for r in runs),
        "max_ms": max(r["max_ms"] for r in runs),
    }


def combine_reads(runs: list[list[dict]]) -> list[dict]:
    """Each read's entry from its entries in every run (same endpoints, same order)."""
    combined = []
    for entries in zip(*runs, strict=True):
        first = entries[0]
        entry = {k: v for k, v in first.items() if k not in ("product", "floor", "ratio")}
        product = dict(first["product"])
        floor = dict(first["floor"])
        if "median_ms" in product:
            product.update(combine_summaries([e["product"] for e in entries]))
            product["same_json_as_floor"] = all(e["product"].get("same_json_as_floor")
                                                for e in entries)  # fmt: skip
        floor.update(combine_summaries([e["floor"] for e in entries]))
        entry["product"], entry["floor"] = product, floor
        ratios = [e["ratio"] for e in entries if "ratio" in e]
        if ratios:
            entry["ratio"] = round(statistics.median(ratios), 2)
            entry["runs"] = {
                "ratio": ratios,
                "product_median_ms": [e["product"]["median_ms"] for e in entries],
                "floor_median_ms": [e["floor"]["median_ms"] for e in entries],
            }
            entry["spread"] = spread(ratios)
        combined.append(entry)
    return combined


def combine_admin(runs: list[list[dict]]) -> list[dict]:
    combined = []
    for pages in zip(*runs, strict=True):
        entry = dict(pages[0])
        measured = [p for p in pages if "median_ms" in p]
        if measured:
            entry.update(combine_summaries(measured))
            entry["runs_median_ms"] = [p["median_ms"] for p in measured]
            entry["spread"] = spread(entry["runs_median_ms"])
        combined.append(entry)
    return combined


def combine_checkout(runs: list[dict]) -> dict:
    """``runs``: each run's ``{"product": …, "floor": …}`` (``bench.run.measure_checkout``'s
    answers). The product's figures stay at the top (the README's table reads them there)."""
    product_runs = [r["product"] for r in runs]
    if any("missing" in p for p in product_runs):
        return next(p for p in product_runs if "missing" in p)
    combined = dict(product_runs[0])
    rates = [p["orders_per_second"] for p in product_runs]
    combined.update(
        requests=sum(p["requests"] for p in product_runs),
        seconds=round(sum(p["seconds"] for p in product_runs), 2),
        orders_per_second=median(rates),
        errors_5xx=sum(p["errors_5xx"] for p in product_runs),
        duplicates=sum(p["duplicates"] for p in product_runs),
        orders_in_db=sum(p["orders_in_db"] for p in product_runs),
        payments_in_db=sum(p["payments_in_db"] for p in product_runs),
        latency=combine_summaries([p["latency"] for p in product_runs]),
        statuses=_add_counts(p["statuses"] for p in product_runs),
        runs_orders_per_second=rates,
        spread=spread(rates),
    )
    floors = [r["floor"] for r in runs if r.get("floor") and "missing" not in r["floor"]]
    if floors:
        floor_rates = [f["orders_per_second"] for f in floors]
        ratios = [
            round(r["product"]["orders_per_second"] / r["floor"]["orders_per_second"], 3)
            for r in runs
            if r.get("floor") and r["floor"].get("orders_per_second")
        ]
        combined["floor"] = {
            "orders_per_second": median(floor_rates),
            "runs_orders_per_second": floor_rates,
            "spread": spread(floor_rates),
            "requests": sum(f["requests"] for f in floors),
            "errors_5xx": sum(f["errors_5xx"] for f in floors),
            "duplicates": sum(f["duplicates"] for f in floors),
            "orders_in_db": sum(f["orders_in_db"] for f in floors),
            "statuses": _add_counts(f["statuses"] for f in floors),
            "latency": combine_summaries([f["latency"] for f in floors]),
            "same_answer_shape": all(f.get("same_answer_shape") for f in floors),
            "statements": floors[0].get("statements"),
        }
        # Product ÷ floor, within each run; below 1 the product is slower.
        combined["ratio_to_floor"] = median(ratios)
        combined["runs_ratio_to_floor"] = ratios
    elif runs and runs[0].get("floor"):
        combined["floor"] = runs[0]["floor"]
    return combined


def combine_import(runs: list[dict]) -> dict:
    done = [r for r in runs if "total_seconds" in r]
    if not done:
        return runs[0]
    combined = dict(done[0])
    for key in [k for k in combined if k.endswith("_seconds")]:
        combined[key] = median([r[key] for r in done])
    combined["orders_shipped"] = min(r["orders_shipped"] for r in done)
    combined["runs_total_seconds"] = [r["total_seconds"] for r in done]
    combined["spread"] = spread(combined["runs_total_seconds"])
    return combined


def _add_counts(counts) -> dict:
    total: dict[str, int] = {}
    for one in counts:
        for key, value in one.items():
            total[key] = total.get(key, 0) + value
    return dict(sorted(total.items()))


# ---------------------------------------------------------------------------------------------
# Targets


def _verdict(value, limit, *, at_most: bool, unit: str) -> dict:
    met = value <= limit if at_most else value >= limit
    gap = value - limit if at_most else limit - value
    by = "" if met else f"{'over' if at_most else 'under'} by {abs(gap):.2f}{unit}"
    if not met and limit:
        by += f" ({abs(gap) / limit:.0%})"
    return {"value": value, "limit": limit, "met": met, "by": by}


def targets(result: dict) -> list[dict]:
    """Every target of the issue, met or missed and by how much, from a run's results."""
    found = []
    for read in result.get("reads", []):
        if "ratio" not in read:
            continue
        entry = {"target": f"{read['title']} ≤ {READ_RATIO_MAX}× floor", "unit": "×"}
        entry.update(_verdict(read["ratio"], READ_RATIO_MAX, at_most=True, unit="×"))
        # ... with the floor's query count (the key's lookup at most on top).
        product, floor = read.get("product", {}), read.get("floor", {})
        if "queries" in product and "queries" in floor:
            extra = product.get("auth_queries") or 0
            if product["queries"] != floor["queries"] or extra > 1:
                entry["met"] = False
                entry["by"] = (entry["by"] + "; " if entry["by"] else "") + (
                    f"queries {product['queries']} (+{extra}) against the floor's "
                    f"{floor['queries']}"
                )
        entry["spread"] = read.get("spread", {})
        found.append(entry)
    checkout = result.get("checkout", {})
    if "orders_per_second" in checkout:
        entry = {"target": f"checkout ≥ {CHECKOUT_MIN:.0f} orders/s, {checkout['clients']} "
                 "clients, 0 errors, 0 duplicates", "unit": " orders/s"}  # fmt: skip
        entry.update(
            _verdict(checkout["orders_per_second"], CHECKOUT_MIN, at_most=False, unit="/s")
        )
        faults = checkout["errors_5xx"] + checkout["duplicates"]
        if faults:
            entry["met"] = False
            entry["by"] = (entry["by"] + "; " if entry["by"] else "") + (
                f"{checkout['errors_5xx']} 5xx, {checkout['duplicates']} duplicates"
            )
        entry["spread"] = checkout.get("spread", {})
        found.append(entry)
    imported = result.get("tracking_import", {})
    if "total_seconds" in imported:
        entry = {"target": f"tracking import of {IMPORT_ROWS:,} rows ≤ {IMPORT_SECONDS_MAX:.0f} s",
                 "unit": " s"}  # fmt: skip
        entry.update(
            _verdict(imported["total_seconds"], IMPORT_SECONDS_MAX, at_most=True, unit=" s")
        )
        if imported["rows"] != IMPORT_ROWS:
            entry.update(met=None, by=f"not comparable: {imported['rows']:,} rows")
        entry["spread"] = imported.get("spread", {})
        found.append(entry)
    for page in result.get("admin", []):
        if "median_ms" not in page:
            continue
        entry = {"target": f"admin {page['page']} ≤ {ADMIN_MS_MAX:.0f} ms median", "unit": " ms"}
        entry.update(_verdict(page["median_ms"], ADMIN_MS_MAX, at_most=True, unit=" ms"))
        if result.get("orders", 0) < 1_000_000:
            entry["note"] = f"at {result.get('orders', 0):,} orders (the target is at 1,000,000)"
        entry["spread"] = page.get("spread", {})
        found.append(entry)
    return found


def _spread_text(spread: dict) -> str:
    if not spread:
        return "—"
    if spread.get("runs", 1) == 1:
        return "1 run"
    return f"{spread['min']:g}–{spread['max']:g} ({spread['runs']} runs)"


def targets_table(found: list[dict]) -> list[str]:
    """The targets as printed lines: value (median of the runs), spread, met or missed by how
    much."""
    lines = [f"{'target':58} {'median':>9} {'spread':>22}  verdict", "-" * 110]
    for t in found:
        verdict = {True: "met", False: f"MISSED, {t['by']}", None: t.get("by", "")}[t["met"]]
        if t.get("note"):
            verdict += f" [{t['note']}]"
        value = f"{t['value']:g}{t['unit'].strip() if t['unit'] == '×' else ''}"
        lines.append(f"{t['target']:58} {value:>9} {_spread_text(t['spread']):>22}  {verdict}")
    return lines


def targets_markdown(found: list[dict]) -> list[str]:
    lines = ["| target | median of the runs | spread (lowest–highest run) | verdict |",
             "|---|---|---|---|"]  # fmt: skip
    for t in found:
        verdict = {True: "met", False: f"**missed**, {t['by']}", None: t.get("by", "")}[t["met"]]
        if t.get("note"):
            verdict += f" ({t['note']})"
        lines.append(
            f"| {t['target']} | {t['value']:g}{t['unit']} | {_spread_text(t['spread'])} "
            f"| {verdict} |"
        )
    return lines
