#!/usr/bin/env python3
"""Results of scripts/seaorm-suite.sh.

    report.py executables <build.json>     # "name path" of every test binary cargo built
    report.py compare <work-dir> <seconds> # compare control and patched, audit, summarise

`compare` exits 1 on a regression (a test that passes in control and not in patched, or a
patched target that does not compile where control does) or on a bypass (a statement
sqlx ran for a converted test that the wrapper did not forward).
"""

import collections
import json
import pathlib
import re
import sys

RESULT = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)\b")
SECTION = re.compile(r"^---- (\S+) stdout ----$")
EVENT_START = re.compile(r"^\d{4}-\d\d-\d\dT[0-9:.]+Z\s+(?:TRACE|DEBUG|INFO|WARN|ERROR)\s")
OURS = re.compile(r" sea_orm_tenancy: forwarding (?:unprepared )?statement tenant=\S+ sql=(.*)$", re.S)
SQLX = re.compile(r' sqlx::query: summary="((?:[^"\\]|\\.)*)" db\.statement="((?:[^"\\]|\\.)*)"')
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What `Database::connect` runs on SQLite before there is a pool to wrap: sqlx's
# connection set-up (`PRAGMA key = value; …`, for every connection the pool opens) and
# sea-orm's version probe (sqlite-use-returning-for-3_35).
CONNECT = re.compile(r"^(?:PRAGMA [\w.]+ = [^;()]+;\s*)+$|^SELECT sqlite_version\(\)$")
TXN_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def unescape_debug(s):
    """Inverse of Rust's `{:?}` for a str (the escapes it produces)."""
    out, i = [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in simple:
                out.append(simple[n])
                i += 2
                continue
            m = re.match(r"u\{([0-9a-fA-F]+)\}", s[i + 1:])
            if m:
                out.append(chr(int(m.group(1), 16)))
                i += 1 + len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def executables(build_json):
    for line in open(build_json, encoding="utf-8", errors="replace"):
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and "test" in msg["target"]["kind"]:
            print(msg["target"]["name"], msg["executable"])


def compile_errors(build_json):
    """target name -> first error message, for targets that did not compile."""
    errors = {}
    for line in open(build_json, encoding="utf-8", errors="replace"):
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("reason") == "compiler-message" and msg["message"]["level"] == "error":
            errors.setdefault(msg["target"]["name"], msg["message"]["message"])
    return errors


def parse_run(out_path):
    """(results {test: outcome}, outputs {test: [lines]}, finished)"""
    text = ANSI.sub("", out_path.read_text(encoding="utf-8", errors="replace"))
    lines = text.splitlines()
    results, outputs, finished = {}, {}, False
    in_results, current = True, None
    for line in lines:
        if line in ("successes:", "failures:"):
            in_results, current = False, None
            continue
        if in_results:
            m = RESULT.match(line)
            if m:
                results[m.group(1)] = m.group(2)
        m = SECTION.match(line)
        if m:
            current = m.group(1)
            outputs[current] = []
            continue
        if line.startswith("test result: "):
            finished, current = True, None
            continue
        if current is not None:
            outputs[current].append(line)
    return results, outputs, finished


def events(lines):
    """The tracing events of one test's captured output, continuation lines joined."""
    evs = []
    for line in lines:
        if EVENT_START.match(line):
            evs.append([line])
        elif evs:
            evs[-1].append(line)
    return evs


def audit_test(lines):
    """Match the driver's statements with the wrapper's, as multisets.
    Returns (driver statements, forwarded, unmatched driver statements, unmatched forwarded)."""
    driver, ours = [], []
    for ev in events(lines):
        m = SQLX.search(ev[0])
        if m:
            summary, stmt = unescape_debug(m.group(1)), unescape_debug(m.group(2))
            sql = stmt[2:-1] if stmt.startswith("\n\n") and stmt.endswith("\n") else (stmt or summary)
            driver.append(sql)
            continue
        m = OURS.search(ev[0])
        if m:
            # The SQL is the last field and printed as is: it may span lines (and output
            # the test printed may follow it); every prefix of lines is a candidate.
            first = m.group(1)
            ours.append([first] + [first + "\n" + "\n".join(ev[1:k]) for k in range(2, len(ev) + 1)])
    pending = collections.Counter(driver)
    unmatched_ours = []
    for candidates in ours:
        for c in candidates:
            if pending[c] > 0:
                pending[c] -= 1
                break
        else:
            unmatched_ours.append(candidates[0])
    unmatched_driver = list(pending.elements())
    return len(driver), len(ours), unmatched_driver, unmatched_ours


def fn_name(test):
    return test.split("::")[-1]


def compare(work, seconds):
    work = pathlib.Path(work)
    res = work / "results"
    plan = json.loads((res / "plan.json").read_text())
    targets = list(plan["targets"])  # declared [[test]] targets, in order

    sides = {}
    for side in ("control", "patched"):
        built = dict(line.split(" ", 1) for line in (res / f"{side}.executables").read_text().splitlines() if line)
        errors = compile_errors(res / f"{side}.build.json")
        runs = {}
        for name in built:
            rc = int((res / side / f"{name}.rc").read_text().strip() or "1")
            results, outputs, finished = parse_run(res / side / f"{name}.out")
            runs[name] = {"results": results, "outputs": outputs, "finished": finished, "rc": rc}
        sides[side] = {"built": built, "errors": errors, "runs": runs}
    ctl, pat = sides["control"], sides["patched"]

    raw_tests = {}  # (target, fn) -> notes on the calls kept on the raw connection
    for name, entry in plan["targets"].items():
        for note in entry.get("raw", []):
            raw_tests.setdefault((name, note["test"]), []).append(note)

    # ---------------------------------------------------------------- bypass audit
    # Per test of the patched run: what reached the driver, what the wrapper forwarded.
    audit = collections.Counter()
    connect_sql, txn_sql = collections.Counter(), collections.Counter()
    bypasses, raw_by_design = [], collections.Counter()
    per_test = {}  # (target, test) -> (driver statements, forwarded)
    for name, run in pat["runs"].items():
        status = plan["targets"][name]["status"]
        for test, lines in run["outputs"].items():
            raw_calls = raw_tests.get((name, fn_name(test)))
            n_driver, n_ours, leftover, unforwarded = audit_test(lines)
            per_test[(name, test)] = (n_driver, n_ours)
            audit["driver"] += n_driver
            audit["forwarded"] += n_ours
            audit["forwarded_unlogged"] += len(unforwarded)
            clean = status != "not converted" and not raw_calls
            if clean:
                audit["converted_driver"] += n_driver
                audit["converted_forwarded"] += n_ours
            for sql in leftover:
                if CONNECT.match(sql.strip()):
                    connect_sql[sql.strip()] += 1
                    audit["connect"] += 1
                    audit["converted_connect"] += clean
                elif TXN_CONTROL.match(sql):
                    txn_sql[sql.strip().split()[0].upper()] += 1
                    audit["txn"] += 1
                elif status == "not converted":
                    raw_by_design[f"{name} (target not converted)"] += 1
                    audit["raw"] += 1
                elif raw_calls:
                    apis = ", ".join(sorted({n["api"] for n in raw_calls}))
                    raw_by_design[f"{name}::{test} ({apis})"] += 1
                    audit["raw"] += 1
                else:
                    bypasses.append(f"{name}::{test}: {sql}")

    def test_kind(name, test):
        """How a test ran in the patched run."""
        status = plan["targets"][name]["status"]
        n_driver, n_ours = per_test.get((name, test), (0, 0))
        if status == "not converted" or any(not n["converted"] for n in raw_tests.get((name, fn_name(test)), [])):
            return "raw" if n_driver or n_ours else "no database"
        if n_ours:
            return "tenant"  # its statements went through the TenantConnection
        if n_driver:
            return "tenant, no statement"  # connected (ping, pool) but ran no statement
        return "no database"

    # ---------------------------------------------------------------- regressions
    regressions, rows = [], []
    totals = collections.Counter()
    kinds = collections.Counter()
    for name in targets:
        c_run, p_run = ctl["runs"].get(name), pat["runs"].get(name)
        c_res = c_run["results"] if c_run else {}
        p_res = p_run["results"] if p_run else {}
        if name in ctl["built"] and name not in pat["built"]:
            regressions.append(f"{name}: patched target does not compile: {pat['errors'].get(name, '?')}")
        for t, outcome in sorted(c_res.items()):
            if outcome == "ok" and p_res.get(t) != "ok":
                why = p_res.get(t) or ("target did not compile" if name not in pat["built"] else "did not finish")
                regressions.append(f"{name}::{t}: ok in control, {why} in patched")
        if c_run and not c_run["finished"]:
            regressions.append(f"{name}: control binary did not finish (rc {c_run['rc']}): the comparison is incomplete")
        row = {
            "name": name,
            "built": (name in ctl["built"], name in pat["built"]),
            "tests": len(c_res),
            "c_ok": sum(v == "ok" for v in c_res.values()),
            "c_fail": sum(v == "FAILED" for v in c_res.values()),
            "c_ign": sum(v == "ignored" for v in c_res.values()),
            "p_ok": sum(v == "ok" for v in p_res.values()),
            "p_fail": sum(v == "FAILED" for v in p_res.values()) + sum(1 for t in c_res if t not in p_res),
            "p_ign": sum(v == "ignored" for v in p_res.values()),
            "tenant": 0,
            "status": plan["targets"][name]["status"],
        }
        for t, outcome in c_res.items():
            if outcome == "ignored":
                kinds["ignored"] += 1
                continue
            k = test_kind(name, t)
            kinds[k] += 1
            kinds[f"{k} passed"] += p_res.get(t) == "ok"
            row["tenant"] += k.startswith("tenant")
        rows.append(row)
        for k in ("tests", "c_ok", "c_fail", "c_ign", "p_ok", "p_fail", "p_ign"):
            totals[k] += row[k]
        if row["tests"]:
            totals["targets_with_tests"] += 1
            totals[f"targets_{row['status']}"] += 1

    # ---------------------------------------------------------------- summary
    print()
    print("SeaORM 2.0.4 integration suite through TenantConnection (SQLite, DATABASE_URL=sqlite::memory:)")
    print()
    print(f"{'target':42} {'tests':>5} {'control':>7} {'patched':>7} {'tenant':>6}  target")
    print(f"{'':42} {'':>5} {'passed':>7} {'passed':>7} {'(1)':>6}")
    for r in rows:
        if not r["tests"] and r["built"] == (True, True):
            continue
        built = "" if r["built"] == (True, True) else f"  [built: control {r['built'][0]}, patched {r['built'][1]}]"
        print(f"{r['name']:42} {r['tests']:5} {r['c_ok']:7} {r['p_ok']:7} {r['tenant']:6}  {r['status']}{built}")
    print("(1) tests that ran on a TenantConnection in the patched run")
    empty = [r["name"] for r in rows if not r["tests"] and r["built"] == (True, True)]
    print(f"{len(empty)} more targets build but enable no test on SQLite with these features: {', '.join(empty)}")
    print()
    print(f"targets: {len(targets)} declared, built control {len(ctl['built'])} / patched {len(pat['built'])}, "
          f"{totals['targets_with_tests']} with tests on SQLite: {totals['targets_converted']} converted, "
          f"{totals['targets_not converted']} not converted, {totals['targets_no database connection']} use no connection")
    print(f"tests: {totals['tests']}; control {totals['c_ok']} passed, {totals['c_fail']} failed, {totals['c_ign']} ignored; "
          f"patched {totals['p_ok']} passed, {totals['p_fail']} failed, {totals['p_ign']} ignored")
    tenant = kinds["tenant"] + kinds["tenant, no statement"]
    tenant_ok = kinds["tenant passed"] + kinds["tenant, no statement passed"]
    print(f"  on a TenantConnection: {tenant} ({tenant_ok} pass): {kinds['tenant']} ran their statements through it, "
          f"{kinds['tenant, no statement']} only connect/ping/close through it")
    print(f"  on the raw connection: {kinds['raw']} ({kinds['raw passed']} pass): the not-converted targets and calls below")
    print(f"  no database statement at all: {kinds['no database']} ({kinds['no database passed']} pass); "
          f"ignored upstream: {kinds['ignored']}")
    print()
    print("Not converted (kept on sea-orm's own connection, with the pristine tests/common):")
    for name, entry in plan["targets"].items():
        if entry["status"] == "not converted":
            n = next(r["tests"] for r in rows if r["name"] == name)
            print(f"  {name} ({n} tests): {entry['reason']}")
    print("Inside converted targets, calls kept on the raw connection (ctx.raw_db, the pool the TenantConnection wraps):")
    for (name, test), notes in sorted(raw_tests.items()):
        if not any(fn_name(t) == test for t in ctl["runs"].get(name, {}).get("results", {})):
            continue  # gated off on SQLite
        for n in notes:
            verdict = "test converted" if n["converted"] else "test NOT converted"
            print(f"  [{verdict}] {name}::{test}: {n['api']}: {n['why']}")
    print()
    print("Bypass audit (patched run; sqlx's statement log, target sqlx::query, against the wrapper's")
    print('"forwarding statement" events, matched by SQL text per test):')
    print(f"  statements that reached the driver: {audit['driver']}; forwarded by the wrapper: {audit['forwarded']}")
    print(f"  in converted tests: {audit['converted_driver'] - audit['converted_connect']} reached the driver after "
          f"Database::connect, {audit['converted_forwarded']} forwarded by the wrapper, {len(bypasses)} bypassed it")
    print(f"  run by Database::connect, before there is a pool to wrap: {audit['connect']} "
          f"({'; '.join(f'{k!r} x{v}' for k, v in connect_sql.items()) or 'none'})")
    if audit["txn"]:
        print(f"  transaction control sqlx issues itself for begin/commit/rollback: {audit['txn']} "
              f"({', '.join(f'{k} x{v}' for k, v in txn_sql.items())})")
    print(f"  raw by design (the targets and calls above): {audit['raw']}")
    for k, v in sorted(raw_by_design.items()):
        print(f"    {k}: {v}")
    if audit["forwarded_unlogged"]:
        print(f"  forwarded but absent from the driver log: {audit['forwarded_unlogged']}")
    for b in bypasses[:50]:
        print(f"  BYPASS {b}")
    if len(bypasses) > 50:
        print(f"  … and {len(bypasses) - 50} more")
    print()
    if regressions:
        print(f"REGRESSIONS ({len(regressions)}):")
        for r in regressions:
            print(f"  {r}")
    else:
        print("regressions: 0")
    print(f"bypasses: {len(bypasses)}")
    print(f"wall time: {seconds}s")
    print(f"{totals['p_ok']} passed, {totals['p_fail']} failed")
    sys.exit(1 if regressions or bypasses else 0)


def main(argv):
    if len(argv) == 2 and argv[0] == "executables":
        executables(argv[1])
    elif len(argv) == 3 and argv[0] == "compare":
        compare(argv[1], argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
