//! Names in scope, and the visitor that walks a statement.
//!
//! The walk is post-order: every query (top level, CTE body, derived table, subquery in
//! any clause) restricts the tables in its own FROM once its children are done, so each
//! relation is handled exactly once, at the level where it is read. CTE names are
//! tracked per query, so that a CTE hides a table of the same name only where SQL says
//! it does: inside the CTE's own body (non-recursive), the name is the real table.

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, ObjectName, Query, Statement, VisitorMut};

use super::dialect::Backend;
use super::params::{Check, CheckSource, Markers, TenantSlot};
use crate::registry::{Registry, Resolved};
use crate::{DataKey, MatchMode, TenancyError};

/// One level of CTE names: each entry is a name and whether it is visible here.
/// A hidden entry masks the same name in the next enclosing frame (a CTE body does not
/// see itself, nor the CTEs declared after it, unless the WITH is recursive).
#[derive(Debug, Default)]
struct Frame {
    entries: Vec<(Ident, bool)>,
}

/// The CTE names in scope during a walk: call [`CteScopes::enter`] before a query's
/// parts are visited and [`CteScopes::leave`] after.
#[derive(Debug, Default)]
pub(crate) struct CteScopes {
    frames: Vec<Frame>,
    pushed: Vec<usize>,
    cte_bodies: HashMap<*const Query, Vec<Ident>>,
}

impl CteScopes {
    /// Whether an unqualified `name` certainly refers to a CTE where it is read now.
    pub(crate) fn is_cte(&self, backend: Backend, name: &Ident) -> bool {
        let mut masked = 0usize;
        for frame in self.frames.iter().rev() {
            for (n, visible) in &frame.entries {
                if !backend.same_name(n, name) {
                    continue;
                }
                if !*visible {
                    masked += 1;
                } else if masked > 0 {
                    masked -= 1;
                } else {
                    return true;
                }
            }
        }
        false
    }

    /// Brings the CTEs `query` declares into scope, and hides what its own body must not see.
    pub(crate) fn enter(&mut self, query: &Query) {
        let mut pushed = 0;
        if let Some(hidden) = self.cte_bodies.remove(&(query as *const Query)) {
            self.frames.push(Frame {
                entries: hidden.into_iter().map(|n| (n, false)).collect(),
            });
            pushed += 1;
        }
        if let Some(with) = &query.with {
            let names: Vec<Ident> = with
                .cte_tables
                .iter()
                .map(|c| c.alias.name.clone())
                .collect();
            for (i, cte) in with.cte_tables.iter().enumerate() {
                let hidden = if with.recursive {
                    Vec::new()
                } else {
                    names[i..].to_vec()
                };
                self.cte_bodies.insert(&*cte.query as *const Query, hidden);
            }
            self.frames.push(Frame {
                entries: names.into_iter().map(|n| (n, true)).collect(),
            });
            pushed += 1;
        }
        self.pushed.push(pushed);
    }

    /// Undoes the matching [`CteScopes::enter`].
    pub(crate) fn leave(&mut self) {
        let n = self.pushed.pop().unwrap_or(0);
        for _ in 0..n {
            self.frames.pop();
        }
    }
}

/// The state of one rewrite.
pub(crate) struct Rewriter<'a> {
    pub(crate) backend: Backend,
    pub(crate) registry: &'a Registry,
    pub(crate) mode: MatchMode,
    pub(crate) tenant: &'a DataKey,
    pub(crate) markers: Markers,
    pub(crate) checks: Vec<Check>,
    /// Foreign-key values the statement writes.
    pub(crate) references: Vec<super::reference::RefCheck>,
    /// Copies of the INSERT and UPDATE statements being walked, taken before any of their
    /// parts was restricted: a reference check that must compute the written values
    /// starts from them. A stack, for writes nested in data-modifying CTEs.
    pub(crate) pending_writes: Vec<Option<Statement>>,
    /// The copy of the INSERT or UPDATE being restricted now.
    pub(crate) original_write: Option<Statement>,
    ctes: CteScopes,
    /// Set while the target of an UPDATE or DELETE is restricted: a write target always
    /// names a real table, whatever CTE shares its name.
    pub(crate) target_is_table: bool,
    /// In [`MatchMode::Distributed`]: the tenanted table of the current FROM scope that
    /// every other one is joined to by DataKey equality (its qualifier and column).
    pub(crate) join_anchor: Option<(Vec<Ident>, &'static str)>,
    /// The registered tables the statement names, for its span and metrics.
    pub(crate) touched: std::cell::RefCell<Vec<String>>,
}

/// A table met in a FROM clause, for resolving write targets and qualified columns.
#[derive(Debug, Clone)]
pub(crate) struct SeenTable {
    /// The name the statement uses for it: its alias, or its name (last part), lower-case.
    pub(crate) exposed: String,
    /// The table name as written, for messages.
    pub(crate) table: String,
    /// The table's own name, without schema or quotes.
    pub(crate) name: String,
    pub(crate) resolved: Resolved,
}

impl<'a> Rewriter<'a> {
    pub(crate) fn new(
        backend: Backend,
        registry: &'a Registry,
        mode: MatchMode,
        tenant: &'a DataKey,
    ) -> Self {
        Rewriter {
            backend,
            registry,
            mode,
            tenant,
            markers: Markers::default(),
            checks: Vec::new(),
            references: Vec::new(),
            pending_writes: Vec::new(),
            original_write: None,
            ctes: CteScopes::default(),
            target_is_table: false,
            join_anchor: None,
            touched: std::cell::RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn unsupported(&self, reason: impl Into<String>) -> TenancyError {
        TenancyError::UnsupportedStatement {
            tenant: self.tenant.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_access(&self, table: &str, reason: impl Into<String>) -> TenancyError {
        TenancyError::InvalidTenantAccess {
            table: table.to_owned(),
            tenant: self.tenant.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown_table(&self, table: &str) -> TenancyError {
        TenancyError::UnknownTable {
            table: table.to_owned(),
            tenant: self.tenant.to_string(),
        }
    }

    /// Whether an unqualified `name` certainly refers to a CTE where it is read (never
    /// for the target of an UPDATE or DELETE).
    pub(crate) fn is_cte(&self, name: &Ident) -> bool {
        !self.target_is_table && self.ctes.is_cte(self.backend, name)
    }

    /// Splits a table name into (schema, table), both as written.
    pub(crate) fn split_name(
        &self,
        name: &ObjectName,
    ) -> Result<(Option<String>, String), TenancyError> {
        let parts: Option<Vec<&Ident>> = name.0.iter().map(|p| p.as_ident()).collect();
        let parts = parts
            .ok_or_else(|| self.unsupported(format!("table name `{name}` is not a plain name")))?;
        match parts.as_slice() {
            [table] => Ok((None, table.value.clone())),
            [.., schema, table] => Ok((Some(schema.value.clone()), table.value.clone())),
            [] => Err(self.unsupported("empty table name")),
        }
    }

    /// The table name as text, without quotes, for messages.
    pub(crate) fn plain_name(name: &ObjectName) -> String {
        name.0
            .iter()
            .map(|p| {
                p.as_ident()
                    .map(|i| i.value.clone())
                    .unwrap_or_else(|| p.to_string())
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Refuses a name the predicate would repeat but the server might read otherwise.
    pub(crate) fn require_plain_names(&self, idents: &[Ident]) -> Result<(), TenancyError> {
        for i in idents {
            match i.quote_style {
                None if !self.backend.is_plain_identifier(&i.value) => {
                    return Err(self.unsupported(format!(
                        "`{}` is not a plain identifier on this backend; quote it",
                        i.value
                    )));
                }
                Some(q) if !self.backend.is_name_quote(q) => {
                    return Err(self.unsupported(format!(
                        "`{}` is quoted with {q}, which this backend may read as a string; quote names with backticks",
                        i.value
                    )));
                }
                _ => {}
            }
        }
        // The predicate writes `<qualifier>.<column>`: it must read back as that column
        // (an unquoted `true` or `current_user` would not). A name in the backend's own
        // quotes, made of letters, digits and `_` only (what SeaORM writes), certainly
        // does, and skips the parse.
        let certainly_a_name = |i: &Ident| {
            i.quote_style.is_some()
                && !i.value.is_empty()
                && i.value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if !idents.iter().all(certainly_a_name) {
            let mut parts = idents.to_vec();
            parts.push(self.backend.ident("k"));
            let text = Expr::CompoundIdentifier(parts).to_string();
            let same = super::parse_expr_template(self.backend, &text)
                .is_some_and(|e| matches!(e, Expr::CompoundIdentifier(_)) && e.to_string() == text);
            if !same {
                return Err(self.unsupported(format!(
                    "the table name or alias `{}` does not read back as a name in `{text}`; quote it",
                    idents
                        .iter()
                        .map(|i| i.value.as_str())
                        .collect::<Vec<_>>()
                        .join(".")
                )));
            }
        }
        Ok(())
    }

    /// Resolves a table name, refusing unknown and conflicting tables.
    pub(crate) fn resolve(&self, name: &ObjectName) -> Result<Resolved, TenancyError> {
        let (schema, table) = self.split_name(name)?;
        match self.registry.resolve(schema.as_deref(), &table) {
            Resolved::Unknown => Err(self.unknown_table(&Self::plain_name(name))),
            Resolved::Conflict(why) => Err(self.unsupported(why)),
            r => {
                let mut touched = self.touched.borrow_mut();
                let table = table.to_ascii_lowercase();
                if !touched.contains(&table) {
                    touched.push(table);
                }
                Ok(r)
            }
        }
    }

    /// The DataKey column of the table exposed as `qualifier`.
    pub(crate) fn key_column(&self, qualifier: &[Ident], column: &str) -> Expr {
        let mut idents = qualifier.to_vec();
        idents.push(self.backend.ident(column));
        Expr::CompoundIdentifier(idents)
    }

    /// The tenant predicate on the DataKey column of the table exposed as `qualifier`.
    pub(crate) fn predicate(&mut self, qualifier: &[Ident], column: &str) -> Expr {
        use sqlparser::ast::BinaryOperator;
        let (backend, mode) = (self.backend, self.mode);
        let mut compare = |op, slot| {
            let value = self.markers.tenant(slot);
            backend.compare_bytewise(self.key_column(qualifier, column), op, value)
        };
        match mode {
            MatchMode::Exact => compare(BinaryOperator::Eq, TenantSlot::Key),
            MatchMode::Distributed => {
                let value = self.markers.tenant(TenantSlot::Key);
                backend.distributed_equality(self.key_column(qualifier, column), value)
            }
            MatchMode::Prefix => {
                let lower = compare(BinaryOperator::GtEq, TenantSlot::Key);
                let upper = compare(BinaryOperator::Lt, TenantSlot::Upper);
                and(lower, upper)
            }
        }
    }

    /// Records the DataKey value a statement writes into `table`, to be checked against
    /// the tenant on every call. Refuses values that cannot be checked.
    pub(crate) fn check_written(&mut self, table: &str, value: &Expr) -> Result<(), TenancyError> {
        use sqlparser::ast::Value;
        match value {
            Expr::Nested(inner) => self.check_written(table, inner),
            Expr::Value(v) => {
                match &v.value {
                    Value::Placeholder(p) => {
                        let index = super::original_index(self.backend, p).ok_or_else(|| {
                            self.unsupported(format!("placeholder `{p}` is not supported"))
                        })?;
                        self.checks.push(Check {
                            table: table.to_owned(),
                            source: CheckSource::Param(index),
                        });
                        Ok(())
                    }
                    Value::SingleQuotedString(s) => {
                        self.checks.push(Check {
                            table: table.to_owned(),
                            source: CheckSource::Literal(s.clone()),
                        });
                        Ok(())
                    }
                    Value::Null => {
                        Err(self.invalid_access(table, "the data key cannot be set to null"))
                    }
                    other => Err(self
                        .invalid_access(table, format!("the data key cannot be set to {other}"))),
                }
            }
            other => Err(self.invalid_access(
                table,
                format!("the data key cannot be set by the expression `{other}`"),
            )),
        }
    }
}

/// `left AND right`.
pub(crate) fn and(left: Expr, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op: sqlparser::ast::BinaryOperator::And,
        right: Box::new(right),
    }
}

/// `existing AND p1 AND p2 …`. `existing` is parenthesised unless it is a conjunction of
/// plain comparisons between names and values: the database, not the parser, decides
/// how the rendered text groups, and the two disagree on some operators (MySQL's `XOR`
/// binds looser than `AND` but `sqlparser` reads it tighter than `=`; `||` is OR on MySQL
/// without `PIPES_AS_CONCAT`). In parentheses, the user's condition is one operand of
/// the tenant's `AND` whatever the server makes of its inside.
pub(crate) fn and_all(existing: Option<Expr>, preds: Vec<Expr>) -> Option<Expr> {
    let mut acc = existing.map(|e| {
        if groups_safely(&e) {
            e
        } else {
            Expr::Nested(Box::new(e))
        }
    });
    for p in preds {
        acc = Some(match acc {
            Some(a) => and(a, p),
            None => p,
        });
    }
    acc
}

/// Whether `e AND x` groups as `(e) AND x` on every backend, whatever the parser thought.
fn groups_safely(e: &Expr) -> bool {
    use sqlparser::ast::BinaryOperator as Op;
    fn atom(e: &Expr) -> bool {
        matches!(
            e,
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) | Expr::Nested(_)
        )
    }
    match e {
        Expr::Nested(_) => true,
        Expr::BinaryOp {
            left,
            op: Op::And,
            right,
        } => groups_safely(left) && groups_safely(right),
        Expr::BinaryOp { left, op, right } => {
            matches!(
                op,
                Op::Eq | Op::NotEq | Op::Lt | Op::LtEq | Op::Gt | Op::GtEq
            ) && atom(left)
                && atom(right)
        }
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => atom(inner),
        Expr::InList { expr, list, .. } => atom(expr) && list.iter().all(atom),
        Expr::InSubquery { expr, .. } => atom(expr),
        Expr::Exists { .. } => true,
        Expr::Between {
            expr, low, high, ..
        } => atom(expr) && atom(low) && atom(high),
        _ => false,
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = TenancyError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Self::Break> {
        self.ctes.enter(query);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<Self::Break> {
        let result = self.restrict_set_expr(&mut query.body);
        self.ctes.leave();
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_statement(&mut self, statement: &mut Statement) -> ControlFlow<Self::Break> {
        match statement {
            // Only an INSERT … SELECT and an UPDATE may need their original text; an
            // INSERT … VALUES (insert_many) is not copied.
            Statement::Insert(insert) => {
                let computed = insert
                    .source
                    .as_ref()
                    .is_some_and(|q| !matches!(*q.body, sqlparser::ast::SetExpr::Values(_)));
                self.pending_writes
                    .push(computed.then(|| statement.clone()));
            }
            Statement::Update(_) => self.pending_writes.push(Some(statement.clone())),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_statement(&mut self, statement: &mut Statement) -> ControlFlow<Self::Break> {
        let original = match statement {
            Statement::Insert(_) | Statement::Update(_) => self.pending_writes.pop().flatten(),
            _ => None,
        };
        self.original_write = original;
        let result = match statement {
            Statement::Query(_) => Ok(()),
            Statement::Insert(insert) => self.restrict_insert(insert),
            Statement::Update(update) => self.restrict_update(update),
            Statement::Delete(delete) => self.restrict_delete(delete),
            other => Err(self.unsupported(format!(
                "`{}` statements are refused on a tenant connection",
                super::statement_kind(other)
            ))),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Self::Break> {
        if let Expr::Function(f) = expr {
            let name = f
                .name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.clone())
                .unwrap_or_default();
            if self.backend.refuses_function(&name) {
                return ControlFlow::Break(self.unsupported(format!(
                    "function `{name}` is refused on a tenant connection"
                )));
            }
        }
        ControlFlow::Continue(())
    }
}
