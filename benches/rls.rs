//! Row-level security mode against rewrite-only mode on PostgreSQL: a point select by id,
//! a list of 50, and ten point selects in one transaction, through a `TenantConnection`
//! on the same table of 10,000 rows.
//!
//! - rewrite-only: `TenantConnection::new(owner_pool, key)`; the owner is a superuser, so
//!   the table's policy is not evaluated (as on a table without row-level security);
//! - RLS mode: `TenantConnection::new(app_pool, key).with_row_level_security()`, as a
//!   role the policy binds: each statement runs in its own transaction that first sets
//!   the tenant (`BEGIN`, `set_config`, the statement, `COMMIT`).
//!
//! Run: `cargo bench --bench rls` (with `DATABASE_URL_POSTGRES`), then
//! `python3 scripts/bench-report.py`.

// Entity modules are `pub`, as in every SeaORM application.
#![allow(unreachable_pub)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sea_orm::QuerySelect;
use sea_orm::entity::prelude::*;
use sea_orm_migration::SchemaManager;
use sea_orm_tenancy::migration::TenantedTable;
use sea_orm_tenancy::{DataKey, Registry, TenantConnection};

use support::{Backend, TestDb, World, item};

const WORLD: World = World {
    roots: 1,
    mids: 10,
    leaves: 10,
    rows_per_leaf: 100,
};

const TENANT: &str = "0.4.2.";

async fn find_by_id(db: &TenantConnection, id: i32) {
    let found = item::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("find_by_id");
    assert!(found.is_some());
}

async fn list_50(db: &TenantConnection) {
    let rows = item::Entity::find()
        .filter(item::Column::Amount.gte(10))
        .limit(50)
        .all(db)
        .await
        .expect("list");
    assert_eq!(rows.len(), 50);
}

/// Ten point selects in one transaction: what a request that opens one does. In RLS
/// mode the tenant is set once, when the transaction opens.
async fn ten_in_a_transaction(db: &TenantConnection, id: i32) {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.expect("begin");
    for _ in 0..10 {
        let found = item::Entity::find_by_id(id)
            .one(&txn)
            .await
            .expect("find_by_id");
        assert!(found.is_some());
    }
    txn.commit().await.expect("commit");
}

fn rls(c: &mut Criterion) {
    let rt = support::runtime();
    let registry = Arc::new(Registry::builder().entity::<item::Entity>().build());
    let rounds = if support::measuring() { 1000 } else { 2 };
    let Some((db, app)) = rt.block_on(async {
        let db = TestDb::create(Backend::Postgres, "bench_rls").await?;
        support::create_world(&db.pool, WORLD).await;
        TenantedTable::new("item")
            .row_level_security()
            .up(&SchemaManager::new(&db.pool))
            .await
            .expect("row-level security");
        let app = support::application_role_pool(&db.pool, 4).await;
        Some((db, app))
    }) else {
        return;
    };
    let id = rt.block_on(support::first_id(&db.pool, TENANT));
    let key = DataKey::new(TENANT).expect("key");
    let rewrite_only =
        TenantConnection::with_registry(db.pool.clone(), key.clone(), registry.clone());
    let with_rls = TenantConnection::with_registry(app.clone(), key, registry)
        .with_row_level_security()
        .expect("postgres");
    let mut group = c.benchmark_group("rls/postgres");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let (r, s) = (&rewrite_only, &with_rls);
    group.bench_function("find_by_id/rewrite_only", |b| {
        b.to_async(&rt).iter(|| find_by_id(r, id))
    });
    group.bench_function("find_by_id/rls", |b| {
        b.to_async(&rt).iter(|| find_by_id(s, id))
    });
    group.bench_function("list_50/rewrite_only", |b| {
        b.to_async(&rt).iter(|| list_50(r))
    });
    group.bench_function("list_50/rls", |b| b.to_async(&rt).iter(|| list_50(s)));
    group.bench_function("ten_in_a_transaction/rewrite_only", |b| {
        b.to_async(&rt).iter(|| ten_in_a_transaction(r, id))
    });
    group.bench_function("ten_in_a_transaction/rls", |b| {
        b.to_async(&rt).iter(|| ten_in_a_transaction(s, id))
    });
    group.finish();
    support::paired_ratio(
        &rt,
        "rls/postgres/find_by_id",
        rounds,
        1,
        || find_by_id(r, id),
        || find_by_id(s, id),
    );
    support::paired_ratio(
        &rt,
        "rls/postgres/list_50",
        rounds,
        1,
        || list_50(r),
        || list_50(s),
    );
    support::paired_ratio(
        &rt,
        "rls/postgres/ten_in_a_transaction",
        (rounds / 10).max(2),
        1,
        || ten_in_a_transaction(r, id),
        || ten_in_a_transaction(s, id),
    );
    rt.block_on(async {
        app.close().await.expect("close");
        db.destroy().await;
    });
}

criterion_group!(benches, rls);
criterion_main!(benches);
