//! Scenarios of PostgreSQL's own row-level security regression test
//! (`src/test/regress/sql/rowsecurity.sql`), ported to the policies of
//! `migration::TenantedTable::row_level_security`: SQL written by hand, run as a role the
//! policy binds, with the tenant in the transaction's setting as RLS mode puts it there,
//! and no rewriter at all. Each asserts what the policy alone lets through.
//!
//! Run: `cargo test --test rowsecurity` (needs `DATABASE_URL_POSTGRES`, see
//! `tests/isolation.rs`).

#[macro_use]
mod common;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait,
};
use sea_orm_migration::SchemaManager;
use sea_orm_tenancy::migration::TenantedTable;

/// A leak log any role may write, row-level security on `invoice` and `customer`, and a
/// pool of the application role.
async fn setup(owner: &DatabaseConnection) -> DatabaseConnection {
    for s in [
        "CREATE TABLE leaked (value text)",
        // rowsecurity.sql's f_leak: a cheap function that sees every value it is given.
        "CREATE FUNCTION f_leak(text) RETURNS bool COST 0.0000001 LANGUAGE plpgsql \
         AS 'BEGIN INSERT INTO leaked VALUES ($1); RETURN true; END'",
    ] {
        owner.execute_unprepared(s).await.expect(s);
    }
    common::secure_the_seed(owner).await
}

/// A transaction of the application role with `key` in the setting, as RLS mode opens it.
async fn as_tenant(app: &DatabaseConnection, key: &str) -> DatabaseTransaction {
    let txn = app.begin().await.expect("begin");
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('sea_orm_tenancy.data_key', $1, true)",
        [key.into()],
    ))
    .await
    .expect("set the tenant");
    txn
}

async fn strings<C: ConnectionTrait>(db: &C, sql: &str) -> Vec<String> {
    let mut v: Vec<String> = db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("text"))
        .collect();
    v.sort();
    v
}

async fn count<C: ConnectionTrait>(db: &C, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("count")
}

async fn exec<C: ConnectionTrait>(db: &C, sql: &str) -> Result<u64, DbErr> {
    db.execute_unprepared(sql).await.map(|r| r.rows_affected())
}

fn visible(key: &str) -> Vec<String> {
    common::sorted(&common::visible_invoices(key))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn is_rls_violation(e: &DbErr) -> bool {
    e.to_string().contains("row-level security")
}

/// `SELECT * FROM document WHERE f_leak(dtitle)`: the policy runs before the cheap,
/// leaky function, which never sees another tenant's value.
async fn a_leaky_function_sees_only_the_tenants_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.").await;
    assert_eq!(
        strings(&txn, "SELECT number FROM invoice WHERE f_leak(number)").await,
        visible("1.")
    );
    assert_eq!(
        strings(&txn, "SELECT value FROM leaked").await,
        visible("1.")
    );
    txn.rollback().await.expect("rollback");
}

/// `SELECT * FROM document NATURAL JOIN category`: both sides restricted.
async fn a_join_restricts_both_tables(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "2.").await;
    let joined = strings(
        &txn,
        "SELECT i.number || '/' || c.name FROM invoice i JOIN customer c ON c.id = i.customer_id",
    )
    .await;
    // 2-B points at tenant 1.'s customer: the join loses it.
    assert_eq!(joined, ["2-A/Globex"]);
    txn.rollback().await.expect("rollback");
}

/// `SELECT * FROM document TABLESAMPLE BERNOULLI(50) REPEATABLE(0)`.
async fn a_table_sample_samples_the_tenants_rows_only(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.4.").await;
    assert_eq!(
        strings(
            &txn,
            "SELECT number FROM invoice TABLESAMPLE BERNOULLI(100) REPEATABLE(0)"
        )
        .await,
        visible("1.4.")
    );
    txn.rollback().await.expect("rollback");
}

/// `SELECT … FOR SHARE` / `FOR UPDATE`: only visible rows are locked and returned.
async fn row_locks_take_only_visible_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "2.").await;
    assert_eq!(
        strings(&txn, "SELECT number FROM invoice FOR SHARE").await,
        visible("2.")
    );
    assert_eq!(
        strings(&txn, "SELECT number FROM invoice FOR UPDATE").await,
        visible("2.")
    );
    txn.rollback().await.expect("rollback");
}

/// `INSERT … SELECT`: reads only visible rows, and cannot write them to another tenant.
async fn insert_select_copies_visible_rows_and_cannot_write_elsewhere(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.4.").await;
    let copied = exec(
        &txn,
        "INSERT INTO invoice (data_key, number, amount) SELECT data_key, number || '-copy', amount FROM invoice",
    )
    .await
    .expect("copy within the tenant");
    assert_eq!(copied, visible("1.4.").len() as u64);
    let err = exec(
        &txn,
        "INSERT INTO invoice (data_key, number, amount) SELECT '2.', number, amount FROM invoice",
    )
    .await
    .expect_err("into another tenant");
    assert!(is_rls_violation(&err), "{err}");
    txn.rollback().await.expect("rollback");
}

/// `UPDATE … FROM`: only the tenant's rows are updated, joined to the tenant's rows.
async fn update_from_touches_only_the_tenants_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.").await;
    let n = exec(
        &txn,
        "UPDATE invoice SET amount = 0 FROM customer WHERE invoice.customer_id = customer.id",
    )
    .await
    .expect("update");
    // 1-A, 1-B (Acme), 14-A (Acme Four); not 1-C (Globex, another tenant's customer),
    // not 1-D (no customer), and nothing of tenant 2.
    assert_eq!(n, 3);
    txn.commit().await.expect("commit");
    assert_eq!(
        count(owner, "SELECT count(*) FROM invoice WHERE amount = 0").await,
        3
    );
    assert_eq!(
        count(
            owner,
            "SELECT count(*) FROM invoice WHERE amount = 0 AND data_key NOT LIKE '1.%'"
        )
        .await,
        0
    );
}

/// An UPDATE that would move rows out of the subtree fails WITH CHECK.
async fn an_update_cannot_move_rows_to_another_tenant(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.").await;
    let err = exec(
        &txn,
        "UPDATE invoice SET data_key = '2.' WHERE number = '1-A'",
    )
    .await
    .expect_err("move out");
    assert!(is_rls_violation(&err), "{err}");
    txn.rollback().await.expect("rollback");
    // Within the subtree is allowed.
    let txn = as_tenant(&app, "1.").await;
    assert_eq!(
        exec(
            &txn,
            "UPDATE invoice SET data_key = '1.4.' WHERE number = '1-A'"
        )
        .await
        .expect("within"),
        1
    );
    txn.rollback().await.expect("rollback");
}

/// `DELETE` without a WHERE deletes the tenant's rows, nobody else's.
async fn delete_removes_only_visible_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let before = count(owner, "SELECT count(*) FROM invoice").await;
    let txn = as_tenant(&app, "2.").await;
    assert_eq!(exec(&txn, "DELETE FROM invoice").await.expect("delete"), 2);
    txn.commit().await.expect("commit");
    assert_eq!(
        count(owner, "SELECT count(*) FROM invoice").await,
        before - 2
    );
    assert_eq!(
        count(owner, "SELECT count(*) FROM invoice WHERE data_key = '2.'").await,
        0
    );
}

/// CTEs, including data-modifying ones and RETURNING: the same rows.
async fn ctes_and_returning_see_only_the_tenants_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.").await;
    assert_eq!(
        count(
            &txn,
            "WITH x AS (SELECT * FROM invoice) SELECT count(*) FROM x"
        )
        .await,
        visible("1.").len() as i64
    );
    assert_eq!(
        strings(&txn, "WITH u AS (UPDATE invoice SET amount = amount + 1 RETURNING number) SELECT number FROM u").await,
        visible("1.")
    );
    assert_eq!(
        count(
            &txn,
            "WITH d AS (DELETE FROM invoice WHERE amount > 0 RETURNING *) SELECT count(*) FROM d"
        )
        .await,
        visible("1.").len() as i64
    );
    txn.rollback().await.expect("rollback");
}

/// A subquery on another tenanted table is restricted too.
async fn a_subquery_reads_only_the_tenants_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "2.").await;
    assert_eq!(
        strings(
            &txn,
            "SELECT name FROM customer WHERE id IN (SELECT customer_id FROM invoice)"
        )
        .await,
        ["Globex"]
    );
    assert_eq!(
        count(
            &txn,
            "SELECT (SELECT count(*) FROM invoice) + (SELECT count(*) FROM customer)"
        )
        .await,
        3
    );
    txn.rollback().await.expect("rollback");
}

/// `INSERT … ON CONFLICT DO UPDATE` on another tenant's row: refused, the row unchanged.
async fn an_upsert_cannot_update_another_tenants_row(owner: &DatabaseConnection) {
    owner
        .execute_unprepared("CREATE UNIQUE INDEX invoice_number ON invoice (number)")
        .await
        .expect("index");
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.").await;
    let err = exec(
        &txn,
        "INSERT INTO invoice (data_key, number, amount) VALUES ('1.', '2-A', 1) \
         ON CONFLICT (number) DO UPDATE SET amount = 0",
    )
    .await
    .expect_err("another tenant's row");
    assert!(is_rls_violation(&err), "{err}");
    txn.rollback().await.expect("rollback");
    assert_eq!(
        count(
            owner,
            "SELECT count(*) FROM invoice WHERE number = '2-A' AND amount = 300"
        )
        .await,
        1
    );
}

/// `MERGE` (PostgreSQL 15): matches only visible rows; inserts are checked.
async fn merge_matches_only_visible_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "2.").await;
    let n = exec(
        &txn,
        "MERGE INTO invoice i USING (SELECT number FROM (VALUES ('1-A'), ('2-A')) v(number)) s \
         ON i.number = s.number WHEN MATCHED THEN UPDATE SET amount = 0",
    )
    .await
    .expect("merge");
    assert_eq!(n, 1, "only 2-A");
    let err = exec(
        &txn,
        "MERGE INTO invoice i USING (SELECT 'new' AS number) s ON i.number = s.number \
         WHEN NOT MATCHED THEN INSERT (data_key, number, amount) VALUES ('1.', s.number, 1)",
    )
    .await
    .expect_err("insert into another tenant");
    assert!(is_rls_violation(&err), "{err}");
    txn.rollback().await.expect("rollback");
}

/// "database superuser does bypass RLS" / `row_security = off`: for a role the policy
/// binds, turning row security off is an error, never all rows.
async fn row_security_off_is_an_error_not_all_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.").await;
    exec(&txn, "SET LOCAL row_security = off")
        .await
        .expect("set");
    let err = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT number FROM invoice",
        ))
        .await
        .expect_err("row security off");
    assert!(err.to_string().contains("row-level security"), "{err}");
    txn.rollback().await.expect("rollback");
}

/// Views: a view owned by the (superuser) owner reads around the policy, which is why
/// the verifier reports it; a `security_invoker` view is restricted.
async fn only_security_invoker_views_are_restricted(owner: &DatabaseConnection) {
    owner
        .execute_unprepared("CREATE VIEW definer_numbers AS SELECT number FROM invoice")
        .await
        .expect("view");
    owner
        .execute_unprepared("CREATE VIEW invoker_numbers WITH (security_invoker = true) AS SELECT number FROM invoice")
        .await
        .expect("view");
    let app = setup(owner).await;
    let txn = as_tenant(&app, "2.").await;
    assert_eq!(
        strings(&txn, "SELECT number FROM invoker_numbers").await,
        visible("2.")
    );
    assert_eq!(
        count(&txn, "SELECT count(*) FROM definer_numbers").await,
        common::INVOICES.len() as i64,
        "a definer view is a hole: verify() reports it"
    );
    txn.rollback().await.expect("rollback");
}

/// The FK covert channel: with a plain foreign key, a tenant can reference (and so probe)
/// another tenant's row; with the composite key of `TenantedTable::foreign_key` it
/// cannot, and a unique key composite with the DataKey reveals nothing either.
async fn composite_keys_close_the_foreign_key_covert_channel(owner: &DatabaseConnection) {
    let manager = SchemaManager::new(owner);
    owner
        .execute_unprepared("ALTER TABLE invoice DROP CONSTRAINT IF EXISTS \"fk-invoice-customer\"")
        .await
        .expect("drop the plain key");
    owner
        .execute_unprepared("DELETE FROM invoice WHERE number IN ('1-C', '2-B')")
        .await
        .expect("the seed's cross-tenant references");
    TenantedTable::new("customer")
        .column("tenant_key")
        .unique("customer_key_id", &["id"])
        .up(&manager)
        .await
        .expect("customer key");
    TenantedTable::new("invoice")
        .unique("invoice_number", &["number"])
        .foreign_key(
            "invoice_customer",
            &["customer_id"],
            "customer",
            "tenant_key",
            &["id"],
        )
        .up(&manager)
        .await
        .expect("invoice key");
    let app = setup(owner).await;
    let globex: i32 = owner
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id FROM customer WHERE name = 'Globex'",
        ))
        .await
        .expect("id")
        .expect("row")
        .try_get("", "id")
        .expect("id");
    let txn = as_tenant(&app, "1.").await;
    let err = exec(
        &txn,
        &format!("INSERT INTO invoice (data_key, number, amount, customer_id) VALUES ('1.', 'probe', 1, {globex})"),
    )
    .await
    .expect_err("a reference to tenant 2.'s customer");
    assert!(err.to_string().contains("foreign key"), "{err}");
    txn.rollback().await.expect("rollback");
    // Another tenant's invoice number is free here: the unique key is per tenant.
    let txn = as_tenant(&app, "1.").await;
    exec(
        &txn,
        "INSERT INTO invoice (data_key, number, amount) VALUES ('1.', '2-A', 1)",
    )
    .await
    .expect("no duplicate across tenants, nothing revealed");
    txn.rollback().await.expect("rollback");
}

/// Plan caching with prepared statements: a statement prepared (and generically planned)
/// under one tenant answers for the tenant of each later transaction.
async fn a_cached_plan_follows_the_tenant_of_each_transaction(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    exec(
        &app,
        "PREPARE by_amount(int) AS SELECT count(*) FROM invoice WHERE amount >= $1",
    )
    .await
    .expect("prepare");
    exec(&app, "SET plan_cache_mode = force_generic_plan")
        .await
        .expect("generic");
    for round in 0..3 {
        for key in ["1.", "2.", "1.4.", "10."] {
            let txn = as_tenant(&app, key).await;
            assert_eq!(
                count(&txn, "EXECUTE by_amount(0)").await,
                visible(key).len() as i64,
                "round {round}, tenant {key}"
            );
            txn.rollback().await.expect("rollback");
        }
    }
    // sqlx's own prepared statements too (the same SQL text each time).
    for key in ["2.", "1.", "A.", "2."] {
        let txn = as_tenant(&app, key).await;
        assert_eq!(
            count(&txn, "SELECT count(*) FROM invoice WHERE amount >= 0").await,
            visible(key).len() as i64,
            "tenant {key}"
        );
        txn.rollback().await.expect("rollback");
    }
}

/// Aggregates and window functions see the tenant's rows only.
async fn aggregates_and_window_functions_see_only_the_tenants_rows(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    let txn = as_tenant(&app, "1.").await;
    let expected: i64 = common::INVOICES
        .iter()
        .filter(|(k, ..)| k.starts_with("1."))
        .map(|(_, _, amount, _)| i64::from(*amount))
        .sum();
    assert_eq!(
        count(&txn, "SELECT sum(amount)::bigint FROM invoice").await,
        expected
    );
    assert_eq!(
        count(
            &txn,
            "SELECT max(n) FROM (SELECT count(*) OVER () AS n FROM invoice) w"
        )
        .await,
        visible("1.").len() as i64
    );
    txn.rollback().await.expect("rollback");
}

/// A tenant whose key is a prefix of another's text (`1.` and `10.`) and a tenant in
/// another case (`A.` and `a.`) are apart: the policy's range is bytewise.
async fn the_policy_range_is_bytewise(owner: &DatabaseConnection) {
    let app = setup(owner).await;
    for (key, expected) in [
        ("1.", visible("1.")),
        ("a.", Vec::new()),
        ("A.", visible("A.")),
    ] {
        let txn = as_tenant(&app, key).await;
        assert_eq!(
            strings(&txn, "SELECT number FROM invoice").await,
            expected,
            "tenant {key}"
        );
        txn.rollback().await.expect("rollback");
    }
}

postgres_only! {
    postgres:
    a_leaky_function_sees_only_the_tenants_rows,
    a_join_restricts_both_tables,
    a_table_sample_samples_the_tenants_rows_only,
    row_locks_take_only_visible_rows,
    insert_select_copies_visible_rows_and_cannot_write_elsewhere,
    update_from_touches_only_the_tenants_rows,
    an_update_cannot_move_rows_to_another_tenant,
    delete_removes_only_visible_rows,
    ctes_and_returning_see_only_the_tenants_rows,
    a_subquery_reads_only_the_tenants_rows,
    an_upsert_cannot_update_another_tenants_row,
    merge_matches_only_visible_rows,
    row_security_off_is_an_error_not_all_rows,
    only_security_invoker_views_are_restricted,
    composite_keys_close_the_foreign_key_covert_channel,
    a_cached_plan_follows_the_tenant_of_each_transaction,
    aggregates_and_window_functions_see_only_the_tenants_rows,
    the_policy_range_is_bytewise,
}
