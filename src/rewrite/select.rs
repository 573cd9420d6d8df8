//! SELECT: restricting the relations of a query's FROM clause, and the placement of each
//! predicate so that outer joins keep their meaning.
//!
//! A tenanted table on the preserved side of every join gets its predicate in WHERE.
//! A table on the nullable side of a LEFT or RIGHT join gets it in that join's ON, so
//! the outer join still yields its NULL-extended rows. Where neither is correct (a FULL
//! join, an outer join with USING or NATURAL, an aliased nested join) the table is
//! replaced by `(SELECT * FROM table WHERE predicate) AS table`, which is exactly the
//! view of the table the tenant may see.

use sqlparser::ast::{
    Expr, Ident, JoinConstraint, JoinOperator, Select, SelectItem, SetExpr, TableAlias,
    TableFactor, TableWithJoins, WildcardAdditionalOptions,
};

use super::scope::{Rewriter, SeenTable, and_all};
use crate::registry::Resolved;
use crate::{MatchMode, TenancyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Where,
    On(usize),
    Wrap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JoinKind {
    Inner,
    Left { on: bool },
    Right { on: bool },
    Full,
}

impl Rewriter<'_> {
    pub(crate) fn restrict_set_expr(&mut self, body: &mut SetExpr) -> Result<(), TenancyError> {
        match body {
            SetExpr::Select(select) => self.restrict_select(select),
            SetExpr::SetOperation { left, right, .. } => {
                self.restrict_set_expr(left)?;
                self.restrict_set_expr(right)
            }
            // Nested queries and data-modifying statements are visited on their own.
            SetExpr::Query(_) | SetExpr::Values(_) => Ok(()),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) => Ok(()),
            SetExpr::Merge(_) => Err(self.unsupported("MERGE is refused on a tenant connection")),
            SetExpr::Table(t) => {
                let name = t.table_name.clone().unwrap_or_default();
                let mut parts: Vec<Ident> = Vec::new();
                if let Some(s) = &t.schema_name {
                    parts.push(Ident::new(s));
                }
                parts.push(Ident::new(&name));
                match self.resolve(&parts.into())? {
                    Resolved::Tenanted(_) => {
                        Err(self
                            .unsupported(format!("`TABLE {name}` on a tenanted table; use SELECT")))
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    fn restrict_select(&mut self, select: &mut Select) -> Result<(), TenancyError> {
        if select.into.is_some() {
            return Err(self.unsupported("SELECT … INTO is refused on a tenant connection"));
        }
        if !select.lateral_views.is_empty() {
            return Err(self.unsupported("LATERAL VIEW is not supported"));
        }
        let mut seen = Vec::new();
        let outer_anchor = self.join_anchor.take();
        let preds = self.restrict_from(&mut select.from, &mut seen);
        self.join_anchor = outer_anchor;
        select.selection = and_all(select.selection.take(), preds?);
        Ok(())
    }

    /// Restricts a comma-separated FROM list; returns the predicates for WHERE.
    pub(crate) fn restrict_from(
        &mut self,
        from: &mut [TableWithJoins],
        seen: &mut Vec<SeenTable>,
    ) -> Result<Vec<Expr>, TenancyError> {
        let mut preds = Vec::new();
        for twj in from {
            preds.extend(self.restrict_joined(twj, false, seen)?);
        }
        Ok(preds)
    }

    fn join_kind(&self, op: &JoinOperator) -> Result<JoinKind, TenancyError> {
        let on = |c: &JoinConstraint| matches!(c, JoinConstraint::On(_));
        Ok(match op {
            JoinOperator::Join(_)
            | JoinOperator::Inner(_)
            | JoinOperator::CrossJoin(_)
            | JoinOperator::StraightJoin(_) => JoinKind::Inner,
            JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => JoinKind::Left { on: on(c) },
            JoinOperator::Right(c) | JoinOperator::RightOuter(c) => JoinKind::Right { on: on(c) },
            JoinOperator::FullOuter(_) => JoinKind::Full,
            other => {
                return Err(self.unsupported(format!(
                    "join `{}` is not supported",
                    format!("{other:?}").split('(').next().unwrap_or("?")
                )));
            }
        })
    }

    /// Restricts one `a JOIN b … JOIN c`; returns the predicates for WHERE.
    pub(crate) fn restrict_joined(
        &mut self,
        twj: &mut TableWithJoins,
        wrap_all: bool,
        seen: &mut Vec<SeenTable>,
    ) -> Result<Vec<Expr>, TenancyError> {
        let n = twj.joins.len();
        let mut place = vec![Place::Where; n + 1];
        if wrap_all {
            place.fill(Place::Wrap);
        } else {
            // Factors whose predicates go to WHERE so far: the preserved side.
            let mut preserved: Vec<usize> = vec![0];
            for (i, join) in twj.joins.iter().enumerate() {
                let k = i + 1;
                match self.join_kind(&join.join_operator)? {
                    JoinKind::Inner => preserved.push(k),
                    JoinKind::Left { on } => place[k] = if on { Place::On(i) } else { Place::Wrap },
                    JoinKind::Right { on } => {
                        for p in preserved.drain(..) {
                            place[p] = if on { Place::On(i) } else { Place::Wrap };
                        }
                        preserved.push(k);
                    }
                    JoinKind::Full => {
                        for p in preserved.drain(..) {
                            place[p] = Place::Wrap;
                        }
                        place[k] = Place::Wrap;
                    }
                }
            }
        }
        let mut where_preds = Vec::new();
        let mut on_preds: Vec<Vec<Expr>> = vec![Vec::new(); n];
        // Plain tenanted tables, for the join equalities of distributed mode.
        let mut keyed: Vec<(usize, Vec<Ident>, &'static str)> = Vec::new();
        for (k, p) in place.iter().enumerate() {
            let factor = if k == 0 {
                &mut twj.relation
            } else {
                &mut twj.joins[k - 1].relation
            };
            let before = seen.len();
            let preds = self.restrict_factor(factor, *p == Place::Wrap, seen)?;
            if self.mode == MatchMode::Distributed
                && *p != Place::Wrap
                && seen.len() == before + 1
                && let (TableFactor::Table { name, alias, .. }, Resolved::Tenanted(column)) =
                    (&*factor, &seen[before].resolved)
            {
                let qualifier = match alias {
                    Some(a) => vec![a.name.clone()],
                    None => name
                        .0
                        .iter()
                        .filter_map(|p| p.as_ident().cloned())
                        .collect(),
                };
                keyed.push((k, qualifier, column));
            }
            match p {
                Place::Where => where_preds.extend(preds),
                Place::On(i) => on_preds[*i].extend(preds),
                Place::Wrap => {}
            }
        }
        if self.join_anchor.is_none() {
            // The anchor is on the preserved side: an equality in an outer join's ON
            // with a nullable table would change which rows the join keeps.
            self.join_anchor = keyed
                .iter()
                .find(|(k, ..)| place[*k] == Place::Where)
                .map(|(_, q, c)| (q.clone(), *c));
        }
        if let Some((anchor, anchor_column)) = self.join_anchor.clone() {
            for (k, qualifier, column) in &keyed {
                if *qualifier == anchor {
                    continue;
                }
                let equal = self.backend.distributed_equality(
                    self.key_column(&anchor, anchor_column),
                    self.key_column(qualifier, column),
                );
                match place[*k] {
                    Place::Where => where_preds.push(equal),
                    Place::On(i) => on_preds[i].push(equal),
                    Place::Wrap => {}
                }
            }
        }
        for (i, preds) in on_preds.into_iter().enumerate() {
            if preds.is_empty() {
                continue;
            }
            let constraint = match &mut twj.joins[i].join_operator {
                JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c) => c,
                _ => return Err(self.unsupported("internal: predicate placed on an inner join")),
            };
            let JoinConstraint::On(on) = constraint else {
                return Err(self.unsupported("internal: outer join without ON"));
            };
            let existing = std::mem::replace(on, Expr::value(sqlparser::ast::Value::Null));
            *on = and_all(Some(existing), preds)
                .ok_or_else(|| self.unsupported("internal: empty ON"))?;
        }
        Ok(where_preds)
    }

    /// Restricts one relation; returns its predicates (none when wrapped or shared).
    fn restrict_factor(
        &mut self,
        factor: &mut TableFactor,
        wrap: bool,
        seen: &mut Vec<SeenTable>,
    ) -> Result<Vec<Expr>, TenancyError> {
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    let (_, fname) = self.split_name(name)?;
                    return if self.backend.allows_table_function(&fname) {
                        Ok(Vec::new())
                    } else {
                        Err(self.unsupported(format!("table function `{name}` is not supported")))
                    };
                }
                let (schema, table) = self.split_name(name)?;
                let last = name.0.last().and_then(|p| p.as_ident());
                if schema.is_none() && last.is_some_and(|i| self.is_cte(i)) {
                    return Ok(Vec::new());
                }
                let resolved = self.resolve(name)?;
                if matches!(resolved, Resolved::Tenanted(_))
                    && alias.as_ref().is_some_and(|a| !a.columns.is_empty())
                {
                    return Err(self.unsupported(format!(
                        "column aliases on the tenanted table `{}` (`AS x (a, b)`) are not supported; alias the columns in the select list",
                        Self::plain_name(name)
                    )));
                }
                let qualifier: Vec<Ident> = match alias {
                    Some(a) => vec![a.name.clone()],
                    None => name
                        .0
                        .iter()
                        .filter_map(|p| p.as_ident().cloned())
                        .collect(),
                };
                if matches!(resolved, Resolved::Tenanted(_)) {
                    self.require_plain_names(&qualifier)?;
                    self.require_plain_names(
                        &name
                            .0
                            .iter()
                            .filter_map(|p| p.as_ident().cloned())
                            .collect::<Vec<_>>(),
                    )?;
                }
                seen.push(SeenTable {
                    exposed: alias
                        .as_ref()
                        .map(|a| a.name.value.to_ascii_lowercase())
                        .unwrap_or_else(|| table.to_ascii_lowercase()),
                    table: Self::plain_name(name),
                    name: table.clone(),
                    resolved: resolved.clone(),
                });
                let Resolved::Tenanted(column) = resolved else {
                    return Ok(Vec::new());
                };
                if !wrap {
                    return Ok(vec![self.predicate(&qualifier, column)]);
                }
                let inner_qualifier: Vec<Ident> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident().cloned())
                    .collect();
                let pred = self.predicate(&inner_qualifier, column);
                let exposed = alias.clone().unwrap_or(TableAlias {
                    explicit: true,
                    name: Ident::new(table),
                    columns: Vec::new(),
                    at: None,
                });
                let mut inner = factor.clone();
                if let TableFactor::Table { alias, .. } = &mut inner {
                    *alias = None;
                }
                let subquery = self.filtered_select(inner, pred)?;
                *factor = TableFactor::Derived {
                    lateral: false,
                    subquery: Box::new(subquery),
                    alias: Some(exposed),
                    sample: None,
                };
                Ok(Vec::new())
            }
            TableFactor::Derived { .. } => Ok(Vec::new()),
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let wrap_inner = wrap || alias.is_some();
                self.restrict_joined(table_with_joins, wrap_inner, seen)
            }
            TableFactor::UNNEST { .. } => Ok(Vec::new()),
            TableFactor::Function { name, .. } => {
                let (_, fname) = self.split_name(name)?;
                if self.backend.allows_table_function(&fname) {
                    Ok(Vec::new())
                } else {
                    Err(self.unsupported(format!("table function `{name}` is not supported")))
                }
            }
            other => Err(self.unsupported(format!("table expression `{other}` is not supported"))),
        }
    }

    /// `SELECT * FROM <relation> WHERE <pred>`.
    fn filtered_select(
        &self,
        relation: TableFactor,
        pred: Expr,
    ) -> Result<sqlparser::ast::Query, TenancyError> {
        let mut query = super::parse_query_template(self.backend, "SELECT * FROM t")
            .ok_or_else(|| self.unsupported("internal: template query"))?;
        if let SetExpr::Select(select) = &mut *query.body {
            select.projection = vec![SelectItem::Wildcard(WildcardAdditionalOptions::default())];
            select.from = vec![TableWithJoins {
                relation,
                joins: Vec::new(),
            }];
            select.selection = Some(pred);
        }
        Ok(query)
    }
}
