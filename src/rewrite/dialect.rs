//! Every difference between the backends lives here, and only here: the parser dialect,
//! placeholders, identifier quoting, the byte-order collation of the DataKey column,
//! string literals and the functions refused on each backend.

use sea_orm::DbBackend;
use sqlparser::ast::{BinaryOperator, Expr, Ident, ObjectName};
use sqlparser::dialect::{
    Dialect as ParserDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect,
};

/// The backend a statement is rewritten for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Backend {
    Postgres,
    MySql,
    Sqlite,
}

/// How bound parameters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaceholderStyle {
    /// `$1`, `$2`, … numbered; values are bound by number.
    Numbered,
    /// `?`; values are bound in the order the placeholders appear in the text.
    Positional,
}

static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
static MYSQL: MySqlDialect = MySqlDialect {};
static SQLITE: SQLiteDialect = SQLiteDialect {};

/// Name prefixes of refused function families (see [`Backend::refuses_function`]).
const REFUSED_FUNCTION_PREFIXES: &[&str] = &[
    "ts_stat",
    "ts_rewrite",
    "dblink",
    "pg_read_",
    "pg_ls_",
    "lo_",
    "pg_stat_statements",
    "pg_file_",
];

/// Functions that read or write outside the statement's tables, or run SQL text, on any
/// backend. A statement calling one is refused, whichever backend it targets.
const REFUSED_FUNCTIONS: &[&str] = &[
    // PostgreSQL: run SQL held in a string, or reach files, other databases, settings.
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "query_to_xmlschema",
    "cursor_to_xml",
    "table_to_xml",
    "table_to_xml_and_xmlschema",
    "database_to_xml",
    "schema_to_xml",
    "dblink",
    "dblink_exec",
    "dblink_open",
    "dblink_fetch",
    "set_config",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "lo_import",
    "lo_export",
    "lo_get",
    "lo_put",
    "pg_terminate_backend",
    "pg_cancel_backend",
    // MySQL / MariaDB.
    "load_file",
    "sys_exec",
    "sys_eval",
    // SQLite.
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
];

impl Backend {
    pub(crate) fn from_db(backend: DbBackend) -> Backend {
        match backend {
            DbBackend::Postgres => Backend::Postgres,
            DbBackend::MySql => Backend::MySql,
            // `DbBackend` is non-exhaustive; SQLite is the last one known today.
            _ => Backend::Sqlite,
        }
    }

    pub(crate) fn parser_dialect(self) -> &'static dyn ParserDialect {
        match self {
            Backend::Postgres => &POSTGRES,
            Backend::MySql => &MYSQL,
            Backend::Sqlite => &SQLITE,
        }
    }

    pub(crate) fn placeholder_style(self) -> PlaceholderStyle {
        match self {
            Backend::Postgres => PlaceholderStyle::Numbered,
            Backend::MySql | Backend::Sqlite => PlaceholderStyle::Positional,
        }
    }

    /// The text of the `n`-th (1-based) placeholder of a prepared statement.
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self.placeholder_style() {
            PlaceholderStyle::Numbered => format!("${n}"),
            PlaceholderStyle::Positional => "?".to_owned(),
        }
    }

    /// The most values one statement can bind: PostgreSQL's and MySQL's wire protocols
    /// count them in 16 bits. A placeholder numbered higher can never be bound.
    pub(crate) const MAX_PARAMETERS: usize = u16::MAX as usize;

    /// Whether `text` is an original placeholder this backend binds.
    pub(crate) fn original_placeholder_number(self, text: &str) -> Option<Option<usize>> {
        match self.placeholder_style() {
            PlaceholderStyle::Numbered => text
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .map(Some),
            PlaceholderStyle::Positional => (text == "?").then_some(None),
        }
    }

    /// Whether the server reads `name`, unquoted, as one plain identifier. sqlparser is
    /// more lenient (`@app` is a name to it, an operator to PostgreSQL): a tenanted
    /// table's name is written into the predicate, where the server must read it the same.
    pub(crate) fn is_plain_identifier(self, name: &str) -> bool {
        let mut chars = name.chars();
        let Some(first) = chars.next() else {
            return false;
        };
        let start = first.is_alphabetic()
            || first == '_'
            || !first.is_ascii()
            || (self == Backend::MySql && first.is_ascii_digit());
        start && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii())
    }

    /// Whether a name quoted with `quote` is certainly a name. MySQL reads `"x"` as a
    /// string unless `sql_mode` has `ANSI_QUOTES`, while sqlparser reads it as a name: a
    /// tenanted table's name so quoted is refused there.
    pub(crate) fn is_name_quote(self, quote: char) -> bool {
        match self {
            Backend::MySql => quote == '`',
            Backend::Postgres => quote == '"',
            Backend::Sqlite => quote == '"' || quote == '`' || quote == '[',
        }
    }

    /// A quoted identifier.
    pub(crate) fn ident(self, name: &str) -> Ident {
        match self {
            Backend::MySql => Ident::with_quote('`', name),
            Backend::Postgres | Backend::Sqlite => Ident::with_quote('"', name),
        }
    }

    /// `column op value`, compared bytewise. Prefix matching is a range in byte order
    /// (`key <= column < upper_bound`), so the comparison must not use a case- or
    /// punctuation-insensitive collation; equality neither, or `a.` would match `A.`.
    ///
    /// PostgreSQL and SQLite take the collation on the column (`col COLLATE "C" >= $1`).
    /// MariaDB/MySQL take it on the value (`col >= ? COLLATE utf8mb4_bin`): an explicit
    /// collation on either side decides the comparison, but MariaDB only serves it from
    /// the column's index when the column is left bare. With the column itself in that
    /// collation (C, `utf8mb4_bin`, BINARY) the index serves the predicate.
    pub(crate) fn compare_bytewise(self, column: Expr, op: BinaryOperator, value: Expr) -> Expr {
        let collate = |expr: Expr| {
            let collation = match self {
                Backend::Postgres => Ident::with_quote('"', "C"),
                Backend::MySql => Ident::new("utf8mb4_bin"),
                Backend::Sqlite => Ident::new("BINARY"),
            };
            Expr::Collate {
                expr: Box::new(expr),
                collation: ObjectName::from(vec![collation]),
            }
        };
        let (left, right) = match self {
            Backend::MySql => (column, collate(value)),
            Backend::Postgres | Backend::Sqlite => (collate(column), value),
        };
        Expr::BinaryOp {
            left: Box::new(left),
            op,
            right: Box::new(right),
        }
    }

    /// The tenant equality of [`MatchMode::Distributed`](crate::MatchMode::Distributed).
    /// On PostgreSQL a plain `col = $n`: Citus prunes shards on the bare distribution
    /// column, and equality under a deterministic collation is bytewise (the DataKey
    /// columns `TenantedTable` makes are `COLLATE "C"`, and the verifier reports any
    /// other). MariaDB/MySQL and SQLite, where no distributed engine needs the bare
    /// column and a case-insensitive default is common, keep the bytewise comparison.
    pub(crate) fn distributed_equality(self, column: Expr, value: Expr) -> Expr {
        match self {
            Backend::Postgres => Expr::BinaryOp {
                left: Box::new(column),
                op: BinaryOperator::Eq,
                right: Box::new(value),
            },
            Backend::MySql | Backend::Sqlite => {
                self.compare_bytewise(column, BinaryOperator::Eq, value)
            }
        }
    }

    /// The SQL of `left` followed by `right`, as text: `||` is logical OR on MySQL
    /// (without `PIPES_AS_CONCAT`), so it is `CONCAT(left, right)` there.
    #[cfg(any(feature = "lifecycle", feature = "sharding"))]
    #[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
    pub(crate) fn concat(self, left: &str, right: &str) -> String {
        match self {
            Backend::MySql => format!("CONCAT({left}, {right})"),
            Backend::Postgres | Backend::Sqlite => format!("{left} || {right}"),
        }
    }

    /// `value` as a string literal, for statements sent without parameters.
    pub(crate) fn string_literal(self, value: &str) -> String {
        let mut out = String::with_capacity(value.len() + 2);
        out.push('\'');
        for c in value.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' if self == Backend::MySql => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    /// Whether calling the function `name` is refused: the list above, and whole
    /// families that dump tables or run SQL text (`*_to_xml*`, `ts_stat`, `ts_rewrite`,
    /// `dblink*`, `pg_read_*`, `pg_ls_*`, `lo_*`, `pg_stat_statements*`).
    pub(crate) fn refuses_function(self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        REFUSED_FUNCTIONS.contains(&lower.as_str())
            || lower.contains("_to_xml")
            || REFUSED_FUNCTION_PREFIXES
                .iter()
                .any(|p| lower.starts_with(p))
    }

    /// Whether an unquoted or quoted `reference` certainly names the CTE `declared`, as
    /// this backend resolves names. When unsure the answer is no, so the reference is
    /// treated as the real table and restricted (or refused), never left open.
    /// PostgreSQL folds unquoted names to lower case and keeps quoted ones exact; SQLite
    /// compares names without regard to case, quoted or not; MySQL is taken as exact.
    pub(crate) fn same_name(self, declared: &Ident, reference: &Ident) -> bool {
        match self {
            Backend::Postgres => {
                let fold = |i: &Ident| match i.quote_style {
                    Some(_) => i.value.clone(),
                    None => i.value.to_lowercase(),
                };
                fold(declared) == fold(reference)
            }
            Backend::Sqlite => declared.value.eq_ignore_ascii_case(&reference.value),
            Backend::MySql => declared.value == reference.value,
        }
    }

    /// Whether an unqualified column assigned in a multi-table UPDATE may belong to any
    /// of its tables (MySQL's `UPDATE a JOIN b SET c = …`), not only to the target.
    pub(crate) fn multi_table_update_assigns_any_table(self) -> bool {
        matches!(self, Backend::MySql)
    }

    /// Why a comment with this text (between `/*` and `*/`) is refused: one the server
    /// would run as SQL and the parser reads as a comment (MariaDB's `/*M!…*/`).
    pub(crate) fn refused_comment(self, text: &str) -> Option<&'static str> {
        match self {
            Backend::MySql if text.starts_with("M!") => Some(
                "MariaDB executable comments (`/*M! … */`) are refused: the server would run what the rewriter cannot see",
            ),
            _ => None,
        }
    }

    /// Whether a table-valued function may appear in FROM: it reads no table.
    pub(crate) fn allows_table_function(self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        match self {
            Backend::Postgres => matches!(
                lower.as_str(),
                "generate_series"
                    | "unnest"
                    | "jsonb_each"
                    | "json_each"
                    | "jsonb_array_elements"
                    | "json_array_elements"
                    | "jsonb_to_recordset"
                    | "json_to_recordset"
            ),
            Backend::Sqlite => matches!(
                lower.as_str(),
                "json_each" | "json_tree" | "generate_series"
            ),
            Backend::MySql => false,
        }
    }

    /// The conditional expression used to guard `ON DUPLICATE KEY UPDATE` assignments.
    pub(crate) fn guarded_assignment(self) -> Option<&'static str> {
        match self {
            Backend::MySql => Some("IF"),
            Backend::Postgres | Backend::Sqlite => None,
        }
    }

    /// A clause that `sqlparser` cannot parse but that may end a single SELECT; it is
    /// taken off before parsing and put back after rendering.
    pub(crate) fn unparsed_trailing_clause(self) -> Option<&'static [&'static str]> {
        match self {
            Backend::MySql => Some(&["LOCK", "IN", "SHARE", "MODE"]),
            Backend::Postgres | Backend::Sqlite => None,
        }
    }

    /// What to tell the user about SQL that does not parse on this backend.
    pub(crate) fn parse_hint(self, sql: &str) -> Option<&'static str> {
        let upper = sql.to_ascii_uppercase();
        let squeezed: String = upper.split_whitespace().collect::<Vec<_>>().join(" ");
        if squeezed.contains("IS ?") || squeezed.contains("IS NOT ?") || squeezed.contains("IS $") {
            return Some(
                "`IS` followed by a bound value (`IS ?`) is not supported; use `IS NULL`, `IS NOT NULL` or `=`",
            );
        }
        match self {
            Backend::MySql if upper.contains("LOCK IN SHARE MODE") => {
                Some("`LOCK IN SHARE MODE` is supported only at the end of a single SELECT")
            }
            _ => None,
        }
    }
}

/// How a per-statement timeout ([`Guardrails`](crate::guard::Guardrails)) is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeoutShape {
    /// PostgreSQL: a transaction-local `statement_timeout`, set when the transaction
    /// opens (a statement outside a transaction gets one of its own).
    TransactionSetting,
    /// MariaDB: `SET STATEMENT max_statement_time=… FOR` before each statement.
    /// (MySQL, which lacks the syntax, refuses it.)
    StatementPrefix,
    /// SQLite: a deadline kept by the client, and an interrupt where the pool has
    /// [`interrupt_at_deadline`](crate::guard::interrupt_at_deadline).
    ClientDeadline,
}

impl Backend {
    pub(crate) fn timeout_shape(self) -> TimeoutShape {
        match self {
            Backend::Postgres => TimeoutShape::TransactionSetting,
            Backend::MySql => TimeoutShape::StatementPrefix,
            Backend::Sqlite => TimeoutShape::ClientDeadline,
        }
    }

    /// What goes before a statement to limit its run to `timeout`
    /// ([`TimeoutShape::StatementPrefix`]): seconds, to the microsecond.
    pub(crate) fn timeout_prefix(self, timeout: std::time::Duration) -> String {
        format!(
            "SET STATEMENT max_statement_time={}.{:06} FOR ",
            timeout.as_secs(),
            timeout.subsec_micros().max(u32::from(timeout.is_zero()))
        )
    }

    /// The statement that opens a tenant's transaction on PostgreSQL: the tenant's key
    /// for row-level security and the statement timeout, both local to the transaction
    /// and bound as parameters. `None` when there is nothing to set.
    pub(crate) fn transaction_settings(
        self,
        rls_key: Option<&str>,
        timeout: Option<std::time::Duration>,
    ) -> Option<sea_orm::Statement> {
        if self != Backend::Postgres {
            return None;
        }
        let mut calls = Vec::new();
        let mut values: Vec<sea_orm::Value> = Vec::new();
        if let Some(key) = rls_key {
            values.push(key.into());
            calls.push(format!(
                "set_config('{}', ${}, true)",
                crate::connection::RLS_SETTING,
                values.len()
            ));
        }
        if let Some(timeout) = timeout {
            // Whole milliseconds, at least one: PostgreSQL reads 0 as "no timeout".
            let ms = timeout.as_millis().max(1);
            values.push(format!("{ms}ms").into());
            calls.push(format!(
                "set_config('statement_timeout', ${}, true)",
                values.len()
            ));
        }
        (!calls.is_empty()).then(|| {
            sea_orm::Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("SELECT {}", calls.join(", ")),
                values,
            )
        })
    }

    /// Whether a database error says the statement ran past its timeout: PostgreSQL's
    /// `57014` from `statement_timeout`, MariaDB's `1969` from `max_statement_time`,
    /// SQLite's interrupt.
    pub(crate) fn is_statement_timeout(self, message: &str) -> bool {
        match self {
            Backend::Postgres => message.contains("canceling statement due to statement timeout"),
            Backend::MySql => {
                message.contains("max_statement_time exceeded") || message.contains("1969 (70100)")
            }
            Backend::Sqlite => message.contains("interrupted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Backend, TimeoutShape};

    #[test]
    fn each_backend_cuts_a_statement_its_own_way() {
        assert_eq!(
            Backend::Postgres.timeout_shape(),
            TimeoutShape::TransactionSetting
        );
        assert_eq!(
            Backend::MySql.timeout_shape(),
            TimeoutShape::StatementPrefix
        );
        assert_eq!(
            Backend::Sqlite.timeout_shape(),
            TimeoutShape::ClientDeadline
        );
    }

    #[test]
    fn the_mariadb_prefix_gives_seconds_to_the_microsecond() {
        assert_eq!(
            Backend::MySql.timeout_prefix(Duration::from_millis(1500)),
            "SET STATEMENT max_statement_time=1.500000 FOR "
        );
        assert_eq!(
            Backend::MySql.timeout_prefix(Duration::from_micros(250)),
            "SET STATEMENT max_statement_time=0.000250 FOR "
        );
        // Zero would mean "no limit" to MariaDB.
        assert_eq!(
            Backend::MySql.timeout_prefix(Duration::ZERO),
            "SET STATEMENT max_statement_time=0.000001 FOR "
        );
    }

    #[test]
    fn postgresql_sets_the_key_and_the_timeout_in_one_statement() {
        let both = Backend::Postgres
            .transaction_settings(Some("1.4."), Some(Duration::from_micros(1500)))
            .expect("a statement");
        assert_eq!(
            both.sql,
            "SELECT set_config('sea_orm_tenancy.data_key', $1, true), set_config('statement_timeout', $2, true)"
        );
        let values = both.values.expect("values").0;
        assert_eq!(values, vec!["1.4.".into(), "1ms".into()]);
        let timeout_only = Backend::Postgres
            .transaction_settings(None, Some(Duration::from_secs(2)))
            .expect("a statement");
        assert_eq!(
            timeout_only.sql,
            "SELECT set_config('statement_timeout', $1, true)"
        );
        assert!(Backend::Postgres.transaction_settings(None, None).is_none());
        assert!(
            Backend::MySql
                .transaction_settings(Some("1."), None)
                .is_none()
        );
    }

    #[test]
    fn timeouts_are_told_from_other_errors() {
        assert!(Backend::Postgres.is_statement_timeout(
            "error returned from database: canceling statement due to statement timeout"
        ));
        assert!(!Backend::Postgres.is_statement_timeout(
            "error returned from database: canceling statement due to user request"
        ));
        assert!(Backend::MySql.is_statement_timeout(
            "error returned from database: 1969 (70100): Query execution was interrupted (max_statement_time exceeded)"
        ));
        assert!(
            Backend::Sqlite
                .is_statement_timeout("error returned from database: (code: 9) interrupted")
        );
        assert!(!Backend::Sqlite.is_statement_timeout("database is locked"));
    }
}
