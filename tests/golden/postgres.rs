//! PostgreSQL-only cases: `$n` placeholders, FULL joins, UPDATE … FROM, DELETE … USING,
//! ON CONFLICT, exact mode.

use sea_orm::DatabaseBackend::Postgres;
use sea_orm_tenancy::MatchMode;

use crate::support::{assert_rewrites, assert_rewrites_in, assert_rewrites_unprepared, shown};

const C: &str = r#"COLLATE "C""#;

#[test]
fn tenant_values_are_numbered_after_the_original_ones() {
    let v = assert_rewrites(
        Postgres,
        r#"SELECT "invoice"."id" FROM "invoice" WHERE "invoice"."id" = $1 LIMIT $2"#,
        &format!(
            r#"SELECT "invoice"."id" FROM "invoice" WHERE "invoice"."id" = $1 AND "invoice"."data_key" {C} >= $3 AND "invoice"."data_key" {C} < $4 LIMIT $2"#
        ),
    );
    assert_eq!(shown(&v), ["0", "1", "1.4.", "1.4/"]);
}

#[test]
fn exact_mode_binds_the_key_once_per_table() {
    let v = assert_rewrites_in(
        Postgres,
        MatchMode::Exact,
        r#"SELECT "id" FROM "invoice" WHERE "id" = $1"#,
        r#"SELECT "id" FROM "invoice" WHERE "id" = $1 AND "invoice"."data_key" COLLATE "C" = $2"#,
    );
    assert_eq!(shown(&v), ["0", "1.4."]);
}

#[test]
fn full_join_wraps_both_sides() {
    assert_rewrites(
        Postgres,
        "SELECT * FROM invoice i FULL JOIN customer c ON c.id = i.customer_id",
        &format!(
            r#"SELECT * FROM (SELECT * FROM invoice WHERE invoice."data_key" {C} >= $1 AND invoice."data_key" {C} < $2) i FULL JOIN (SELECT * FROM customer WHERE customer."data_key" {C} >= $3 AND customer."data_key" {C} < $4) c ON c.id = i.customer_id"#
        ),
    );
}

#[test]
fn lateral_subquery_is_restricted() {
    assert_rewrites(
        Postgres,
        "SELECT c.id, l.n FROM customer c, LATERAL (SELECT COUNT(*) AS n FROM invoice i WHERE i.customer_id = c.id) l",
        &format!(
            r#"SELECT c.id, l.n FROM customer c, LATERAL (SELECT COUNT(*) AS n FROM invoice i WHERE i.customer_id = c.id AND i."data_key" {C} >= $1 AND i."data_key" {C} < $2) l WHERE c."data_key" {C} >= $3 AND c."data_key" {C} < $4"#
        ),
    );
}

#[test]
fn update_from_restricts_the_target_and_the_source() {
    assert_rewrites(
        Postgres,
        "UPDATE invoice SET amount = c.credit FROM customer c WHERE c.id = invoice.customer_id",
        &format!(
            r#"UPDATE invoice SET amount = c.credit FROM customer c WHERE c.id = invoice.customer_id AND invoice."data_key" {C} >= $1 AND invoice."data_key" {C} < $2 AND c."data_key" {C} >= $3 AND c."data_key" {C} < $4"#
        ),
    );
}

#[test]
fn delete_using_restricts_the_target_and_the_source() {
    assert_rewrites(
        Postgres,
        "DELETE FROM invoice USING customer c WHERE c.id = invoice.customer_id",
        &format!(
            r#"DELETE FROM invoice USING customer c WHERE c.id = invoice.customer_id AND invoice."data_key" {C} >= $1 AND invoice."data_key" {C} < $2 AND c."data_key" {C} >= $3 AND c."data_key" {C} < $4"#
        ),
    );
}

#[test]
fn on_conflict_do_update_only_touches_the_tenants_row() {
    let v = assert_rewrites(
        Postgres,
        r#"INSERT INTO "invoice" ("id", "number") VALUES ($1, $2) ON CONFLICT ("id") DO UPDATE SET "number" = "excluded"."number""#,
        &format!(
            r#"INSERT INTO "invoice" ("id", "number", "data_key") VALUES ($1, $2, $3) ON CONFLICT("id") DO UPDATE SET "number" = "excluded"."number" WHERE "invoice"."data_key" {C} >= $4 AND "invoice"."data_key" {C} < $5"#
        ),
    );
    assert_eq!(shown(&v), ["0", "1", "1.4.", "1.4.", "1.4/"]);
}

#[test]
fn on_conflict_do_nothing_is_kept() {
    assert_rewrites(
        Postgres,
        r#"INSERT INTO "invoice" ("id") VALUES ($1) ON CONFLICT DO NOTHING RETURNING "id""#,
        r#"INSERT INTO "invoice" ("id", "data_key") VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING "id""#,
    );
}

#[test]
fn data_modifying_cte_is_restricted() {
    assert_rewrites(
        Postgres,
        "WITH gone AS (DELETE FROM invoice WHERE amount = 0 RETURNING id) SELECT COUNT(*) FROM gone",
        &format!(
            r#"WITH gone AS (DELETE FROM invoice WHERE amount = 0 AND invoice."data_key" {C} >= $1 AND invoice."data_key" {C} < $2 RETURNING id) SELECT COUNT(*) FROM gone"#
        ),
    );
}

#[test]
fn intersect_and_except_branches_are_restricted() {
    assert_rewrites(
        Postgres,
        "SELECT id FROM invoice INTERSECT SELECT id FROM customer EXCEPT SELECT id FROM country",
        &format!(
            r#"SELECT id FROM invoice WHERE invoice."data_key" {C} >= $1 AND invoice."data_key" {C} < $2 INTERSECT SELECT id FROM customer WHERE customer."data_key" {C} >= $3 AND customer."data_key" {C} < $4 EXCEPT SELECT id FROM country"#
        ),
    );
}

#[test]
fn unprepared_statements_carry_escaped_literals() {
    assert_rewrites_unprepared(
        Postgres,
        MatchMode::Prefix,
        "DELETE FROM invoice; SELECT id FROM customer",
        &format!(
            r#"DELETE FROM invoice WHERE invoice."data_key" {C} >= '1.4.' AND invoice."data_key" {C} < '1.4/'; SELECT id FROM customer WHERE customer."data_key" {C} >= '1.4.' AND customer."data_key" {C} < '1.4/'"#
        ),
    );
}
