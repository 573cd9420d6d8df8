//! Statements over a whole subtree of tenants, for the admin's lifecycle operations
//! ([`TenantAdmin`](crate::lifecycle::TenantAdmin)): select, delete and re-key every row
//! whose DataKey lies under a key. Pure builders: the SQL and its values, no I/O.
//!
//! The subtree is the same byte range the tenant predicate uses, compared bytewise
//! ([`Backend::compare_bytewise`]), so a case-insensitive column cannot widen it.

use sea_orm::{DbBackend, Statement, Value};
use sqlparser::ast::{BinaryOperator, Expr};

use super::dialect::Backend;
use crate::DataKey;

/// A table and its DataKey column, as the registry knows them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyedTable<'a> {
    pub(crate) schema: Option<&'a str>,
    pub(crate) table: &'a str,
    pub(crate) column: &'a str,
}

impl KeyedTable<'_> {
    fn name(&self, b: Backend) -> String {
        match self.schema {
            Some(s) => format!("{}.{}", b.ident(s), b.ident(self.table)),
            None => b.ident(self.table).to_string(),
        }
    }

    fn qualified_column(&self, b: Backend) -> Expr {
        let mut parts = Vec::new();
        if let Some(s) = self.schema {
            parts.push(b.ident(s));
        }
        parts.push(b.ident(self.table));
        parts.push(b.ident(self.column));
        Expr::CompoundIdentifier(parts)
    }
}

/// `<col> >= $first AND <col> < $first+1`, bytewise, and its two values.
fn in_subtree(b: Backend, t: KeyedTable<'_>, key: &DataKey, first: usize) -> (String, [Value; 2]) {
    let placeholder = |n| Expr::value(sqlparser::ast::Value::Placeholder(b.placeholder(n)));
    let lower = b.compare_bytewise(
        t.qualified_column(b),
        BinaryOperator::GtEq,
        placeholder(first),
    );
    let upper = b.compare_bytewise(
        t.qualified_column(b),
        BinaryOperator::Lt,
        placeholder(first + 1),
    );
    (
        format!("{lower} AND {upper}"),
        [key.as_str().into(), key.upper_bound().into()],
    )
}

/// `DELETE FROM t WHERE <t.col in key's subtree>`.
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub(crate) fn delete(db: DbBackend, t: KeyedTable<'_>, key: &DataKey) -> Statement {
    let b = Backend::from_db(db);
    let (pred, values) = in_subtree(b, t, key, 1);
    Statement::from_sql_and_values(
        db,
        format!("DELETE FROM {} WHERE {pred}", t.name(b)),
        values,
    )
}

/// `UPDATE t SET col = <to> || SUBSTR(col, len(from) + 1) WHERE <t.col in from's subtree>`:
/// every DataKey under `from` moves under `to`, keeping the rest of its path.
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub(crate) fn rekey(db: DbBackend, t: KeyedTable<'_>, from: &DataKey, to: &DataKey) -> Statement {
    let b = Backend::from_db(db);
    let column = b.ident(t.column);
    let value = b.concat(
        &b.placeholder(1),
        &format!("SUBSTR({column}, {})", b.placeholder(2)),
    );
    let (pred, [lower, upper]) = in_subtree(b, t, from, 3);
    // A DataKey is at most 255 bytes: the position fits an `int` (PostgreSQL has no
    // `substr(text, bigint)`).
    let rest_from = i32::try_from(from.as_str().len() + 1).unwrap_or(i32::MAX);
    Statement::from_sql_and_values(
        db,
        format!("UPDATE {} SET {column} = {value} WHERE {pred}", t.name(b)),
        [to.as_str().into(), rest_from.into(), lower, upper],
    )
}

/// `SELECT <columns> FROM t WHERE <t.col in key's subtree> ORDER BY col`.
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub(crate) fn select(db: DbBackend, t: KeyedTable<'_>, columns: &str, key: &DataKey) -> Statement {
    let b = Backend::from_db(db);
    let (pred, values) = in_subtree(b, t, key, 1);
    Statement::from_sql_and_values(
        db,
        format!(
            "SELECT {columns} FROM {} WHERE {pred} ORDER BY {}",
            t.name(b),
            t.qualified_column(b)
        ),
        values,
    )
}

/// `SELECT * FROM t WHERE <t.col in key's subtree> ORDER BY <order> LIMIT n OFFSET m`:
/// one page of the subtree's rows, for copies between shards.
#[cfg_attr(not(feature = "sharding"), allow(dead_code))]
pub(crate) fn page(
    db: DbBackend,
    t: KeyedTable<'_>,
    order: &[String],
    key: &DataKey,
    offset: u64,
    limit: u64,
) -> Statement {
    let b = Backend::from_db(db);
    let (pred, values) = in_subtree(b, t, key, 1);
    let order: Vec<String> = order.iter().map(|c| b.ident(c).to_string()).collect();
    Statement::from_sql_and_values(
        db,
        format!(
            "SELECT * FROM {} WHERE {pred} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            t.name(b),
            order.join(", ")
        ),
        values,
    )
}

/// `SELECT 1 FROM t WHERE <t.col in key's subtree> LIMIT 1`: whether the subtree has rows.
#[cfg_attr(not(feature = "sharding"), allow(dead_code))]
pub(crate) fn any(db: DbBackend, t: KeyedTable<'_>, key: &DataKey) -> Statement {
    let b = Backend::from_db(db);
    let (pred, values) = in_subtree(b, t, key, 1);
    Statement::from_sql_and_values(
        db,
        format!("SELECT 1 FROM {} WHERE {pred} LIMIT 1", t.name(b)),
        values,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: KeyedTable<'static> = KeyedTable {
        schema: None,
        table: "invoice",
        column: "data_key",
    };

    fn key(k: &str) -> DataKey {
        DataKey::new(k).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_rekey_keeps_the_path_below_the_moved_tenant() {
        let s = rekey(DbBackend::Postgres, T, &key("1.2."), &key("3.5."));
        assert_eq!(
            s.sql,
            r#"UPDATE "invoice" SET "data_key" = $1 || SUBSTR("data_key", $2) WHERE "invoice"."data_key" COLLATE "C" >= $3 AND "invoice"."data_key" COLLATE "C" < $4"#
        );
        assert_eq!(
            s.values.map(|v| v.0),
            Some(vec![
                "3.5.".into(),
                5i32.into(),
                "1.2.".into(),
                "1.2/".into()
            ])
        );
        let s = rekey(DbBackend::MySql, T, &key("1.2."), &key("3.5."));
        assert_eq!(
            s.sql,
            "UPDATE `invoice` SET `data_key` = CONCAT(?, SUBSTR(`data_key`, ?)) WHERE `invoice`.`data_key` >= ? COLLATE utf8mb4_bin AND `invoice`.`data_key` < ? COLLATE utf8mb4_bin"
        );
    }

    #[test]
    fn a_subtree_delete_is_the_bytewise_range_of_the_key() {
        let s = delete(DbBackend::Sqlite, T, &key("7."));
        assert_eq!(
            s.sql,
            r#"DELETE FROM "invoice" WHERE "invoice"."data_key" COLLATE BINARY >= ? AND "invoice"."data_key" COLLATE BINARY < ?"#
        );
        assert_eq!(s.values.map(|v| v.0), Some(vec!["7.".into(), "7/".into()]));
    }
}
