//! INSERT: fill the DataKey when the statement leaves it out, check it when the statement
//! supplies it, and keep upserts from touching another tenant's row.
//!
//! - `ON CONFLICT … DO UPDATE` gets the tenant predicate on the existing row in its WHERE,
//!   so a conflict with another tenant's row updates nothing.
//! - `ON DUPLICATE KEY UPDATE` has no WHERE: each assignment becomes
//!   `col = IF(<existing row is the tenant's>, <new value>, col)`.
//! - `REPLACE` and `INSERT OR REPLACE` delete the conflicting row, whoever owns it: they
//!   are refused on tenanted tables.

use sqlparser::ast::{
    Assignment, AssignmentTarget, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    Insert, ObjectName, OnConflictAction, OnInsert, SelectItem, SetExpr, SqliteOnConflict,
    TableObject,
};

use super::params::TenantSlot;
use super::reference::RefValue;
use super::scope::{Rewriter, and_all};
use crate::TenancyError;
use crate::registry::Reference;
use crate::registry::Resolved;

fn last_ident(name: &ObjectName) -> Option<&Ident> {
    name.0.last().and_then(|p| p.as_ident())
}

fn is_default_keyword(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

impl Rewriter<'_> {
    pub(crate) fn restrict_insert(&mut self, insert: &mut Insert) -> Result<(), TenancyError> {
        let TableObject::TableName(name) = &insert.table else {
            return Err(self.unsupported("INSERT INTO a table function is not supported"));
        };
        let name = name.clone();
        let table = Self::plain_name(&name);
        let resolved = self.resolve(&name)?;
        if let Resolved::Universal { read_only: true } = resolved {
            return Err(self.invalid_access(&table, "the table is read-only for tenants"));
        }
        let (_, bare) = self.split_name(&name)?;
        self.insert_references(insert, &bare)?;
        let Resolved::Tenanted(column) = resolved else {
            return Ok(());
        };
        if insert.replace_into || matches!(insert.or, Some(SqliteOnConflict::Replace)) {
            return Err(self.unsupported(format!(
                "REPLACE into tenanted table `{table}` could delete another tenant's row; use an upsert"
            )));
        }
        if insert.insert_alias.is_some() {
            return Err(self.unsupported(format!(
                "a row alias on an insert into tenanted table `{table}` is not supported"
            )));
        }
        self.fill_or_check(insert, &table, column)?;
        let exposed: Vec<Ident> = match &insert.table_alias {
            Some(a) => vec![a.alias.clone()],
            None => name
                .0
                .iter()
                .filter_map(|p| p.as_ident().cloned())
                .collect(),
        };
        self.require_plain_names(&exposed)?;
        match &mut insert.on {
            None => {}
            Some(OnInsert::OnConflict(conflict)) => {
                if let OnConflictAction::DoUpdate(update) = &mut conflict.action {
                    for a in &update.assignments {
                        if self.assigns_column(a, column)? && !is_new_row_value(&a.value, column) {
                            self.check_written(&table, &a.value)?;
                        }
                    }
                    let pred = self.predicate(&exposed, column);
                    update.selection = and_all(update.selection.take(), vec![pred]);
                }
            }
            Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                let Some(guard_fn) = self.backend.guarded_assignment() else {
                    return Err(self.unsupported("ON DUPLICATE KEY UPDATE is MySQL syntax"));
                };
                for a in assignments.iter_mut() {
                    if self.assigns_column(a, column)? && !is_new_row_value(&a.value, column) {
                        self.check_written(&table, &a.value)?;
                    }
                    let AssignmentTarget::ColumnName(target) = &a.target else {
                        return Err(
                            self.unsupported("tuple assignments in ON DUPLICATE KEY UPDATE")
                        );
                    };
                    // The target is written again as the value kept for another
                    // tenant's row: it must read back as the same column.
                    let parts: Option<Vec<Ident>> =
                        target.0.iter().map(|p| p.as_ident().cloned()).collect();
                    let Some(parts) = parts else {
                        return Err(self.unsupported(format!(
                            "ON DUPLICATE KEY UPDATE target `{target}` is not a column name"
                        )));
                    };
                    self.require_plain_names(&parts)?;
                    let current = Expr::CompoundIdentifier(parts);
                    let pred = self.predicate(&exposed, column);
                    let value =
                        std::mem::replace(&mut a.value, Expr::value(sqlparser::ast::Value::Null));
                    a.value = self.call(guard_fn, vec![pred, value, current])?;
                }
            }
            Some(_) => return Err(self.unsupported("this ON clause of INSERT is not supported")),
        }
        Ok(())
    }

    /// Records the foreign-key values the insert (and its upsert clause) writes into
    /// `table`; see [`super::reference`].
    fn insert_references(&mut self, insert: &Insert, table: &str) -> Result<(), TenancyError> {
        let references = self.tenanted_references(table);
        if references.is_empty() {
            return Ok(());
        }
        let position = |name: &str| {
            insert
                .columns
                .iter()
                .position(|c| last_ident(c).is_some_and(|i| i.value.eq_ignore_ascii_case(name)))
        };
        let assigned = |assignments: &[Assignment], name: &str| -> Option<Expr> {
            assignments.iter().find_map(|a| match &a.target {
                AssignmentTarget::ColumnName(c)
                    if last_ident(c).is_some_and(|i| i.value.eq_ignore_ascii_case(name)) =>
                {
                    Some(a.value.clone())
                }
                _ => None,
            })
        };
        let writes_rows = match insert.source.as_deref() {
            None => !insert.assignments.is_empty(),
            Some(q) => {
                !matches!(&*q.body, SetExpr::Values(v) if v.rows.iter().all(|r| r.is_empty()))
            }
        };
        for reference in references {
            let columns = reference.columns().to_vec();
            if writes_rows && insert.columns.is_empty() && insert.assignments.is_empty() {
                return Err(self.unsupported(format!(
                    "an insert into `{table}`, which references tenanted table `{}`, must name its columns",
                    reference.target()
                )));
            }
            let mut rows: Vec<Vec<RefValue>> = Vec::new();
            if insert.source.is_none() {
                // MySQL `INSERT … SET col = value`.
                let values: Vec<Option<Expr>> = columns
                    .iter()
                    .map(|c| assigned(&insert.assignments, c))
                    .collect();
                rows.extend(self.assigned_row(table, &reference, &values)?);
            } else {
                let positions: Vec<Option<usize>> = columns.iter().map(|c| position(c)).collect();
                if positions.iter().any(Option::is_some) {
                    if positions.iter().any(Option::is_none) {
                        return Err(self.partial_reference(table, &reference));
                    }
                    let positions: Vec<usize> = positions.into_iter().flatten().collect();
                    match insert.source.as_deref().map(|q| &*q.body) {
                        Some(SetExpr::Values(values)) => {
                            for values_row in &values.rows {
                                let mut row = Vec::new();
                                for (c, p) in columns.iter().zip(&positions) {
                                    let v = values_row.get(*p).ok_or_else(|| {
                                        self.unsupported(
                                            "a VALUES row is shorter than the column list",
                                        )
                                    })?;
                                    row.push(self.ref_value(&reference, c, v)?);
                                }
                                rows.push(row);
                            }
                        }
                        _ => {
                            let computed =
                                self.inserted_by_select(table, &reference, &positions)?;
                            self.record_reference_query(table, reference.clone(), &computed)?;
                        }
                    }
                }
            }
            // The upsert's own assignments: the new row's value was checked above.
            let upsert: &[Assignment] = match &insert.on {
                Some(OnInsert::OnConflict(conflict)) => match &conflict.action {
                    OnConflictAction::DoUpdate(update) => &update.assignments,
                    OnConflictAction::DoNothing => &[],
                },
                Some(OnInsert::DuplicateKeyUpdate(assignments)) => assignments,
                _ => &[],
            };
            let values: Vec<Option<Expr>> = columns
                .iter()
                .map(|c| assigned(upsert, c).filter(|v| !is_new_row_value(v, c)))
                .collect();
            if upsert.iter().any(|a| matches!(&a.target, AssignmentTarget::Tuple(cs) if cs.iter().any(|c| last_ident(c).is_some_and(|i| columns.iter().any(|k| i.value.eq_ignore_ascii_case(k)))))) {
                return Err(self.partial_reference(table, &reference));
            }
            rows.extend(self.assigned_row(table, &reference, &values)?);
            self.record_reference(table, reference, rows);
        }
        Ok(())
    }

    /// The row an assignment list writes into `reference`'s columns (`values`, in their
    /// order): none when it sets none of them, refused when it sets only some.
    fn assigned_row(
        &self,
        table: &str,
        reference: &Reference,
        values: &[Option<Expr>],
    ) -> Result<Option<Vec<RefValue>>, TenancyError> {
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let mut row = Vec::with_capacity(values.len());
        for (c, v) in reference.columns().iter().zip(values) {
            let Some(v) = v else {
                return Err(self.partial_reference(table, reference));
            };
            row.push(self.ref_value(reference, c, v)?);
        }
        Ok(Some(row))
    }

    fn assigns_column(&self, a: &Assignment, column: &str) -> Result<bool, TenancyError> {
        match &a.target {
            AssignmentTarget::ColumnName(c) => {
                Ok(last_ident(c).is_some_and(|i| i.value.eq_ignore_ascii_case(column)))
            }
            AssignmentTarget::Tuple(cs) => {
                if cs
                    .iter()
                    .any(|c| last_ident(c).is_some_and(|i| i.value.eq_ignore_ascii_case(column)))
                {
                    Err(self.unsupported("the data key cannot be set in a tuple assignment"))
                } else {
                    Ok(false)
                }
            }
        }
    }

    fn fill_or_check(
        &mut self,
        insert: &mut Insert,
        table: &str,
        column: &'static str,
    ) -> Result<(), TenancyError> {
        let position = insert
            .columns
            .iter()
            .position(|c| last_ident(c).is_some_and(|i| i.value.eq_ignore_ascii_case(column)));
        let Some(source) = &mut insert.source else {
            if insert.assignments.is_empty() && insert.columns.is_empty() {
                // DEFAULT VALUES: supply the DataKey alone.
                insert
                    .columns
                    .push(ObjectName::from(vec![self.backend.ident(column)]));
                let mut values = super::parse_query_template(self.backend, "VALUES (1)")
                    .ok_or_else(|| self.unsupported("internal: values template"))?;
                if let SetExpr::Values(v) = &mut *values.body {
                    v.rows = vec![sqlparser::ast::Parens::with_empty_span(vec![
                        self.markers.tenant(TenantSlot::Key),
                    ])];
                }
                insert.source = Some(Box::new(values));
                return Ok(());
            }
            // MySQL `INSERT … SET col = value`.
            let mut found = false;
            for a in &insert.assignments {
                if self.assigns_column(a, column)? {
                    found = true;
                    self.check_written(table, &a.value)?;
                }
            }
            if !found {
                insert.assignments.push(Assignment {
                    target: AssignmentTarget::ColumnName(ObjectName::from(vec![
                        self.backend.ident(column),
                    ])),
                    value: self.markers.tenant(TenantSlot::Key),
                });
            }
            return Ok(());
        };
        match &mut *source.body {
            SetExpr::Values(values) => {
                let all_empty = values.rows.iter().all(|r| r.is_empty());
                if insert.columns.is_empty() && !all_empty {
                    return Err(self.unsupported(format!(
                        "an insert into tenanted table `{table}` must name its columns"
                    )));
                }
                for row in values.rows.iter_mut() {
                    match position {
                        Some(i) => {
                            let Some(value) = row.get_mut(i) else {
                                return Err(self
                                    .unsupported("a VALUES row is shorter than the column list"));
                            };
                            if is_default_keyword(value) {
                                *value = self.markers.tenant(TenantSlot::Key);
                            } else {
                                self.check_written(table, value)?;
                            }
                        }
                        None => row.push(self.markers.tenant(TenantSlot::Key)),
                    }
                }
            }
            SetExpr::Select(select) => {
                if insert.columns.is_empty() {
                    return Err(self.unsupported(format!(
                        "an insert into tenanted table `{table}` must name its columns"
                    )));
                }
                let wildcard = select.projection.iter().any(|p| {
                    matches!(
                        p,
                        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
                    )
                });
                if wildcard {
                    return Err(self.unsupported(format!(
                        "INSERT … SELECT * into tenanted table `{table}`: list the columns"
                    )));
                }
                match position {
                    Some(i) => match select.projection.get(i) {
                        Some(
                            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. },
                        ) => {
                            let e = e.clone();
                            self.check_written(table, &e)?;
                        }
                        _ => {
                            return Err(
                                self.unsupported("INSERT … SELECT with fewer values than columns")
                            );
                        }
                    },
                    None => select.projection.push(SelectItem::UnnamedExpr(
                        self.markers.tenant(TenantSlot::Key),
                    )),
                }
            }
            _ => {
                return Err(self.unsupported(format!(
                    "this form of INSERT into tenanted table `{table}` is not supported"
                )));
            }
        }
        if position.is_none() {
            insert
                .columns
                .push(ObjectName::from(vec![self.backend.ident(column)]));
        }
        Ok(())
    }

    /// `name(args…)`, built from a parsed template so that every field is right.
    fn call(&self, name: &str, args: Vec<Expr>) -> Result<Expr, TenancyError> {
        let mut expr = super::parse_expr_template(self.backend, &format!("{name}(1, 2, 3)"))
            .ok_or_else(|| self.unsupported("internal: function template"))?;
        if let Expr::Function(f) = &mut expr
            && let FunctionArguments::List(list) = &mut f.args
        {
            list.args = args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect();
        }
        Ok(expr)
    }
}

/// `excluded.col` (PostgreSQL, SQLite) or `VALUES(col)` (MySQL): the value being
/// inserted, which has been checked or filled already.
fn is_new_row_value(expr: &Expr, column: &str) -> bool {
    match expr {
        Expr::CompoundIdentifier(parts) => {
            parts.len() == 2
                && parts[0].value.eq_ignore_ascii_case("excluded")
                && parts[1].value.eq_ignore_ascii_case(column)
        }
        Expr::Function(f) => {
            let is_values =
                last_ident(&f.name).is_some_and(|i| i.value.eq_ignore_ascii_case("values"));
            let FunctionArguments::List(list) = &f.args else {
                return false;
            };
            is_values
                && list.args.len() == 1
                && matches!(&list.args[0], FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(i))) if i.value.eq_ignore_ascii_case(column))
        }
        _ => false,
    }
}
