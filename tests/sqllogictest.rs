//! SQL nobody on this team wrote: SQLite's sqllogictest `select1`–`select5` (about 8,900
//! queries, in `../shared/corpus/sqllogictest/`), run through the tenant rewriter and
//! judged by the view oracle (`tests/oracle/mod.rs`).
//!
//! Each script's tables get a DataKey column, `data_key`, and its rows are dealt in turn to
//! the tenants `1.`, `1.4.`, `2.`, `10.` (text starting like `1.`) and `1.4.7.`. Every
//! query then runs as `1.` (who sees `1.`, `1.4.`, `1.4.7.`) and as `1.4.` (the second run
//! takes the cached template): the rewritten query on the shared database must return the
//! rows the original returns on a database holding only that tenant's rows. A query the
//! rewriter refuses counts as refused, never as passed; a query the backend itself
//! rejects (on the oracle) is not valid there and is counted apart.
//!
//! The figures are printed per script and backend; the test fails on any mismatch, and
//! when the refused count rises above the recorded ceiling (`MAX_REFUSED`).
//!
//! Run (SQLite; PostgreSQL is skipped, loudly, without its URL):
//!
//!     cargo test --release --test sqllogictest -- --nocapture
//!
//! On PostgreSQL too, failing when the server is missing (what CI does):
//!
//!     DATABASE_URL_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!     TENANCY_REQUIRE_SERVERS=1 \
//!     cargo test --test sqllogictest -- --nocapture
//!
//! The corpus is looked for in `SQLLOGICTEST_DIR`, else `../shared/corpus/sqllogictest`
//! beside the project. Without it the tests fail (a missing corpus must not pass quietly).

mod common;
mod oracle;

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm_tenancy::{DataKey, Registry};
use sqllogictest::{Condition, DefaultColumnType, Record};
use sqlparser::ast::{Expr, Ident, ObjectName, SetExpr, Statement as Ast, Value};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use common::Backend;
use oracle::{Oracle, Outcome, Schema, SeedRow, Table};

/// Who owns the rows, dealt in turn.
const OWNERS: [&str; 5] = ["1.", "1.4.", "2.", "10.", "1.4.7."];
/// Who runs the queries.
const RUN_AS: [&str; 2] = ["1.", "1.4."];

fn corpus_dir() -> PathBuf {
    std::env::var_os("SQLLOGICTEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/sqllogictest")
        })
}

fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
        Backend::MySql => "mysql",
    }
}

fn applies(conditions: &[Condition], backend: Backend) -> bool {
    conditions.iter().all(|c| match c {
        Condition::OnlyIf { label: l } => l == label(backend),
        Condition::SkipIf { label: l } => l != label(backend),
    })
}

/// What a script sets up, and its queries.
struct Script {
    creates: Vec<(String, String, usize)>, // (table, create statement, column count)
    indexes: Vec<String>,
    inserts: Vec<(usize, &'static str, String)>, // (table index, owner, insert with data_key)
    queries: Vec<(String, u32)>,                 // (sql, line)
}

fn table_columns(create: &str) -> (String, usize) {
    let ast = Parser::parse_sql(&SQLiteDialect {}, create).expect("parse CREATE TABLE");
    match ast.as_slice() {
        [Ast::CreateTable(c)] => (c.name.to_string().to_ascii_lowercase(), c.columns.len()),
        _ => panic!("not a CREATE TABLE: {create}"),
    }
}

/// The `INSERT` with the column `data_key` set to `key`.
fn insert_with_key(insert: &str, key: &str) -> (String, String) {
    let mut ast = Parser::parse_sql(&SQLiteDialect {}, insert).expect("parse INSERT");
    let [Ast::Insert(i)] = ast.as_mut_slice() else {
        panic!("not an INSERT: {insert}");
    };
    let table = i.table.to_string().to_ascii_lowercase();
    if !i.columns.is_empty() {
        i.columns
            .push(ObjectName::from(vec![Ident::new("data_key")]));
    }
    let Some(source) = i.source.as_mut() else {
        panic!("INSERT without VALUES: {insert}");
    };
    let SetExpr::Values(values) = source.body.as_mut() else {
        panic!("INSERT without VALUES: {insert}");
    };
    for row in &mut values.rows {
        row.push(Expr::value(Value::SingleQuotedString(key.to_owned())));
    }
    (table, ast[0].to_string())
}

fn read_script(name: &str, backend: Backend) -> Script {
    let path = corpus_dir().join(name);
    let records = sqllogictest::parse_file::<DefaultColumnType>(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut script = Script {
        creates: Vec::new(),
        indexes: Vec::new(),
        inserts: Vec::new(),
        queries: Vec::new(),
    };
    let mut dealt = 0usize;
    for record in records {
        match record {
            Record::Statement {
                sql, conditions, ..
            } if applies(&conditions, backend) => {
                let upper = sql.trim_start().to_ascii_uppercase();
                if upper.starts_with("CREATE TABLE") {
                    let (table, n) = table_columns(&sql);
                    script.creates.push((table, sql, n));
                } else if upper.starts_with("CREATE INDEX") || upper.starts_with("CREATE UNIQUE") {
                    script.indexes.push(sql);
                } else if upper.starts_with("INSERT") {
                    let key = OWNERS[dealt % OWNERS.len()];
                    dealt += 1;
                    let (table, insert) = insert_with_key(&sql, key);
                    let t = script
                        .creates
                        .iter()
                        .position(|(name, ..)| *name == table)
                        .unwrap_or_else(|| panic!("INSERT into an unknown table: {sql}"));
                    script.inserts.push((t, key, insert));
                } else {
                    panic!("a statement this runner does not load: {sql}");
                }
            }
            Record::Query {
                sql,
                conditions,
                loc,
                ..
            } if applies(&conditions, backend) => {
                script.queries.push((sql, loc.line()));
            }
            _ => {}
        }
    }
    script
}

fn schema(script: &Script) -> Schema {
    let creates: Vec<(String, String)> = script
        .creates
        .iter()
        .map(|(t, sql, _)| (t.clone(), sql.clone()))
        .collect();
    let indexes = script.indexes.clone();
    let ddl = move |backend: Backend, default: Option<&str>| {
        let column = match (backend, default) {
            (Backend::Postgres, Some(k)) => {
                format!(", data_key VARCHAR(64) NOT NULL DEFAULT '{k}')")
            }
            (Backend::Postgres, None) => ", data_key VARCHAR(64) NOT NULL)".to_owned(),
            (_, Some(k)) => format!(", data_key TEXT NOT NULL DEFAULT '{k}')"),
            (_, None) => ", data_key TEXT NOT NULL)".to_owned(),
        };
        let mut out = Vec::new();
        for (table, create) in &creates {
            out.push(format!("DROP TABLE IF EXISTS {table}"));
            let trimmed = create.trim_end();
            let body = trimmed
                .strip_suffix(')')
                .expect("CREATE TABLE ends with `)`");
            out.push(format!("{body}{column}"));
        }
        out.extend(indexes.iter().cloned());
        out
    };
    let tables = script
        .creates
        .iter()
        .map(|(name, _, n)| Table {
            name: name.clone(),
            data_key_at: Some(*n),
            order_by: (1..=n + 1)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            counter: None,
        })
        .collect();
    let seed = script
        .inserts
        .iter()
        .map(|(t, key, insert)| SeedRow {
            table: *t,
            key: Some((*key).to_owned()),
            insert: insert.clone(),
        })
        .collect();
    Schema {
        tables,
        ddl: Box::new(ddl),
        seed,
        counter_start: 0,
    }
}

fn registry(script: &Script) -> Arc<Registry> {
    let mut builder = Registry::builder();
    for (table, ..) in &script.creates {
        builder = builder.tenanted(table, "data_key");
    }
    Arc::new(builder.build())
}

/// Refused runs recorded per backend (none: every query of select1–5 is rewritten); the
/// test fails when a change makes the rewriter refuse more.
fn max_refused(_backend: Backend) -> usize {
    0
}

#[derive(Debug, Default)]
struct Figures {
    queries: usize,
    runs: usize,
    passed: usize,
    refused: usize,
    invalid: usize,
    mismatched: usize,
    discriminating: usize,
}

async fn run_script(
    backend: Backend,
    name: &str,
    figures: &mut Figures,
    failures: &mut Vec<String>,
) -> bool {
    let script = read_script(name, backend);
    let registry = registry(&script);
    let test = format!("slt_{}", name.trim_end_matches(".test"));
    let Some(mut oracle) = Oracle::new(backend, &test, schema(&script), registry).await else {
        return false;
    };
    let mut refusals: std::collections::BTreeMap<String, usize> = Default::default();
    figures.queries += script.queries.len();
    // PostgreSQL plans select5's joins of up to 64 tables in tens of milliseconds each:
    // there, one tenant runs them.
    // there, one tenant runs them, and the unrewritten run (discrimination) is left out.
    let heavy = backend == Backend::Postgres && name == "select5.test";
    let run_as: &[&str] = if heavy { &RUN_AS[..1] } else { &RUN_AS };
    for (t, tenant) in run_as.iter().enumerate() {
        oracle
            .become_tenant(&DataKey::new(tenant).expect("key"))
            .await;
        for (sql, line) in &script.queries {
            let started = std::time::Instant::now();
            let (rewritten, original, discriminates) =
                oracle.check_query(sql, t == 0 && !heavy).await;
            if std::env::var_os("SLT_TIMING").is_some() {
                eprintln!(
                    "{:>8.1} ms {name}:{line}",
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
            figures.runs += 1;
            match (&rewritten, &original) {
                (Outcome::Refused { message, .. }, _) => {
                    figures.refused += 1;
                    let reason = message
                        .split_once(": ")
                        .map_or(message.as_str(), |(_, r)| r)
                        .chars()
                        .take(90)
                        .collect::<String>();
                    *refusals.entry(reason).or_default() += 1;
                }
                (_, Outcome::DbError(_)) => figures.invalid += 1,
                (r, o) if r.agrees_with(o) => {
                    figures.passed += 1;
                    if discriminates {
                        figures.discriminating += 1;
                    }
                }
                (r, o) => {
                    figures.mismatched += 1;
                    failures.push(format!(
                        "{name}:{line} as tenant {tenant}: {sql}\n    tenant connection: {r}\n    oracle:            {o}"
                    ));
                }
            }
        }
    }
    if !refusals.is_empty() {
        eprintln!("  refusals in {name} on {backend:?}:");
        for (reason, n) in &refusals {
            eprintln!("    {n:>5} × {reason}");
        }
    }
    oracle.destroy().await;
    true
}

async fn run_corpus(backend: Backend) {
    let mut figures = Figures::default();
    let mut failures = Vec::new();
    let only = std::env::var("SLT_SCRIPTS").ok();
    for name in [
        "select1.test",
        "select2.test",
        "select3.test",
        "select4.test",
        "select5.test",
    ] {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|s| name.starts_with(s)))
        {
            continue;
        }
        let before = (
            figures.runs,
            figures.passed,
            figures.refused,
            figures.invalid,
            figures.mismatched,
        );
        if !run_script(backend, name, &mut figures, &mut failures).await {
            return;
        }
        eprintln!(
            "sqllogictest {name} on {backend:?}: {} runs, {} passed, {} refused, {} not valid on this backend, {} mismatched",
            figures.runs - before.0,
            figures.passed - before.1,
            figures.refused - before.2,
            figures.invalid - before.3,
            figures.mismatched - before.4,
        );
    }
    eprintln!("sqllogictest on {backend:?}: {figures:?}");
    if only.is_none() {
        assert!(
            figures.queries > 8000,
            "only {} queries read",
            figures.queries
        );
    }
    assert!(
        failures.is_empty(),
        "{} mismatches on {backend:?}:\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(
        figures.refused <= max_refused(backend),
        "{} refused runs on {backend:?}, more than the recorded {}",
        figures.refused,
        max_refused(backend)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_selects_match_the_oracle_on_sqlite() {
    run_corpus(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_selects_match_the_oracle_on_postgres() {
    run_corpus(Backend::Postgres).await;
}
