#!/usr/bin/env python3
"""Prints the README's performance tables from criterion's results of the last
`cargo bench` (target/criterion/**/new/), each ratio taken from figures of that one run.

    cargo bench && python3 scripts/bench-report.py

Times are criterion's median per iteration. The hot path's ratios come from the paired
runs the bench makes after criterion's (target/criterion/paired/): the two calls
alternate, so that the servers' drift between two separate benchmarks does not count; ±
is 1.96 standard errors of the per-round ratios. The other ratios (scale, 2 threads)
divide two criterion medians of the same run.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def load():
    results = {}
    for bench in ROOT.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        results[(meta["group_id"], meta["function_id"])] = estimates["median"]["point_estimate"]
    return results


def load_paired():
    paired = {}
    for f in (ROOT / "paired").glob("*.json"):
        p = json.loads(f.read_text())
        paired[p["id"]] = p
    return paired


def fmt_ratio(p):
    return f"{p['ratio']:.3f} ± {p['half_interval']:.3f}"


def fmt_time(ns):
    if ns >= 1_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    if ns >= 1_000:
        return f"{ns / 1_000:.2f} µs"
    return f"{ns:.0f} ns"


def verdict(value, target):
    return "met" if value <= target else f"missed by {value / target:.2f}×"


def main():
    if not ROOT.exists():
        sys.exit("no criterion results: run `cargo bench` first")
    r = load()
    misses = []

    paired = load_paired()

    def row(cells, reference, subject, pair, target, what):
        """A table row: the two medians, their ratio, and the paired ratio when there is
        one (then it is the figure held against the target)."""
        if reference is None or subject is None:
            return
        ratio = subject / reference
        if pair is None:
            if ratio > target:
                misses.append(f"{what}: {ratio:.3f}")
            print("| " + " | ".join(cells) + f" | {fmt_time(reference)} | {fmt_time(subject)} | {ratio:.3f} |")
            return
        if pair["ratio"] > target:
            misses.append(f"{what}: {fmt_ratio(pair)}")
        print("| " + " | ".join(cells) + f" | {fmt_time(reference)} | {fmt_time(subject)} "
              f"| {ratio:.3f} | {fmt_ratio(pair)} |")

    print("Hot path: median per call; ratio TenantConnection ÷ raw SeaORM with the filter by hand (target ≤ 1.02)\n")
    print("| backend | call | mode | raw + hand filter | TenantConnection | ratio of medians | paired ratio |")
    print("|---|---|---|---|---|---|---|")
    for backend in ["sqlite", "postgres", "mariadb"]:
        group = f"hot_path/{backend}"
        for call in ["find_by_id", "list_50", "insert", "update_by_id"]:
            for mode in ["exact", "prefix"]:
                row([backend, call, mode],
                    r.get((group, f"{call}/{mode}/raw")),
                    r.get((group, f"{call}/{mode}/tenant")),
                    paired.get(f"{group}/{call}/{mode}"),
                    1.02, f"hot path {backend} {call} {mode}")

    print("\nGuardrails not triggered: paired ratio, tenant connection with a statement timeout "
          "and a cap ÷ the same without (target ≤ 1.02)\n")
    print("| backend | configuration | find_by_id | list_50 | insert | update_by_id |")
    print("|---|---|---|---|---|---|")
    configurations = [
        ("sqlite", "guardrails/sqlite", "deadline + cap"),
        ("postgres", "guardrails/postgres", "pool's timeout declared + cap"),
        ("mariadb", "guardrails/mariadb", "`SET STATEMENT` prefix + cap"),
        ("mariadb", "guardrails/mariadb/pool_timeout", "pool's timeout declared + cap"),
        ("sqlite", "guardrails/sqlite/control", "control: no guardrails on either side"),
        ("postgres", "guardrails/postgres/control", "control: no guardrails on either side"),
        ("mariadb", "guardrails/mariadb/control", "control: no guardrails on either side"),
    ]
    for backend, prefix, what in configurations:
        cells = []
        for call in ["find_by_id", "list_50", "insert", "update_by_id"]:
            pair = paired.get(f"{prefix}/{call}")
            cells.append(fmt_ratio(pair) if pair else "–")
            if pair and pair["ratio"] > 1.02 and pair["ratio"] - pair["half_interval"] > 1.02:
                misses.append(f"guardrails {backend} {what} {call}: {fmt_ratio(pair)}")
        if any(c != "–" for c in cells):
            print(f"| {backend} | {what} | " + " | ".join(cells) + " |")
    own = paired.get("guardrails/postgres/find_by_id/own_timeout")
    if own:
        print(f"\nPostgreSQL, a tenant with a timeout of its own (a transaction per statement): "
              f"find_by_id {fmt_ratio(own)}")

    print("\nRewriter alone, PostgreSQL statements built by SeaORM (prefix mode)\n")
    print("| statement | cache hit | cache miss | sqlparser parse alone |")
    print("|---|---|---|---|")
    for name in ["find_by_id", "filtered_list", "insert_many_100", "3_table_join_with_subquery"]:
        hit = r.get(("rewriter", f"hit/{name}"))
        miss = r.get(("rewriter", f"miss/{name}"))
        parse = r.get(("rewriter", f"parse_only/{name}"))
        if hit is None or miss is None:
            continue
        print(f"| {name} | {fmt_time(hit)} | {fmt_time(miss)} | {fmt_time(parse) if parse else '–'} |")
    hit = r.get(("rewriter", "hit/find_by_id"))
    if hit is not None and hit > 300:
        misses.append(f"cache hit find_by_id: {fmt_time(hit)}")
    join = r.get(("rewriter", "miss/3_table_join_with_subquery"))
    if join is not None and join > 20_000:
        misses.append(f"cold 3-table join: {fmt_time(join)}")

    one = r.get(("rewriter_threads", "hit/find_by_id/1_threads"))
    two = r.get(("rewriter_threads", "hit/find_by_id/2_threads"))
    if one and two:
        print(f"\nCache hit with 2 threads on one statement: {fmt_time(two)} per rewrite on each thread, "
              f"against {fmt_time(one)} on 1 thread: {two / one:.2f}×")

    print("\nScale: first page of 50 rows, 10,000 shops (1,000,000 rows) ÷ 10 shops (1,000 rows) (target ≤ 1.2)\n")
    print("| backend | query | 10 shops | 10,000 shops | ratio of medians |")
    print("|---|---|---|---|---|")
    for backend in ["sqlite", "postgres", "postgres_generic_plans", "mariadb"]:
        group = f"scale/{backend}"
        for query in ["shop", "region"]:
            row([backend, query],
                r.get((group, f"{query}_first_page/few")),
                r.get((group, f"{query}_first_page/many")),
                None,
                1.2, f"scale {backend} {query}")

    print("\nTargets missed:" if misses else "\nEvery target met.")
    for m in misses:
        print(f"- {m}")


if __name__ == "__main__":
    main()
