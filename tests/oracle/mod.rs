//! The view oracle: what a tenant's statement must do, found by running it where only the
//! tenant's rows exist.
//!
//! For a statement Q run by tenant T, two databases of the same backend are compared:
//!
//! - **shared**: every tenant's rows; Q goes through a [`TenantConnection`] of T, so what
//!   runs is the rewritten Q;
//! - **oracle**: every tenanted table holds only the rows T may see (a filtered copy, its
//!   DataKey columns defaulting to T's key, as the connection fills it on insert); Q runs
//!   there as written, on the raw pool.
//!
//! The verdict ([`Expect`]):
//!
//! - `same`: both return the same rows (as a multiset, every value rendered as text) or
//!   the same number of affected rows, or both fail; afterwards the rows of the shared
//!   database that T may see equal the oracle's, table for table, and universal tables
//!   equal;
//! - `isolated`: where the oracle cannot stand in (a unique key shared by all tenants
//!   makes another tenant's row collide), only the invariant below is checked;
//! - `refused <kind>`: the connection returns that [`TenancyError`] and nothing changed.
//!
//! Always, whatever the verdict: every row of a tenanted table that T may not see is, after
//! Q, byte-for-byte what it was before, and no row appeared outside T.
//!
//! After a write both databases are restored, so every case starts from the seed. A case also runs as written on the shared database: when that differs
//! from the oracle, the case *discriminates* (it would fail if the rewriter did nothing),
//! and the runners report how many do.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use sea_orm::prelude::Decimal;
use sea_orm::sqlx::{self, Row as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement};
use sea_orm_tenancy::{DataKey, MatchMode, Registry, TenancyError, TenantConnection};

use crate::common::{Backend, TestDb};

/// One table the oracle compares.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its name, unquoted.
    pub name: String,
    /// Where its DataKey column stands in `SELECT *`, when tenanted.
    pub data_key_at: Option<usize>,
    /// What to order a snapshot by: the primary key, or every column.
    pub order_by: String,
    /// Its auto-increment id column (name, place in `SELECT *`): the counter is set to
    /// `counter_start`, and ids from there on are compared by rank, not value.
    pub counter: Option<(String, usize)>,
}

/// A row of the seed: which table, whose (the DataKey it carries, or `None` on a
/// universal table), and the `INSERT` that loads it.
#[derive(Debug, Clone)]
pub struct SeedRow {
    pub table: usize,
    pub key: Option<String>,
    pub insert: String,
}

/// Builds the `CREATE TABLE` statements of a backend, given the DataKey default.
pub type Ddl = dyn Fn(Backend, Option<&str>) -> Vec<String> + Send + Sync;

/// What the oracle needs to build both databases of a backend.
pub struct Schema {
    pub tables: Vec<Table>,
    /// `CREATE TABLE` (and index) statements; the argument is the default of every DataKey
    /// column (`Some` on the oracle, the key of the tenant it stands for).
    pub ddl: Box<Ddl>,
    pub seed: Vec<SeedRow>,
    /// Where new ids start (every counter is set to it when a database is built). A new
    /// row is compared by its rank among the new rows of its table, so the two databases
    /// need not draw the same ids (MariaDB cannot rewind a counter cheaply); counters are
    /// set again before a case that returns ids (`RETURNING`, `LAST_INSERT_ID`).
    pub counter_start: i64,
}

/// What the statement is expected to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The rewritten statement on the shared database behaves as the original on the oracle.
    Same,
    /// Only the invariant: nothing outside the tenant changes, and it is not refused.
    Isolated,
    /// Refused with this kind of [`TenancyError`]; nothing changes.
    Refused(String),
}

impl std::str::FromStr for Expect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut words = s.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("same"), None, _) => Ok(Expect::Same),
            (Some("isolated"), None, _) => Ok(Expect::Isolated),
            (Some("refused"), Some(kind), None) if KINDS.contains(&kind) => {
                Ok(Expect::Refused(kind.to_owned()))
            }
            _ => Err(format!(
                "expected `same`, `isolated` or `refused <{}>`, found `{s}`",
                KINDS.join("|")
            )),
        }
    }
}

const KINDS: [&str; 5] = [
    "InvalidTenantAccess",
    "InvalidDataKey",
    "UnsupportedStatement",
    "UnknownTable",
    "MaxTenantExceeded",
];

/// The name of a [`TenancyError`]'s kind.
pub fn kind(e: &TenancyError) -> &'static str {
    match e {
        TenancyError::InvalidTenantAccess { .. } => "InvalidTenantAccess",
        TenancyError::InvalidDataKey { .. } => "InvalidDataKey",
        TenancyError::UnsupportedStatement { .. } => "UnsupportedStatement",
        TenancyError::UnknownTable { .. } => "UnknownTable",
        TenancyError::MaxTenantExceeded { .. } => "MaxTenantExceeded",
        _ => "other",
    }
}

/// How a statement is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `query_all_raw`: rows come back.
    Query,
    /// `execute_raw`: a count of affected rows comes back.
    Execute,
    /// `execute_unprepared`: no parameters, maybe several statements.
    Unprepared,
}

/// What running a statement gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Rows, each value rendered as text, sorted.
    Rows(Vec<Vec<String>>),
    /// Rows affected.
    Affected(u64),
    /// The database refused it (the message).
    DbError(String),
    /// The tenancy layer refused it.
    Refused { kind: &'static str, message: String },
}

impl Outcome {
    /// The same, for the oracle: both failed in the database counts as the same.
    pub fn agrees_with(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::DbError(_), Outcome::DbError(_)) => true,
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Rows(rows) => {
                write!(f, "{} row(s)", rows.len())?;
                for row in rows.iter().take(12) {
                    write!(f, "\n      [{}]", row.join(", "))?;
                }
                if rows.len() > 12 {
                    write!(f, "\n      …")?;
                }
                Ok(())
            }
            Outcome::Affected(n) => write!(f, "{n} row(s) affected"),
            Outcome::DbError(e) => write!(f, "database error: {e}"),
            Outcome::Refused { kind, message } => write!(f, "refused, {kind}: {message}"),
        }
    }
}

/// Every table's rows, rendered, in `order_by` order.
type Snapshot = Vec<Vec<Vec<String>>>;

/// The verdict on one statement run by one tenant.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// `None` when the expectation held, else what went wrong.
    pub failure: Option<String>,
    /// The connection refused it (whatever was expected).
    pub refused: Option<&'static str>,
    /// The original statement on the shared database differs from the oracle.
    pub discriminates: bool,
    /// The oracle itself failed in the database (the statement is not valid there).
    pub oracle_failed: bool,
}

/// The pair of databases of one backend, and the tenant the oracle stands for.
pub struct Oracle {
    pub backend: Backend,
    shared: TestDb,
    oracle: TestDb,
    pub registry: Arc<Registry>,
    schema: Schema,
    mode: MatchMode,
    tenant: Option<DataKey>,
    seed_snapshot: Snapshot,
    oracle_snapshot: Snapshot,
    dirty: bool,
}

impl Oracle {
    /// Creates both databases and loads every row into the shared one. `None` when the
    /// backend is skipped.
    pub async fn new(
        backend: Backend,
        test: &str,
        schema: Schema,
        registry: Arc<Registry>,
    ) -> Option<Oracle> {
        let shared = TestDb::create(backend, test).await?;
        let oracle = TestDb::create(backend, &format!("{test}_oracle")).await?;
        let mut this = Oracle {
            backend,
            shared,
            oracle,
            registry,
            schema,
            mode: MatchMode::Prefix,
            tenant: None,
            seed_snapshot: Vec::new(),
            oracle_snapshot: Vec::new(),
            dirty: false,
        };
        for sql in (this.schema.ddl)(backend, None) {
            exec(&this.shared.pool, &sql).await;
        }
        this.load_shared(true).await;
        this.seed_snapshot = snapshot(&this.shared.pool, &this.schema).await;
        Some(this)
    }

    /// Drops both databases.
    pub async fn destroy(self) {
        self.shared.destroy().await;
        self.oracle.destroy().await;
    }

    /// The raw pool on the shared database.
    pub fn shared(&self) -> &DatabaseConnection {
        &self.shared.pool
    }

    /// The raw pool on the oracle database.
    pub fn oracle(&self) -> &DatabaseConnection {
        &self.oracle.pool
    }

    fn db_backend(&self) -> DbBackend {
        self.shared.pool.get_database_backend()
    }

    /// Makes the oracle stand for `tenant`: its tables are created anew, with the DataKey
    /// defaulting to the tenant's key, and hold only the rows the tenant may see.
    pub async fn become_tenant(&mut self, tenant: &DataKey) {
        for sql in (self.schema.ddl)(self.backend, Some(tenant.as_str())) {
            exec(&self.oracle.pool, &sql).await;
        }
        self.tenant = Some(tenant.clone());
        self.load_oracle(true).await;
        self.oracle_snapshot = snapshot(&self.oracle.pool, &self.schema).await;
        self.dirty = false;
    }

    fn visible(&self, key: Option<&str>) -> bool {
        match (key, &self.tenant) {
            (None, _) => true,
            // What the database's range predicate selects: every value that starts with
            // the key, well-formed or not (`DataKey::matches` also asks for a well-formed
            // value: it judges writes).
            (Some(k), Some(t)) => match self.mode {
                MatchMode::Prefix => k.starts_with(t.as_str()),
                MatchMode::Exact | MatchMode::Distributed => k == t.as_str(),
            },
            (Some(_), None) => false,
        }
    }

    async fn load_shared(&self, counters: bool) {
        let rows: Vec<&str> = self.schema.seed.iter().map(|r| r.insert.as_str()).collect();
        load(&self.shared.pool, &rows).await;
        if counters {
            self.reset_counters(&self.shared.pool).await;
        }
    }

    async fn load_oracle(&self, counters: bool) {
        let rows: Vec<&str> = self
            .schema
            .seed
            .iter()
            .filter(|r| self.visible(r.key.as_deref()))
            .map(|r| r.insert.as_str())
            .collect();
        load(&self.oracle.pool, &rows).await;
        if counters {
            self.reset_counters(&self.oracle.pool).await;
        }
    }

    async fn reset_counters(&self, pool: &DatabaseConnection) {
        let start = self.schema.counter_start;
        for t in &self.schema.tables {
            let Some((column, _)) = &t.counter else {
                continue;
            };
            let sql = match self.backend {
                Backend::Sqlite => format!(
                    "DELETE FROM sqlite_sequence WHERE name = '{0}'; \
                     INSERT INTO sqlite_sequence (name, seq) VALUES ('{0}', {start})",
                    t.name
                ),
                Backend::Postgres => format!(
                    "SELECT setval(pg_get_serial_sequence('{}', '{column}'), {start})",
                    t.name
                ),
                Backend::MySql => format!("ALTER TABLE {} AUTO_INCREMENT = {}", t.name, start + 1),
            };
            exec(pool, &sql).await;
        }
    }

    /// Puts both databases back to the seed (the oracle: the tenant's part of it), each
    /// in one transaction (one commit to wait for, not one per row).
    async fn restore(&mut self, counters: bool) {
        for (pool, oracle) in [(&self.shared.pool, false), (&self.oracle.pool, true)] {
            let mut sql = vec!["BEGIN".to_owned()];
            sql.extend(
                self.schema
                    .tables
                    .iter()
                    .map(|t| format!("DELETE FROM {}", t.name)),
            );
            sql.extend(
                self.schema
                    .seed
                    .iter()
                    .filter(|r| !oracle || self.visible(r.key.as_deref()))
                    .map(|r| r.insert.clone()),
            );
            sql.push("COMMIT".to_owned());
            exec(pool, &sql.join(";\n")).await;
            if counters {
                self.reset_counters(pool).await;
            }
        }
        self.dirty = false;
    }

    /// Runs `sql` with `params` as the tenant the oracle stands for, on both databases,
    /// and judges it against `expect`.
    pub async fn check(
        &mut self,
        sql: &str,
        params: &[sea_orm::Value],
        via: Via,
        expect: &Expect,
    ) -> Verdict {
        let tenant = self
            .tenant
            .clone()
            .expect("call become_tenant before check");
        let backend = self.db_backend();
        let conn = TenantConnection::with_registry(
            self.shared.pool.clone(),
            tenant.clone(),
            self.registry.clone(),
        )
        .with_mode(self.mode);
        let upper = sql.to_ascii_uppercase();
        let inserts = upper.contains("INSERT") || upper.contains("REPLACE");
        let counters = inserts
            && (self.backend != Backend::MySql
                || upper.contains("RETURNING")
                || upper.contains("LAST_INSERT_ID"));
        if counters {
            self.reset_counters(&self.shared.pool).await;
            self.reset_counters(&self.oracle.pool).await;
        }
        let statement = || Statement::from_sql_and_values(backend, sql, params.to_vec());
        let rewritten = run(&conn, statement(), sql, via).await;
        let after_shared = snapshot(&self.shared.pool, &self.schema).await;
        let mut verdict = Verdict {
            failure: None,
            refused: match &rewritten {
                Outcome::Refused { kind, .. } => Some(kind),
                _ => None,
            },
            discriminates: false,
            oracle_failed: false,
        };
        let mut failures = Vec::new();

        // The invariant: nothing outside the tenant changed.
        if let Some(diff) = self.outside_changes(&after_shared) {
            failures.push(format!("rows outside tenant {tenant} changed:\n{diff}"));
        }

        match expect {
            Expect::Refused(kind) => {
                match &rewritten {
                    Outcome::Refused { kind: k, .. } if k == kind => {}
                    other => failures.push(format!("expected refused {kind}, got {other}")),
                }
                if after_shared != self.seed_snapshot {
                    failures.push("a refused statement changed the database".to_owned());
                }
            }
            Expect::Isolated => {
                if let Outcome::Refused { .. } = &rewritten {
                    failures.push(format!("expected it to run, got {rewritten}"));
                }
            }
            Expect::Same => {
                let original = run(&self.oracle.pool, statement(), sql, via).await;
                let after_oracle = snapshot(&self.oracle.pool, &self.schema).await;
                verdict.oracle_failed = matches!(original, Outcome::DbError(_));
                if !rewritten.agrees_with(&original) {
                    failures.push(format!(
                        "result differs from the oracle's\n    tenant connection: {rewritten}\n    oracle:            {original}"
                    ));
                }
                if let Some(diff) = self.visible_differs(&after_shared, &after_oracle) {
                    failures.push(format!(
                        "the tenant's rows differ from the oracle's afterwards:\n{diff}"
                    ));
                }
                if after_shared != self.seed_snapshot || after_oracle != self.oracle_snapshot {
                    self.dirty = true;
                }
                // Would the case notice a rewriter that did nothing?
                if self.dirty {
                    self.restore(counters).await;
                }
                let raw = run(&self.shared.pool, statement(), sql, via).await;
                let after_raw = snapshot(&self.shared.pool, &self.schema).await;
                verdict.discriminates = !raw.agrees_with(&original)
                    || self.visible_differs(&after_raw, &after_oracle).is_some()
                    || self.outside_changes(&after_raw).is_some();
                if after_raw != self.seed_snapshot {
                    self.dirty = true;
                }
            }
        }
        if after_shared != self.seed_snapshot {
            self.dirty = true;
        }
        if self.dirty || inserts {
            self.restore(false).await;
        }
        if !failures.is_empty() {
            verdict.failure = Some(failures.join("\n  "));
        }
        verdict
    }

    /// Runs a read-only query as the tenant on both databases and compares the rows only
    /// (no snapshots: for corpora of plain `SELECT`s). Also runs it unrewritten on the
    /// shared database, to tell whether the case discriminates.
    pub async fn check_query(&self, sql: &str, discriminate: bool) -> (Outcome, Outcome, bool) {
        let tenant = self
            .tenant
            .clone()
            .expect("call become_tenant before check_query");
        let backend = self.db_backend();
        let conn = TenantConnection::with_registry(
            self.shared.pool.clone(),
            tenant,
            self.registry.clone(),
        )
        .with_mode(self.mode);
        let statement = || Statement::from_string(backend, sql.to_owned());
        let rewritten = run(&conn, statement(), sql, Via::Query).await;
        let original = run(&self.oracle.pool, statement(), sql, Via::Query).await;
        let discriminates = match (&rewritten, &original) {
            (Outcome::Rows(_), Outcome::Rows(_)) if discriminate => {
                let raw = run(&self.shared.pool, statement(), sql, Via::Query).await;
                !raw.agrees_with(&original)
            }
            _ => false,
        };
        (rewritten, original, discriminates)
    }

    /// The differences, outside the tenant, between the seed and `after`.
    fn outside_changes(&self, after: &Snapshot) -> Option<String> {
        let mut diffs = Vec::new();
        for (i, table) in self.schema.tables.iter().enumerate() {
            if table.data_key_at.is_none() {
                continue;
            }
            let outside = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
                rows.iter()
                    .filter(|r| !self.row_visible(i, r))
                    .cloned()
                    .collect()
            };
            let before = outside(&self.seed_snapshot[i]);
            let now = outside(&after[i]);
            if before != now {
                diffs.push(diff_rows(&table.name, &before, &now));
            }
        }
        (!diffs.is_empty()).then(|| diffs.join("\n"))
    }

    /// The differences between the tenant's rows of `shared` and the rows of `oracle`.
    fn visible_differs(&self, shared: &Snapshot, oracle: &Snapshot) -> Option<String> {
        let mut diffs = Vec::new();
        for (i, table) in self.schema.tables.iter().enumerate() {
            let mine: Vec<Vec<String>> = shared[i]
                .iter()
                .filter(|r| self.row_visible(i, r))
                .cloned()
                .collect();
            if mine != oracle[i] {
                diffs.push(diff_rows(&table.name, &oracle[i], &mine));
            }
        }
        (!diffs.is_empty()).then(|| diffs.join("\n"))
    }

    /// Whether the tenant may see `row` of table `i` (rows of universal tables: always).
    fn row_visible(&self, i: usize, row: &[String]) -> bool {
        match self.schema.tables[i].data_key_at {
            None => true,
            // A NULL DataKey belongs to nobody: visible to no tenant.
            Some(c) => match row.get(c).map(String::as_str) {
                None | Some("NULL") => false,
                Some(k) => self.visible(Some(k)),
            },
        }
    }
}

fn diff_rows(table: &str, expected: &[Vec<String>], got: &[Vec<String>]) -> String {
    let missing: Vec<_> = expected.iter().filter(|r| !got.contains(r)).collect();
    let extra: Vec<_> = got.iter().filter(|r| !expected.contains(r)).collect();
    format!("    table {table}: missing {missing:?}, unexpected {extra:?}")
}

/// Runs a statement on a tenant connection or a raw pool.
async fn run<C: ConnectionTrait>(conn: &C, statement: Statement, sql: &str, via: Via) -> Outcome {
    let result = match via {
        Via::Query => conn.query_all_raw(statement).await.map(|rows| {
            let mut rows: Vec<Vec<String>> = rows.iter().map(render_row).collect();
            rows.sort();
            Outcome::Rows(rows)
        }),
        Via::Execute => conn
            .execute_raw(statement)
            .await
            .map(|r| Outcome::Affected(r.rows_affected())),
        Via::Unprepared => conn
            .execute_unprepared(sql)
            .await
            .map(|r| Outcome::Affected(r.rows_affected())),
    };
    result.unwrap_or_else(|e| outcome_of_error(&e))
}

fn outcome_of_error(e: &DbErr) -> Outcome {
    match TenancyError::from_db_err(e) {
        Some(t) => Outcome::Refused {
            kind: kind(t),
            message: t.to_string(),
        },
        None => Outcome::DbError(e.to_string()),
    }
}

async fn exec(pool: &DatabaseConnection, sql: &str) {
    pool.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Runs the inserts, several to a round trip.
async fn load(pool: &DatabaseConnection, inserts: &[&str]) {
    for chunk in inserts.chunks(200) {
        exec(pool, &chunk.join(";\n")).await;
    }
}

async fn snapshot(pool: &DatabaseConnection, schema: &Schema) -> Snapshot {
    let backend = pool.get_database_backend();
    let mut out = Vec::with_capacity(schema.tables.len());
    for t in &schema.tables {
        let sql = format!("SELECT * FROM {} ORDER BY {}", t.name, t.order_by);
        let rows = pool
            .query_all_raw(Statement::from_string(backend, sql.clone()))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut rows: Vec<Vec<String>> = rows.iter().map(render_row).collect();
        if let Some((_, at)) = &t.counter {
            let mut rank = 0;
            for row in &mut rows {
                let new = row[*at]
                    .parse::<i64>()
                    .is_ok_and(|id| id > schema.counter_start);
                if new {
                    rank += 1;
                    row[*at] = format!("new#{rank}");
                }
            }
        }
        out.push(rows);
    }
    out
}

/// The first type the value decodes as (sqlx checks the type; it does not convert).
macro_rules! render {
    ($row:expr, $i:expr, with_decimal = $decimal:tt) => {{
        let (row, i) = ($row, $i);
        if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            text(v)
        } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
            text(v)
        } else if let Ok(v) = row.try_get::<Option<i16>, _>(i) {
            text(v)
        } else if let Ok(v) = row.try_get::<Option<i8>, _>(i) {
            text(v)
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            float(v)
        } else if let Ok(v) = row.try_get::<Option<f32>, _>(i) {
            float(v.map(f64::from))
        } else if let Some(v) = render!(@decimal $decimal, row, i) {
            v
        } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
            text(v)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            text(v)
        } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
            text(v.map(|b| String::from_utf8_lossy(&b).into_owned()))
        } else {
            use sqlx::{TypeInfo, ValueRef};
            let ty = row.try_get_raw(i).map(|v| v.type_info().name().to_owned());
            panic!("cannot render column {i} of type {ty:?}")
        }
    }};
    (@decimal true, $row:expr, $i:expr) => {
        $row.try_get::<Option<Decimal>, _>($i)
            .ok()
            .map(|v| text(v.map(|d| d.normalize())))
    };
    (@decimal false, $row:expr, $i:expr) => {
        None::<String>
    };
}

/// Every value of a row as text: integers and text as they are, floats to 9 significant
/// digits (an aggregate may sum in another order), NULL as `NULL`.
pub fn render_row(row: &QueryResult) -> Vec<String> {
    if let Some(r) = row.try_as_sqlite_row() {
        return (0..r.len())
            .map(|i| render!(r, i, with_decimal = false))
            .collect();
    }
    if let Some(r) = row.try_as_pg_row() {
        return (0..r.len())
            .map(|i| render!(r, i, with_decimal = true))
            .collect();
    }
    if let Some(r) = row.try_as_mysql_row() {
        return (0..r.len())
            .map(|i| render!(r, i, with_decimal = true))
            .collect();
    }
    panic!("a row of an unexpected backend")
}

fn text<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "NULL".to_owned(), |v| v.to_string())
}

fn float(v: Option<f64>) -> String {
    v.map_or_else(
        || "NULL".to_owned(),
        |f| {
            if f == f.trunc() && f.abs() < 1e15 {
                format!("{f:.1}")
            } else {
                format!("{f:.8e}")
            }
        },
    )
}

/// `?` placeholders numbered `$1`, `$2`, … for PostgreSQL (quoted text and comments are
/// left alone).
pub fn placeholders_for(backend: Backend, sql: &str) -> String {
    if backend != Backend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len());
    let mut n = 0;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    out.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    out.push(c);
                    for c in chars.by_ref() {
                        out.push(c);
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '?' => {
                    n += 1;
                    out.push_str(&format!("${n}"));
                }
                _ => out.push(c),
            },
        }
    }
    out
}

/// Tallies of a run, per backend, for the report.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub runs: usize,
    pub passed: usize,
    pub refused: usize,
    pub discriminating: usize,
    pub oracle_failed: usize,
    pub failures: Vec<String>,
    pub by_class: BTreeMap<String, usize>,
}
