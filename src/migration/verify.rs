//! The schema verifier: at start-up, checks that the database holds up its side of
//! tenancy, and says what does not.

use std::fmt;

use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::sql;
use crate::{Registry, TenancyError};

/// What [`verify`] found wrong with one table (or with the connected role).
///
/// ```
/// use sea_orm_tenancy::migration::Problem;
/// let p = Problem { table: "invoice".into(), problem: "no index starts with `data_key`".into() };
/// assert_eq!(p.to_string(), "invoice: no index starts with `data_key`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The table (or `(role)`, `(view)`).
    pub table: String,
    /// What is wrong, lower-case.
    pub problem: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.table, self.problem)
    }
}

/// What [`verify`] checked, and what it found wrong.
///
/// ```
/// use sea_orm_tenancy::migration::SchemaReport;
/// let r = SchemaReport { checked: vec!["invoice".into()], problems: vec![] };
/// assert!(r.is_ok());
/// assert_eq!(r.to_string(), "schema verified: 1 table(s), no problem");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaReport {
    /// The tables checked.
    pub checked: Vec<String>,
    /// The problems, one per line of the report.
    pub problems: Vec<Problem>,
}

impl SchemaReport {
    /// Whether nothing was found wrong.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::SchemaReport;
    /// assert!(SchemaReport::default().is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, table: &str, problem: impl Into<String>) {
        self.problems.push(Problem {
            table: table.to_owned(),
            problem: problem.into(),
        });
    }
}

impl fmt::Display for SchemaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() {
            return write!(
                f,
                "schema verified: {} table(s), no problem",
                self.checked.len()
            );
        }
        write!(
            f,
            "schema not safe for tenancy: {} problem(s) in {} table(s)",
            self.problems.len(),
            self.checked.len()
        )?;
        for p in &self.problems {
            write!(f, "\n- {p}")?;
        }
        Ok(())
    }
}

/// What [`verify`] expects beyond the columns, indexes and keys.
///
/// ```
/// use sea_orm_tenancy::migration::VerifyOptions;
/// assert!(!VerifyOptions::default().row_level_security);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// PostgreSQL: every tenanted table has row-level security enabled and forced with
    /// our policy; the connected role is not a superuser, not `BYPASSRLS` and does not
    /// own a tenanted table; every view over a tenanted table is `security_invoker`.
    pub row_level_security: bool,
}

impl VerifyOptions {
    /// The options with [`row_level_security`](Self::row_level_security) set.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::VerifyOptions;
    /// assert!(VerifyOptions::with_row_level_security().row_level_security);
    /// ```
    pub fn with_row_level_security() -> Self {
        VerifyOptions {
            row_level_security: true,
        }
    }
}

/// The tables the crate creates itself (`lifecycle`): their keys cross tenants by design
/// (a tenant's parent is another tenant), so the composite-key rule does not apply.
const LIFECYCLE_TABLES: [&str; 2] = ["tenant", "tenant_member"];

fn text(row: &QueryResult, column: &str) -> Option<String> {
    row.try_get::<Option<String>>("", column).ok().flatten()
}

/// A flag that PostgreSQL returns as a boolean and the others as a number.
fn flag(row: &QueryResult, column: &str) -> bool {
    row.try_get::<bool>("", column)
        .or_else(|_| row.try_get::<i64>("", column).map(|n| n != 0))
        .or_else(|_| row.try_get::<i32>("", column).map(|n| n != 0))
        .unwrap_or(false)
}

/// Checks the schema against `registry` on `db`, the connection the application will use:
///
/// - every tenanted table has its DataKey column, in a bytewise collation (`C`,
///   `utf8mb4_bin`), and an index whose first column it is;
/// - every unique index but the primary key includes the DataKey column, and every
///   foreign key to another tenanted table includes it (composite keys; the crate's own
///   `tenant` and `tenant_member` are exempt);
/// - every universal table has no column named like a DataKey column;
/// - with [`VerifyOptions::row_level_security`] (PostgreSQL): row-level security enabled
///   and forced with our policy on every tenanted table, a connected role that is not a
///   superuser, not `BYPASSRLS` and owns no tenanted table, and views over tenanted tables
///   that are `security_invoker`.
///
/// Returns the report when all holds, and [`TenancyError::UnsafeSchema`] with the same
/// report otherwise.
///
/// ```
/// use sea_orm::ConnectionTrait;
/// use sea_orm_tenancy::{Registry, TenancyError, migration::{VerifyOptions, verify}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// pool.execute_unprepared("CREATE TABLE invoice (id integer PRIMARY KEY, data_key text NOT NULL)").await?;
/// let registry = Registry::builder().tenanted("invoice", "data_key").build();
///
/// let err = verify(&pool, &registry, VerifyOptions::default()).await.unwrap_err();
/// let Some(TenancyError::UnsafeSchema { report }) = TenancyError::from_db_err(&err) else { panic!() };
/// assert!(report.contains("invoice: no index starts with `data_key`"));
///
/// pool.execute_unprepared("CREATE INDEX invoice_key ON invoice (data_key, id)").await?;
/// assert!(verify(&pool, &registry, VerifyOptions::default()).await?.is_ok());
/// # Ok(())
/// # }
/// ```
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    registry: &Registry,
    options: VerifyOptions,
) -> Result<SchemaReport, DbErr> {
    let backend = db.get_database_backend();
    let mut report = SchemaReport::default();
    let tenanted = registry.tenanted_tables();
    let key_columns: Vec<&str> = tenanted.iter().map(|(_, _, c)| *c).collect();
    let is_tenanted = |name: &str| {
        tenanted
            .iter()
            .any(|(_, t, _)| t.eq_ignore_ascii_case(name))
    };
    let rls = options.row_level_security && sql::has_rls(backend);
    for (_, table, column) in &tenanted {
        report.checked.push((*table).to_owned());
        let columns = db.query_all_raw(sql::columns_query(backend, table)).await?;
        if columns.is_empty() {
            report.problem(table, "the table does not exist");
            continue;
        }
        let found = columns
            .iter()
            .find(|r| text(r, "name").is_some_and(|n| n.eq_ignore_ascii_case(column)));
        let Some(found) = found else {
            report.problem(table, format!("no data key column `{column}`"));
            continue;
        };
        let collation = text(found, "collation");
        if !sql::collation_is_bytewise(backend, collation.as_deref()) {
            report.problem(
                table,
                format!(
                    "`{column}` is in the collation {}, which does not compare bytewise: prefix matching cannot use an index",
                    collation.as_deref().unwrap_or("(default)")
                ),
            );
        }
        let index_rows = db.query_all_raw(sql::indexes_query(backend, table)).await?;
        let leads = index_rows.iter().any(|r| {
            r.try_get::<i64>("", "position")
                .or_else(|_| r.try_get::<i32>("", "position").map(i64::from))
                .is_ok_and(|p| p == 0)
                && text(r, "column_name").is_some_and(|c| c.eq_ignore_ascii_case(column))
        });
        if !leads {
            report.problem(table, format!("no index starts with `{column}`"));
        }
        if LIFECYCLE_TABLES.contains(&table.to_ascii_lowercase().as_str()) {
            continue;
        }
        let mut unique: Vec<(String, bool)> = Vec::new();
        for r in &index_rows {
            if !flag(r, "is_unique") || flag(r, "is_primary") {
                continue;
            }
            let Some(name) = text(r, "index_name") else {
                continue;
            };
            let has_key = text(r, "column_name").is_some_and(|c| c.eq_ignore_ascii_case(column));
            match unique.iter_mut().find(|(n, _)| *n == name) {
                Some((_, k)) => *k |= has_key,
                None => unique.push((name, has_key)),
            }
        }
        for (name, has_key) in unique {
            if !has_key {
                report.problem(
                    table,
                    format!("unique index `{name}` does not include `{column}`: a duplicate tells one tenant of another's value"),
                );
            }
        }
        let fk_rows = db
            .query_all_raw(sql::foreign_keys_query(backend, table))
            .await?;
        let mut fks: Vec<(String, String, bool)> = Vec::new();
        for r in &fk_rows {
            let (Some(name), Some(target)) = (text(r, "name"), text(r, "target")) else {
                continue;
            };
            let has_key = text(r, "column_name").is_some_and(|c| c.eq_ignore_ascii_case(column));
            match fks.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, _, k)) => *k |= has_key,
                None => fks.push((name, target, has_key)),
            }
        }
        for (name, target, has_key) in fks {
            if is_tenanted(&target) && !has_key {
                report.problem(
                    table,
                    format!("foreign key `{name}` to tenanted table `{target}` does not include `{column}`: it can reference another tenant's row"),
                );
            }
        }
        if rls {
            match db.query_one_raw(sql::rls_query(table)).await? {
                Some(r) => {
                    if !flag(&r, "enabled") {
                        report.problem(table, "row-level security is not enabled");
                    }
                    if !flag(&r, "forced") {
                        report.problem(table, "row-level security is not forced");
                    }
                    if !flag(&r, "policy") {
                        report.problem(table, format!("no policy `{}`", sql::POLICY));
                    }
                    if flag(&r, "owned") {
                        report.problem(
                            table,
                            "the connected role owns the table: connect the application as a role that does not",
                        );
                    }
                }
                None => report.problem(table, "not found in pg_class"),
            }
            for v in db.query_all_raw(sql::views_query(table)).await? {
                if !flag(&v, "invoker") {
                    report.problem(
                        table,
                        format!(
                            "view `{}` is not security_invoker: it reads the table with its owner's rights, around the policy",
                            text(&v, "name").unwrap_or_default()
                        ),
                    );
                }
            }
        }
    }
    for table in registry.universal_tables() {
        let columns = db.query_all_raw(sql::columns_query(backend, table)).await?;
        for c in columns.iter().filter_map(|r| text(r, "name")) {
            if key_columns.iter().any(|k| k.eq_ignore_ascii_case(&c)) {
                report.problem(
                    table,
                    format!("universal table has a data key column `{c}`: is it tenanted?"),
                );
            }
        }
    }
    if rls && let Some(r) = db.query_one_raw(sql::role_query()).await? {
        let role = text(&r, "name").unwrap_or_default();
        if flag(&r, "superuser") {
            report.problem(
                "(role)",
                format!("`{role}` is a superuser: row-level security does not apply to it"),
            );
        }
        if flag(&r, "bypass") {
            report.problem(
                "(role)",
                format!("`{role}` has BYPASSRLS: row-level security does not apply to it"),
            );
        }
    }
    if report.is_ok() {
        Ok(report)
    } else {
        Err(TenancyError::UnsafeSchema {
            report: report.to_string(),
        }
        .into())
    }
}
