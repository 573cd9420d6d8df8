//! SQLite-only cases: `?` placeholders, DEFAULT VALUES, INSERT … ON CONFLICT, RETURNING.

use sea_orm::DatabaseBackend::Sqlite;
use sea_orm_tenancy::MatchMode;

use crate::support::{assert_rewrites, assert_rewrites_in, assert_rewrites_unprepared, shown};

const B: &str = "COLLATE BINARY";

#[test]
fn sea_orm_find_by_id_is_restricted() {
    let v = assert_rewrites(
        Sqlite,
        r#"SELECT "invoice"."id", "invoice"."data_key" FROM "invoice" WHERE "invoice"."id" = ? LIMIT ?"#,
        &format!(
            r#"SELECT "invoice"."id", "invoice"."data_key" FROM "invoice" WHERE "invoice"."id" = ? AND "invoice"."data_key" {B} >= ? AND "invoice"."data_key" {B} < ? LIMIT ?"#
        ),
    );
    assert_eq!(shown(&v), ["0", "1.4.", "1.4/", "1"]);
}

#[test]
fn default_values_insert_gets_the_data_key() {
    let v = assert_rewrites(
        Sqlite,
        r#"INSERT INTO "invoice" DEFAULT VALUES RETURNING "id""#,
        r#"INSERT INTO "invoice" ("data_key") VALUES (?) RETURNING "id""#,
    );
    assert_eq!(shown(&v), ["1.4."]);
}

#[test]
fn insert_many_with_returning_fills_each_row() {
    let v = assert_rewrites(
        Sqlite,
        r#"INSERT INTO "invoice" ("number") VALUES (?), (?) RETURNING "id""#,
        r#"INSERT INTO "invoice" ("number", "data_key") VALUES (?, ?), (?, ?) RETURNING "id""#,
    );
    assert_eq!(shown(&v), ["0", "1.4.", "1", "1.4."]);
}

#[test]
fn default_keyword_for_the_data_key_is_filled() {
    assert_rewrites(
        Sqlite,
        r#"INSERT INTO "invoice" ("number", "data_key") VALUES (?, DEFAULT)"#,
        r#"INSERT INTO "invoice" ("number", "data_key") VALUES (?, ?)"#,
    );
}

#[test]
fn supplied_data_key_is_kept_and_checked() {
    let stmt_values = assert_rewrites(
        Sqlite,
        r#"INSERT INTO "invoice" ("number", "data_key") VALUES ('x', '1.4.7.')"#,
        r#"INSERT INTO "invoice" ("number", "data_key") VALUES ('x', '1.4.7.')"#,
    );
    assert!(stmt_values.is_empty());
}

#[test]
fn on_conflict_do_update_gets_a_where() {
    assert_rewrites(
        Sqlite,
        r#"INSERT INTO "invoice" ("id", "number") VALUES (?, ?) ON CONFLICT ("id") DO UPDATE SET "number" = "excluded"."number""#,
        &format!(
            r#"INSERT INTO "invoice" ("id", "number", "data_key") VALUES (?, ?, ?) ON CONFLICT("id") DO UPDATE SET "number" = "excluded"."number" WHERE "invoice"."data_key" {B} >= ? AND "invoice"."data_key" {B} < ?"#
        ),
    );
}

#[test]
fn full_join_wraps_both_sides() {
    assert_rewrites(
        Sqlite,
        "SELECT * FROM invoice FULL OUTER JOIN customer ON customer.id = invoice.customer_id",
        &format!(
            r#"SELECT * FROM (SELECT * FROM invoice WHERE invoice."data_key" {B} >= ? AND invoice."data_key" {B} < ?) AS invoice FULL JOIN (SELECT * FROM customer WHERE customer."data_key" {B} >= ? AND customer."data_key" {B} < ?) AS customer ON customer.id = invoice.customer_id"#
        ),
    );
}

#[test]
fn exact_mode_compares_bytewise() {
    assert_rewrites_in(
        Sqlite,
        MatchMode::Exact,
        "DELETE FROM invoice",
        &format!(r#"DELETE FROM invoice WHERE invoice."data_key" {B} = ?"#),
    );
}

#[test]
fn unprepared_statements_carry_escaped_literals() {
    assert_rewrites_unprepared(
        Sqlite,
        MatchMode::Exact,
        "UPDATE invoice SET amount = 0",
        &format!(r#"UPDATE invoice SET amount = 0 WHERE invoice."data_key" {B} = '1.4.'"#),
    );
}

#[test]
fn json_each_table_function_is_allowed() {
    assert_rewrites(
        Sqlite,
        "SELECT value FROM json_each('[1,2]')",
        "SELECT value FROM json_each('[1,2]')",
    );
}
