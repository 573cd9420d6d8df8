//! Foreign keys: a value written into a column that references a tenanted table must
//! point at a row the tenant can see.
//!
//! The registry knows the foreign keys ([`Reference`], from the entities' SeaORM
//! relations). While rewriting an INSERT or UPDATE, the rewriter records where each value
//! written into a referencing column comes from (a bound parameter or a literal); a value
//! computed by an expression cannot be checked and is refused. When the statement is
//! bound, [`RefCheck::statement`] turns the recorded values into a query,
//!
//! ```sql
//! SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM "invoice" WHERE "invoice"."id" = $1)
//!             OR NOT EXISTS (SELECT 1 FROM "invoice" WHERE "invoice"."id" = $2)
//! ```
//!
//! which is itself rewritten for the tenant, so each `invoice` is restricted like any
//! other read. The connection runs it before the write: a row back means a reference to a
//! row the tenant cannot see (another tenant's, or none at all, so that the answer tells
//! nothing about other tenants' rows), and the write fails with
//! [`TenancyError::InvalidTenantAccess`] before anything is written. A NULL in any column
//! of the key references nothing and is not checked (SQL's `MATCH SIMPLE`), nor is a
//! column's `DEFAULT`, which the schema's owner chose.

use sea_orm::{Statement, Value};
use sqlparser::ast::{Expr, UnaryOperator};

use super::dialect::Backend;
use super::scope::Rewriter;
use crate::registry::{Reference, Resolved};
use crate::{DataKey, MatchMode, Registry, TenancyError};
use sea_orm::DbBackend;

/// How many rows one check query covers at most. Shorter lists are padded to a power of
/// two by repeating their last row, so that few distinct check texts reach the cache.
const ROWS_PER_CHECK: usize = 64;

/// Where one written value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefValue {
    /// The original bound value with this index.
    Param(usize),
    /// A literal, as SQL text.
    Sql(String),
    /// NULL or DEFAULT: nothing to check.
    Unchecked,
}

/// The values a statement writes into the columns of one foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefCheck {
    /// The referencing table, as the statement names it.
    table: String,
    reference: Reference,
    /// One entry per written row, in the order of the reference's columns.
    rows: Vec<Vec<RefValue>>,
}

/// A query to run before a write, and the error to raise if it returns a row.
///
/// Made by [`rewrite_checked`](crate::rewrite::rewrite_checked) for every foreign key the
/// statement writes into a tenanted table's rows. A [`TenantConnection`](crate::TenantConnection)
/// runs them itself.
///
/// ```
/// use sea_orm::{DbBackend, Statement};
/// use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::rewrite_checked};
///
/// let registry = Registry::builder()
///     .tenanted("invoice", "data_key")
///     .tenanted("line", "data_key")
///     .reference("line", &["invoice_id"], "invoice", &["id"])
///     .build();
/// let stmt = Statement::from_sql_and_values(
///     DbBackend::Sqlite,
///     "INSERT INTO line (invoice_id) VALUES (?)",
///     [7.into()],
/// );
/// let out = rewrite_checked(stmt, &DataKey::new("1.")?, MatchMode::Exact, &registry)?;
/// let [check] = out.reference_checks.as_slice() else { panic!() };
/// assert_eq!(
///     check.statement.sql,
///     r#"SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM "invoice" WHERE "invoice"."id" = ? AND "invoice"."data_key" COLLATE BINARY = ?)"#
/// );
/// assert!(check.violation.is_invalid_tenant_access());
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceCheck {
    /// Returns a row when the write references a row the tenant cannot see.
    pub statement: Statement,
    /// The error for that case.
    pub violation: TenancyError,
}

impl Rewriter<'_> {
    /// The foreign keys of `table` whose target is tenanted.
    pub(crate) fn tenanted_references(&self, table: &str) -> Vec<Reference> {
        self.registry
            .references_from(table)
            .iter()
            .filter(|r| {
                matches!(
                    self.registry.resolve(None, r.target()),
                    Resolved::Tenanted(_)
                )
            })
            .cloned()
            .collect()
    }

    /// Where a value written into `column` (which references `reference`'s target) comes
    /// from; refused when it cannot be checked.
    pub(crate) fn ref_value(
        &self,
        reference: &Reference,
        column: &str,
        value: &Expr,
    ) -> Result<RefValue, TenancyError> {
        use sqlparser::ast::Value as V;
        let refused = || {
            self.unsupported(format!(
                "`{}`.`{column}` references tenanted table `{}`: write it as a value or a bound parameter, not `{value}`",
                reference.table(),
                reference.target()
            ))
        };
        match value {
            Expr::Nested(inner) => self.ref_value(reference, column, inner),
            Expr::Value(v) => match &v.value {
                V::Placeholder(p) => super::original_index(self.backend, p)
                    .map(RefValue::Param)
                    .ok_or_else(|| self.unsupported(format!("placeholder `{p}` is not supported"))),
                V::Null => Ok(RefValue::Unchecked),
                V::Number(..) | V::SingleQuotedString(_) => Ok(RefValue::Sql(value.to_string())),
                _ => Err(refused()),
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } if matches!(&**expr, Expr::Value(v) if matches!(v.value, V::Number(..))) => {
                Ok(RefValue::Sql(value.to_string()))
            }
            Expr::Identifier(i)
                if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default") =>
            {
                Ok(RefValue::Unchecked)
            }
            _ => Err(refused()),
        }
    }

    /// A write of some columns of a composite foreign key but not all: the others keep
    /// values that cannot be checked here.
    pub(crate) fn partial_reference(&self, table: &str, reference: &Reference) -> TenancyError {
        self.unsupported(format!(
            "`{table}` writes part of ({}), which references tenanted table `{}`: write all of its columns, as values",
            reference.columns().join(", "),
            reference.target()
        ))
    }

    /// Records the rows a statement writes into the columns of `reference`.
    pub(crate) fn record_reference(
        &mut self,
        table: &str,
        reference: Reference,
        rows: Vec<Vec<RefValue>>,
    ) {
        let rows: Vec<Vec<RefValue>> = rows
            .into_iter()
            .filter(|r| !r.contains(&RefValue::Unchecked))
            .collect();
        if !rows.is_empty() {
            self.references.push(RefCheck {
                table: table.to_owned(),
                reference,
                rows,
            });
        }
    }
}

impl RefCheck {
    /// The check queries for these values, rewritten for `key`.
    pub(crate) fn statements(
        &self,
        db: DbBackend,
        values: &[Value],
        key: &DataKey,
        mode: MatchMode,
        registry: &Registry,
    ) -> Result<Vec<ReferenceCheck>, TenancyError> {
        // Rows to check: a NULL bound anywhere in the key references nothing; the same
        // values written twice are checked once.
        let mut rows: Vec<Vec<&RefValue>> = Vec::new();
        let mut seen: Vec<Vec<Effective<'_>>> = Vec::new();
        'rows: for row in &self.rows {
            let mut effective = Vec::with_capacity(row.len());
            for v in row {
                effective.push(match v {
                    RefValue::Param(i) => match values.get(*i) {
                        Some(bound) if !is_null_value(bound) => Effective::Bound(bound),
                        _ => continue 'rows,
                    },
                    RefValue::Sql(text) => Effective::Sql(text),
                    RefValue::Unchecked => continue 'rows,
                });
            }
            if !seen.contains(&effective) {
                seen.push(effective);
                rows.push(row.iter().collect());
            }
        }
        let backend = Backend::from_db(db);
        let mut out = Vec::new();
        for chunk in rows.chunks(ROWS_PER_CHECK) {
            let padded = chunk.len().next_power_of_two();
            let mut sql = String::from("SELECT 1 WHERE ");
            let mut params = Vec::new();
            let target = backend.ident(self.reference.target()).to_string();
            for i in 0..padded {
                let row = chunk.get(i).or(chunk.last()).map_or(&[][..], Vec::as_slice);
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str("NOT EXISTS (SELECT 1 FROM ");
                sql.push_str(&target);
                sql.push_str(" WHERE ");
                for (j, (value, column)) in
                    row.iter().zip(self.reference.target_columns()).enumerate()
                {
                    if j > 0 {
                        sql.push_str(" AND ");
                    }
                    sql.push_str(&target);
                    sql.push('.');
                    sql.push_str(&backend.ident(column).to_string());
                    sql.push_str(" = ");
                    match value {
                        RefValue::Param(p) => {
                            let v = values.get(*p).cloned().ok_or_else(|| {
                                TenancyError::UnsupportedStatement {
                                    tenant: key.to_string(),
                                    reason: "a referenced value is not bound".to_owned(),
                                }
                            })?;
                            params.push(v);
                            sql.push_str(&backend.placeholder(params.len()));
                        }
                        RefValue::Sql(text) => sql.push_str(text),
                        RefValue::Unchecked => sql.push_str("NULL"),
                    }
                }
                sql.push(')');
            }
            let statement = if params.is_empty() {
                Statement::from_string(db, sql)
            } else {
                Statement::from_sql_and_values(db, sql, params)
            };
            let statement = super::rewrite_plain(statement, key, mode, registry)?;
            out.push(ReferenceCheck {
                statement,
                violation: TenancyError::InvalidTenantAccess {
                    table: self.table.clone(),
                    tenant: key.to_string(),
                    reason: format!(
                        "({}) must reference a row of `{}` the tenant can see",
                        self.reference.columns().join(", "),
                        self.reference.target()
                    ),
                },
            });
        }
        Ok(out)
    }
}

/// A written value as the database will see it.
#[derive(PartialEq)]
enum Effective<'a> {
    Bound(&'a Value),
    Sql(&'a str),
}

/// Every `Value` variant holds an `Option`; `None` is SQL NULL.
fn is_null_value(v: &Value) -> bool {
    *v == v.as_null()
}
