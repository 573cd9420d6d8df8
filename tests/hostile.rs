//! The hostile corpus: statements written to slip past a tenancy layer, each run by
//! several tenants on SQLite, PostgreSQL and MariaDB and judged by the view oracle
//! (`tests/oracle/mod.rs`).
//!
//! The statements live in `tests/corpus/hostile.txt`, one case per block:
//!
//! ```text
//! case where-and-or-precedence          a unique name
//! class position.where                  what it probes (`area.detail`)
//! expect same                           same | isolated | refused <TenancyError kind>
//! backends sqlite postgres              optional: where it runs (default: all three)
//! params 10, '1-A'                      optional: bound values (`?` becomes `$n` on PostgreSQL)
//! via unprepared                        optional: query | execute | unprepared
//! ----
//! SELECT number FROM invoice WHERE amount > 10 OR 1 = 1
//! ```
//!
//! Every case runs as the tenants `1.` (a parent), `1.4.` (its child), `2.` (a sibling)
//! and `a.` (which must not see `A.`), in turn, on one registry, so the second and later
//! tenants run the cached template. The seed holds rows of those tenants and traps: `10.`
//! and `1x.` (text starting like `1.`), `1/` (the upper bound of `1.`'s range), `1` and
//! `1.4` (no trailing dot), `1_.`, `1%.` and `1.\` (wildcards and escapes), `A.` / `a.`
//! (case), and rows that point at another tenant's rows. `customer.tenant_key` compares
//! case-insensitively (SQLite `NOCASE`, MariaDB `utf8mb4_general_ci`) and linguistically
//! on PostgreSQL (`en-x-icu`).
//!
//! Run (SQLite; the servers are skipped, loudly, without their URLs):
//!
//!     cargo test --test hostile
//!
//! On every backend, failing when a server is missing (what CI does):
//!
//!     DATABASE_URL_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!     DATABASE_URL_MYSQL=mysql://root@127.0.0.1:3306/test \
//!     TENANCY_REQUIRE_SERVERS=1 \
//!     cargo test --test hostile -- --nocapture
//!
//! One case: `HOSTILE_CASE=<name> cargo test --test hostile -- --nocapture`.

mod common;
mod oracle;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use sea_orm::Value;
use sea_orm_tenancy::{DataKey, Registry};

use common::Backend;
use oracle::{Expect, Oracle, Schema, SeedRow, Table, Via, placeholders_for};

const CORPUS: &str = include_str!("corpus/hostile.txt");

/// The tenants every case runs as, in this order, on one registry.
const RUN_AS: [&str; 4] = ["1.", "1.4.", "2.", "a."];

/// Classes (their first part) the corpus must cover, as the isolation issue lists them.
const REQUIRED_AREAS: [&str; 10] = [
    "position", "level", "names", "comments", "upsert", "datakey", "multi", "escape", "prefix",
    "params",
];

#[derive(Debug, Clone)]
struct Case {
    name: String,
    class: String,
    expect: Expect,
    backends: Vec<Backend>,
    params: Vec<Value>,
    via: Option<Via>,
    sql: String,
    line: usize,
}

fn parse_backend(word: &str) -> Result<Backend, String> {
    match word {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" => Ok(Backend::Postgres),
        "mysql" => Ok(Backend::MySql),
        other => Err(format!("unknown backend `{other}`")),
    }
}

/// `10, '1-A', NULL, -3`: integers, single-quoted text (`''` for a quote) and NULL.
fn parse_params(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('\'') {
            let mut value = String::new();
            let mut chars = after.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().map(|(_, c)| *c) == Some('\'') {
                        value.push('\'');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    value.push(c);
                }
            }
            let end = end.ok_or("unterminated text")?;
            out.push(Value::from(value));
            rest = after[end..].trim_start();
        } else {
            let (token, after) = rest.split_once(',').unwrap_or((rest, ""));
            let token = token.trim();
            if token.eq_ignore_ascii_case("null") {
                out.push(Value::String(None));
            } else {
                let n: i64 = token.parse().map_err(|_| format!("bad value `{token}`"))?;
                out.push(Value::from(n));
            }
            rest = after.trim_start();
            continue;
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

fn parse_corpus(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut names = HashSet::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut fields = BTreeMap::new();
        while i < lines.len() && lines[i].trim_end() != "----" {
            let l = lines[i].trim_end();
            assert!(
                !l.is_empty(),
                "line {}: a case ends before its `----`",
                i + 1
            );
            let (k, v) = l.split_once(' ').unwrap_or((l, ""));
            assert!(
                fields.insert(k.to_owned(), v.trim().to_owned()).is_none(),
                "line {}: `{k}` given twice",
                i + 1
            );
            i += 1;
        }
        i += 1; // ----
        let mut sql = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() {
            sql.push(lines[i]);
            i += 1;
        }
        let at = |what: &str| format!("line {start}: {what}");
        let name = fields
            .remove("case")
            .unwrap_or_else(|| panic!("{}", at("no `case`")));
        assert!(names.insert(name.clone()), "{}", at("duplicate case name"));
        let class = fields
            .remove("class")
            .unwrap_or_else(|| panic!("{}", at("no `class`")));
        let expect = fields
            .remove("expect")
            .unwrap_or_else(|| panic!("{}", at("no `expect`")))
            .parse::<Expect>()
            .unwrap_or_else(|e| panic!("{}", at(&e)));
        let backends = match fields.remove("backends") {
            None => vec![Backend::Sqlite, Backend::Postgres, Backend::MySql],
            Some(list) => list
                .split_whitespace()
                .map(parse_backend)
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{}", at(&e))),
        };
        let params = fields
            .remove("params")
            .map(|p| parse_params(&p).unwrap_or_else(|e| panic!("{}", at(&e))))
            .unwrap_or_default();
        let via = fields.remove("via").map(|v| match v.as_str() {
            "query" => Via::Query,
            "execute" => Via::Execute,
            "unprepared" => Via::Unprepared,
            other => panic!("{}", at(&format!("unknown via `{other}`"))),
        });
        assert!(
            fields.is_empty(),
            "{}",
            at(&format!("unknown fields {fields:?}"))
        );
        assert!(!sql.is_empty(), "{}", at("no SQL"));
        cases.push(Case {
            name,
            class,
            expect,
            backends,
            params,
            via,
            sql: sql.join("\n"),
            line: start,
        });
    }
    cases
}

/// How a case is sent when it does not say: rows for a query or anything `RETURNING`,
/// a count otherwise.
fn default_via(sql: &str) -> Via {
    let upper = sql.trim_start().to_ascii_uppercase();
    let first = upper.split_whitespace().next().unwrap_or("");
    if matches!(first, "SELECT" | "WITH" | "VALUES" | "(") || upper.contains("RETURNING") {
        Via::Query
    } else {
        Via::Execute
    }
}

// ---------------------------------------------------------------------------------------
// The schema and the seed.

fn q(backend: Backend, text: &str) -> String {
    let escaped = text.replace('\'', "''");
    match backend {
        Backend::MySql => format!("'{}'", escaped.replace('\\', "\\\\")),
        _ => format!("'{escaped}'"),
    }
}

fn ddl(backend: Backend, default: Option<&str>) -> Vec<String> {
    let default = default
        .map(|k| format!(" DEFAULT {}", q(backend, k)))
        .unwrap_or_default();
    let tables = [
        "customer",
        "invoice",
        "line_item",
        "country",
        "plan",
        "ledger",
    ];
    let mut out: Vec<String> = tables
        .iter()
        .map(|t| format!("DROP TABLE IF EXISTS {t}"))
        .collect();
    let (id, text, key_ci, key_bin) = match backend {
        Backend::Sqlite => (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "TEXT",
            "TEXT COLLATE NOCASE",
            "TEXT COLLATE BINARY",
        ),
        Backend::Postgres => (
            "SERIAL PRIMARY KEY",
            "VARCHAR(255)",
            r#"VARCHAR(255) COLLATE "en-x-icu""#,
            r#"VARCHAR(255) COLLATE "C""#,
        ),
        Backend::MySql => (
            "INT AUTO_INCREMENT PRIMARY KEY",
            "VARCHAR(255)",
            "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        ),
    };
    out.extend([
        format!(
            "CREATE TABLE customer (id {id}, tenant_key {key_ci} NOT NULL{default}, \
             name {text} NOT NULL)"
        ),
        format!(
            "CREATE TABLE invoice (id {id}, data_key {key_bin} NOT NULL{default}, \
             number {text} NOT NULL UNIQUE, amount INTEGER NOT NULL, customer_id INTEGER)"
        ),
        format!(
            "CREATE TABLE line_item (id {id}, data_key {key_bin} NOT NULL{default}, \
             invoice_id INTEGER, sku {text} NOT NULL, qty INTEGER NOT NULL, \
             UNIQUE (data_key, sku))"
        ),
        format!("CREATE TABLE country (code {text} PRIMARY KEY, name {text} NOT NULL)"),
        format!("CREATE TABLE plan (id {id}, name {text} NOT NULL, price INTEGER NOT NULL)"),
        format!("CREATE TABLE ledger (id {id}, entry {text} NOT NULL)"),
    ]);
    out
}

const CUSTOMERS: &[(i32, &str, &str)] = &[
    (1, "1.", "Acme"),
    (2, "1.4.", "Acme Four"),
    (3, "2.", "Globex"),
    (4, "10.", "Initech"),
    (5, "A.", "Alpha"),
    (6, "a.", "alpha"),
    (7, "1x.", "Onex"),
    (8, "1.4.7.", "Acme Seven"),
];

const INVOICES: &[(i32, &str, &str, i32, Option<i32>)] = &[
    (1, "1.", "1-A", 100, Some(1)),
    (2, "1.", "1-B", 200, Some(1)),
    (3, "1.", "1-C", 10, Some(3)),
    (4, "1.", "1-D", 20, None),
    (5, "1.4.", "14-A", 140, Some(2)),
    (6, "1.4.7.", "147-A", 147, Some(8)),
    (7, "2.", "2-A", 300, Some(3)),
    (8, "2.", "2-B", 50, Some(1)),
    (9, "10.", "10-A", 1000, Some(4)),
    (10, "A.", "A-1", 5, Some(5)),
    (11, "a.", "a-2", 6, Some(6)),
    (12, "1x.", "1x-A", 11, Some(7)),
    (13, "1/", "slash", 13, None),
    (14, "1", "bare", 14, None),
    (15, "1.4", "nodot", 15, None),
    (16, "1_.", "under", 16, None),
    (17, "1%.", "percent", 17, None),
    (18, "1.\\", "backslash", 18, None),
    (19, "2.5.", "25-A", 250, Some(3)),
];

const LINE_ITEMS: &[(i32, &str, i32, &str, i32)] = &[
    (1, "1.", 1, "apple", 1),
    (2, "1.", 1, "pear", 2),
    (3, "1.", 7, "leak", 3),
    (4, "1.4.", 5, "apple", 4),
    (5, "2.", 7, "apple", 5),
    (6, "2.", 1, "pear", 6),
    (7, "10.", 9, "apple", 7),
    (8, "1.4.7.", 6, "fig", 8),
    (9, "a.", 11, "apple", 9),
    (10, "A.", 10, "apple", 10),
];

fn seed(backend: Backend) -> Vec<SeedRow> {
    let mut rows = Vec::new();
    for (id, key, name) in CUSTOMERS {
        rows.push(SeedRow {
            table: 0,
            key: Some((*key).to_owned()),
            insert: format!(
                "INSERT INTO customer (id, tenant_key, name) VALUES ({id}, {}, {})",
                q(backend, key),
                q(backend, name)
            ),
        });
    }
    for (id, key, number, amount, customer) in INVOICES {
        let customer = customer.map_or("NULL".to_owned(), |c| c.to_string());
        rows.push(SeedRow {
            table: 1,
            key: Some((*key).to_owned()),
            insert: format!(
                "INSERT INTO invoice (id, data_key, number, amount, customer_id) \
                 VALUES ({id}, {}, {}, {amount}, {customer})",
                q(backend, key),
                q(backend, number)
            ),
        });
    }
    for (id, key, invoice, sku, qty) in LINE_ITEMS {
        rows.push(SeedRow {
            table: 2,
            key: Some((*key).to_owned()),
            insert: format!(
                "INSERT INTO line_item (id, data_key, invoice_id, sku, qty) \
                 VALUES ({id}, {}, {invoice}, {}, {qty})",
                q(backend, key),
                q(backend, sku)
            ),
        });
    }
    for (code, name) in [("FR", "France"), ("DE", "Germany"), ("JP", "Japan")] {
        rows.push(SeedRow {
            table: 3,
            key: None,
            insert: format!("INSERT INTO country (code, name) VALUES ('{code}', '{name}')"),
        });
    }
    for (id, name, price) in [(1, "free", 0), (2, "pro", 20)] {
        rows.push(SeedRow {
            table: 4,
            key: None,
            insert: format!("INSERT INTO plan (id, name, price) VALUES ({id}, '{name}', {price})"),
        });
    }
    rows.push(SeedRow {
        table: 5,
        key: None,
        insert: "INSERT INTO ledger (id, entry) VALUES (1, 'opening')".to_owned(),
    });
    rows
}

fn schema(backend: Backend) -> Schema {
    let table = |name: &str, data_key_at: Option<usize>, order_by: &str, counter: bool| Table {
        name: name.to_owned(),
        data_key_at,
        order_by: order_by.to_owned(),
        counter: counter.then(|| ("id".to_owned(), 0)),
    };
    Schema {
        tables: vec![
            table("customer", Some(1), "id", true),
            table("invoice", Some(1), "id", true),
            table("line_item", Some(1), "id", true),
            table("country", None, "code", false),
            table("plan", None, "id", true),
            table("ledger", None, "id", true),
        ],
        ddl: Box::new(ddl),
        seed: seed(backend),
        counter_start: 1000,
    }
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .tenanted("customer", "tenant_key")
            .tenanted("invoice", "data_key")
            .tenanted("line_item", "data_key")
            .universal("country")
            .universal_read_only("plan")
            .build(),
    )
}

// ---------------------------------------------------------------------------------------
// The runner.

async fn run_corpus(backend: Backend, test: &str) {
    let cases = parse_corpus(CORPUS);
    let only = std::env::var("HOSTILE_CASE").ok();
    let Some(mut oracle) = Oracle::new(backend, test, schema(backend), registry()).await else {
        return;
    };
    let mut failures = Vec::new();
    let mut runs = 0usize;
    let mut refused = 0usize;
    let mut same_cases = 0usize;
    let mut discriminating_cases = 0usize;
    let mut not_discriminating = Vec::new();
    let mut cases_run = 0usize;
    let mut discriminates: BTreeMap<String, bool> = BTreeMap::new();
    for tenant in RUN_AS {
        let key = DataKey::new(tenant).expect("tenant key");
        oracle.become_tenant(&key).await;
        for case in &cases {
            if !case.backends.contains(&backend) {
                continue;
            }
            if only.as_deref().is_some_and(|o| o != case.name) {
                continue;
            }
            let sql = placeholders_for(backend, &case.sql);
            let via = case.via.unwrap_or_else(|| default_via(&case.sql));
            let verdict = oracle.check(&sql, &case.params, via, &case.expect).await;
            runs += 1;
            if verdict.refused.is_some() {
                refused += 1;
            }
            if case.expect == Expect::Same {
                *discriminates.entry(case.name.clone()).or_default() |= verdict.discriminates;
            }
            if let Some(f) = verdict.failure {
                failures.push(format!(
                    "case `{}` (line {}, class {}) as tenant {tenant}:\n  {f}\n  sql: {sql}",
                    case.name, case.line, case.class
                ));
            }
        }
    }
    for case in &cases {
        if case.backends.contains(&backend) && only.as_deref().is_none_or(|o| o == case.name) {
            cases_run += 1;
        }
    }
    for (name, d) in &discriminates {
        same_cases += 1;
        if *d {
            discriminating_cases += 1;
        } else {
            not_discriminating.push(name.clone());
        }
    }
    oracle.destroy().await;
    eprintln!(
        "hostile corpus on {backend:?}: {cases_run} cases, {runs} runs ({} tenants), \
         {refused} refused runs, {} failures; {discriminating_cases} of {same_cases} \
         `same` cases discriminate (fail on the unrewritten statement)",
        RUN_AS.len(),
        failures.len()
    );
    if !not_discriminating.is_empty() {
        eprintln!("  `same` cases that do not discriminate: {not_discriminating:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed on {backend:?}:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_corpus_is_large_and_covers_every_class_of_the_issue() {
    let cases = parse_corpus(CORPUS);
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let areas: HashSet<&str> = cases
        .iter()
        .map(|c| c.class.split('.').next().unwrap_or(""))
        .collect();
    for area in REQUIRED_AREAS {
        assert!(areas.contains(area), "no case of class `{area}.*`");
    }
    for kind in [
        "InvalidTenantAccess",
        "UnsupportedStatement",
        "UnknownTable",
    ] {
        assert!(
            cases
                .iter()
                .any(|c| c.expect == Expect::Refused(kind.to_owned())),
            "no case refused with {kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_corpus_is_isolated_on_sqlite() {
    run_corpus(Backend::Sqlite, "hostile").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_corpus_is_isolated_on_postgres() {
    run_corpus(Backend::Postgres, "hostile").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_corpus_is_isolated_on_mysql() {
    run_corpus(Backend::MySql, "hostile").await;
}
