//! Scale out: `TenantRouter` over two real databases of the same server, on SQLite,
//! PostgreSQL and MariaDB. Each scenario gets two fresh databases, `a` (which also holds
//! the catalog) and `b`, each with the isolation tables and no rows.
//!
//! Run: `cargo test --all-features --test sharding` (servers as for `tests/isolation.rs`).

#[macro_use]
mod common;

use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};
use sea_orm_migration::{MigrationTrait, SchemaManager};
use sea_orm_tenancy::shard::{CreateShardCatalog, TenantRouter, tenant_shard};
use sea_orm_tenancy::{DataKey, TenancyError};

use common::entities::invoice;
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
    let router = TenantRouter::builder(a.clone())
        .shard("a", a.clone())
        .shard("b", b.clone())
        .default_shard("a")
        .build()
        .await
        .expect("router");
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

sharded! {
    routing_sends_each_tenant_to_its_database,
    a_tenant_cannot_see_another_databases_tenants,
    assigning_a_tenant_with_rows_elsewhere_is_refused,
    the_catalog_is_reloaded_and_a_bad_one_keeps_the_old_routes,
}
