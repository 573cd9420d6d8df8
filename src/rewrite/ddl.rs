//! Schema changes, where a registry allows them
//! ([`RegistryBuilder::allow_schema_changes`](crate::RegistryBuilder::allow_schema_changes)).
//!
//! A schema change is accepted only when it is one statement, starts with `CREATE`,
//! `ALTER` or `DROP`, and no word of it names a tenanted, read-only or conflicting table:
//! not as the table changed, a column, a foreign key target, or the query of a view. The
//! check is on tokens, so it also covers statements the SQL parser cannot read, which are
//! then sent exactly as written.

use sqlparser::tokenizer::{Token, Tokenizer};

use super::dialect::Backend;
use crate::registry::{Registry, Resolved};
use crate::{DataKey, TenancyError};

const SCHEMA_VERBS: &[&str] = &["CREATE", "ALTER", "DROP"];

/// Whether `sql` is a schema change this registry lets through; `Err` when it is a
/// schema change that touches a protected table.
pub(crate) fn allowed_schema_change(
    backend: Backend,
    sql: &str,
    registry: &Registry,
    key: &DataKey,
) -> Result<bool, TenancyError> {
    if !registry.allows_schema_changes() {
        return Ok(false);
    }
    let Ok(tokens) = Tokenizer::new(backend.parser_dialect(), sql)
        .with_unescape(false)
        .tokenize()
    else {
        return Ok(false);
    };
    let mut words = tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_)));
    let Some(Token::Word(first)) = words.next() else {
        return Ok(false);
    };
    if first.quote_style.is_some()
        || !SCHEMA_VERBS
            .iter()
            .any(|v| first.value.eq_ignore_ascii_case(v))
    {
        return Ok(false);
    }
    let refuse = |reason: String| TenancyError::UnsupportedStatement {
        tenant: key.to_string(),
        reason,
    };
    let significant: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let semicolons = significant
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Token::SemiColon))
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    if semicolons.iter().any(|i| *i + 1 != significant.len()) {
        return Err(refuse(
            "a schema change must be a single statement".to_owned(),
        ));
    }
    for t in &significant {
        if let Token::Word(w) = t {
            match registry.resolve(None, &w.value) {
                Resolved::Tenanted(_) => {
                    return Err(refuse(format!(
                        "schema change naming tenanted table `{}`",
                        w.value
                    )));
                }
                Resolved::Universal { read_only: true } => {
                    return Err(refuse(format!(
                        "schema change naming read-only table `{}`",
                        w.value
                    )));
                }
                Resolved::Conflict(why) => return Err(refuse(why)),
                Resolved::Universal { read_only: false } | Resolved::Unknown => {}
            }
        }
    }
    Ok(true)
}
