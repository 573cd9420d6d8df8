//! The check of an admin statement: no predicate is added (an admin sees every tenant),
//! but the statement must still parse, be one SELECT, INSERT, UPDATE or DELETE, and name
//! only classified tables; an insert into a tenanted table must name its DataKey column;
//! and every DataKey written as a literal or a bound value must be well-formed.
//!
//! The statement runs as written: nothing is added to it, and the parse has already
//! refused what could hide a second statement (several statements, MariaDB's executable
//! comments). The check is against mistakes in trusted code (an unclassified table, an
//! insert that forgot its DataKey), not a sandbox for SQL from outside.

use std::ops::ControlFlow;

use sea_orm::{DbBackend, Statement};
use sqlparser::ast::{
    AssignmentTarget, Expr, Ident, ObjectName, Query, SetExpr, Statement as Ast, TableObject,
    Value, VisitMut, VisitorMut,
};

use super::dialect::Backend;
use super::scope::CteScopes;
use crate::registry::{Registry, Resolved};
use crate::{DataKey, TenancyError};

/// What admin errors name as the tenant.
pub(crate) const ADMIN: &str = "(admin)";

fn unsupported(reason: impl Into<String>) -> TenancyError {
    TenancyError::UnsupportedStatement {
        tenant: ADMIN.to_owned(),
        reason: reason.into(),
    }
}

/// Checks a statement for an admin connection and returns it unchanged.
///
/// ```
/// use sea_orm::{DbBackend, Statement};
/// use sea_orm_tenancy::{Registry, TenancyError, rewrite::check_admin};
///
/// let registry = Registry::builder().tenanted("invoice", "data_key").build();
/// let ok = Statement::from_string(DbBackend::Sqlite, "SELECT * FROM invoice");
/// assert_eq!(check_admin(ok.clone(), &registry)?, ok);
///
/// let unnamed = Statement::from_string(DbBackend::Sqlite, "INSERT INTO invoice (id) VALUES (1)");
/// assert!(matches!(check_admin(unnamed, &registry), Err(TenancyError::UnsupportedStatement { .. })));
///
/// let unknown = Statement::from_string(DbBackend::Sqlite, "SELECT * FROM secrets");
/// assert!(matches!(check_admin(unknown, &registry), Err(TenancyError::UnknownTable { .. })));
/// # Ok::<(), TenancyError>(())
/// ```
pub fn check_admin(statement: Statement, registry: &Registry) -> Result<Statement, TenancyError> {
    let values = statement
        .values
        .as_ref()
        .map_or(&[][..], |v| v.0.as_slice());
    check(
        statement.db_backend,
        &statement.sql,
        values,
        registry,
        false,
    )?;
    Ok(statement)
}

/// [`check_admin`] for SQL sent without parameters (`execute_unprepared`), which may
/// hold several statements; each is checked.
///
/// ```
/// use sea_orm::DbBackend;
/// use sea_orm_tenancy::{Registry, rewrite::check_admin_unprepared};
///
/// let registry = Registry::builder().tenanted("invoice", "data_key").build();
/// let sql = "UPDATE invoice SET data_key = '2.' WHERE data_key = '1.'";
/// check_admin_unprepared(sql, DbBackend::Postgres, &registry)?;
/// let bad = "UPDATE invoice SET data_key = 'no dots'";
/// assert!(check_admin_unprepared(bad, DbBackend::Postgres, &registry).is_err());
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
pub fn check_admin_unprepared(
    sql: &str,
    backend: DbBackend,
    registry: &Registry,
) -> Result<(), TenancyError> {
    check(backend, sql, &[], registry, true)
}

fn check(
    db: DbBackend,
    sql: &str,
    values: &[sea_orm::Value],
    registry: &Registry,
    unprepared: bool,
) -> Result<(), TenancyError> {
    let backend = Backend::from_db(db);
    let (mut statements, _) = super::parse_statements(backend, sql).map_err(|e| match e {
        super::ParseFailure::Refused(why) => unsupported(why),
        super::ParseFailure::Parser(e) => unsupported(format!("the SQL does not parse ({e})")),
    })?;
    match (statements.len(), unprepared) {
        (0, _) => return Err(unsupported("no statement")),
        (1, _) | (_, true) => {}
        (n, false) => {
            return Err(unsupported(format!(
                "{n} statements in one prepared statement; send one at a time"
            )));
        }
    }
    super::mark_originals(backend, &mut statements).map_err(unsupported)?;
    let mut checker = Checker {
        backend,
        registry,
        values,
        ctes: CteScopes::default(),
    };
    for s in &mut statements {
        if let ControlFlow::Break(e) = s.visit(&mut checker) {
            return Err(e);
        }
    }
    Ok(())
}

struct Checker<'a> {
    backend: Backend,
    registry: &'a Registry,
    values: &'a [sea_orm::Value],
    ctes: CteScopes,
}

impl Checker<'_> {
    fn resolve(&self, name: &ObjectName) -> Result<Resolved, TenancyError> {
        let parts: Option<Vec<&Ident>> = name.0.iter().map(|p| p.as_ident()).collect();
        let parts =
            parts.ok_or_else(|| unsupported(format!("table name `{name}` is not a plain name")))?;
        let (schema, table) = match parts.as_slice() {
            [table] => (None, table.value.as_str()),
            [.., schema, table] => (Some(schema.value.as_str()), table.value.as_str()),
            [] => return Err(unsupported("empty table name")),
        };
        match self.registry.resolve(schema, table) {
            Resolved::Unknown => Err(TenancyError::UnknownTable {
                table: name.to_string(),
                tenant: ADMIN.to_owned(),
            }),
            Resolved::Conflict(why) => Err(unsupported(why)),
            r => Ok(r),
        }
    }

    /// The DataKey column of the tenanted table `name`, if it is one.
    fn key_column(&self, name: &ObjectName) -> Result<Option<&'static str>, TenancyError> {
        Ok(match self.resolve(name)? {
            Resolved::Tenanted(column) => Some(column),
            _ => None,
        })
    }

    /// A DataKey written as a literal or a bound value must be well-formed; a computed
    /// one (a re-key's `CONCAT(…)`) is the caller's responsibility.
    fn check_written(&self, table: &ObjectName, value: &Expr) -> Result<(), TenancyError> {
        let text = match value {
            Expr::Nested(inner) => return self.check_written(table, inner),
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) => Some(s.clone()),
                Value::Null => {
                    return Err(TenancyError::InvalidTenantAccess {
                        table: table.to_string(),
                        tenant: ADMIN.to_owned(),
                        reason: "the data key cannot be set to null".to_owned(),
                    });
                }
                Value::Placeholder(p) => {
                    match super::original_index(self.backend, p).and_then(|i| self.values.get(i)) {
                        Some(sea_orm::Value::String(Some(s))) => Some(s.clone()),
                        Some(sea_orm::Value::String(None)) => {
                            return Err(TenancyError::InvalidTenantAccess {
                                table: table.to_string(),
                                tenant: ADMIN.to_owned(),
                                reason: "the data key cannot be set to null".to_owned(),
                            });
                        }
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(text) = text {
            DataKey::new(&text).map_err(|e| match e {
                TenancyError::InvalidDataKey { key, reason } => TenancyError::InvalidDataKey {
                    key,
                    reason: format!("{reason} (written into `{table}` by an admin)"),
                },
                other => other,
            })?;
        }
        Ok(())
    }

    fn check_insert(&self, insert: &sqlparser::ast::Insert) -> Result<(), TenancyError> {
        let TableObject::TableName(name) = &insert.table else {
            return Err(unsupported("INSERT INTO a table function is not supported"));
        };
        let Some(column) = self.key_column(name)? else {
            return Ok(());
        };
        let same = |c: &ObjectName| {
            c.0.last()
                .and_then(|p| p.as_ident())
                .is_some_and(|i| i.value.eq_ignore_ascii_case(column))
        };
        let must_name = || {
            unsupported(format!(
                "an admin insert into tenanted table `{name}` must name its data key column `{column}`"
            ))
        };
        if !insert.assignments.is_empty() {
            // MySQL `INSERT … SET col = value`.
            let Some(a) = insert
                .assignments
                .iter()
                .find(|a| matches!(&a.target, AssignmentTarget::ColumnName(c) if same(c)))
            else {
                return Err(must_name());
            };
            return self.check_written(name, &a.value);
        }
        let Some(position) = insert.columns.iter().position(same) else {
            return Err(must_name());
        };
        if let Some(source) = &insert.source
            && let SetExpr::Values(values) = &*source.body
        {
            for row in &values.rows {
                if let Some(value) = row.get(position) {
                    self.check_written(name, value)?;
                }
            }
        }
        Ok(())
    }

    fn check_assignments<'x>(
        &self,
        tables: &[ObjectName],
        assignments: impl Iterator<Item = &'x sqlparser::ast::Assignment>,
    ) -> Result<(), TenancyError> {
        let mut keyed = Vec::new();
        for t in tables {
            if let Some(column) = self.key_column(t)? {
                keyed.push((t, column));
            }
        }
        for a in assignments {
            let columns: Vec<&ObjectName> = match &a.target {
                AssignmentTarget::ColumnName(c) => vec![c],
                AssignmentTarget::Tuple(cs) => cs.iter().collect(),
            };
            for c in columns {
                let Some(last) = c.0.last().and_then(|p| p.as_ident()) else {
                    continue;
                };
                if let Some((table, _)) = keyed
                    .iter()
                    .find(|(_, k)| last.value.eq_ignore_ascii_case(k))
                {
                    if matches!(a.target, AssignmentTarget::Tuple(_)) {
                        return Err(unsupported(format!(
                            "the data key of `{table}` cannot be set in a tuple assignment"
                        )));
                    }
                    self.check_written(table, &a.value)?;
                }
            }
        }
        Ok(())
    }
}

/// The tables an UPDATE's target and FROM name directly.
fn update_tables(update: &sqlparser::ast::Update) -> Vec<ObjectName> {
    use sqlparser::ast::{TableFactor, TableWithJoins, UpdateTableFromKind};
    let mut out = Vec::new();
    let mut add = |t: &TableWithJoins| {
        for factor in std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)) {
            if let TableFactor::Table { name, .. } = factor {
                out.push(name.clone());
            }
        }
    };
    add(&update.table);
    if let Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) =
        &update.from
    {
        from.iter().for_each(&mut add);
    }
    out
}

impl VisitorMut for Checker<'_> {
    type Break = TenancyError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Self::Break> {
        self.ctes.enter(query);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<Self::Break> {
        self.ctes.leave();
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<Self::Break> {
        if let [part] = relation.0.as_slice()
            && let Some(ident) = part.as_ident()
            && self.ctes.is_cte(self.backend, ident)
        {
            return ControlFlow::Continue(());
        }
        match self.resolve(relation) {
            Ok(_) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_statement(&mut self, statement: &mut Ast) -> ControlFlow<Self::Break> {
        use sqlparser::ast::{FromTable, OnConflictAction, OnInsert};
        let result = match statement {
            Ast::Query(_) => Ok(()),
            Ast::Insert(insert) => self.check_insert(insert).and_then(|()| {
                let TableObject::TableName(name) = &insert.table else {
                    return Ok(());
                };
                match &insert.on {
                    Some(OnInsert::OnConflict(c)) => match &c.action {
                        OnConflictAction::DoUpdate(u) => {
                            self.check_assignments(std::slice::from_ref(name), u.assignments.iter())
                        }
                        _ => Ok(()),
                    },
                    Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                        self.check_assignments(std::slice::from_ref(name), assignments.iter())
                    }
                    _ => Ok(()),
                }
            }),
            Ast::Update(update) => {
                let tables = update_tables(update);
                tables
                    .iter()
                    .try_for_each(|t| self.resolve(t).map(drop))
                    .and_then(|()| self.check_assignments(&tables, update.assignments.iter()))
            }
            Ast::Delete(delete) => match &delete.from {
                FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => from
                    .iter()
                    .filter_map(|t| match &t.relation {
                        sqlparser::ast::TableFactor::Table { name, .. } => Some(name),
                        _ => None,
                    })
                    .try_for_each(|name| self.resolve(name).map(drop)),
            },
            other => Err(unsupported(format!(
                "`{}` statements are refused on an admin connection; run schema changes on the plain connection",
                super::statement_kind(other)
            ))),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::builder()
            .tenanted("invoice", "data_key")
            .universal("plan")
            .build()
    }

    fn check_sql(db: DbBackend, sql: &str) -> Result<(), TenancyError> {
        check_admin(Statement::from_string(db, sql), &registry()).map(drop)
    }

    #[test]
    fn a_table_hidden_behind_a_cte_of_another_scope_is_still_checked() {
        let sql = "SELECT * FROM (WITH secrets AS (SELECT 1) SELECT * FROM secrets) s, secrets";
        assert!(matches!(
            check_sql(DbBackend::Postgres, sql),
            Err(TenancyError::UnknownTable { .. })
        ));
        let inside = "WITH secrets AS (SELECT 1) SELECT * FROM secrets";
        assert!(check_sql(DbBackend::Postgres, inside).is_ok());
    }

    #[test]
    fn the_target_of_a_write_is_checked_even_when_a_cte_shares_its_name() {
        let sql = "WITH secrets AS (SELECT 1 AS id) DELETE FROM secrets WHERE id IN (SELECT id FROM secrets)";
        assert!(matches!(
            check_sql(DbBackend::Postgres, sql),
            Err(TenancyError::UnknownTable { .. })
        ));
    }

    #[test]
    fn a_bound_data_key_is_validated() {
        let stmt = Statement::from_sql_and_values(
            DbBackend::MySql,
            "INSERT INTO invoice (id, data_key) VALUES (?, ?), (?, ?)",
            [1.into(), "1.".into(), 2.into(), "1".into()],
        );
        assert!(matches!(
            check_admin(stmt, &registry()),
            Err(TenancyError::InvalidDataKey { key, .. }) if key == "1"
        ));
        let null = Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"UPDATE "invoice" SET "data_key" = $1"#,
            [sea_orm::Value::String(None)],
        );
        assert!(check_admin(null, &registry()).is_err());
    }

    #[test]
    fn a_computed_data_key_is_left_to_the_caller() {
        let sql = "UPDATE invoice SET data_key = CONCAT('2.', SUBSTR(data_key, 3)) WHERE data_key >= '1.'";
        assert!(check_sql(DbBackend::MySql, sql).is_ok());
    }

    #[test]
    fn an_insert_into_a_universal_table_need_not_name_a_data_key() {
        assert!(check_sql(DbBackend::Sqlite, "INSERT INTO plan (id) VALUES (1)").is_ok());
        assert!(check_sql(DbBackend::MySql, "INSERT INTO invoice SET id = 1").is_err());
        assert!(
            check_sql(
                DbBackend::MySql,
                "INSERT INTO invoice SET id = 1, data_key = '1.'"
            )
            .is_ok()
        );
    }

    #[test]
    fn schema_changes_and_several_statements_are_refused() {
        assert!(check_sql(DbBackend::Sqlite, "DROP TABLE invoice").is_err());
        assert!(check_sql(DbBackend::Sqlite, "SELECT 1; SELECT 2").is_err());
        assert!(check_sql(DbBackend::MySql, "SELECT 1 /*M! , (SELECT 1) */").is_err());
        // MySQL's `/*! … */` is read as SQL by the parser too, so its tables are checked.
        assert!(matches!(
            check_sql(
                DbBackend::MySql,
                "SELECT 1 /*!50000 , (SELECT 1 FROM secrets) */"
            ),
            Err(TenancyError::UnknownTable { .. })
        ));
    }
}
