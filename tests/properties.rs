//! Property tests of the two things every rewrite rests on: that the byte range of a
//! DataKey is exactly its subtree, and that the tenant's values land among the original
//! bound values where the text says they do.
//!
//! Run: `cargo test --test properties`

use proptest::prelude::*;
use sea_orm::{DbBackend, Statement, Value};
use sea_orm_tenancy::rewrite::{rewrite, rewrite_unprepared};
use sea_orm_tenancy::{DataKey, MatchMode, Registry};

fn segment() -> impl Strategy<Value = String> {
    prop::string::string_regex("[A-Za-z0-9-]{1,4}").expect("regex")
}

fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..4)
        .prop_map(|segs| segs.iter().map(|s| format!("{s}.")).collect())
}

proptest! {
    #[test]
    fn byte_range_of_a_key_is_exactly_its_subtree(k in key(), v in key()) {
        let key = DataKey::new(&k).expect("generated keys are valid");
        let upper = key.upper_bound();
        let in_range = v.as_bytes() >= k.as_bytes() && v.as_bytes() < upper.as_bytes();
        prop_assert_eq!(in_range, v.starts_with(&k));
        prop_assert_eq!(key.matches(&v, MatchMode::Prefix), v.starts_with(&k));
    }

    #[test]
    fn a_descendant_key_is_always_inside_and_an_extended_sibling_never(k in key(), s in segment(), extra in "[0-9a-z]{1,3}") {
        let key = DataKey::new(&k).expect("valid");
        let child = key.child(&s).expect("valid child");
        prop_assert!(key.contains(&child));
        // `1.4.` vs `1.4x.`: same text prefix up to the last segment, never inside.
        let sibling = format!("{}{}.", &k[..k.len() - 1], extra);
        prop_assert!(!key.matches(&sibling, MatchMode::Prefix));
    }
}

/// Replaces each `?` of a rewritten positional statement by its bound value, as a literal.
fn inline(sql: &str, values: &[Value]) -> String {
    let mut out = String::new();
    let mut it = values.iter();
    for part in sql.split('?').enumerate() {
        if part.0 > 0 {
            match it.next() {
                Some(Value::Int(Some(i))) => out.push_str(&i.to_string()),
                Some(Value::String(Some(s))) => out.push_str(&format!("'{s}'")),
                other => panic!("unexpected value {other:?}"),
            }
        }
        out.push_str(part.1);
    }
    assert!(it.next().is_none(), "more values than placeholders");
    out
}

/// A SELECT with placeholders scattered over the clauses that bind in different orders.
fn query_with_holes() -> impl Strategy<Value = (String, usize)> {
    let clause = prop::sample::select(vec![
        "i.amount > ?",
        "i.id IN (SELECT l.invoice_id FROM line l WHERE l.qty = ?)",
        "c.credit < ?",
        "EXISTS (SELECT 1 FROM customer x WHERE x.id = ?)",
    ]);
    (
        prop::collection::vec(clause, 0..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(wheres, select_hole, on_hole, paged)| {
            let mut sql = String::from("SELECT i.id");
            let mut n = 0;
            if select_hole {
                sql.push_str(", ? AS tag");
                n += 1;
            }
            sql.push_str(" FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id");
            if on_hole {
                sql.push_str(" AND c.rank = ?");
                n += 1;
            }
            if !wheres.is_empty() {
                sql.push_str(" WHERE ");
                sql.push_str(&wheres.join(" AND "));
                n += wheres.len();
            }
            if paged {
                sql.push_str(" LIMIT ? OFFSET ?");
                n += 2;
            }
            (sql, n)
        })
}

fn registry() -> Registry {
    Registry::builder()
        .tenanted("invoice", "data_key")
        .tenanted("customer", "data_key")
        .tenanted("line", "tenant_key")
        .build()
}

proptest! {
    /// Binding the prepared rewrite and inlining its values gives exactly the rewrite of
    /// the statement with its values inlined beforehand: every value, the tenant's and the
    /// caller's, sits in its right place.
    #[test]
    fn values_land_where_the_text_binds_them((sql, n) in query_with_holes(), backend in prop::sample::select(vec![DbBackend::MySql, DbBackend::Sqlite])) {
        let registry = registry();
        let key = DataKey::new("1.4.").expect("key");
        let values: Vec<Value> = (0..n as i32).map(|i| Value::from(100 + i)).collect();
        let stmt = Statement::from_sql_and_values(backend, &sql, values.clone());
        let prepared = rewrite(stmt, &key, MatchMode::Prefix, &registry).expect("rewritten");
        let bound = inline(&prepared.sql, &prepared.values.map(|v| v.0).unwrap_or_default());
        let literal_sql = inline(&sql, &values);
        let unprepared = rewrite_unprepared(&literal_sql, backend, &key, MatchMode::Prefix, &registry).expect("rewritten");
        prop_assert_eq!(bound, unprepared);
    }
}
