//! DELETE: restrict the target and every USING or joined table.

use sqlparser::ast::{Delete, FromTable};

use super::scope::{Rewriter, and_all};
use super::update::write_target;
use crate::TenancyError;
use crate::registry::Resolved;

impl Rewriter<'_> {
    pub(crate) fn restrict_delete(&mut self, delete: &mut Delete) -> Result<(), TenancyError> {
        let mut seen = Vec::new();
        let from = match &mut delete.from {
            FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
        };
        let outer_anchor = self.join_anchor.take();
        self.target_is_table = true;
        let target = self.restrict_from(from, &mut seen);
        self.target_is_table = false;
        let mut preds = target?;
        // Without a table list, every table of FROM is deleted from (one on PostgreSQL
        // and SQLite; MySQL's `DELETE FROM a, b USING …` deletes from both).
        let from_tables = seen.len();
        if let Some(using) = &mut delete.using {
            preds.extend(self.restrict_from(using, &mut seen)?);
        }
        self.join_anchor = outer_anchor;
        let first = seen.first().cloned();
        let mut targets = Vec::new();
        if delete.tables.is_empty() {
            targets.extend(seen[..from_tables].iter().cloned());
        } else {
            for t in &delete.tables {
                let (_, name) = self.split_name(t)?;
                let target = write_target(&seen, Some(&name), first.as_ref()).ok_or_else(|| {
                    self.unsupported(format!("cannot tell which table `{t}` deletes from"))
                })?;
                targets.push(target.clone());
            }
        }
        for t in targets {
            if t.resolved == (Resolved::Universal { read_only: true }) {
                return Err(self.invalid_access(&t.table, "the table is read-only for tenants"));
            }
        }
        delete.selection = and_all(delete.selection.take(), preds);
        Ok(())
    }
}
