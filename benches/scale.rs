//! Scale: is a tenant's query as fast among 10,000 tenants as among 10?
//!
//! Two worlds per backend, each in a fresh database, with 100 rows per leaf tenant and
//! the DataKey indexed with the id in the bytewise collation:
//!
//! - **many**: 10 roots × 10 regions × 100 shops: 10,110 tenants in three levels, the
//!   10,000 shops owning 1,000,000 rows;
//! - **few**: 1 root × 2 regions × 5 shops: 13 tenants, the 10 shops owning 1,000 rows.
//!
//! Two queries through a `TenantConnection` (prefix matching, the default), the first
//! page of 50 rows in key order: a shop's own rows, and a region's subtree. The figure is
//! the median latency in the many-tenant world divided by that in the few-tenant world,
//! both measured in the same run. (Not a paired run as in the hot path: alternating call
//! by call between two pools, two server connections, measures the switching; it gave
//! 0.7× and 3× for pairs whose medians agree within 3%.)
//!
//! On PostgreSQL the same runs again on sessions with `plan_cache_mode =
//! force_generic_plan`: by default PostgreSQL re-plans the statement on every execution in
//! the large world (the generic plan's estimate of a range over bound values grows with
//! the table), which is most of the difference there.
//!
//! Run: `cargo bench --bench scale` (with the servers' URLs, see the README). Without
//! `--bench` (`cargo test`), the many-tenant world is cut to 100 shops, to check that the
//! bench runs.

// Entity modules are `pub`, as in every SeaORM application.
#![allow(unreachable_pub)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, DbBackend, QueryOrder, QuerySelect, Statement};
use sea_orm_tenancy::{DataKey, Registry, TenantConnection};

use support::{Backend, TestDb, World, item};

const MANY: World = World {
    roots: 10,
    mids: 10,
    leaves: 100,
    rows_per_leaf: 100,
};

/// The many-tenant world of a test run: the same shape, 100 shops.
const MANY_IN_TEST: World = World {
    roots: 1,
    mids: 1,
    leaves: 100,
    rows_per_leaf: 100,
};

const FEW: World = World {
    roots: 1,
    mids: 2,
    leaves: 5,
    rows_per_leaf: 100,
};

/// The first page of the tenant's rows in key order.
async fn first_page(db: &TenantConnection, expect: usize) {
    let rows = item::Entity::find()
        .order_by_asc(item::Column::DataKey)
        .order_by_asc(item::Column::Id)
        .limit(50)
        .all(db)
        .await
        .expect("list");
    assert_eq!(rows.len(), expect);
}

fn scale(c: &mut Criterion) {
    let rt = support::runtime();
    let registry = Arc::new(Registry::builder().entity::<item::Entity>().build());
    let many = if support::measuring() {
        MANY
    } else {
        MANY_IN_TEST
    };
    for backend in support::BACKENDS {
        let mut worlds = Vec::new();
        for (label, world) in [("few", FEW), ("many", many)] {
            let Some(db) = rt.block_on(async {
                let db = TestDb::create(backend, &format!("bench_scale_{label}")).await?;
                support::create_world(&db.pool, world).await;
                Some(db)
            }) else {
                continue;
            };
            // On PostgreSQL, a second pool on the same database with generic plans forced.
            let generic = match backend {
                Backend::Postgres => Some(rt.block_on(generic_plan_pool(&db.pool))),
                _ => None,
            };
            worlds.push((label, world, db, generic));
        }
        // The pools to measure: the plain one of each world, and on PostgreSQL the one
        // with generic plans forced.
        let mut variants = vec![(support::name(backend).to_owned(), false)];
        if backend == Backend::Postgres {
            variants.push(("postgres_generic_plans".to_owned(), true));
        }
        for (variant, generic) in variants {
            let tenants: Vec<_> = worlds
                .iter()
                .map(|(label, world, db, generic_pool)| {
                    let pool = match (generic, generic_pool) {
                        (true, Some(p)) => p.clone(),
                        _ => db.pool.clone(),
                    };
                    // A shop in the middle of the world, and its region.
                    let leaf = world.leaf_tenants() / 2 + 3;
                    let connect = |key: String| {
                        TenantConnection::with_registry(
                            pool.clone(),
                            DataKey::new(&key).expect("key"),
                            registry.clone(),
                        )
                    };
                    let shop = connect(world.leaf_key(leaf));
                    let region = connect(world.mid_key(leaf));
                    (*label, [("shop", shop), ("region", region)])
                })
                .collect();
            let mut group = c.benchmark_group(format!("scale/{variant}"));
            group
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(3));
            for (label, tenants) in &tenants {
                for (query, tenant) in tenants {
                    group.bench_function(format!("{query}_first_page/{label}"), |b| {
                        b.to_async(&rt).iter(|| first_page(tenant, 50))
                    });
                }
            }
            group.finish();
        }
        for (_, _, db, generic) in worlds {
            if let Some(generic) = generic {
                let _ = rt.block_on(generic.close());
            }
            rt.block_on(db.destroy());
        }
    }
}

/// A pool on the same PostgreSQL database whose sessions plan every prepared statement
/// once, generically (`plan_cache_mode = force_generic_plan`). By default PostgreSQL
/// re-plans a statement for its values whenever the generic plan's estimate looks
/// worse, and the estimate of a range over bound values grows with the table.
async fn generic_plan_pool(pool: &DatabaseConnection) -> DatabaseConnection {
    let name = one_text(pool, "SELECT current_database() AS v").await;
    let url = std::env::var("DATABASE_URL_POSTGRES").expect("DATABASE_URL_POSTGRES");
    let base = url.split('?').next().unwrap_or(&url);
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    let url = format!("{server}/{name}?options[plan_cache_mode]=force_generic_plan");
    let pool = sea_orm::Database::connect(
        sea_orm::ConnectOptions::new(url)
            .max_connections(1)
            .sqlx_logging(false)
            .to_owned(),
    )
    .await
    .expect("connect with generic plans");
    let mode = one_text(&pool, "SELECT current_setting('plan_cache_mode') AS v").await;
    assert_eq!(mode, "force_generic_plan");
    pool
}

/// The text column `v` of the one row `sql` returns on PostgreSQL.
async fn one_text(pool: &DatabaseConnection, sql: &str) -> String {
    let row = pool
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get("", "v").expect("a text value")
}

criterion_group!(benches, scale);
criterion_main!(benches);
