//! UPDATE: restrict the target and every joined or FROM table, and check any DataKey the
//! statement writes.

use sqlparser::ast::{AssignmentTarget, ObjectName, SqliteOnConflict, Update, UpdateTableFromKind};

use super::scope::{Rewriter, SeenTable, and_all};
use crate::TenancyError;
use crate::registry::Resolved;

impl Rewriter<'_> {
    pub(crate) fn restrict_update(&mut self, update: &mut Update) -> Result<(), TenancyError> {
        let mut seen = Vec::new();
        let outer_anchor = self.join_anchor.take();
        self.target_is_table = true;
        let target = self.restrict_joined(&mut update.table, false, &mut seen);
        self.target_is_table = false;
        let mut preds = target?;
        if let Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) =
            &mut update.from
        {
            preds.extend(self.restrict_from(from, &mut seen)?);
        }
        self.join_anchor = outer_anchor;
        let targets_start = seen.first().cloned();
        // On MySQL, `UPDATE a JOIN b SET c = …` may set `c` of either table.
        let any_table = seen.len() > 1 && self.backend.multi_table_update_assigns_any_table();
        self.update_references(update, &seen, targets_start.as_ref(), any_table)?;
        for assignment in &update.assignments {
            let columns: Vec<&ObjectName> = match &assignment.target {
                AssignmentTarget::ColumnName(c) => vec![c],
                AssignmentTarget::Tuple(cs) => cs.iter().collect(),
            };
            let tuple = columns.len() > 1;
            for column in columns {
                let (qualifier, column) = self.split_name(column)?;
                if qualifier.is_none() && any_table {
                    self.check_unqualified_assignment(&seen, &column, tuple, &assignment.value)?;
                    continue;
                }
                let target = write_target(&seen, qualifier.as_deref(), targets_start.as_ref());
                let Some(target) = target else {
                    return Err(
                        self.unsupported(format!("cannot tell which table `{column}` belongs to"))
                    );
                };
                match target.resolved {
                    Resolved::Universal { read_only: true } => {
                        return Err(self
                            .invalid_access(&target.table, "the table is read-only for tenants"));
                    }
                    Resolved::Tenanted(key) if key.eq_ignore_ascii_case(&column) => {
                        if tuple {
                            return Err(self.invalid_access(
                                &target.table,
                                "the data key cannot be set in a tuple assignment",
                            ));
                        }
                        if matches!(update.or, Some(SqliteOnConflict::Replace)) {
                            return Err(self.unsupported(format!(
                                "UPDATE OR REPLACE of the data key of `{}` could delete another tenant's row",
                                target.table
                            )));
                        }
                        let table = target.table.clone();
                        self.check_written(&table, &assignment.value)?;
                    }
                    _ => {}
                }
            }
        }
        if matches!(update.or, Some(SqliteOnConflict::Replace))
            && seen
                .iter()
                .any(|t| matches!(t.resolved, Resolved::Tenanted(_)))
        {
            return Err(self.unsupported(
                "UPDATE OR REPLACE on a tenanted table could delete another tenant's row",
            ));
        }
        update.selection = and_all(update.selection.take(), preds);
        Ok(())
    }
}

impl Rewriter<'_> {
    /// Records the foreign-key values the UPDATE writes; see [`super::reference`].
    fn update_references(
        &mut self,
        update: &Update,
        seen: &[SeenTable],
        first: Option<&SeenTable>,
        any_table: bool,
    ) -> Result<(), TenancyError> {
        // (table written, column, value, assignment) for every assignment; a tuple
        // assignment has no single value per column.
        type Write<'s, 'u> = (
            &'s SeenTable,
            String,
            Option<&'u sqlparser::ast::Expr>,
            usize,
        );
        let mut written: Vec<Write<'_, '_>> = Vec::new();
        for (index, assignment) in update.assignments.iter().enumerate() {
            let (columns, value) = match &assignment.target {
                AssignmentTarget::ColumnName(c) => (vec![c], Some(&assignment.value)),
                AssignmentTarget::Tuple(cs) => (cs.iter().collect(), None),
            };
            for column in columns {
                let (qualifier, column) = self.split_name(column)?;
                if qualifier.is_none() && any_table {
                    for t in seen {
                        written.push((t, column.clone(), value, index));
                    }
                } else if let Some(t) = write_target(seen, qualifier.as_deref(), first) {
                    written.push((t, column, value, index));
                }
            }
        }
        let mut tables: Vec<&SeenTable> = Vec::new();
        for (t, ..) in &written {
            if !tables.iter().any(|x| std::ptr::eq(*x, *t)) {
                tables.push(t);
            }
        }
        for t in tables {
            for reference in self.tenanted_references(&t.name) {
                let found: Vec<Option<&Write<'_, '_>>> = reference
                    .columns()
                    .iter()
                    .map(|c| {
                        written
                            .iter()
                            .find(|(wt, wc, ..)| std::ptr::eq(*wt, t) && wc.eq_ignore_ascii_case(c))
                    })
                    .collect();
                if found.iter().all(Option::is_none) {
                    continue;
                }
                let mut values = Vec::new();
                let mut indexes = Vec::new();
                for w in &found {
                    let Some((_, _, Some(value), index)) = w else {
                        return Err(self.partial_reference(&t.table, &reference));
                    };
                    values.push(*value);
                    indexes.push(*index);
                }
                // Values and placeholders are checked as values; anything computed, by a
                // query that computes it over the same rows.
                let row: Result<Vec<_>, _> = reference
                    .columns()
                    .iter()
                    .zip(&values)
                    .map(|(c, v)| self.ref_value(&reference, c, v))
                    .collect();
                let table = t.table.clone();
                match row {
                    Ok(row) => self.record_reference(&table, reference, vec![row]),
                    Err(_) => {
                        let computed = self.updated_values(&indexes)?;
                        self.record_reference_query(&table, reference, &computed)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// An unqualified assignment of a multi-table UPDATE that may set a column of any of
    /// its tables: refused when a read-only table is among them, and checked as a DataKey
    /// write against every tenanted table whose DataKey column has that name.
    fn check_unqualified_assignment(
        &mut self,
        seen: &[SeenTable],
        column: &str,
        tuple: bool,
        value: &sqlparser::ast::Expr,
    ) -> Result<(), TenancyError> {
        for t in seen {
            match &t.resolved {
                Resolved::Universal { read_only: true } => {
                    return Err(self.unsupported(format!(
                        "cannot tell which table `{column}` belongs to, and `{}` is read-only for tenants; qualify the column",
                        t.table
                    )));
                }
                Resolved::Tenanted(key) if key.eq_ignore_ascii_case(column) => {
                    if tuple {
                        return Err(self.invalid_access(
                            &t.table,
                            "the data key cannot be set in a tuple assignment",
                        ));
                    }
                    let table = t.table.clone();
                    self.check_written(&table, value)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The table an assignment or a DELETE target refers to: the one exposed under
/// `qualifier`, or the statement's first table when unqualified.
pub(crate) fn write_target<'s>(
    seen: &'s [SeenTable],
    qualifier: Option<&str>,
    first: Option<&'s SeenTable>,
) -> Option<&'s SeenTable> {
    match qualifier {
        Some(q) => seen.iter().find(|t| t.exposed.eq_ignore_ascii_case(q)),
        None => first,
    }
}
