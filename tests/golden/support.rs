//! `assert_rewrites` and the registry every golden test uses.

use sea_orm::{DbBackend, Statement, Value};
use sea_orm_tenancy::rewrite::{rewrite, rewrite_unprepared};
use sea_orm_tenancy::{DataKey, MatchMode, Registry, TenancyError};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

/// The tenant of every golden test.
pub(crate) const TENANT: &str = "1.4.";

pub(crate) fn registry() -> Registry {
    Registry::builder()
        .tenanted("invoice", "data_key")
        .tenanted("customer", "data_key")
        .tenanted("line", "tenant_key")
        .universal("country")
        .universal_read_only("plan")
        .build()
}

fn dialect(backend: DbBackend) -> Box<dyn Dialect> {
    match backend {
        DbBackend::Postgres => Box::new(PostgreSqlDialect {}),
        DbBackend::MySql => Box::new(MySqlDialect {}),
        _ => Box::new(SQLiteDialect {}),
    }
}

/// How many values a statement binds: `$n` numbers or `?` marks.
fn placeholder_count(backend: DbBackend, sql: &str) -> usize {
    match backend {
        DbBackend::Postgres => (1..=64).filter(|n| sql.contains(&format!("${n}"))).count(),
        _ => sql.matches('?').count(),
    }
}

/// Rewrites `input` for the golden tenant in `mode`, binding 0, 1, 2, … as the
/// original values. Returns the SQL and the values.
pub(crate) fn rewritten(
    backend: DbBackend,
    mode: MatchMode,
    input: &str,
) -> Result<(String, Vec<Value>), TenancyError> {
    let n = placeholder_count(backend, input);
    let stmt = Statement::from_sql_and_values(backend, input, (0..n as i32).map(Value::from));
    let key = DataKey::new(TENANT).expect("key");
    let out = rewrite(stmt, &key, mode, &registry())?;
    Ok((out.sql, out.values.map(|v| v.0).unwrap_or_default()))
}

/// Asserts that `input` rewrites to `expected` (prefix mode), that `expected` parses on
/// the backend, and returns the bound values.
#[track_caller]
pub(crate) fn assert_rewrites(backend: DbBackend, input: &str, expected: &str) -> Vec<Value> {
    assert_rewrites_in(backend, MatchMode::Prefix, input, expected)
}

/// [`assert_rewrites`] in a given mode.
#[track_caller]
pub(crate) fn assert_rewrites_in(
    backend: DbBackend,
    mode: MatchMode,
    input: &str,
    expected: &str,
) -> Vec<Value> {
    let (sql, values) = rewritten(backend, mode, input)
        .unwrap_or_else(|e| panic!("{backend:?}: `{input}` was refused: {e}"));
    assert_eq!(sql, expected, "\n{backend:?} input: {input}");
    // sqlparser cannot read MySQL's `LOCK IN SHARE MODE`; the rest must parse.
    let parsed = expected.trim_end_matches(" LOCK IN SHARE MODE");
    Parser::parse_sql(&*dialect(backend), parsed)
        .unwrap_or_else(|e| panic!("expected SQL does not parse on {backend:?}: {e}"));
    assert_eq!(
        values.len(),
        placeholder_count(backend, expected),
        "values bound for {expected}"
    );
    values
}

/// The values a rewrite binds, as text (`0`, `1.4.`, `1.4/`…), for compact assertions.
pub(crate) fn shown(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| match v {
            Value::Int(Some(i)) => i.to_string(),
            Value::String(Some(s)) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Asserts that the unprepared `input` rewrites to `expected`.
#[track_caller]
pub(crate) fn assert_rewrites_unprepared(
    backend: DbBackend,
    mode: MatchMode,
    input: &str,
    expected: &str,
) {
    let key = DataKey::new(TENANT).expect("key");
    let sql = rewrite_unprepared(input, backend, &key, mode, &registry())
        .unwrap_or_else(|e| panic!("{backend:?}: `{input}` was refused: {e}"));
    assert_eq!(sql, expected);
    Parser::parse_sql(&*dialect(backend), expected).expect("expected SQL parses");
}

/// Expected predicates, rendered the way each backend's rewrite writes them, numbering
/// PostgreSQL placeholders in the order they are asked for.
pub(crate) struct Expect {
    backend: DbBackend,
    next: usize,
}

impl Expect {
    /// `originals`: how many values the input binds.
    pub(crate) fn new(backend: DbBackend, originals: usize) -> Self {
        Expect {
            backend,
            next: originals + 1,
        }
    }

    fn ph(&mut self) -> String {
        match self.backend {
            DbBackend::Postgres => {
                let p = format!("${}", self.next);
                self.next += 1;
                p
            }
            _ => "?".to_owned(),
        }
    }

    /// The quoted column, as the rewriter writes it.
    pub(crate) fn col(&self, qualifier: &str, column: &str) -> String {
        match self.backend {
            DbBackend::MySql => format!("{qualifier}.`{column}`"),
            _ => format!("{qualifier}.\"{column}\""),
        }
    }

    /// The prefix predicate on `qualifier`'s DataKey column `column`.
    pub(crate) fn prefix_on(&mut self, qualifier: &str, column: &str) -> String {
        let c = self.col(qualifier, column);
        let coll = match self.backend {
            DbBackend::Postgres => "COLLATE \"C\"",
            DbBackend::MySql => "COLLATE utf8mb4_bin",
            _ => "COLLATE BINARY",
        };
        let lo = self.ph();
        let hi = self.ph();
        match self.backend {
            DbBackend::MySql => format!("{c} >= {lo} {coll} AND {c} < {hi} {coll}"),
            _ => format!("{c} {coll} >= {lo} AND {c} {coll} < {hi}"),
        }
    }

    /// The prefix predicate on `qualifier`.`data_key`.
    pub(crate) fn prefix(&mut self, qualifier: &str) -> String {
        self.prefix_on(qualifier, "data_key")
    }

    /// A placeholder for a filled DataKey.
    pub(crate) fn fill(&mut self) -> String {
        self.ph()
    }
}
