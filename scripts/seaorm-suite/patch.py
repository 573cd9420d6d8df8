#!/usr/bin/env python3
"""Patch an unpacked copy of the published sea-orm crate so that its integration tests
run on a `TenantConnection` wherever they used a `DatabaseConnection`.

    patch.py control <crate-dir>
    patch.py patched <crate-dir> <repo-root> <plan.json>

`control` only makes the crate build on its own (a `[workspace]` table). `patched` also:

- adds a generated crate `tenancy-shim` (a dev-dependency) that wraps a pool in a
  `TenantConnection` over a registry allow-listing every table the tests use, with
  schema changes allowed (they name no tenanted table: there is none);
- points `sea-orm` of our crate at this very copy (`[patch.crates-io]`), so there is one
  `sea_orm` in the graph;
- rewrites the tests (rules below) and writes `plan.json`: what was converted, what was
  left on the raw connection, and why.

Rules, applied outside `use` declarations:
- `DatabaseConnection` / `DbConn`   -> `::tenancy_shim::TenantConnection`
- `DatabaseTransaction`             -> `::tenancy_shim::TenantTransaction`
- `Database::connect(`              -> `::tenancy_shim::connect(`
- `TestContext` keeps the raw pool as `raw_db` next to `db` (now a `TenantConnection`);
  the few APIs that only exist on sea-orm's own connection (the sqlx pool handle, RBAC,
  schema sync) are pointed at `ctx.raw_db`, and reported.
Targets whose subject is such an API are not converted at all: they keep the pristine
`tests/common` (copied to `tests/common_raw`) and are reported with the reason.

Every targeted edit must match: a change upstream fails the patch loudly.
"""

import json
import pathlib
import re
import shutil
import sys

# Targets not converted, and why. They compile against the pristine `tests/common`.
NOT_CONVERTED = {
    "database_executor_tests": (
        "its subject is `DatabaseExecutor::from(&DatabaseConnection)` / "
        "`IntoDatabaseExecutor`, a silent way around the wrapper that TenantConnection "
        "deliberately does not implement"
    ),
    "rbac_tests": (
        "its subject is RBAC: `DatabaseConnection::restricted_for` builds sea-orm's own "
        "`RestrictedConnection` from the raw pool; it cannot be layered over a "
        "TenantConnection"
    ),
    "schema_sync_tests": (
        "its subject is schema sync (a migration): `SchemaBuilder::sync` needs "
        "`sea_schema::Connection`, implemented only for sea-orm's own connection types; "
        "migrations stay on the raw connection"
    ),
}

# Methods that exist only on sea-orm's own `DatabaseConnection`: called on `ctx.raw_db`.
RAW_ONLY_METHODS = {
    "get_sqlite_connection_pool": "closes the sqlx pool through its handle (the pings and "
    "transactions that follow go through the TenantConnection, on the same pool)",
    "get_postgres_connection_pool": "sqlx pool handle",
    "get_mysql_connection_pool": "sqlx pool handle",
    "replace_rbac": "RBAC engine of sea-orm's own connection",
    "restricted_for": "RBAC: the statements under test run on sea-orm's RestrictedConnection "
    "over the raw pool",
    "load_rbac": "RBAC engine of sea-orm's own connection",
}
# Methods whose *argument* must be the raw connection.
RAW_ARGUMENT_METHODS = {
    "sync": "schema sync (a migration) runs on the raw connection: `SchemaBuilder::sync` "
    "needs `sea_schema::Connection`; the rest of the test goes through the TenantConnection",
}
# A test is "not converted" when the statements it is about run on the raw connection.
NOT_CONVERTING_METHODS = {"restricted_for"}

SHIM = "::tenancy_shim"


# --------------------------------------------------------------------------------------
# A small Rust lexer: enough to skip strings, chars and comments and match braces.
# --------------------------------------------------------------------------------------


def code_mask(src):
    """A list of booleans: True where `src[i]` is code (not in a string/char/comment)."""
    n = len(src)
    mask = [True] * n
    i = 0
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                mask[k] = False
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            for k in range(i, j):
                mask[k] = False
            i = j
        elif c == "r" and re.match(r'r#*"', src[i:]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = src.find('"' + m.group(1), i + len(m.group(0)))
            j = n if end < 0 else end + 1 + len(m.group(1))
            for k in range(i, j):
                mask[k] = False
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            for k in range(i, j):
                mask[k] = False
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:])
            if m:  # a char literal; otherwise a lifetime
                for k in range(i, i + len(m.group(0))):
                    mask[k] = False
                i += len(m.group(0))
            else:
                i += 1
        else:
            i += 1
    return mask


def use_spans(src, mask):
    """Spans of `use …;` declarations."""
    spans = []
    for m in re.finditer(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?use[ \t\n]", src):
        if not mask[m.start() + len(m.group(0)) - 4]:
            continue
        j = m.end()
        while j < len(src) and not (src[j] == ";" and mask[j]):
            j += 1
        spans.append((m.start(), j + 1))
    return spans


def fn_spans(src, mask):
    """(name, start, end) of every `fn` with a body, outermost first."""
    spans = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", src):
        if not mask[m.start()]:
            continue
        j = m.end()
        depth_paren = 0
        while j < len(src):
            if mask[j]:
                ch = src[j]
                if ch in "(<[":
                    depth_paren += 1
                elif ch in ")>]":
                    depth_paren -= 1
                elif ch == ";" and depth_paren <= 0:
                    j = -1  # a declaration without a body
                    break
                elif ch == "{" and depth_paren <= 0:
                    break
            j += 1
        if j < 0 or j >= len(src):
            continue
        depth, k = 0, j
        while k < len(src):
            if mask[k]:
                if src[k] == "{":
                    depth += 1
                elif src[k] == "}":
                    depth -= 1
                    if depth == 0:
                        break
            k += 1
        spans.append((m.group(1), m.start(), k + 1))
    return spans


def outermost_fn(spans, pos):
    best = None
    for name, s, e in spans:
        if s <= pos < e and (best is None or s < best[1]):
            best = (name, s, e)
    return best[0] if best else None


# --------------------------------------------------------------------------------------
# Rewriting
# --------------------------------------------------------------------------------------

TYPE_RULES = [
    (re.compile(r"(?:\bsea_orm::)?\bDatabaseConnection\b"), f"{SHIM}::TenantConnection"),
    (re.compile(r"(?:\bsea_orm::)?\bDbConn\b"), f"{SHIM}::TenantConnection"),
    (re.compile(r"(?:\bsea_orm::)?\bDatabaseTransaction\b"), f"{SHIM}::TenantTransaction"),
    (re.compile(r"(?:\bsea_orm::)?\bDatabase::connect\("), f"{SHIM}::connect("),
]


def rewrite(src, skip_fns=()):
    """Apply the rules outside `use` declarations, comments, strings and `skip_fns`.
    Returns (new_src, replacements, raw_uses) where raw_uses = [(fn, method)]."""
    mask = code_mask(src)
    protected = [False] * len(src)
    for s, e in use_spans(src, mask):
        for k in range(s, min(e, len(src))):
            protected[k] = True
    fns = fn_spans(src, mask)
    for name, s, e in fns:
        if name in skip_fns:
            for k in range(s, e):
                protected[k] = True

    edits = []  # (start, end, replacement)

    def free(s, e):
        return all(mask[k] and not protected[k] for k in range(s, e))

    for rx, repl in TYPE_RULES:
        for m in rx.finditer(src):
            if free(m.start(), m.end()):
                edits.append((m.start(), m.end(), repl, None))
    raw_methods = "|".join(RAW_ONLY_METHODS)
    for m in re.finditer(r"\bctx(\s*\.\s*)db(\s*\.\s*)(" + raw_methods + r")\s*\(", src):
        if free(m.start(), m.end()):
            s = m.start() + len("ctx") + len(m.group(1))
            edits.append((s, s + 2, "raw_db", m.group(3)))
    for m in re.finditer(r"\.(" + "|".join(RAW_ARGUMENT_METHODS) + r")\(\s*(&?[A-Za-z_][A-Za-z0-9_.]*)\s*\)", src):
        if free(m.start(), m.end()):
            s = m.start(2)
            edits.append((s, m.end(2), "&ctx.raw_db", m.group(1)))

    edits.sort()
    out, last, raw_uses = [], 0, []
    for s, e, repl, raw in edits:
        if s < last:
            continue
        out.append(src[last:s])
        out.append(repl)
        last = e
        if raw:
            raw_uses.append((outermost_fn(fns, s), raw))
    out.append(src[last:])
    return "".join(out), len(edits), raw_uses


def replace_once(text, old, new, what):
    count = text.count(old)
    if count != 1:
        sys.exit(f"patch.py: expected exactly one `{old}` in {what}, found {count}")
    return text.replace(old, new)


def patch_setup(path):
    """TestContext: `db` is the TenantConnection, `raw_db` the pool it wraps."""
    src = path.read_text()
    src, n, _ = rewrite(src, skip_fns={"setup", "tear_down"})
    src = replace_once(
        src,
        f"    pub db: {SHIM}::TenantConnection,\n",
        f"    pub db: {SHIM}::TenantConnection,\n"
        "    /// The pool `db` wraps, for the APIs only sea-orm's own connection has.\n"
        "    pub raw_db: DatabaseConnection,\n",
        path,
    )
    src = replace_once(
        src,
        f"        let db: {SHIM}::TenantConnection = setup(&base_url, test_name).await;\n",
        "        let raw_db: DatabaseConnection = setup(&base_url, test_name).await;\n"
        f"        let db = {SHIM}::tenant(raw_db.clone());\n",
        path,
    )
    src = replace_once(src, "            db,\n        }", "            db,\n            raw_db,\n        }", path)
    if "options.sqlx_logging(false);" not in src:
        sys.exit("patch.py: setup() no longer disables sqlx logging; update the audit")
    # The bypass audit compares our events with sqlx's statement log: keep it on.
    src = src.replace("options.sqlx_logging(false);", "options.sqlx_logging(true);")
    path.write_text(src)
    return n


def table_names(tests_dir):
    """Every table the tests can touch: `table_name = "…"` attributes, the literals of
    hand-written `fn table_name`, and sea-orm's bookkeeping table."""
    names = {"seaql_migrations"}
    for f in sorted(tests_dir.rglob("*.rs")):
        src = f.read_text()
        names.update(re.findall(r'\btable_name\s*=\s*"([^"]+)"', src))
        for m in re.finditer(r"fn\s+table_name\s*\([^)]*\)[^{]*\{", src):
            depth, k = 1, m.end()
            while k < len(src) and depth:
                depth += {"{": 1, "}": -1}.get(src[k], 0)
                k += 1
            names.update(x for x in re.findall(r'"([^"]*)"', src[m.end():k]) if x)
        # `macro_rules! leaf { … table_name = $table … }` and `leaf!(leaf_a, "sfm_a");`
        for mac in re.findall(r"macro_rules!\s*(\w+)\s*\{(?:(?!macro_rules!).)*?table_name\s*=\s*\$", src, re.S):
            for args in re.findall(r"\b" + mac + r"!\s*\(([^)]*)\)", src):
                names.update(re.findall(r'"([^"]+)"', args))
    return sorted(names)


def shim_crate(crate_dir, repo_root, tables):
    shim = crate_dir / "tenancy-shim"
    (shim / "src").mkdir(parents=True, exist_ok=True)
    (shim / "Cargo.toml").write_text(
        "[package]\n"
        'name = "tenancy-shim"\n'
        'version = "0.0.0"\n'
        'edition = "2024"\n'
        "publish = false\n\n"
        "[dependencies]\n"
        'sea-orm = { version = "=2.0.4", default-features = false }\n'
        f'sea-orm-tenancy = {{ path = "{repo_root}" }}\n'
    )
    allow = "".join(f'        .allow("{t}")\n' for t in tables)
    (shim / "src" / "lib.rs").write_text(
        "//! Generated by scripts/seaorm-suite/patch.py: how sea-orm's tests get a\n"
        "//! TenantConnection. Every table they use is allow-listed (none is tenanted), and\n"
        "//! schema changes naming no tenanted table are allowed.\n\n"
        "use std::sync::{Arc, OnceLock};\n\n"
        "use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};\n"
        "pub use sea_orm_tenancy::{TenantConnection, TenantTransaction};\n"
        "use sea_orm_tenancy::{DataKey, Registry};\n\n"
        "/// One registry per test binary, like one per application.\n"
        "pub fn registry() -> Arc<Registry> {\n"
        "    static REGISTRY: OnceLock<Arc<Registry>> = OnceLock::new();\n"
        "    REGISTRY\n"
        "        .get_or_init(|| {\n"
        "            Arc::new(\n"
        "                Registry::builder()\n"
        f"{allow}"
        "                    .allow_schema_changes()\n"
        "                    .build(),\n"
        "            )\n"
        "        })\n"
        "        .clone()\n"
        "}\n\n"
        "/// `pool` bound to the tenant `suite.`.\n"
        "pub fn tenant(pool: DatabaseConnection) -> TenantConnection {\n"
        '    let key = DataKey::new("suite.").expect("a valid DataKey");\n'
        "    TenantConnection::with_registry(pool, key, registry())\n"
        "}\n\n"
        "/// `Database::connect`, wrapped.\n"
        "pub async fn connect<C: Into<ConnectOptions>>(opt: C) -> Result<TenantConnection, DbErr> {\n"
        "    Ok(tenant(Database::connect(opt).await?))\n"
        "}\n"
    )


def test_targets(cargo_toml):
    text = cargo_toml.read_text()
    return re.findall(r'\[\[test\]\]\nname = "([^"]+)"\npath = "([^"]+)"', text)


def patch_control(crate_dir):
    cargo = crate_dir / "Cargo.toml"
    text = cargo.read_text()
    if "\n[workspace]" not in text:
        cargo.write_text(text + "\n[workspace]\n")


def patch_patched(crate_dir, repo_root, plan_path):
    patch_control(crate_dir)
    tests = crate_dir / "tests"
    cargo = crate_dir / "Cargo.toml"
    targets = test_targets(cargo)
    tables = table_names(tests)
    shim_crate(crate_dir, repo_root, tables)
    cargo.write_text(
        cargo.read_text()
        + "\n[dev-dependencies.tenancy-shim]\n"
        'path = "tenancy-shim"\n'
        "\n[dev-dependencies.sea-orm-tenancy]\n"
        f'path = "{repo_root}"\n'
        "\n# One sea_orm in the graph: our crate's `sea-orm = \"=2.0.4\"` is this copy.\n"
        "[patch.crates-io]\n"
        'sea-orm = { path = "." }\n'
    )

    # The pristine harness, for the targets that are not converted.
    shutil.copytree(tests / "common", tests / "common_raw")
    # Statement logging only (for the audit to see what these targets run); no behaviour.
    raw_setup = tests / "common_raw" / "setup" / "mod.rs"
    raw_src = raw_setup.read_text()
    if "options.sqlx_logging(false);" not in raw_src:
        sys.exit("patch.py: setup() no longer disables sqlx logging; update the audit")
    raw_setup.write_text(raw_src.replace("options.sqlx_logging(false);", "options.sqlx_logging(true);"))

    not_converted_files = {tests.joinpath(p.removeprefix("tests/")) for n, p in targets if n in NOT_CONVERTED}
    per_file = {}
    raw_uses = {}
    for f in sorted(tests.rglob("*.rs")):
        rel = f.relative_to(tests)
        if rel.parts[0] == "common_raw" or f in not_converted_files:
            continue
        if rel == pathlib.Path("common/setup/mod.rs"):
            per_file[str(rel)] = patch_setup(f)
            continue
        src = f.read_text()
        new, n, raws = rewrite(src)
        if new != src:
            f.write_text(new)
        per_file[str(rel)] = n
        if raws:
            raw_uses[str(rel)] = raws

    for f in not_converted_files:
        src = f.read_text()
        src = replace_once(src, "pub mod common {", '#[path = "common_raw"]\npub mod common {', f)
        f.write_text(src)

    plan = {"tables": tables, "targets": {}}
    for name, path in targets:
        root = tests.joinpath(path.removeprefix("tests/"))
        if name in NOT_CONVERTED:
            plan["targets"][name] = {"status": "not converted", "reason": NOT_CONVERTED[name]}
            continue
        # The files of the target itself: its root, or its directory (`x/main.rs`), and
        # `mod crud;`-style sibling directories it declares.
        own = [root] if root.name != "main.rs" else list(root.parent.rglob("*.rs"))
        src = root.read_text()
        for m in re.finditer(r"(?m)^\s*(?:pub\s+)?mod\s+([a-z_]+)\s*;", src):
            d = root.parent / m.group(1)
            if d.is_dir() and root.name != "main.rs":
                own += list(d.rglob("*.rs"))
        own_src = "".join(p.read_text() for p in own)
        uses_db = bool(re.search(r"TestContext::new|tenancy_shim::connect|tenancy_shim::Tenant", own_src))
        entry = {"status": "converted" if uses_db else "no database connection"}
        notes = []
        for p in own:
            for fn, method in raw_uses.get(str(p.relative_to(tests)), []):
                notes.append({
                    "test": fn,
                    "api": method,
                    "why": RAW_ONLY_METHODS.get(method) or RAW_ARGUMENT_METHODS.get(method),
                    "converted": method not in NOT_CONVERTING_METHODS,
                })
        if notes:
            # one note per (test, api)
            seen, uniq = set(), []
            for n in notes:
                k = (n["test"], n["api"])
                if k not in seen:
                    seen.add(k)
                    uniq.append(n)
            entry["raw"] = uniq
        plan["targets"][name] = entry
    plan["replacements"] = per_file
    pathlib.Path(plan_path).write_text(json.dumps(plan, indent=2) + "\n")


def main(argv):
    if len(argv) >= 2 and argv[0] == "control":
        patch_control(pathlib.Path(argv[1]))
    elif len(argv) == 4 and argv[0] == "patched":
        patch_patched(pathlib.Path(argv[1]), pathlib.Path(argv[2]).resolve(), argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
