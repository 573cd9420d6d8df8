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

use super::dialect::{Backend, PlaceholderStyle};
use super::params::MARKER;
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
    written: Written,
}

/// How the written values are known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Written {
    /// As values: one entry per written row, in the order of the reference's columns.
    Rows(Vec<Vec<RefValue>>),
    /// Computed by the statement (`INSERT … SELECT`, `SET fk = expr`): a check query
    /// that computes them the same way, from the statement's original text, with the
    /// original placeholders in place.
    Query { sql: String, params: CheckParams },
}

/// Which original values a check query binds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CheckParams {
    /// `$n` placeholders keep their numbers: the first values, up to the highest used.
    Numbered,
    /// `?` placeholders: these original values, in this order.
    Positional(Vec<usize>),
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
                written: Written::Rows(rows),
            });
        }
    }

    /// The query computing, row by row, what an `INSERT … SELECT` writes into the columns
    /// at `positions` of its column list: its SELECT, from the original text, projecting
    /// those values only (order and limit dropped: every row it could insert is checked).
    pub(crate) fn inserted_by_select(
        &self,
        table: &str,
        reference: &Reference,
        positions: &[usize],
    ) -> Result<String, TenancyError> {
        use sqlparser::ast::{Ident, SelectItem, SetExpr, Statement as Ast};
        let refused = |why: &str| {
            self.unsupported(format!(
                "INSERT … SELECT into `{table}`.({}), which references tenanted table `{}`: {why}",
                reference.columns().join(", "),
                reference.target()
            ))
        };
        let Some(Ast::Insert(original)) = &self.original_write else {
            return Err(refused("internal: the original statement is missing"));
        };
        let Some(source) = &original.source else {
            return Err(refused("internal: the original statement has no source"));
        };
        let mut query = (**source).clone();
        let SetExpr::Select(select) = &mut *query.body else {
            return Err(refused("insert from one SELECT, not a set operation"));
        };
        let mut projection = Vec::with_capacity(positions.len());
        for (i, p) in positions.iter().enumerate() {
            let expr = match select.projection.get(*p) {
                Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => {
                    e.clone()
                }
                _ => return Err(refused("list one value per column")),
            };
            projection.push(SelectItem::ExprWithAlias {
                expr,
                alias: Ident::new(format!("tenancy_c{i}")),
            });
        }
        select.projection = projection;
        query.order_by = None;
        query.limit_clause = None;
        query.fetch = None;
        query.locks.clear();
        Ok(query.to_string())
    }

    /// The query computing, row by row, what an UPDATE writes with the assignments at
    /// `indexes`: its values over its own FROM and WHERE, from the original text (order
    /// and limit dropped: every row it could update is checked).
    pub(crate) fn updated_values(&self, indexes: &[usize]) -> Result<String, TenancyError> {
        use sqlparser::ast::{Statement as Ast, UpdateTableFromKind};
        let Some(Ast::Update(original)) = &self.original_write else {
            return Err(self.unsupported("internal: the original UPDATE is missing"));
        };
        let mut values = Vec::with_capacity(indexes.len());
        for (i, index) in indexes.iter().enumerate() {
            let a = original
                .assignments
                .get(*index)
                .ok_or_else(|| self.unsupported("internal: an assignment is missing"))?;
            values.push(format!("({}) AS tenancy_c{i}", a.value));
        }
        let mut from = original.table.to_string();
        if let Some(
            UpdateTableFromKind::BeforeSet(tables) | UpdateTableFromKind::AfterSet(tables),
        ) = &original.from
        {
            for t in tables {
                from.push_str(", ");
                from.push_str(&t.to_string());
            }
        }
        let mut sql = format!("SELECT {} FROM {from}", values.join(", "));
        if let Some(selection) = &original.selection {
            sql.push_str(" WHERE ");
            sql.push_str(&selection.to_string());
        }
        Ok(sql)
    }

    /// Records a check of values the statement computes: `values` is a query, taken from
    /// the statement's original text, whose columns `tenancy_c0, tenancy_c1, …` are the
    /// values written into the reference's columns, row by row.
    pub(crate) fn record_reference_query(
        &mut self,
        table: &str,
        reference: Reference,
        values: &str,
    ) -> Result<(), TenancyError> {
        let target = self.backend.ident(reference.target()).to_string();
        let not_null: Vec<String> = (0..reference.columns().len())
            .map(|i| format!("tenancy_q.tenancy_c{i} IS NOT NULL"))
            .collect();
        let same: Vec<String> = reference
            .target_columns()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "{target}.{} = tenancy_q.tenancy_c{i}",
                    self.backend.ident(c)
                )
            })
            .collect();
        let text = format!(
            "SELECT 1 FROM ({values}) AS tenancy_q WHERE {} AND NOT EXISTS (SELECT 1 FROM {target} WHERE {}) LIMIT 1",
            not_null.join(" AND "),
            same.join(" AND ")
        );
        let (sql, params) = match self.backend.placeholder_style() {
            PlaceholderStyle::Numbered => (text, CheckParams::Numbered),
            PlaceholderStyle::Positional => {
                // The original `?` are markers carrying their rank: put `?` back, and
                // bind the values of those ranks in the order they now appear.
                let mut sql = String::with_capacity(text.len());
                let mut order = Vec::new();
                let mut rest = text.as_str();
                while let Some(at) = rest.find(MARKER) {
                    sql.push_str(&rest[..at]);
                    let after = &rest[at + MARKER.len()..];
                    let index = after
                        .strip_prefix('o')
                        .and_then(|t| t.split_once("__"))
                        .and_then(|(n, tail)| n.parse::<usize>().ok().map(|n| (n, tail)));
                    let Some((n, tail)) = index else {
                        return Err(self.unsupported("internal: a marker in a reference check"));
                    };
                    order.push(n);
                    sql.push('?');
                    rest = tail;
                }
                sql.push_str(rest);
                (sql, CheckParams::Positional(order))
            }
        };
        if sql.contains(MARKER) {
            return Err(self.unsupported("internal: a marker in a reference check"));
        }
        self.references.push(RefCheck {
            table: table.to_owned(),
            reference,
            written: Written::Query { sql, params },
        });
        Ok(())
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
        let written_rows = match &self.written {
            Written::Rows(rows) => rows,
            Written::Query { sql, params } => {
                let backend = Backend::from_db(db);
                let template = super::template(backend, mode, sql, key, registry, false)?;
                let bound: Vec<Value> = match params {
                    CheckParams::Numbered => values
                        .get(..template.original_count())
                        .unwrap_or(values)
                        .to_vec(),
                    CheckParams::Positional(order) => order
                        .iter()
                        .filter_map(|i| values.get(*i).cloned())
                        .collect(),
                };
                let bound = (!bound.is_empty()).then_some(sea_orm::Values(bound));
                let (sql, values) = template.bind(bound, key, mode)?;
                return Ok(vec![ReferenceCheck {
                    statement: Statement {
                        sql,
                        values,
                        db_backend: db,
                    },
                    violation: self.violation(key),
                }]);
            }
        };
        // Rows to check: a NULL bound anywhere in the key references nothing; the same
        // values written twice are checked once.
        // Keyed by what the database will compare (`Value` is not `Hash`; its `Debug`
        // names the type and the value), so that a long `insert_many` stays linear.
        let mut rows: Vec<Vec<&RefValue>> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        'rows: for row in written_rows {
            let mut key = String::new();
            for v in row {
                match v {
                    RefValue::Param(i) => match values.get(*i) {
                        Some(bound) if !is_null_value(bound) => {
                            key.push_str(&format!("b{bound:?}\u{0}"));
                        }
                        _ => continue 'rows,
                    },
                    RefValue::Sql(text) => {
                        key.push('s');
                        key.push_str(text);
                        key.push('\u{0}');
                    }
                    RefValue::Unchecked => continue 'rows,
                }
            }
            if seen.insert(key) {
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
                violation: self.violation(key),
            });
        }
        Ok(out)
    }

    fn violation(&self, key: &DataKey) -> TenancyError {
        TenancyError::InvalidTenantAccess {
            table: self.table.clone(),
            tenant: key.to_string(),
            reason: format!(
                "({}) must reference a row of `{}` the tenant can see",
                self.reference.columns().join(", "),
                self.reference.target()
            ),
        }
    }
}

/// Every `Value` variant holds an `Option`; `None` is SQL NULL.
fn is_null_value(v: &Value) -> bool {
    *v == v.as_null()
}
