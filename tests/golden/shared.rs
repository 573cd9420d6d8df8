//! Cases whose input is the same SQL on every backend.

use sea_orm::DbBackend;

use crate::support::{Expect, assert_rewrites};

const BACKENDS: [DbBackend; 3] = [DbBackend::Postgres, DbBackend::MySql, DbBackend::Sqlite];

/// Runs `case(backend, expect)` on every backend; `case` returns (input, expected).
fn each(case: impl Fn(DbBackend, &mut Expect) -> (String, String)) {
    for b in BACKENDS {
        let mut e = Expect::new(b, 0);
        let (input, expected) = case(b, &mut e);
        assert_rewrites(b, &input, &expected);
    }
}

#[test]
fn select_without_where_gets_one() {
    each(|_, e| {
        (
            "SELECT id FROM invoice".into(),
            format!("SELECT id FROM invoice WHERE {}", e.prefix("invoice")),
        )
    });
}

#[test]
fn select_where_is_kept_and_extended() {
    each(|_, e| {
        (
            "SELECT id FROM invoice WHERE amount > 10".into(),
            format!(
                "SELECT id FROM invoice WHERE amount > 10 AND {}",
                e.prefix("invoice")
            ),
        )
    });
}

#[test]
fn or_in_where_is_parenthesised_before_the_predicate() {
    each(|_, e| {
        (
            "SELECT id FROM invoice WHERE amount > 10 OR amount < 2".into(),
            format!(
                "SELECT id FROM invoice WHERE (amount > 10 OR amount < 2) AND {}",
                e.prefix("invoice")
            ),
        )
    });
}

#[test]
fn alias_qualifies_the_predicate() {
    each(|_, e| {
        (
            "SELECT i.id FROM invoice AS i".into(),
            format!("SELECT i.id FROM invoice AS i WHERE {}", e.prefix("i")),
        )
    });
}

#[test]
fn table_name_in_any_case_is_recognised() {
    each(|_, e| {
        (
            "SELECT id FROM INVOICE".into(),
            format!("SELECT id FROM INVOICE WHERE {}", e.prefix("INVOICE")),
        )
    });
}

#[test]
fn schema_qualified_table_is_recognised() {
    each(|_, e| {
        (
            "SELECT id FROM app.invoice".into(),
            format!(
                "SELECT id FROM app.invoice WHERE {}",
                e.prefix("app.invoice")
            ),
        )
    });
}

#[test]
fn universal_table_is_untouched() {
    each(|_, _| {
        (
            "SELECT name FROM country WHERE id = 3".into(),
            "SELECT name FROM country WHERE id = 3".into(),
        )
    });
}

#[test]
fn inner_join_restricts_both_tables_in_where() {
    each(|_, e| {
        let pi = e.prefix("i");
        let pc = e.prefix("c");
        (
            "SELECT i.id FROM invoice i JOIN customer c ON c.id = i.customer_id".into(),
            format!(
                "SELECT i.id FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE {pi} AND {pc}"
            ),
        )
    });
}

#[test]
fn left_join_restricts_the_nullable_side_in_on() {
    each(|_, e| {
        let pc = e.prefix("c");
        let pi = e.prefix("i");
        (
            "SELECT i.id FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id".into(),
            format!(
                "SELECT i.id FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id AND {pc} WHERE {pi}"
            ),
        )
    });
}

#[test]
fn right_join_restricts_the_left_side_in_on() {
    each(|_, e| {
        let pi = e.prefix("i");
        let pc = e.prefix("c");
        (
            "SELECT c.id FROM invoice i RIGHT JOIN customer c ON c.id = i.customer_id".into(),
            format!(
                "SELECT c.id FROM invoice i RIGHT JOIN customer c ON c.id = i.customer_id AND {pi} WHERE {pc}"
            ),
        )
    });
}

#[test]
fn left_join_with_using_wraps_the_nullable_side() {
    each(|_, e| {
        let pc = e.prefix("customer");
        let pi = e.prefix("invoice");
        (
            "SELECT id FROM invoice LEFT JOIN customer USING (id)".into(),
            format!(
                "SELECT id FROM invoice LEFT JOIN (SELECT * FROM customer WHERE {pc}) AS customer USING(id) WHERE {pi}"
            ),
        )
    });
}

#[test]
fn join_to_a_universal_table_restricts_only_the_tenanted_one() {
    each(|_, e| {
        let pi = e.prefix("i");
        (
            "SELECT i.id, k.name FROM invoice i LEFT JOIN country k ON k.id = i.country_id".into(),
            format!(
                "SELECT i.id, k.name FROM invoice i LEFT JOIN country k ON k.id = i.country_id WHERE {pi}"
            ),
        )
    });
}

#[test]
fn subquery_in_where_is_restricted_at_its_own_level() {
    each(|_, e| {
        let pl = e.prefix_on("line", "tenant_key");
        let pi = e.prefix("invoice");
        (
            "SELECT id FROM invoice WHERE id IN (SELECT invoice_id FROM line)".into(),
            format!(
                "SELECT id FROM invoice WHERE id IN (SELECT invoice_id FROM line WHERE {pl}) AND {pi}"
            ),
        )
    });
}

#[test]
fn exists_subquery_in_select_list_is_restricted() {
    each(|_, e| {
        let pl = e.prefix_on("l", "tenant_key");
        (
            "SELECT EXISTS (SELECT 1 FROM line l WHERE l.amount > 5) FROM country".into(),
            format!(
                "SELECT EXISTS (SELECT 1 FROM line l WHERE l.amount > 5 AND {pl}) FROM country"
            ),
        )
    });
}

#[test]
fn derived_table_is_restricted_inside() {
    each(|_, e| {
        let pi = e.prefix("invoice");
        (
            "SELECT COUNT(*) FROM (SELECT id FROM invoice) AS sub".into(),
            format!("SELECT COUNT(*) FROM (SELECT id FROM invoice WHERE {pi}) AS sub"),
        )
    });
}

#[test]
fn having_and_order_by_subqueries_are_restricted() {
    each(|_, e| {
        let pi = e.prefix("invoice");
        let pc = e.prefix("customer");
        let pl = e.prefix_on("line", "tenant_key");
        (
            "SELECT customer_id FROM invoice GROUP BY customer_id HAVING COUNT(*) > (SELECT COUNT(*) FROM customer) ORDER BY (SELECT MAX(amount) FROM line)".into(),
            format!(
                "SELECT customer_id FROM invoice WHERE {pi} GROUP BY customer_id HAVING COUNT(*) > (SELECT COUNT(*) FROM customer WHERE {pc}) ORDER BY (SELECT MAX(amount) FROM line WHERE {pl})"
            ),
        )
    });
}

#[test]
fn every_union_branch_is_restricted() {
    each(|_, e| {
        let pi = e.prefix("invoice");
        let pc = e.prefix("customer");
        (
            "SELECT id FROM invoice UNION ALL SELECT id FROM customer".into(),
            format!(
                "SELECT id FROM invoice WHERE {pi} UNION ALL SELECT id FROM customer WHERE {pc}"
            ),
        )
    });
}

#[test]
fn cte_body_is_restricted_and_its_name_is_not_a_table() {
    each(|_, e| {
        let pi = e.prefix("invoice");
        (
            "WITH recent AS (SELECT id FROM invoice) SELECT id FROM recent".into(),
            format!("WITH recent AS (SELECT id FROM invoice WHERE {pi}) SELECT id FROM recent"),
        )
    });
}

#[test]
fn cte_named_like_a_table_does_not_hide_it() {
    each(|_, e| {
        let pi = e.prefix("invoice");
        (
            "WITH invoice AS (SELECT id FROM invoice) SELECT id FROM invoice".into(),
            format!("WITH invoice AS (SELECT id FROM invoice WHERE {pi}) SELECT id FROM invoice"),
        )
    });
}

#[test]
fn recursive_cte_restricts_its_anchor_and_its_step() {
    each(|_, e| {
        let p1 = e.prefix("customer");
        let p2 = e.prefix("c");
        (
            "WITH RECURSIVE tree AS (SELECT id FROM customer WHERE parent_id IS NULL UNION ALL SELECT c.id FROM customer c JOIN tree t ON c.parent_id = t.id) SELECT id FROM tree".into(),
            format!(
                "WITH RECURSIVE tree AS (SELECT id FROM customer WHERE parent_id IS NULL AND {p1} UNION ALL SELECT c.id FROM customer c JOIN tree t ON c.parent_id = t.id WHERE {p2}) SELECT id FROM tree"
            ),
        )
    });
}

#[test]
fn nested_parenthesised_join_is_restricted() {
    each(|_, e| {
        let pi = e.prefix("i");
        let pc = e.prefix("c");
        (
            "SELECT i.id FROM (invoice i JOIN customer c ON c.id = i.customer_id)".into(),
            format!(
                "SELECT i.id FROM (invoice i JOIN customer c ON c.id = i.customer_id) WHERE {pi} AND {pc}"
            ),
        )
    });
}

#[test]
fn insert_without_data_key_gets_it_filled() {
    each(|_, e| {
        let f = e.fill();
        (
            "INSERT INTO invoice (number) VALUES ('A-1')".into(),
            format!(
                "INSERT INTO invoice (number, {}) VALUES ('A-1', {f})",
                e.col("", "data_key").trim_start_matches('.')
            ),
        )
    });
}

#[test]
fn insert_select_fills_the_key_and_restricts_the_source() {
    each(|_, e| {
        let f = e.fill();
        let pc = e.prefix("customer");
        (
            "INSERT INTO invoice (number) SELECT name FROM customer".into(),
            format!(
                "INSERT INTO invoice (number, {}) SELECT name, {f} FROM customer WHERE {pc}",
                e.col("", "data_key").trim_start_matches('.')
            ),
        )
    });
}

#[test]
fn update_is_restricted() {
    each(|_, e| {
        let pi = e.prefix("invoice");
        (
            "UPDATE invoice SET amount = 3 WHERE id = 7".into(),
            format!("UPDATE invoice SET amount = 3 WHERE id = 7 AND {pi}"),
        )
    });
}

#[test]
fn update_with_a_subquery_restricts_both_levels() {
    each(|_, e| {
        let pc = e.prefix("customer");
        let pi = e.prefix("invoice");
        (
            "UPDATE invoice SET amount = (SELECT COUNT(*) FROM customer)".into(),
            format!(
                "UPDATE invoice SET amount = (SELECT COUNT(*) FROM customer WHERE {pc}) WHERE {pi}"
            ),
        )
    });
}

#[test]
fn delete_is_restricted() {
    each(|_, e| {
        let pi = e.prefix("invoice");
        (
            "DELETE FROM invoice WHERE amount = 0".into(),
            format!("DELETE FROM invoice WHERE amount = 0 AND {pi}"),
        )
    });
}

#[test]
fn delete_of_a_universal_table_is_untouched() {
    each(|_, _| {
        (
            "DELETE FROM country WHERE id = 1".into(),
            "DELETE FROM country WHERE id = 1".into(),
        )
    });
}

// Found by the hostile corpus (tests/corpus/hostile.txt): the target of an UPDATE or a
// DELETE is always the real table, even when a CTE has its name.

#[test]
fn delete_target_named_like_a_cte_is_still_the_real_table() {
    each(|_, e| {
        (
            "WITH invoice AS (SELECT 1 AS id) DELETE FROM invoice WHERE id > 0".into(),
            format!(
                "WITH invoice AS (SELECT 1 AS id) DELETE FROM invoice WHERE id > 0 AND {}",
                e.prefix("invoice")
            ),
        )
    });
}

#[test]
fn update_target_named_like_a_cte_is_still_the_real_table() {
    each(|_, e| {
        (
            "WITH invoice AS (SELECT 1 AS id) UPDATE invoice SET amount = 0 WHERE amount > 1"
                .into(),
            format!(
                "WITH invoice AS (SELECT 1 AS id) UPDATE invoice SET amount = 0 WHERE amount > 1 AND {}",
                e.prefix("invoice")
            ),
        )
    });
}

#[test]
fn a_condition_that_may_group_otherwise_is_parenthesised_before_the_tenants_and() {
    each(|_, e| {
        (
            "SELECT id FROM invoice WHERE amount + 1 > 10".into(),
            format!(
                "SELECT id FROM invoice WHERE (amount + 1 > 10) AND {}",
                e.prefix("invoice")
            ),
        )
    });
}
