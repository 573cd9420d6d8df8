//! Scale out: `TenantRouter` over two real databases of the same server, on SQLite,
//! PostgreSQL and MariaDB. Each scenario gets two fresh databases, `a` (which also holds
//! the catalog) and `b`, each with the isolation tables and no rows.
//!
//! Run: `cargo test --all-features --test sharding` (servers as for `tests/isolation.rs`).

#[macro_use]
mod common;

use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};
use sea_orm_migration::{MigrationTrait, SchemaManager};
use sea_orm_tenancy::shard::{CreateShardCatalog, MoveOptions, TenantRouter, tenant_shard};
use sea_orm_tenancy::{DataKey, TenancyError};

use common::entities::invoice;

/// Rows with keys unique across shards (the application makes them), so that a move
/// never clashes with the target's own rows.
#[allow(unreachable_pub)] // SeaORM's derives want `pub` items
mod doc {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "doc")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub data_key: String,
        pub body: String,
        pub version: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
use common::{Backend, all_invoices, create_tables, on_fresh_database};

/// `sharded! { a, b }`: a test per scenario and backend, each given two fresh databases.
macro_rules! sharded {
    (@backend $module:ident, $backend:ident, $($name:ident),+) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::two_databases(
                        crate::common::Backend::$backend,
                        stringify!($name),
                        crate::$name,
                    )
                    .await;
                }
            )+
        }
    };
    ($($name:ident),+ $(,)?) => {
        sharded!(@backend sqlite, Sqlite, $($name),+);
        sharded!(@backend postgres, Postgres, $($name),+);
        sharded!(@backend mysql, MySql, $($name),+);
    };
}

async fn two_databases<F>(backend: Backend, test: &str, scenario: F)
where
    F: AsyncFnOnce(&DatabaseConnection, &DatabaseConnection),
{
    on_fresh_database(backend, &format!("{test}_a"), async |a| {
        on_fresh_database(backend, &format!("{test}_b"), async |b| {
            create_tables(a).await;
            create_tables(b).await;
            for pool in [a, b] {
                let schema = sea_orm::Schema::new(pool.get_database_backend());
                sea_orm::ConnectionTrait::execute(
                    pool,
                    &schema.create_table_from_entity(doc::Entity),
                )
                .await
                .expect("create doc");
            }
            CreateShardCatalog
                .up(&SchemaManager::new(a))
                .await
                .expect("create the catalog");
            scenario(a, b).await;
        })
        .await;
    })
    .await;
}

fn key(text: &str) -> DataKey {
    DataKey::new(text).expect("key")
}

async fn router(a: &DatabaseConnection, b: &DatabaseConnection) -> TenantRouter {
    TenantRouter::builder(a.clone())
        .shard("a", a.clone())
        .shard("b", b.clone())
        .build()
        .await
        .expect("build the router")
}

async fn insert(db: &impl sea_orm::ConnectionTrait, number: &str) -> Result<invoice::Model, DbErr> {
    invoice::ActiveModel {
        number: Set(number.to_owned()),
        amount: Set(1),
        ..Default::default()
    }
    .insert(db)
    .await
}

async fn insert_raw(pool: &DatabaseConnection, data_key: &str, number: &str) {
    invoice::ActiveModel {
        data_key: Set(data_key.to_owned()),
        number: Set(number.to_owned()),
        amount: Set(1),
        ..Default::default()
    }
    .insert(pool)
    .await
    .expect("raw insert");
}

/// (data_key, number) of every invoice, through the raw pool.
async fn rows(pool: &DatabaseConnection) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = all_invoices(pool)
        .await
        .into_iter()
        .map(|i| (i.data_key, i.number))
        .collect();
    rows.sort();
    rows
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, n)| ((*k).to_owned(), (*n).to_owned()))
        .collect()
}

async fn numbers_seen(router: &TenantRouter, tenant: &str) -> Vec<String> {
    let db = router.connect(&key(tenant)).expect("connect");
    let mut seen: Vec<String> = invoice::Entity::find()
        .all(&db)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.number)
        .collect();
    seen.sort();
    seen
}

async fn routing_sends_each_tenant_to_its_database(a: &DatabaseConnection, b: &DatabaseConnection) {
    let router = router(a, b).await;
    router
        .assign(&key("100."), "a", false)
        .await
        .expect("route 100.");
    router
        .assign(&key("200."), "b", false)
        .await
        .expect("route 200.");
    router
        .assign(&key("200.3."), "a", false)
        .await
        .expect("route 200.3.");

    for (tenant, number) in [
        ("100.", "100-1"),
        ("200.", "200-1"),
        ("200.7.", "200.7-1"),
        ("200.3.", "200.3-1"),
        ("200.3.1.", "200.3.1-1"),
    ] {
        let db = router.connect(&key(tenant)).expect("connect");
        assert_eq!(insert(&db, number).await.expect("insert").data_key, tenant);
    }
    // Each row is in the database its tenant routes to: the longest route wins.
    assert_eq!(
        rows(a).await,
        pairs(&[
            ("100.", "100-1"),
            ("200.3.", "200.3-1"),
            ("200.3.1.", "200.3.1-1")
        ])
    );
    assert_eq!(
        rows(b).await,
        pairs(&[("200.", "200-1"), ("200.7.", "200.7-1")])
    );
    // A parent sees the part of its subtree that lives on its shard.
    assert_eq!(numbers_seen(&router, "200.").await, ["200-1", "200.7-1"]);
    assert_eq!(
        numbers_seen(&router, "200.3.").await,
        ["200.3-1", "200.3.1-1"]
    );

    let route = router.route(&key("200.3.1.")).expect("route");
    assert_eq!(
        (route.shard(), route.routed_by()),
        ("a", Some(&key("200.3.")))
    );
    // No route, no default shard: refused, not guessed.
    let err = router.connect(&key("300.")).expect_err("unrouted");
    assert!(matches!(err, TenancyError::TenantNotRouted { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "tenant not routed: no route in the catalog and no default shard (tenant `300.`)"
    );
}

async fn a_tenant_cannot_see_another_databases_tenants(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
) {
    insert_raw(a, "100.", "100-1").await;
    insert_raw(a, "101.", "101-1").await;
    insert_raw(b, "200.", "200-1").await;
    // A row of 100. left behind on b (a half-done copy, a restore): 200.'s database,
    // where 200. is alone by route.
    insert_raw(b, "100.", "100-stray").await;

    let router = router(a, b).await;
    router
        .assign(&key("100."), "a", false)
        .await
        .expect("route");
    router
        .assign(&key("101."), "a", false)
        .await
        .expect("route");
    router.assign(&key("200."), "b", true).await.expect("route");

    assert_eq!(numbers_seen(&router, "100.").await, ["100-1"]);
    assert_eq!(numbers_seen(&router, "101.").await, ["101-1"]);
    // Dedicated, and still filtered by default: the stray row stays hidden.
    assert_eq!(numbers_seen(&router, "200.").await, ["200-1"]);

    // Nor can 200. reach 100.'s row on its own database by id.
    let stray = all_invoices(b)
        .await
        .into_iter()
        .find(|i| i.number == "100-stray")
        .expect("stray row");
    let db = router.connect(&key("200.")).expect("connect");
    assert!(
        invoice::Entity::find_by_id(stray.id)
            .one(&db)
            .await
            .expect("find")
            .is_none()
    );
    let deleted = invoice::Entity::delete_by_id(stray.id)
        .exec(&db)
        .await
        .expect("delete");
    assert_eq!(deleted.rows_affected, 0);

    // The explicit opt-out: only for a dedicated tenant's own route, and it is raw.
    let raw = router
        .connect_unfiltered(&key("200."))
        .expect("dedicated route");
    assert_eq!(
        invoice::Entity::find().all(&raw).await.expect("raw").len(),
        2
    );
    for tenant in ["100.", "200.1."] {
        let err = router
            .connect_unfiltered(&key(tenant))
            .expect_err("not its own dedicated route");
        assert!(matches!(err, TenancyError::TenantNotRouted { .. }), "{err}");
    }
    // A dedicated shard holds one route: routing another tenant there is refused.
    let err = router
        .assign(&key("201."), "b", false)
        .await
        .expect_err("b is dedicated to 200.");
    assert!(err.to_string().contains("dedicated to shard `b`"), "{err}");
    assert!(router.route(&key("201.")).is_err(), "the old routes stay");
}

async fn assigning_a_tenant_with_rows_elsewhere_is_refused(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
) {
    let router = default_a(a, b).await;
    let db = router.connect(&key("100.4.")).expect("default shard");
    insert(&db, "100.4-1").await.expect("insert");

    let err = router
        .assign(&key("100."), "b", false)
        .await
        .expect_err("its subtree has rows on a");
    let tenancy = TenancyError::from_db_err(&err).expect("a tenancy error");
    assert!(
        matches!(tenancy, TenancyError::InvalidTenantChange { table, .. } if table == "invoice"),
        "{tenancy}"
    );
    assert_eq!(router.route(&key("100.4.")).expect("route").shard(), "a");
    assert!(
        tenant_shard::Entity::find()
            .all(a)
            .await
            .expect("catalog")
            .is_empty()
    );

    // A tenant without rows moves its route freely, and to a shard that exists only.
    router
        .assign(&key("101."), "b", false)
        .await
        .expect("new tenant");
    assert_eq!(router.route(&key("101.")).expect("route").shard(), "b");
    let err = router
        .assign(&key("102."), "c", false)
        .await
        .expect_err("no shard c");
    assert!(err.to_string().contains("`c` is not a shard"), "{err}");
}

async fn the_catalog_is_reloaded_and_a_bad_one_keeps_the_old_routes(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
) {
    let first = router(a, b).await;
    let second = router(a, b).await; // another process
    second
        .assign(&key("500."), "b", false)
        .await
        .expect("route");
    assert!(first.route(&key("500.")).is_err(), "not read yet");
    assert_eq!(first.reload().await.expect("reload"), 1);
    assert_eq!(first.route(&key("500.")).expect("route").shard(), "b");

    for (data_key, shard, dedicated, why) in [
        ("600.", "zz", false, "which is not a shard of this router"),
        ("600", "a", false, "invalid data key"),
        (
            "600.",
            "b",
            true,
            "dedicated to shard `b`, which holds other tenants too",
        ),
    ] {
        tenant_shard::ActiveModel {
            data_key: Set(data_key.to_owned()),
            shard: Set(shard.to_owned()),
            dedicated: Set(dedicated),
        }
        .insert(a)
        .await
        .expect("raw catalog row");
        let err = first.reload().await.expect_err(data_key);
        assert!(
            matches!(err, TenancyError::DirectoryNotLoaded { .. }),
            "{err}"
        );
        assert!(err.to_string().contains(why), "{err}");
        assert_eq!(first.route(&key("500.")).expect("kept").shard(), "b");
        tenant_shard::Entity::delete_by_id(data_key.to_owned())
            .exec(a)
            .await
            .expect("remove the row");
    }
}

async fn add_doc(db: &impl sea_orm::ConnectionTrait, id: &str) -> Result<(), DbErr> {
    doc::ActiveModel {
        id: Set(id.to_owned()),
        body: Set(format!("body of {id}")),
        version: Set(1),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// (data_key, id, body, version) of every doc of `key`'s subtree in `pool`, sorted.
async fn docs_of(pool: &DatabaseConnection, key: &str) -> Vec<(String, String, String, i32)> {
    let mut rows: Vec<_> = doc::Entity::find()
        .all(pool)
        .await
        .expect("docs")
        .into_iter()
        .filter(|d| d.data_key.starts_with(key))
        .map(|d| (d.data_key, d.id, d.body, d.version))
        .collect();
    rows.sort();
    rows
}

/// A router over `a` and `b`, with `a` as the default shard.
async fn default_a(a: &DatabaseConnection, b: &DatabaseConnection) -> TenantRouter {
    TenantRouter::builder(a.clone())
        .shard("a", a.clone())
        .shard("b", b.clone())
        .default_shard("a")
        .build()
        .await
        .expect("router")
}

/// Seeds `100.` (and its child `100.2.`) on the default shard `a`, `101.` beside it, and
/// `200.` on `b`; returns the router.
async fn seeded_router(a: &DatabaseConnection, b: &DatabaseConnection) -> TenantRouter {
    let router = default_a(a, b).await;
    router
        .assign(&key("200."), "b", false)
        .await
        .expect("route 200.");
    for (tenant, n) in [("100.", 25), ("100.2.", 10), ("101.", 5), ("200.", 5)] {
        let db = router.connect(&key(tenant)).expect("connect");
        for i in 0..n {
            add_doc(&db, &format!("{tenant}{i}"))
                .await
                .expect("seed doc");
        }
    }
    // Invoices with their auto-increment ids, for 100.'s subtree only: `b` has none, so
    // the copied ids cannot clash, and new ones on `b` must come after them.
    let db = router.connect(&key("100.2.")).expect("connect");
    for i in 0..12 {
        insert(&db, &format!("100.2-{i}"))
            .await
            .expect("seed invoice");
    }
    router
}

async fn a_move_under_a_concurrent_writer_loses_no_row_and_duplicates_none(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let router = seeded_router(a, b).await;
    let before_a_101 = docs_of(a, "101.").await;
    let before_b = docs_of(b, "").await;
    let mut expected_docs = docs_of(a, "100.").await;

    let moved = Arc::new(AtomicBool::new(false));
    let writer = {
        let (router, moved) = (router.clone(), moved.clone());
        tokio::spawn(async move {
            let mut written = Vec::new();
            let mut refusals = 0u32;
            let mut i = 0;
            // A request: one connection, a doc and an invoice. During the move the
            // connection is refused (retryable) and the request is retried.
            while !(moved.load(Ordering::SeqCst) && i >= 40) {
                assert!(refusals < 100_000, "the writer never saw the move end");
                let tenant = if i % 2 == 0 { "100." } else { "100.2." };
                let id = format!("w-{i}");
                let db = match router.connect(&key(tenant)) {
                    Ok(db) => db,
                    Err(e) => {
                        assert!(e.is_retryable(), "{e}");
                        refusals += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        continue;
                    }
                };
                add_doc(&db, &id).await.expect("doc");
                insert(&db, &id).await.expect("invoice");
                drop(db);
                written.push((tenant.to_owned(), id));
                i += 1;
                tokio::task::yield_now().await;
            }
            (written, refusals)
        })
    };
    // Let some writes land first.
    while doc::Entity::find().all(a).await.expect("docs").len() < 50 {
        tokio::task::yield_now().await;
    }
    let report = router
        .move_tenant(&key("100."), "b", MoveOptions::default().batch_size(7))
        .await
        .expect("move");
    moved.store(true, Ordering::SeqCst);
    let (written, refusals) = writer.await.expect("writer");
    assert!(refusals > 0, "the writer met the fence");

    for (tenant, id) in &written {
        expected_docs.push((tenant.clone(), id.clone(), format!("body of {id}"), 1));
    }
    expected_docs.sort();
    // Every row once, on `b`; none left on `a`; the neighbours untouched.
    assert_eq!(docs_of(b, "100.").await, expected_docs);
    assert!(docs_of(a, "100.").await.is_empty());
    assert_eq!(docs_of(a, "101.").await, before_a_101);
    let b_others: Vec<_> = docs_of(b, "")
        .await
        .into_iter()
        .filter(|d| !d.0.starts_with("100."))
        .collect();
    assert_eq!(b_others, before_b);
    let mut numbers: Vec<String> = rows(b)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("100."))
        .map(|(_, n)| n)
        .collect();
    numbers.sort();
    let mut expected_numbers: Vec<String> = (0..12).map(|i| format!("100.2-{i}")).collect();
    expected_numbers.extend(written.iter().map(|(_, id)| id.clone()));
    expected_numbers.sort();
    assert_eq!(numbers, expected_numbers, "invoices: each once");
    assert!(rows(a).await.iter().all(|(k, _)| !k.starts_with("100.")));
    // The report's digests: counts as copied, equal on both sides.
    assert!(report.rows() >= 35 + 12, "{report:?}");
    assert!(report.tables().iter().any(|(t, _)| t == "doc"));
    assert!(report.tables().iter().any(|(t, _)| t == "invoice"));
    assert_eq!(router.route(&key("100.2.")).expect("route").shard(), "b");
}

async fn an_interrupted_move_is_resumed_by_another_router(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
) {
    let router = seeded_router(a, b).await;
    let original = docs_of(a, "100.").await;
    let err = router
        .move_tenant(
            &key("100."),
            "b",
            MoveOptions::default().batch_size(4).stop_after_batches(3),
        )
        .await
        .expect_err("interrupted");
    assert!(err.to_string().contains("stopped after 3 batches"), "{err}");
    // Half copied, still routed to `a`, and fenced: for this router...
    assert_eq!(router.route(&key("100.")).expect("route").shard(), "a");
    let copied = docs_of(b, "100.").await.len()
        + rows(b)
            .await
            .iter()
            .filter(|(k, _)| k.starts_with("100."))
            .count();
    assert_eq!(copied, 12, "three batches of four rows");
    let err = router.connect(&key("100.2.")).expect_err("fenced");
    assert!(err.is_retryable(), "{err}");
    // ...and for another one, started after the crash.
    let restarted = default_a(a, b).await;
    let err = restarted.connect(&key("100.")).expect_err("fenced");
    assert!(err.is_retryable(), "{err}");
    // Writes of other tenants go on.
    add_doc(
        &restarted.connect(&key("101.")).expect("connect"),
        "101.late",
    )
    .await
    .expect("101. is not moving");

    let reports = restarted.resume_moves().await.expect("resume");
    assert_eq!(reports.len(), 1);
    assert_eq!(docs_of(b, "100.").await, original);
    assert!(docs_of(a, "100.").await.is_empty());
    assert_eq!(restarted.route(&key("100.")).expect("route").shard(), "b");
    add_doc(&restarted.connect(&key("100.")).expect("connect"), "after")
        .await
        .expect("written on b");
    assert_eq!(docs_of(b, "100.").await.len(), original.len() + 1);
    // The first router learns of it on reload.
    router.reload().await.expect("reload");
    assert_eq!(router.route(&key("100.")).expect("route").shard(), "b");
    add_doc(&router.connect(&key("100.2.")).expect("connect"), "after2")
        .await
        .expect("written on b");
    assert!(
        restarted
            .resume_moves()
            .await
            .expect("nothing left")
            .is_empty()
    );
}

async fn a_move_that_has_not_switched_is_rolled_back(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
) {
    let router = seeded_router(a, b).await;
    let original = docs_of(a, "100.").await;
    router
        .move_tenant(
            &key("100."),
            "b",
            MoveOptions::default().batch_size(4).stop_after_batches(2),
        )
        .await
        .expect_err("interrupted");
    router.rollback_move(&key("100.")).await.expect("rollback");
    assert!(docs_of(b, "100.").await.is_empty(), "the copy is gone");
    assert_eq!(docs_of(a, "100.").await, original, "the source is intact");
    add_doc(&router.connect(&key("100.")).expect("connect"), "again")
        .await
        .expect("writes go on, on a");
    assert!(
        sea_orm_tenancy::shard::tenant_shard_move::Entity::find()
            .all(a)
            .await
            .expect("moves")
            .is_empty()
    );
    let err = router
        .rollback_move(&key("100."))
        .await
        .expect_err("nothing to roll back");
    assert!(
        err.to_string().contains("no move of it is under way"),
        "{err}"
    );
}

async fn moves_that_would_strand_or_clash_are_refused(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
) {
    let router = seeded_router(a, b).await;
    let refused = |err: DbErr, why: &str| {
        assert!(err.to_string().contains(why), "{err}");
    };
    refused(
        router
            .move_tenant(&key("100."), "a", MoveOptions::default())
            .await
            .expect_err("same shard"),
        "already on shard `a`",
    );
    refused(
        router
            .move_tenant(&key("100."), "c", MoveOptions::default())
            .await
            .expect_err("no shard c"),
        "`c` is not a shard",
    );
    router
        .assign(&key("100.9."), "b", false)
        .await
        .expect("a child's own route");
    refused(
        router
            .move_tenant(&key("100."), "b", MoveOptions::default())
            .await
            .expect_err("a descendant routed to the target"),
        "the descendant `100.9.` has a route of its own",
    );
    router
        .move_tenant(
            &key("101."),
            "b",
            MoveOptions::default().batch_size(1).stop_after_batches(1),
        )
        .await
        .expect_err("interrupted");
    refused(
        router
            .move_tenant(&key("101."), "b", MoveOptions::default())
            .await
            .expect_err("unfinished"),
        "the move of `101.` is unfinished",
    );
    // Nothing of 100.'s moved.
    assert_eq!(docs_of(a, "100.").await.len(), 35);

    // A connection of the path held open: the move waits for it, then gives up, and
    // nothing has changed. The held connection works throughout.
    router.rollback_move(&key("101.")).await.expect("rollback");
    let held = router.connect(&key("101.")).expect("connect");
    let err = router
        .move_tenant(
            &key("101."),
            "b",
            MoveOptions::default().drain_timeout(std::time::Duration::from_millis(300)),
        )
        .await
        .expect_err("a connection stayed open");
    assert!(err.to_string().contains("stayed open"), "{err}");
    add_doc(&held, "held")
        .await
        .expect("the held connection works");
    drop(held);
    assert_eq!(router.route(&key("101.")).expect("route").shard(), "a");
    add_doc(&router.connect(&key("101.")).expect("open again"), "after")
        .await
        .expect("writes go on");
    assert!(
        sea_orm_tenancy::shard::tenant_shard_move::Entity::find()
            .all(a)
            .await
            .expect("moves")
            .is_empty(),
        "no move recorded"
    );
}

sharded! {
    routing_sends_each_tenant_to_its_database,
    a_tenant_cannot_see_another_databases_tenants,
    assigning_a_tenant_with_rows_elsewhere_is_refused,
    the_catalog_is_reloaded_and_a_bad_one_keeps_the_old_routes,
    a_move_under_a_concurrent_writer_loses_no_row_and_duplicates_none,
    an_interrupted_move_is_resumed_by_another_router,
    a_move_that_has_not_switched_is_rolled_back,
    moves_that_would_strand_or_clash_are_refused,
}
