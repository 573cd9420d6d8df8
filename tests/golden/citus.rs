//! `MatchMode::Distributed` on PostgreSQL: the shape Citus routes to one shard. Every
//! tenanted relation carries a plain `data_key = $n` (no COLLATE, which would hide the
//! distribution column from shard pruning), and every join between two tenanted tables
//! carries `a.data_key = b.data_key` (co-located joins).
//!
//! Citus cannot be installed here; these pin the SQL shape. `line` is tenanted through
//! `tenant_key`, `country` is universal (a reference table).

use sea_orm::DatabaseBackend::Postgres;
use sea_orm_tenancy::MatchMode::Distributed;

use crate::support::{assert_rewrites_in, shown};

#[track_caller]
fn citus(input: &str, expected: &str) -> Vec<String> {
    shown(&assert_rewrites_in(Postgres, Distributed, input, expected))
}

#[test]
fn a_point_select_carries_the_plain_equality() {
    let v = citus(
        r#"SELECT "invoice"."id" FROM "invoice" WHERE "invoice"."id" = $1"#,
        r#"SELECT "invoice"."id" FROM "invoice" WHERE "invoice"."id" = $1 AND "invoice"."data_key" = $2"#,
    );
    assert_eq!(v, ["0", "1.4."]);
}

#[test]
fn an_inner_join_carries_the_join_equality_in_where() {
    citus(
        "SELECT i.id FROM invoice i JOIN customer c ON c.id = i.customer_id",
        r#"SELECT i.id FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i."data_key" = $1 AND c."data_key" = $2 AND i."data_key" = c."data_key""#,
    );
}

#[test]
fn a_left_join_carries_both_on_the_nullable_side_in_on() {
    citus(
        "SELECT i.id FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id",
        r#"SELECT i.id FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id AND c."data_key" = $1 AND i."data_key" = c."data_key" WHERE i."data_key" = $2"#,
    );
}

#[test]
fn a_right_join_is_anchored_on_its_preserved_side() {
    citus(
        "SELECT i.id FROM invoice i RIGHT JOIN customer c ON c.id = i.customer_id",
        r#"SELECT i.id FROM invoice i RIGHT JOIN customer c ON c.id = i.customer_id AND i."data_key" = $1 AND c."data_key" = i."data_key" WHERE c."data_key" = $2"#,
    );
}

#[test]
fn three_tables_are_each_joined_to_the_first_by_their_own_columns() {
    citus(
        "SELECT l.id FROM invoice i JOIN line l ON l.invoice_id = i.id JOIN customer c ON c.id = i.customer_id",
        r#"SELECT l.id FROM invoice i JOIN line l ON l.invoice_id = i.id JOIN customer c ON c.id = i.customer_id WHERE i."data_key" = $1 AND l."tenant_key" = $2 AND c."data_key" = $3 AND i."data_key" = l."tenant_key" AND i."data_key" = c."data_key""#,
    );
}

#[test]
fn a_comma_join_carries_the_join_equality() {
    citus(
        "SELECT i.id FROM invoice i, customer c WHERE c.id = i.customer_id",
        r#"SELECT i.id FROM invoice i, customer c WHERE c.id = i.customer_id AND i."data_key" = $1 AND c."data_key" = $2 AND i."data_key" = c."data_key""#,
    );
}

#[test]
fn a_reference_table_gets_no_equality() {
    citus(
        "SELECT i.id FROM invoice i JOIN country k ON k.code = i.country",
        r#"SELECT i.id FROM invoice i JOIN country k ON k.code = i.country WHERE i."data_key" = $1"#,
    );
}

#[test]
fn a_subquery_carries_its_own_equality() {
    citus(
        "SELECT id FROM invoice WHERE customer_id IN (SELECT id FROM customer WHERE name = $1)",
        r#"SELECT id FROM invoice WHERE customer_id IN (SELECT id FROM customer WHERE name = $1 AND customer."data_key" = $2) AND invoice."data_key" = $3"#,
    );
}

#[test]
fn a_cte_and_its_reader_each_carry_the_equality() {
    citus(
        "WITH big AS (SELECT id, customer_id FROM invoice WHERE amount > $1) SELECT c.name FROM big JOIN customer c ON c.id = big.customer_id",
        r#"WITH big AS (SELECT id, customer_id FROM invoice WHERE amount > $1 AND invoice."data_key" = $2) SELECT c.name FROM big JOIN customer c ON c.id = big.customer_id WHERE c."data_key" = $3"#,
    );
}

#[test]
fn an_update_from_joins_its_source_to_its_target() {
    citus(
        "UPDATE invoice SET amount = c.credit FROM customer c WHERE c.id = invoice.customer_id",
        r#"UPDATE invoice SET amount = c.credit FROM customer c WHERE c.id = invoice.customer_id AND invoice."data_key" = $1 AND c."data_key" = $2 AND invoice."data_key" = c."data_key""#,
    );
}

#[test]
fn a_delete_using_joins_its_source_to_its_target() {
    citus(
        "DELETE FROM invoice USING customer c WHERE c.id = invoice.customer_id AND c.name = $1",
        r#"DELETE FROM invoice USING customer c WHERE c.id = invoice.customer_id AND c.name = $1 AND invoice."data_key" = $2 AND c."data_key" = $3 AND invoice."data_key" = c."data_key""#,
    );
}

#[test]
fn a_full_join_wraps_each_side_with_its_own_equality() {
    citus(
        "SELECT * FROM invoice i FULL JOIN customer c ON c.id = i.customer_id",
        r#"SELECT * FROM (SELECT * FROM invoice WHERE invoice."data_key" = $1) i FULL JOIN (SELECT * FROM customer WHERE customer."data_key" = $2) c ON c.id = i.customer_id"#,
    );
}

#[test]
fn an_insert_select_fills_the_key_and_restricts_the_source() {
    citus(
        "INSERT INTO invoice (id, amount) SELECT id, credit FROM customer",
        r#"INSERT INTO invoice (id, amount, "data_key") SELECT id, credit, $1 FROM customer WHERE customer."data_key" = $2"#,
    );
}

#[test]
fn a_distributed_table_is_keyed_by_its_data_key_first_and_distributed_last() {
    use sea_orm_tenancy::migration::TenantedTable;

    let line = TenantedTable::new("line")
        .column("tenant_key")
        .primary_key(&["id"])
        .unique("line_number", &["number"])
        .foreign_key(
            "line_invoice",
            &["invoice_id"],
            "invoice",
            "data_key",
            &["id"],
        )
        .distributed();
    assert_eq!(
        line.up_statements(Postgres).expect("up"),
        [
            r#"ALTER TABLE "line" DROP CONSTRAINT "line_pkey", ADD CONSTRAINT "line_pkey" PRIMARY KEY ("tenant_key", "id")"#,
            r#"CREATE UNIQUE INDEX "line_number" ON "line" ("tenant_key", "number")"#,
            r#"ALTER TABLE "line" ADD CONSTRAINT "line_invoice" FOREIGN KEY ("tenant_key", "invoice_id") REFERENCES "invoice" ("data_key", "id") ON UPDATE CASCADE ON DELETE RESTRICT"#,
            r#"SELECT create_distributed_table('"line"', 'tenant_key')"#,
        ]
    );
    assert_eq!(
        line.down_statements(Postgres),
        [
            r#"SELECT undistribute_table('"line"')"#,
            r#"ALTER TABLE "line" DROP CONSTRAINT "line_invoice""#,
            r#"DROP INDEX "line_number""#,
            r#"ALTER TABLE "line" DROP CONSTRAINT "line_pkey", ADD CONSTRAINT "line_pkey" PRIMARY KEY ("id")"#,
        ]
    );
}

#[test]
fn a_universal_table_is_a_reference_table() {
    use sea_orm_tenancy::migration::ReferenceTable;

    let country = ReferenceTable::new("country");
    assert_eq!(
        country.up_statements(Postgres),
        [r#"SELECT create_reference_table('"country"')"#]
    );
    assert_eq!(
        country.down_statements(Postgres),
        [r#"SELECT undistribute_table('"country"')"#]
    );
}
