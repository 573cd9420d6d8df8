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
//! the latency in the many-tenant world divided by that in the few-tenant world, taken
//! from a paired run with both worlds up at once.
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
use sea_orm::{QueryOrder, QuerySelect};
use sea_orm_tenancy::{DataKey, Registry, TenantConnection};

use support::{TestDb, World, item};

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
            // A shop in the middle of the world, and its region.
            let leaf = world.leaf_tenants() / 2 + 3;
            let connect = |key: String| {
                TenantConnection::with_registry(
                    db.pool.clone(),
                    DataKey::new(&key).expect("key"),
                    registry.clone(),
                )
            };
            let shop = connect(world.leaf_key(leaf));
            let region = connect(world.mid_key(leaf));
            worlds.push((label, db, [("shop", shop), ("region", region)]));
        }
        let mut group = c.benchmark_group(format!("scale/{}", support::name(backend)));
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for (label, _, tenants) in &worlds {
            for (query, tenant) in tenants {
                group.bench_function(format!("{query}_first_page/{label}"), |b| {
                    b.to_async(&rt).iter(|| first_page(tenant, 50))
                });
            }
        }
        group.finish();
        // The ratios, from paired runs: both worlds are up at once, and the query
        // alternates between them in timed blocks.
        if let [(_, _, few), (_, _, many)] = worlds.as_slice() {
            let (rounds, block) = if support::measuring() {
                (1000, 1)
            } else {
                (2, 1)
            };
            for (f, m) in few.iter().zip(many) {
                let (query, few, many) = (f.0, &f.1, &m.1);
                support::paired_ratio(
                    &rt,
                    &format!("scale/{}/{query}_first_page", support::name(backend)),
                    rounds,
                    block,
                    || first_page(few, 50),
                    || first_page(many, 50),
                );
            }
        }
        for (_, db, _) in worlds {
            rt.block_on(db.destroy());
        }
    }
}

criterion_group!(benches, scale);
criterion_main!(benches);
