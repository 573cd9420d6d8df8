//! PostgreSQL row-level security as a second wall (`TenantConnection::with_row_level_security`
//! and `migration::TenantedTable`), and the migration helpers on every backend.
//!
//! The RLS scenarios connect as `sea_orm_tenancy_app`, a role that is not the tables'
//! owner, not a superuser and not `BYPASSRLS` (created on first use, granted on each
//! test's own database), and prove that the policies alone keep tenants apart: SQL the
//! rewriter never sees, a pooled connection reused without a tenant, a connection killed
//! mid-transaction.
//!
//! Run: `cargo test --test rls` (servers as for `tests/isolation.rs`).

#[macro_use]
mod common;

use std::sync::Arc;

use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait, Statement,
    TransactionTrait,
};
use sea_orm_migration::SchemaManager;
use sea_orm_tenancy::migration::{TenantedTable, VerifyOptions, verify};
use sea_orm_tenancy::{DataKey, Registry, TenancyError, TenantConnection};

use common::entities::invoice;

fn key(text: &str) -> DataKey {
    DataKey::new(text).expect("key")
}

/// A registry that forgets that `invoice` and `customer` are tenanted: the rewriter adds
/// nothing, as a rewriter bug would.
fn broken_registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .universal("invoice")
            .universal("customer")
            .build(),
    )
}

async fn numbers<C: ConnectionTrait>(db: &C) -> Vec<String> {
    let mut v: Vec<String> = invoice::Entity::find()
        .all(db)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.number)
        .collect();
    v.sort();
    v
}

async fn raw_count<C: ConnectionTrait>(db: &C, table: &str) -> i64 {
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT count(*) AS n FROM {table}"),
    ))
    .await
    .expect("count")
    .expect("row")
    .try_get("", "n")
    .expect("n")
}

fn expected(key: &str) -> Vec<String> {
    common::sorted(&common::visible_invoices(key))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

async fn sql_the_rewriter_never_sees_still_sees_only_the_tenants_rows(owner: &DatabaseConnection) {
    let app = common::secure_the_seed(owner).await;
    // The application role without a tenant: nothing.
    assert_eq!(raw_count(&app, "invoice").await, 0);
    assert_eq!(raw_count(&app, "customer").await, 0);
    // A tenant connection whose rewriter restricts nothing: the policy alone.
    for tenant in ["1.", "1.4.", "2."] {
        let db = TenantConnection::with_registry(app.clone(), key(tenant), broken_registry())
            .with_row_level_security()
            .expect("postgres");
        assert_eq!(numbers(&db).await, expected(tenant), "tenant {tenant}");
        assert_eq!(
            raw_count_through(&db, "customer").await,
            common::CUSTOMERS
                .iter()
                .filter(|(k, _)| key(tenant).matches(k, sea_orm_tenancy::MatchMode::Prefix))
                .count() as i64
        );
        // Writes outside the subtree are refused by the policy's WITH CHECK.
        let err = db
            .execute_unprepared("UPDATE invoice SET data_key = '10.'")
            .await
            .expect_err("moving rows out");
        assert!(err.to_string().contains("row-level security"), "{err}");
        let err = db
            .execute_unprepared(
                "INSERT INTO invoice (data_key, number, amount) VALUES ('10.', 'forged', 1)",
            )
            .await
            .expect_err("a row of another tenant");
        assert!(err.to_string().contains("row-level security"), "{err}");
    }
    // Without the RLS mode, the same broken connection sees nothing at all: the
    // setting is never there outside its transactions.
    let db = TenantConnection::with_registry(app.clone(), key("1."), broken_registry());
    assert!(numbers(&db).await.is_empty());
    // In a transaction, the raw statements run inside it see the tenant's rows only.
    let db = TenantConnection::with_registry(app.clone(), key("2."), broken_registry())
        .with_row_level_security()
        .expect("postgres");
    let txn = db.begin().await.expect("begin");
    assert_eq!(numbers(&txn).await, expected("2."));
    txn.commit().await.expect("commit");
    app.close().await.expect("close");
}

async fn raw_count_through(db: &TenantConnection, table: &str) -> i64 {
    raw_count(db, table).await
}

async fn a_pooled_connection_reused_without_a_tenant_sees_no_rows(owner: &DatabaseConnection) {
    let app = common::secure_the_seed(owner).await; // one connection: every call reuses it
    let a = TenantConnection::new(app.clone(), key("1."))
        .with_row_level_security()
        .expect("postgres");
    assert_eq!(numbers(&a).await, expected("1."));
    assert_eq!(raw_count(&app, "invoice").await, 0, "after tenant 1.");
    let txn = a.begin().await.expect("begin");
    assert_eq!(numbers(&txn).await, expected("1."));
    txn.rollback().await.expect("rollback");
    assert_eq!(
        raw_count(&app, "invoice").await,
        0,
        "after a rolled-back transaction"
    );
    let b = TenantConnection::new(app.clone(), key("2."))
        .with_row_level_security()
        .expect("postgres");
    assert_eq!(numbers(&b).await, expected("2."));
    // What a session can do to the setting never opens more rows: reset, discarded,
    // empty, malformed, or a key of the wrong shape.
    for setup in [
        "RESET ALL",
        "SELECT set_config('sea_orm_tenancy.data_key', '', false)",
        "SELECT set_config('sea_orm_tenancy.data_key', '1', false)",
        "SELECT set_config('sea_orm_tenancy.data_key', '%', false)",
        "SELECT set_config('sea_orm_tenancy.data_key', '1.'' OR ''a''=''a', false)",
    ] {
        // The pool has one connection: the setup and the count share its session.
        app.execute_unprepared(setup).await.expect(setup);
        assert_eq!(raw_count(&app, "invoice").await, 0, "{setup}");
        app.execute_unprepared("RESET ALL").await.expect("reset");
    }
    // `DISCARD ALL` (what a pooler runs between clients) also drops sqlx's prepared
    // statements: count with a statement text the connection has not prepared before.
    app.execute_unprepared("SELECT set_config('sea_orm_tenancy.data_key', '1.', false)")
        .await
        .expect("a session-level tenant");
    assert!(
        raw_count(&app, "invoice").await > 0,
        "the session setting is read"
    );
    app.execute_unprepared("DISCARD ALL")
        .await
        .expect("discard");
    let after_discard: i64 = app
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM invoice WHERE 1 = 1",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get("", "n")
        .expect("n");
    assert_eq!(after_discard, 0, "after DISCARD ALL");
    app.close().await.expect("close");
}

async fn a_connection_killed_mid_transaction_leaks_nothing(owner: &DatabaseConnection) {
    let app = common::secure_the_seed(owner).await;
    let a = TenantConnection::new(app.clone(), key("1."))
        .with_row_level_security()
        .expect("postgres");
    let txn = a.begin().await.expect("begin");
    let pid: i32 = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_backend_pid() AS pid",
        ))
        .await
        .expect("pid")
        .expect("row")
        .try_get("", "pid")
        .expect("pid");
    assert_eq!(numbers(&txn).await, expected("1."));
    owner
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend($1)",
            [pid.into()],
        ))
        .await
        .expect("terminate");
    assert!(
        numbers_or_error(&txn).await.is_err(),
        "the killed connection is gone"
    );
    drop(txn);
    // The pool opens a new connection: no tenant in it.
    let mut tries = 0;
    let count = loop {
        match app
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) AS n FROM invoice",
            ))
            .await
        {
            Ok(row) => break row.expect("row").try_get::<i64>("", "n").expect("n"),
            Err(_) if tries < 5 => tries += 1,
            Err(e) => panic!("the pool did not recover: {e}"),
        }
    };
    assert_eq!(count, 0);
    assert_eq!(numbers(&a).await, expected("1."));
    app.close().await.expect("close");
}

async fn numbers_or_error<C: ConnectionTrait>(db: &C) -> Result<usize, sea_orm::DbErr> {
    invoice::Entity::find().all(db).await.map(|v| v.len())
}

async fn the_policy_reads_the_setting_once_and_uses_the_index(owner: &DatabaseConnection) {
    // The column in the bytewise collation the policy compares in, as the crate asks.
    owner
        .execute_unprepared(
            r#"ALTER TABLE invoice ALTER COLUMN data_key TYPE varchar(255) COLLATE "C""#,
        )
        .await
        .expect("collation");
    let app = common::secure_the_seed(owner).await;
    // What a tenant connection in RLS mode does, by hand, plus a planner setting (a
    // tenant connection refuses `SET`).
    let txn = app.begin().await.expect("begin");
    txn.execute_unprepared("SELECT set_config('sea_orm_tenancy.data_key', '1.', true)")
        .await
        .expect("tenant");
    txn.execute_unprepared("SET LOCAL enable_seqscan = off")
        .await
        .expect("set");
    let plan: Vec<String> = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "EXPLAIN SELECT * FROM invoice WHERE amount > 0",
        ))
        .await
        .expect("explain")
        .into_iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("line"))
        .collect();
    txn.rollback().await.expect("rollback");
    let text = plan.join("\n");
    // The two functions run once each, as InitPlans, and bound the index scan.
    assert_eq!(text.matches("InitPlan").count(), 2, "{text}");
    assert!(text.contains("Index Cond"), "{text}");
    assert!(text.contains("invoice_data_key_idx"), "{text}");
    app.close().await.expect("close");
}

async fn the_migration_helpers_are_reversible_and_refuse_malformed_keys(pool: &DatabaseConnection) {
    let backend = pool.get_database_backend();
    pool.execute_unprepared(
        "CREATE TABLE note (id integer PRIMARY KEY, body varchar(50) NOT NULL)",
    )
    .await
    .expect("create");
    pool.execute_unprepared("INSERT INTO note (id, body) VALUES (1, 'before tenancy')")
        .await
        .expect("insert");
    let note = TenantedTable::new("note")
        .add_column()
        .index(&["id"])
        .unique("note_body", &["body"])
        .row_level_security();
    let manager = SchemaManager::new(pool);
    note.up(&manager).await.expect("up");
    let row = pool
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT data_key FROM note WHERE id = 1",
        ))
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        row.try_get::<String>("", "data_key").expect("key"),
        "1.",
        "backfilled"
    );
    for bad in ["1", "", ".", "1..", "a b.", "é.", ".1."] {
        let sql = format!("INSERT INTO note (id, body, data_key) VALUES (2, 'x', '{bad}')");
        assert!(
            pool.execute_unprepared(&sql).await.is_err(),
            "{bad:?} was accepted"
        );
    }
    pool.execute_unprepared("INSERT INTO note (id, body, data_key) VALUES (2, 'x', '2.1-a.')")
        .await
        .expect("a well-formed key");
    // Unique within a tenant, not across tenants.
    pool.execute_unprepared("INSERT INTO note (id, body, data_key) VALUES (3, 'x', '3.')")
        .await
        .expect("same body, other tenant");
    assert!(
        pool.execute_unprepared("INSERT INTO note (id, body, data_key) VALUES (4, 'x', '3.')")
            .await
            .is_err()
    );
    if backend == DbBackend::Postgres {
        let forced: bool = pool
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT relforcerowsecurity AS f FROM pg_class WHERE relname = 'note'",
            ))
            .await
            .expect("read")
            .expect("row")
            .try_get("", "f")
            .expect("f");
        assert!(forced);
    }
    note.down(&manager).await.expect("down");
    assert!(
        pool.execute_unprepared("SELECT data_key FROM note")
            .await
            .is_err(),
        "the column is gone"
    );
    pool.execute_unprepared("INSERT INTO note (id, body) VALUES (5, 'x')")
        .await
        .expect("the table is as before");
}

async fn a_composite_primary_key_is_made_and_undone(pool: &DatabaseConnection) {
    let backend = pool.get_database_backend();
    let id = match backend {
        DbBackend::MySql => "id integer NOT NULL AUTO_INCREMENT PRIMARY KEY",
        DbBackend::Postgres => "id serial PRIMARY KEY",
        _ => "id integer PRIMARY KEY AUTOINCREMENT",
    };
    pool.execute_unprepared(&format!(
        "CREATE TABLE memo ({id}, body varchar(50) NOT NULL)"
    ))
    .await
    .expect("create");
    let memo = TenantedTable::new("memo").add_column().primary_key(&["id"]);
    let manager = SchemaManager::new(pool);
    if backend == DbBackend::Sqlite {
        let err = memo
            .up(&manager)
            .await
            .expect_err("sqlite cannot change a key");
        assert!(
            err.to_string()
                .contains("sqlite cannot change the primary key"),
            "{err}"
        );
        return;
    }
    memo.up(&manager).await.expect("up");
    let insert = |key: &str| format!("INSERT INTO memo (body, data_key) VALUES ('x', '{key}')");
    pool.execute_unprepared(&insert("1."))
        .await
        .expect("auto id");
    pool.execute_unprepared(&insert("2."))
        .await
        .expect("auto id");
    // The key is (data_key, id): the same id under two tenants is allowed, twice under one
    // is not.
    pool.execute_unprepared("INSERT INTO memo (id, body, data_key) VALUES (100, 'x', '1.')")
        .await
        .expect("id 100 of 1.");
    pool.execute_unprepared("INSERT INTO memo (id, body, data_key) VALUES (100, 'x', '2.')")
        .await
        .expect("id 100 of 2.");
    assert!(
        pool.execute_unprepared("INSERT INTO memo (id, body, data_key) VALUES (100, 'y', '1.')")
            .await
            .is_err()
    );
    pool.execute_unprepared("DELETE FROM memo WHERE id = 100 AND data_key = '2.'")
        .await
        .expect("delete");
    memo.down(&manager).await.expect("down");
    // The key is on id alone again.
    assert!(
        pool.execute_unprepared("INSERT INTO memo (id, body) VALUES (100, 'z')")
            .await
            .is_err()
    );
    pool.execute_unprepared("INSERT INTO memo (id, body) VALUES (101, 'z')")
        .await
        .expect("the table is as before");
}

async fn a_composite_foreign_key_refuses_a_cross_tenant_reference(pool: &DatabaseConnection) {
    let backend = pool.get_database_backend();
    let ddl = [
        "CREATE TABLE account (id integer PRIMARY KEY, data_key varchar(255) NOT NULL, name varchar(50) NOT NULL)",
        "CREATE TABLE entry (id integer PRIMARY KEY, data_key varchar(255) NOT NULL, account_id integer NOT NULL)",
    ];
    for s in ddl {
        pool.execute_unprepared(s).await.expect(s);
    }
    let manager = SchemaManager::new(pool);
    TenantedTable::new("account")
        .unique("account_key_id", &["id"])
        .up(&manager)
        .await
        .expect("account");
    let entry = TenantedTable::new("entry").foreign_key(
        "entry_account",
        &["account_id"],
        "account",
        "data_key",
        &["id"],
    );
    if backend == DbBackend::Sqlite {
        let err = entry.up(&manager).await.expect_err("sqlite");
        assert!(
            err.to_string()
                .contains("declare it when the table is created"),
            "{err}"
        );
        return;
    }
    entry.up(&manager).await.expect("entry");
    pool.execute_unprepared(
        "INSERT INTO account (id, data_key, name) VALUES (1, '1.', 'a'), (2, '2.', 'b')",
    )
    .await
    .expect("accounts");
    pool.execute_unprepared("INSERT INTO entry (id, data_key, account_id) VALUES (1, '1.', 1)")
        .await
        .expect("same tenant");
    let err = pool
        .execute_unprepared("INSERT INTO entry (id, data_key, account_id) VALUES (2, '1.', 2)")
        .await
        .expect_err("another tenant's account");
    assert!(
        matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
        ),
        "{err}"
    );
    // A re-key of the account carries its entries (ON UPDATE CASCADE).
    pool.execute_unprepared("UPDATE account SET data_key = '3.' WHERE id = 1")
        .await
        .expect("re-key");
    let row = pool
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT data_key FROM entry WHERE id = 1",
        ))
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.try_get::<String>("", "data_key").expect("key"), "3.");
    entry.down(&manager).await.expect("down");
    pool.execute_unprepared("INSERT INTO entry (id, data_key, account_id) VALUES (2, '1.', 2)")
        .await
        .expect("no key left");
}

/// A schema built with the helpers: `account` and `entry` with DataKey columns added by
/// `TenantedTable` (bytewise collation, CHECK), their indexes, composite unique keys and
/// (but on SQLite) a composite foreign key; `price_list` universal, without a DataKey.
async fn build_safe_schema(pool: &DatabaseConnection, rls: bool) -> Registry {
    for s in [
        "CREATE TABLE account (id integer PRIMARY KEY, name varchar(50) NOT NULL)",
        "CREATE TABLE entry (id integer PRIMARY KEY, account_id integer NOT NULL)",
        "CREATE TABLE price_list (id integer PRIMARY KEY, name varchar(50) NOT NULL)",
    ] {
        pool.execute_unprepared(s).await.expect(s);
    }
    let manager = SchemaManager::new(pool);
    let mut account = TenantedTable::new("account")
        .add_column()
        .index(&["id"])
        .unique("account_key_id", &["id"])
        .unique("account_name", &["name"]);
    let mut entry = TenantedTable::new("entry").add_column().index(&["id"]);
    if pool.get_database_backend() != DbBackend::Sqlite {
        entry = entry.foreign_key(
            "entry_account",
            &["account_id"],
            "account",
            "data_key",
            &["id"],
        );
    }
    if rls {
        account = account.row_level_security();
        entry = entry.row_level_security();
    }
    account.up(&manager).await.expect("account");
    entry.up(&manager).await.expect("entry");
    Registry::builder()
        .tenanted("account", "data_key")
        .tenanted("entry", "data_key")
        .reference("entry", &["account_id"], "account", &["id"])
        .universal("price_list")
        .build()
}

async fn the_verifier_passes_a_schema_built_with_the_helpers(pool: &DatabaseConnection) {
    let registry = build_safe_schema(pool, false).await;
    let report = verify(pool, &registry, VerifyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.checked, ["entry", "account"]);
    assert!(
        report
            .to_string()
            .starts_with("schema verified: 2 table(s)"),
        "{report}"
    );
}

fn report_of(err: &sea_orm::DbErr) -> String {
    match TenancyError::from_db_err(err) {
        Some(TenancyError::UnsafeSchema { report }) => report.clone(),
        other => panic!("not a schema report: {other:?} ({err})"),
    }
}

async fn the_verifier_reports_every_problem(pool: &DatabaseConnection) {
    // The isolation seed's schema, as SeaORM creates it: no DataKey index, single-column
    // foreign keys between tenanted tables, the default collation on PostgreSQL.
    pool.execute_unprepared("CREATE TABLE legacy (id integer PRIMARY KEY, data_key varchar(20))")
        .await
        .expect("a universal table with a data key");
    pool.execute_unprepared("CREATE UNIQUE INDEX invoice_number ON invoice (number)")
        .await
        .expect("a unique index without the data key");
    let registry = Registry::builder()
        .entity::<invoice::Entity>()
        .entity::<common::entities::customer::Entity>()
        .universal("legacy")
        .tenanted("missing", "data_key")
        .build();
    let err = verify(pool, &registry, VerifyOptions::default())
        .await
        .expect_err("unsafe");
    let report = report_of(&err);
    for expected in [
        "invoice: no index starts with `data_key`",
        "invoice: unique index `invoice_number` does not include `data_key`",
        "customer: no index starts with `tenant_key`",
        "legacy: universal table has a data key column `data_key`",
        "missing: the table does not exist",
    ] {
        assert!(report.contains(expected), "{expected:?} not in\n{report}");
    }
    if pool.get_database_backend() != DbBackend::Sqlite {
        assert!(
            report.contains("invoice: foreign key")
                && report.contains("to tenanted table `customer` does not include `data_key`"),
            "{report}"
        );
    }
    if pool.get_database_backend() == DbBackend::Postgres {
        assert!(
            report.contains("invoice: `data_key` is in the collation"),
            "{report}"
        );
    }
}

async fn the_verifier_checks_row_level_security_and_the_role(owner: &DatabaseConnection) {
    let registry = build_safe_schema(owner, true).await;
    // As the owner (a superuser here): both reported.
    let err = verify(owner, &registry, VerifyOptions::with_row_level_security())
        .await
        .expect_err("owner");
    let report = report_of(&err);
    assert!(
        report.contains("account: the connected role owns the table"),
        "{report}"
    );
    assert!(report.contains("is a superuser"), "{report}");
    // As the application role: all holds.
    let app = common::application_role_pool(owner, 1).await;
    verify(&app, &registry, VerifyOptions::with_row_level_security())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A view that reads a tenanted table with its owner's rights is reported; an
    // invoker view is not.
    owner
        .execute_unprepared("CREATE VIEW account_names AS SELECT name FROM account")
        .await
        .expect("definer view");
    owner
        .execute_unprepared(
            "CREATE VIEW entry_ids WITH (security_invoker = true) AS SELECT id FROM entry",
        )
        .await
        .expect("invoker view");
    let report = report_of(
        &verify(&app, &registry, VerifyOptions::with_row_level_security())
            .await
            .expect_err("definer view"),
    );
    assert!(
        report.contains("view `account_names` is not security_invoker"),
        "{report}"
    );
    assert!(!report.contains("entry_ids"), "{report}");
    // Without FORCE, the owner would read around the policy: reported.
    owner
        .execute_unprepared("ALTER TABLE entry NO FORCE ROW LEVEL SECURITY")
        .await
        .expect("no force");
    let report = report_of(
        &verify(&app, &registry, VerifyOptions::with_row_level_security())
            .await
            .expect_err("not forced"),
    );
    assert!(
        report.contains("entry: row-level security is not forced"),
        "{report}"
    );
    app.close().await.expect("close");
}

postgres_only! {
    postgres_rls:
    sql_the_rewriter_never_sees_still_sees_only_the_tenants_rows,
    a_pooled_connection_reused_without_a_tenant_sees_no_rows,
    a_connection_killed_mid_transaction_leaks_nothing,
    the_policy_reads_the_setting_once_and_uses_the_index,
    the_verifier_checks_row_level_security_and_the_role,
}

scenarios! {
    the_verifier_reports_every_problem,
}

mod every_backend {
    use super::*;

    async fn on(
        backend: common::Backend,
        name: &str,
        f: fn(&DatabaseConnection) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>,
    ) {
        common::on_fresh_database(backend, name, async |pool| f(pool).await).await;
    }

    macro_rules! each {
        ($($name:ident),+) => {
            $(
                mod $name {
                    use super::*;
                    #[tokio::test]
                    async fn sqlite() {
                        on(common::Backend::Sqlite, stringify!($name), |p| Box::pin(crate::$name(p))).await;
                    }
                    #[tokio::test]
                    async fn postgres() {
                        on(common::Backend::Postgres, stringify!($name), |p| Box::pin(crate::$name(p))).await;
                    }
                    #[tokio::test]
                    async fn mysql() {
                        on(common::Backend::MySql, stringify!($name), |p| Box::pin(crate::$name(p))).await;
                    }
                }
            )+
        };
    }

    each!(
        the_migration_helpers_are_reversible_and_refuse_malformed_keys,
        a_composite_primary_key_is_made_and_undone,
        a_composite_foreign_key_refuses_a_cross_tenant_reference,
        the_verifier_passes_a_schema_built_with_the_helpers
    );
}

#[test]
fn rls_mode_is_refused_off_postgresql() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let pool = Database::connect("sqlite::memory:").await.expect("sqlite");
        let err = TenantConnection::new(pool, key("1."))
            .with_row_level_security()
            .expect_err("sqlite");
        assert!(matches!(err, TenancyError::UnsupportedStatement { .. }));
        assert!(err.to_string().contains("postgresql only"), "{err}");
    });
}
