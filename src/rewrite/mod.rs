//! The rewriter: a pure function from a statement, a tenant and a [`Registry`] to the
//! scoped statement, or a [`TenancyError`]. It does no I/O.
//!
//! The SQL is parsed with `sqlparser` for the statement's backend, every tenanted relation
//! is restricted where it is read, DataKeys written are checked or filled, and the AST is
//! rendered again: what reaches the database is what was analysed (a comment, an
//! executable MySQL comment or a second statement cannot ride along). Anything not
//! understood is refused with [`TenancyError::UnsupportedStatement`].
//!
//! Rewritten statements are cached as templates keyed by backend, mode and SQL text,
//! never by tenant; the DataKey travels as bound parameters.
//!
//! ```
//! use sea_orm::{DbBackend, Statement};
//! use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::rewrite};
//!
//! let registry = Registry::builder().tenanted("invoice", "data_key").build();
//! let key = DataKey::new("1.4.")?;
//! let stmt = Statement::from_sql_and_values(
//!     DbBackend::Postgres,
//!     r#"SELECT "id" FROM "invoice" WHERE "id" = $1"#,
//!     [1.into()],
//! );
//! let out = rewrite(stmt, &key, MatchMode::Exact, &registry)?;
//! assert_eq!(
//!     out.sql,
//!     r#"SELECT "id" FROM "invoice" WHERE "id" = $1 AND "invoice"."data_key" COLLATE "C" = $2"#
//! );
//! assert_eq!(out.values.unwrap().0.len(), 2);
//! # Ok::<(), sea_orm_tenancy::TenancyError>(())
//! ```

mod admin;
pub(crate) mod cache;
mod ddl;
mod delete;
mod dialect;
mod insert;
mod params;
mod reference;
mod scope;
mod select;
#[cfg(any(feature = "lifecycle", feature = "sharding"))]
pub(crate) mod subtree;
mod update;

use std::ops::ControlFlow;
use std::sync::Arc;

use sea_orm::{DbBackend, Statement};
use sqlparser::ast::{Expr, Query, Statement as Ast, Value, VisitMut, VisitorMut};
use sqlparser::parser::{Parser, ParserOptions};

use self::cache::KeyRef;
use self::dialect::PlaceholderStyle;
pub(crate) use self::dialect::{Backend, TimeoutShape};
use self::params::{MARKER, Markers, Template, build_template, original_marker};
use self::scope::Rewriter;
use crate::{DataKey, MatchMode, Registry, TenancyError};

pub use self::admin::{check_admin, check_admin_unprepared};
pub use self::reference::ReferenceCheck;

/// Rewrites a prepared statement for the tenant `key`.
///
/// Fails with [`TenancyError::UnsupportedStatement`] for SQL it does not understand or
/// refuses (DDL, `SET`, `PRAGMA`, several statements, …), [`TenancyError::UnknownTable`]
/// for a table nobody classified, and [`TenancyError::InvalidTenantAccess`] for a write
/// of a DataKey outside the tenant or to a read-only table.
///
/// ```
/// use sea_orm::{DbBackend, Statement};
/// use sea_orm_tenancy::{DataKey, MatchMode, Registry, TenancyError, rewrite::rewrite};
///
/// let registry = Registry::builder().tenanted("invoice", "data_key").build();
/// let key = DataKey::new("1.")?;
/// let stmt = Statement::from_string(DbBackend::Sqlite, "DROP TABLE invoice");
/// assert!(matches!(
///     rewrite(stmt, &key, MatchMode::Prefix, &registry),
///     Err(TenancyError::UnsupportedStatement { .. })
/// ));
/// # Ok::<(), TenancyError>(())
/// ```
pub fn rewrite(
    statement: Statement,
    key: &DataKey,
    mode: MatchMode,
    registry: &Registry,
) -> Result<Statement, TenancyError> {
    let out = rewrite_checked(statement, key, mode, registry)?;
    refuse_unchecked(&out.reference_checks, key)?;
    Ok(out.statement)
}

/// A rewritten statement, and the checks to run before it: one per foreign key it
/// writes into rows of a tenanted table (see [`ReferenceCheck`]).
///
/// ```
/// use sea_orm::{DbBackend, Statement};
/// use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::rewrite_checked};
///
/// let registry = Registry::builder().tenanted("invoice", "data_key").build();
/// let stmt = Statement::from_string(DbBackend::Sqlite, "DELETE FROM invoice");
/// let out = rewrite_checked(stmt, &DataKey::new("1.")?, MatchMode::Exact, &registry)?;
/// assert!(out.reference_checks.is_empty());
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Rewritten<S> {
    /// The statement to run: a [`Statement`], or SQL text for
    /// [`rewrite_unprepared_checked`].
    pub statement: S,
    /// Run each before the statement; a row back from any fails the write with its
    /// [`ReferenceCheck::violation`].
    pub reference_checks: Vec<ReferenceCheck>,
    /// What kind of statement it is.
    pub kind: StatementKind,
    /// The registered tables it names, comma-separated, in the order met (empty for
    /// an allowed schema change).
    pub tables: Arc<str>,
}

/// What a statement does, as a [`TenantConnection`](crate::TenantConnection) reports it
/// in its spans and metrics.
///
/// ```
/// use sea_orm::{DbBackend, Statement};
/// use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::{StatementKind, rewrite_checked}};
///
/// let registry = Registry::builder().tenanted("invoice", "data_key").build();
/// let stmt = Statement::from_string(DbBackend::Sqlite, "DELETE FROM invoice");
/// let out = rewrite_checked(stmt, &DataKey::new("1.")?, MatchMode::Exact, &registry)?;
/// assert_eq!(out.kind, StatementKind::Delete);
/// assert_eq!(out.kind.as_str(), "delete");
/// assert_eq!(&*out.tables, "invoice");
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatementKind {
    /// A query.
    Select,
    /// An insert (or upsert).
    Insert,
    /// An update.
    Update,
    /// A delete.
    Delete,
    /// A schema change a registry allows.
    Schema,
    /// Several statements sent together without parameters.
    Batch,
}

impl StatementKind {
    /// Every kind, in the order of [`StatementKind::index`].
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) const ALL: [StatementKind; 6] = [
        StatementKind::Select,
        StatementKind::Insert,
        StatementKind::Update,
        StatementKind::Delete,
        StatementKind::Schema,
        StatementKind::Batch,
    ];

    /// The lower-case name: `select`, `insert`, `update`, `delete`, `schema`, `batch`.
    ///
    /// ```
    /// use sea_orm_tenancy::rewrite::StatementKind;
    /// assert_eq!(StatementKind::Insert.as_str(), "insert");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            StatementKind::Select => "select",
            StatementKind::Insert => "insert",
            StatementKind::Update => "update",
            StatementKind::Delete => "delete",
            StatementKind::Schema => "schema",
            StatementKind::Batch => "batch",
        }
    }

    /// Its position in [`StatementKind::ALL`].
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn of(statements: &[Ast]) -> StatementKind {
        match statements {
            [Ast::Query(_)] => StatementKind::Select,
            [Ast::Insert(_)] => StatementKind::Insert,
            [Ast::Update(_)] => StatementKind::Update,
            [Ast::Delete(_)] => StatementKind::Delete,
            _ => StatementKind::Batch,
        }
    }
}

impl std::fmt::Display for StatementKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rewrites a prepared statement for the tenant `key`, like [`rewrite`], and returns
/// the reference checks that must run before it. This is what a
/// [`TenantConnection`](crate::TenantConnection) calls.
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
///     DbBackend::Postgres,
///     r#"UPDATE "line" SET "invoice_id" = $1 WHERE "id" = $2"#,
///     [9.into(), 3.into()],
/// );
/// let out = rewrite_checked(stmt, &DataKey::new("1.")?, MatchMode::Prefix, &registry)?;
/// assert_eq!(out.reference_checks.len(), 1);
/// assert_eq!(out.reference_checks[0].statement.values.as_ref().unwrap().0[0], 9.into());
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
pub fn rewrite_checked(
    statement: Statement,
    key: &DataKey,
    mode: MatchMode,
    registry: &Registry,
) -> Result<Rewritten<Statement>, TenancyError> {
    let backend = Backend::from_db(statement.db_backend);
    let template = template(backend, mode, &statement.sql, key, registry, false)?;
    let values = statement
        .values
        .as_ref()
        .map_or(&[][..], |v| v.0.as_slice());
    let reference_checks =
        reference_checks(&template, statement.db_backend, values, key, mode, registry)?;
    let (sql, values) = template.bind(statement.values, key, mode)?;
    Ok(Rewritten {
        statement: Statement {
            sql,
            values,
            db_backend: statement.db_backend,
        },
        reference_checks,
        kind: template.kind,
        tables: template.tables.clone(),
    })
}

/// [`rewrite`] for the check queries themselves, which write nothing.
pub(crate) fn rewrite_plain(
    statement: Statement,
    key: &DataKey,
    mode: MatchMode,
    registry: &Registry,
) -> Result<Statement, TenancyError> {
    let backend = Backend::from_db(statement.db_backend);
    let template = template(backend, mode, &statement.sql, key, registry, false)?;
    refuse_unchecked(&template.references, key)?;
    let (sql, values) = template.bind(statement.values, key, mode)?;
    Ok(Statement {
        sql,
        values,
        db_backend: statement.db_backend,
    })
}

fn reference_checks(
    template: &Template,
    db: DbBackend,
    values: &[sea_orm::Value],
    key: &DataKey,
    mode: MatchMode,
    registry: &Registry,
) -> Result<Vec<ReferenceCheck>, TenancyError> {
    let mut out = Vec::new();
    for r in &template.references {
        out.extend(r.statements(db, values, key, mode, registry)?);
    }
    Ok(out)
}

/// The plain functions cannot hand the checks back: a statement that needs them is
/// refused rather than returned unchecked.
fn refuse_unchecked<T>(checks: &[T], key: &DataKey) -> Result<(), TenancyError> {
    if checks.is_empty() {
        Ok(())
    } else {
        Err(TenancyError::UnsupportedStatement {
            tenant: key.to_string(),
            reason: "the statement writes a foreign key into a tenanted table, which must be checked first: use `rewrite_checked` (a TenantConnection does)".to_owned(),
        })
    }
}

/// Rewrites SQL sent without parameters (`execute_unprepared`). It may hold several
/// statements; each is rewritten, and the DataKey is written as an escaped literal.
///
/// ```
/// use sea_orm::DbBackend;
/// use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::rewrite_unprepared};
///
/// let registry = Registry::builder().tenanted("invoice", "data_key").build();
/// let key = DataKey::new("7.")?;
/// let sql = rewrite_unprepared(
///     "DELETE FROM invoice",
///     DbBackend::Sqlite,
///     &key,
///     MatchMode::Exact,
///     &registry,
/// )?;
/// assert_eq!(sql, "DELETE FROM invoice WHERE invoice.\"data_key\" COLLATE BINARY = '7.'");
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
pub fn rewrite_unprepared(
    sql: &str,
    backend: DbBackend,
    key: &DataKey,
    mode: MatchMode,
    registry: &Registry,
) -> Result<String, TenancyError> {
    let out = rewrite_unprepared_checked(sql, backend, key, mode, registry)?;
    refuse_unchecked(&out.reference_checks, key)?;
    Ok(out.statement)
}

/// [`rewrite_unprepared`], with the reference checks to run first (see
/// [`rewrite_checked`]).
///
/// ```
/// use sea_orm::DbBackend;
/// use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::rewrite_unprepared_checked};
///
/// let registry = Registry::builder()
///     .tenanted("invoice", "data_key")
///     .tenanted("line", "data_key")
///     .reference("line", &["invoice_id"], "invoice", &["id"])
///     .build();
/// let key = DataKey::new("7.")?;
/// let out = rewrite_unprepared_checked(
///     "UPDATE line SET invoice_id = 4",
///     DbBackend::Sqlite,
///     &key,
///     MatchMode::Exact,
///     &registry,
/// )?;
/// assert!(out.reference_checks[0].statement.sql.contains(r#""invoice"."id" = 4"#));
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
pub fn rewrite_unprepared_checked(
    sql: &str,
    backend: DbBackend,
    key: &DataKey,
    mode: MatchMode,
    registry: &Registry,
) -> Result<Rewritten<String>, TenancyError> {
    let b = Backend::from_db(backend);
    let template = template(b, mode, sql, key, registry, true)?;
    let reference_checks = reference_checks(&template, backend, &[], key, mode, registry)?;
    Ok(Rewritten {
        statement: template.render_unprepared(key, mode)?,
        reference_checks,
        kind: template.kind,
        tables: template.tables.clone(),
    })
}

fn flavour(backend: Backend, mode: MatchMode, unprepared: bool) -> u8 {
    let b = match backend {
        Backend::Postgres => 0,
        Backend::MySql => 1,
        Backend::Sqlite => 2,
    };
    let m = match mode {
        MatchMode::Prefix => 0,
        MatchMode::Exact => 4,
        MatchMode::Distributed => 16,
    };
    b | m | if unprepared { 8 } else { 0 }
}

pub(crate) fn template(
    backend: Backend,
    mode: MatchMode,
    sql: &str,
    key: &DataKey,
    registry: &Registry,
    unprepared: bool,
) -> Result<Arc<Template>, TenancyError> {
    let cache_key = KeyRef {
        flavour: flavour(backend, mode, unprepared),
        sql,
    };
    if let Some(t) = registry.cache.get(cache_key) {
        return Ok(t);
    }
    let t = Arc::new(build(backend, mode, sql, key, registry, unprepared)?);
    registry.cache.insert(cache_key, t.clone());
    Ok(t)
}

fn build(
    backend: Backend,
    mode: MatchMode,
    sql: &str,
    key: &DataKey,
    registry: &Registry,
    unprepared: bool,
) -> Result<Template, TenancyError> {
    let unsupported = |reason: String| TenancyError::UnsupportedStatement {
        tenant: key.to_string(),
        reason,
    };
    if sql.contains(MARKER) {
        return Err(unsupported(format!("the text `{MARKER}` is reserved")));
    }
    if ddl::allowed_schema_change(backend, sql, registry, key)? {
        return build_template(backend, sql, &Markers::default(), 0, Vec::new(), unprepared)
            .map_err(unsupported);
    }
    let (mut statements, share_lock) = parse_statements(backend, sql).map_err(|e| match e {
        ParseFailure::Refused(why) => unsupported(why.to_owned()),
        ParseFailure::Parser(e) => {
            let hint = backend
                .parse_hint(sql)
                .map(|h| format!(": {h}"))
                .unwrap_or_default();
            unsupported(format!("the SQL does not parse ({e}){hint}"))
        }
    })?;
    match (statements.len(), unprepared) {
        (0, _) => return Err(unsupported("no statement".to_owned())),
        (1, _) | (_, true) => {}
        (n, false) => {
            return Err(unsupported(format!(
                "{n} statements in one prepared statement; send one at a time"
            )));
        }
    }
    for s in &statements {
        if !matches!(
            s,
            Ast::Query(_) | Ast::Insert(_) | Ast::Update(_) | Ast::Delete(_)
        ) {
            return Err(unsupported(format!(
                "`{}` statements are refused on a tenant connection",
                statement_kind(s)
            )));
        }
    }
    if share_lock && !matches!(statements.as_slice(), [Ast::Query(_)]) {
        return Err(unsupported(
            "`LOCK IN SHARE MODE` must end a single SELECT".to_owned(),
        ));
    }
    let originals = mark_originals(backend, &mut statements).map_err(unsupported)?;
    let mut rewriter = Rewriter::new(backend, registry, mode, key);
    for s in &mut statements {
        if let ControlFlow::Break(e) = s.visit(&mut rewriter) {
            return Err(e);
        }
    }
    let mut rendered = statements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    // What runs is this text, read by the server. Unless it reads back as exactly the
    // statement analysed (parse → render is a fixpoint), the server could see another
    // statement (a type modifier rendered without its quotes can open a comment), so it
    // is refused.
    let reads_back = parse_statements(backend, &rendered).is_ok_and(|(again, _)| {
        again
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
            == rendered
    });
    if !reads_back {
        return Err(unsupported(
            "the rewritten statement does not read back as the statement analysed".to_owned(),
        ));
    }
    if let (true, Some(clause)) = (share_lock, backend.unparsed_trailing_clause()) {
        rendered.push(' ');
        rendered.push_str(&clause.join(" "));
    }
    let kind = StatementKind::of(&statements);
    let tables: Arc<str> = Arc::from(rewriter.touched.take().join(","));
    build_template(
        backend,
        &rendered,
        &rewriter.markers,
        originals,
        rewriter.checks,
        unprepared,
    )
    .map(|mut t| {
        t.references = rewriter.references;
        t.kind = kind;
        t.tables = tables;
        t
    })
    .map_err(unsupported)
}

/// Parses the statement(s) to rewrite. A trailing clause that `sqlparser` cannot read
/// but the backend needs (MySQL's `LOCK IN SHARE MODE`, what sea-query renders for
/// `lock_shared()`, and the only shared-lock syntax MariaDB accepts) is taken off the
/// end before parsing; the returned flag says to append it to the rendered SQL.
fn parse_statements(backend: Backend, sql: &str) -> Result<(Vec<Ast>, bool), ParseFailure> {
    use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
    let mut tokens = Tokenizer::new(backend.parser_dialect(), sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| ParseFailure::Parser(e.into()))?;
    for t in &tokens {
        if let Token::Whitespace(Whitespace::MultiLineComment(text)) = &t.token
            && let Some(why) = backend.refused_comment(text)
        {
            return Err(ParseFailure::Refused(why));
        }
    }
    let mut share_lock = false;
    if let Some(clause) = backend.unparsed_trailing_clause() {
        let significant: Vec<usize> = (0..tokens.len())
            .filter(|i| !matches!(tokens[*i].token, Token::Whitespace(_)))
            .collect();
        if significant.len() >= clause.len() {
            let tail = &significant[significant.len() - clause.len()..];
            let matches_clause = tail.iter().zip(clause).all(|(i, word)| {
                matches!(&tokens[*i].token, Token::Word(w)
                    if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
            });
            if let (true, Some(first)) = (matches_clause, tail.first()) {
                tokens.truncate(*first);
                share_lock = true;
            }
        }
    }
    let statements = Parser::new(backend.parser_dialect())
        .with_options(ParserOptions::new().with_unescape(false))
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(ParseFailure::Parser)?;
    Ok((statements, share_lock))
}

/// Why [`parse_statements`] gave up.
enum ParseFailure {
    /// The parser could not read the SQL.
    Parser(sqlparser::parser::ParserError),
    /// The SQL holds something refused before parsing.
    Refused(&'static str),
}

fn parse(backend: Backend, sql: &str) -> Result<Vec<Ast>, sqlparser::parser::ParserError> {
    Parser::new(backend.parser_dialect())
        .with_options(ParserOptions::new().with_unescape(false))
        .try_with_sql(sql)?
        .parse_statements()
}

/// Parses a fixed query used as a building block.
pub(crate) fn parse_query_template(backend: Backend, sql: &str) -> Option<Query> {
    match parse(backend, sql).ok()?.pop()? {
        Ast::Query(q) => Some(*q),
        _ => None,
    }
}

/// Parses a fixed expression used as a building block.
pub(crate) fn parse_expr_template(backend: Backend, sql: &str) -> Option<Expr> {
    Parser::new(backend.parser_dialect())
        .try_with_sql(sql)
        .ok()?
        .parse_expr()
        .ok()
}

/// The index of the original value bound to placeholder `text`, after
/// [`mark_originals`] ran.
pub(crate) fn original_index(backend: Backend, text: &str) -> Option<usize> {
    match backend.placeholder_style() {
        PlaceholderStyle::Numbered => backend
            .original_placeholder_number(text)
            .flatten()
            .map(|n| n - 1),
        PlaceholderStyle::Positional => text
            .strip_prefix(MARKER)
            .and_then(|t| t.strip_prefix('o'))
            .and_then(|t| t.strip_suffix("__"))
            .and_then(|n| n.parse().ok()),
    }
}

/// Checks the original placeholders and, on positional backends, renames each to a
/// marker carrying its rank in the original text. Returns how many values are bound.
fn mark_originals(backend: Backend, statements: &mut [Ast]) -> Result<usize, String> {
    struct Collect {
        backend: Backend,
        found: Vec<(sqlparser::tokenizer::Location, String)>,
        bad: Option<String>,
        too_high: Option<String>,
        max_number: usize,
    }
    impl VisitorMut for Collect {
        type Break = ();
        fn pre_visit_value(
            &mut self,
            value: &mut sqlparser::ast::ValueWithSpan,
        ) -> ControlFlow<()> {
            if let Value::Placeholder(p) = &value.value {
                match self.backend.original_placeholder_number(p) {
                    Some(Some(n)) if n > Backend::MAX_PARAMETERS => {
                        self.too_high = Some(p.clone());
                    }
                    Some(Some(n)) => self.max_number = self.max_number.max(n),
                    Some(None) => self.found.push((value.span.start, p.clone())),
                    None => self.bad = Some(p.clone()),
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut c = Collect {
        backend,
        found: Vec::new(),
        bad: None,
        too_high: None,
        max_number: 0,
    };
    for s in statements.iter_mut() {
        let _ = s.visit(&mut c);
    }
    if let Some(bad) = c.bad {
        return Err(format!(
            "placeholder `{bad}` is not supported on this backend"
        ));
    }
    if let Some(high) = c.too_high {
        return Err(format!(
            "placeholder `{high}` is numbered beyond the {} values a statement can bind",
            Backend::MAX_PARAMETERS
        ));
    }
    if backend.placeholder_style() == PlaceholderStyle::Numbered {
        return Ok(c.max_number);
    }
    let mut order: Vec<(sqlparser::tokenizer::Location, usize)> = c
        .found
        .iter()
        .enumerate()
        .map(|(i, (loc, _))| (*loc, i))
        .collect();
    order.sort_by_key(|(loc, _)| (loc.line, loc.column));
    if order.windows(2).any(|w| w[0].0 == w[1].0) || order.iter().any(|(l, _)| l.line == 0) {
        return Err("cannot tell the placeholders apart".to_owned());
    }
    // rank[visit index] = rank in the text
    let mut rank = vec![0usize; order.len()];
    for (r, (_, visit_index)) in order.iter().enumerate() {
        rank[*visit_index] = r;
    }
    struct Rename {
        rank: Vec<usize>,
        next: usize,
    }
    impl VisitorMut for Rename {
        type Break = ();
        fn pre_visit_value(
            &mut self,
            value: &mut sqlparser::ast::ValueWithSpan,
        ) -> ControlFlow<()> {
            if let Value::Placeholder(p) = &mut value.value
                && p == "?"
            {
                let Some(rank) = self.rank.get(self.next) else {
                    return ControlFlow::Break(());
                };
                *p = original_marker(*rank);
                self.next += 1;
            }
            ControlFlow::Continue(())
        }
    }
    let count = rank.len();
    let mut r = Rename { rank, next: 0 };
    for s in statements.iter_mut() {
        if s.visit(&mut r).is_break() {
            return Err("cannot tell the placeholders apart".to_owned());
        }
    }
    Ok(count)
}

/// A short name for a statement's kind, for messages.
pub(crate) fn statement_kind(statement: &Ast) -> String {
    let text = statement.to_string();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("?").to_ascii_uppercase();
    match first.as_str() {
        "CREATE" | "ALTER" | "DROP" => {
            format!(
                "{first} {}",
                words.next().unwrap_or("").to_ascii_uppercase()
            )
        }
        _ => first,
    }
}
