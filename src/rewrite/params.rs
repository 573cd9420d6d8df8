//! Where the DataKey values go among the bound parameters.
//!
//! While rewriting, every value the tenant supplies is written into the AST as a marker
//! (`__sot_t<n>__`); on backends that bind by position, every original `?` is renamed
//! `__sot_o<i>__`, `i` being its rank in the original text. The statement is then
//! rendered, and the markers are found in the rendered text, so values are placed by
//! their position in the text that the database will see, not by the order in which the
//! AST was visited (MySQL binds `LIMIT ?` after the `WHERE` values, for instance).

use std::sync::Arc;

use sea_orm::{Value, Values};

use super::dialect::{Backend, PlaceholderStyle};
use crate::{DataKey, MatchMode, TenancyError};

/// The marker prefix. SQL that already contains it is refused.
pub(crate) const MARKER: &str = "__sot_";

/// Which tenant value a slot takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TenantSlot {
    /// The DataKey itself: exact match, the lower bound of a prefix range, a filled insert.
    Key,
    /// The exclusive upper bound of the prefix range.
    Upper,
}

/// A DataKey value written by the statement, checked on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckSource {
    /// The original bound value with this index.
    Param(usize),
    /// A string literal in the SQL text.
    Literal(String),
}

/// A DataKey value the statement writes into `table`, to be checked against the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) table: String,
    pub(crate) source: CheckSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bind {
    Original(usize),
    Tenant(TenantSlot),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Tenant(TenantSlot),
}

/// A rewritten statement with holes for the tenant. It contains no tenant, so it is
/// shared by every tenant running the same SQL.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    backend: Backend,
    /// The SQL to prepare.
    sql: String,
    /// The values to bind, in order.
    binds: Vec<Bind>,
    /// How many values the original statement binds.
    originals: usize,
    /// Whether the original values come first and in their own order, so binding only
    /// appends the tenant's values (always so on PostgreSQL; on `?` backends when every
    /// tenant value lands after the last original one).
    originals_first: bool,
    /// DataKey values written by the statement.
    checks: Vec<Check>,
    /// Foreign-key values written by the statement, checked before it runs.
    pub(crate) references: Vec<super::reference::RefCheck>,
    /// The SQL with tenant values as literals, for statements sent without parameters.
    pieces: Vec<Piece>,
    /// What kind of statement this is, for spans, metrics and guardrails.
    pub(crate) kind: super::StatementKind,
    /// The registered tables it names, comma-separated, in the order met.
    pub(crate) tables: Arc<str>,
}

/// Collects the tenant markers written into the AST while rewriting.
#[derive(Debug, Default)]
pub(crate) struct Markers {
    slots: Vec<TenantSlot>,
}

impl Markers {
    /// A marker for a tenant value, to be placed where the value goes.
    pub(crate) fn tenant(&mut self, slot: TenantSlot) -> sqlparser::ast::Expr {
        let n = self.slots.len();
        self.slots.push(slot);
        sqlparser::ast::Expr::value(sqlparser::ast::Value::Placeholder(format!(
            "{MARKER}t{n}__"
        )))
    }
}

/// The name given to the original placeholder of rank `i` on positional backends.
pub(crate) fn original_marker(i: usize) -> String {
    format!("{MARKER}o{i}__")
}

/// Builds the template from the rendered SQL (markers in place).
pub(crate) fn build_template(
    backend: Backend,
    rendered: &str,
    markers: &Markers,
    originals: usize,
    checks: Vec<Check>,
    unprepared: bool,
) -> Result<Template, String> {
    let mut sql = String::with_capacity(rendered.len() + 16);
    let mut binds = Vec::new();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut tenant_seen = 0usize;
    if backend.placeholder_style() == PlaceholderStyle::Numbered {
        binds.extend((0..originals).map(Bind::Original));
    }
    let mut rest = rendered;
    while let Some(at) = rest.find(MARKER) {
        sql.push_str(&rest[..at]);
        text.push_str(&rest[..at]);
        let after = &rest[at + MARKER.len()..];
        let kind = after.as_bytes().first().copied();
        let digits_len = after[1..].bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = after[1..1 + digits_len]
            .parse()
            .map_err(|_| "malformed internal marker".to_owned())?;
        let tail = &after[1 + digits_len..];
        let Some(tail) = tail.strip_prefix("__") else {
            return Err("malformed internal marker".to_owned());
        };
        match kind {
            Some(b't') => {
                let slot = *markers
                    .slots
                    .get(n)
                    .ok_or_else(|| "unknown internal marker".to_owned())?;
                binds.push(Bind::Tenant(slot));
                tenant_seen += 1;
                let number = binds.len();
                sql.push_str(&backend.placeholder(number));
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Tenant(slot));
            }
            Some(b'o') => {
                binds.push(Bind::Original(n));
                sql.push_str(&backend.placeholder(binds.len()));
                text.push_str(&backend.placeholder(binds.len()));
            }
            _ => return Err("malformed internal marker".to_owned()),
        }
        rest = tail;
    }
    sql.push_str(rest);
    text.push_str(rest);
    pieces.push(Piece::Text(text));
    if tenant_seen != markers.slots.len() {
        return Err("a tenant predicate was lost while rendering".to_owned());
    }
    if unprepared && originals > 0 {
        return Err("a statement sent without parameters cannot contain placeholders".to_owned());
    }
    let originals_first = binds
        .iter()
        .take(originals)
        .enumerate()
        .all(|(i, b)| *b == Bind::Original(i));
    Ok(Template {
        backend,
        sql,
        binds,
        originals,
        originals_first,
        checks,
        references: Vec::new(),
        pieces,
        kind: super::StatementKind::Schema,
        tables: Arc::from(""),
    })
}

fn slot_value(slot: TenantSlot, key: &DataKey) -> String {
    match slot {
        TenantSlot::Key => key.as_str().to_owned(),
        TenantSlot::Upper => key.upper_bound(),
    }
}

impl Template {
    fn run_checks(
        &self,
        values: &[Value],
        key: &DataKey,
        mode: MatchMode,
    ) -> Result<(), TenancyError> {
        for check in &self.checks {
            let written: Option<&str> = match &check.source {
                CheckSource::Literal(s) => Some(s.as_str()),
                CheckSource::Param(i) => match values.get(*i) {
                    Some(Value::String(Some(s))) => Some(s.as_str()),
                    Some(Value::String(None)) => None,
                    Some(other) => {
                        return Err(TenancyError::InvalidTenantAccess {
                            table: check.table.clone(),
                            tenant: key.to_string(),
                            reason: format!("the data key must be a string, got {other:?}"),
                        });
                    }
                    None => None,
                },
            };
            match written {
                None => {
                    return Err(TenancyError::InvalidTenantAccess {
                        table: check.table.clone(),
                        tenant: key.to_string(),
                        reason: "the data key cannot be set to null".to_owned(),
                    });
                }
                Some(v) if !key.matches(v, mode) => {
                    return Err(TenancyError::InvalidTenantAccess {
                        table: check.table.clone(),
                        tenant: key.to_string(),
                        reason: format!("data key {v:?} is outside the tenant"),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The prepared SQL and its values for `key`.
    pub(crate) fn bind(
        &self,
        values: Option<Values>,
        key: &DataKey,
        mode: MatchMode,
    ) -> Result<(String, Option<Values>), TenancyError> {
        let values = values.map(|v| v.0).unwrap_or_default();
        if values.len() != self.originals {
            return Err(TenancyError::UnsupportedStatement {
                tenant: key.to_string(),
                reason: format!(
                    "the statement binds {} values but has {} placeholders",
                    values.len(),
                    self.originals
                ),
            });
        }
        self.run_checks(&values, key, mode)?;
        let had_values = !values.is_empty() || !self.binds.is_empty();
        let out = if self.originals_first {
            let mut out = values;
            out.reserve(self.binds.len() - self.originals);
            for b in &self.binds[self.originals..] {
                if let Bind::Tenant(slot) = b {
                    out.push(Value::String(Some(slot_value(*slot, key))));
                }
            }
            out
        } else {
            let mut taken: Vec<Option<Value>> = values.into_iter().map(Some).collect();
            let mut out = Vec::with_capacity(self.binds.len());
            for b in &self.binds {
                out.push(match b {
                    Bind::Original(i) => {
                        taken.get_mut(*i).and_then(Option::take).ok_or_else(|| {
                            TenancyError::UnsupportedStatement {
                                tenant: key.to_string(),
                                reason: "a bound value is used twice".to_owned(),
                            }
                        })?
                    }
                    Bind::Tenant(slot) => Value::String(Some(slot_value(*slot, key))),
                });
            }
            out
        };
        Ok((self.sql.clone(), had_values.then_some(Values(out))))
    }

    /// How many values the original statement binds.
    pub(crate) fn original_count(&self) -> usize {
        self.originals
    }

    /// The SQL with tenant values written as literals.
    pub(crate) fn render_unprepared(
        &self,
        key: &DataKey,
        mode: MatchMode,
    ) -> Result<String, TenancyError> {
        self.run_checks(&[], key, mode)?;
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Tenant(slot) => {
                    out.push_str(&self.backend.string_literal(&slot_value(*slot, key)))
                }
            }
        }
        Ok(out)
    }
}
