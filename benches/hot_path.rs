//! The hot path: the same SeaORM calls through a `TenantConnection` and through a plain
//! `DatabaseConnection` with the tenant filter written by hand, measured in the same
//! run, on SQLite in memory and on PostgreSQL and MariaDB over loopback.
//!
//! Four calls: a point select by id, a filtered list of 50 rows, an insert and an update
//! by id. Each in both match modes, against the filter a careful developer would write
//! for that mode: `data_key = '0.4.2.'` for `MatchMode::Exact`, and the same byte range
//! the rewriter writes, `data_key >= '0.4.2.' AND data_key < '0.4.2/'`, for
//! `MatchMode::Prefix` (`starts_with`, a `LIKE`, is not served by an index on SQLite, so
//! it would flatter the tenant connection). The table holds 10,000 rows of 100 tenants,
//! its DataKey in the bytewise collation, indexed with the id.
//!
//! Run: `cargo bench --bench hot_path` (with the servers' URLs, see the README), then
//! `python3 scripts/bench-report.py` for the ratios.

// Entity modules are `pub`, as in every SeaORM application.
#![allow(unreachable_pub)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::NotSet, Condition, DatabaseConnection, QuerySelect, Set};
use sea_orm_tenancy::{DataKey, MatchMode, Registry, TenantConnection};

use support::{TestDb, World, item};

/// 100 leaf tenants `r.m.l.` with 100 rows each.
const WORLD: World = World {
    roots: 1,
    mids: 10,
    leaves: 10,
    rows_per_leaf: 100,
};

/// The tenant every call runs as.
const TENANT: &str = "0.4.2.";
const UPPER: &str = "0.4.2/";

/// The filter written by hand, for `mode`.
fn hand_filter(mode: MatchMode) -> Condition {
    match mode {
        MatchMode::Exact | MatchMode::Distributed => {
            Condition::all().add(item::Column::DataKey.eq(TENANT))
        }
        MatchMode::Prefix => Condition::all()
            .add(item::Column::DataKey.gte(TENANT))
            .add(item::Column::DataKey.lt(UPPER)),
    }
}

fn mode_name(mode: MatchMode) -> &'static str {
    match mode {
        MatchMode::Exact => "exact",
        MatchMode::Distributed => "distributed",
        MatchMode::Prefix => "prefix",
    }
}

async fn find_by_id<C: ConnectionTrait>(db: &C, hand: Option<MatchMode>, id: i32) {
    let mut q = item::Entity::find_by_id(id);
    if let Some(mode) = hand {
        q = q.filter(hand_filter(mode));
    }
    let found = q.one(db).await.expect("find_by_id");
    assert!(found.is_some());
}

async fn list_50<C: ConnectionTrait>(db: &C, hand: Option<MatchMode>) {
    let mut q = item::Entity::find().filter(item::Column::Amount.gte(10));
    if let Some(mode) = hand {
        q = q.filter(hand_filter(mode));
    }
    let rows = q.limit(50).all(db).await.expect("list");
    assert_eq!(rows.len(), 50);
}

async fn insert<C: ConnectionTrait>(db: &C, hand: Option<MatchMode>) {
    let row = item::ActiveModel {
        id: NotSet,
        // Through the tenant connection the DataKey is filled in.
        data_key: if hand.is_some() {
            Set(TENANT.to_owned())
        } else {
            NotSet
        },
        number: Set("bench".to_owned()),
        amount: Set(5),
    };
    item::Entity::insert(row).exec(db).await.expect("insert");
}

async fn update_by_id<C: ConnectionTrait>(db: &C, hand: Option<MatchMode>, id: i32) {
    let mut q = item::Entity::update_many()
        // A change every time: MariaDB counts changed rows only.
        .col_expr(item::Column::Amount, Expr::col(item::Column::Amount).add(1))
        .filter(item::Column::Id.eq(id));
    if let Some(mode) = hand {
        q = q.filter(hand_filter(mode));
    }
    let done = q.exec(db).await.expect("update");
    assert_eq!(done.rows_affected, 1);
}

fn hot_path(c: &mut Criterion) {
    let rt = support::runtime();
    let registry = Arc::new(Registry::builder().entity::<item::Entity>().build());
    let (rounds, block) = if support::measuring() {
        (1000, 1)
    } else {
        (2, 1)
    };
    for backend in support::BACKENDS {
        let Some(db) = rt.block_on(async {
            let db = TestDb::create(backend, "bench_hot_path").await?;
            support::create_world(&db.pool, WORLD).await;
            Some(db)
        }) else {
            continue;
        };
        let pool: DatabaseConnection = db.pool.clone();
        let id = rt.block_on(support::first_id(&pool, TENANT));
        let tenant = |mode| {
            TenantConnection::with_registry(
                pool.clone(),
                DataKey::new(TENANT).expect("key"),
                registry.clone(),
            )
            .with_mode(mode)
        };
        let paired_id = |call: &str, mode| {
            format!(
                "hot_path/{}/{call}/{}",
                support::name(backend),
                mode_name(mode)
            )
        };
        let mut group = c.benchmark_group(format!("hot_path/{}", support::name(backend)));
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        // Each call through the reference, then through the tenant connection.
        for mode in [MatchMode::Exact, MatchMode::Prefix] {
            let (p, t, m) = (&pool, &tenant(mode), mode_name(mode));
            group.bench_function(format!("find_by_id/{m}/raw"), |b| {
                b.to_async(&rt).iter(|| find_by_id(p, Some(mode), id))
            });
            group.bench_function(format!("find_by_id/{m}/tenant"), |b| {
                b.to_async(&rt).iter(|| find_by_id(t, None, id))
            });
            group.bench_function(format!("list_50/{m}/raw"), |b| {
                b.to_async(&rt).iter(|| list_50(p, Some(mode)))
            });
            group.bench_function(format!("list_50/{m}/tenant"), |b| {
                b.to_async(&rt).iter(|| list_50(t, None))
            });
            group.bench_function(format!("insert/{m}/raw"), |b| {
                b.to_async(&rt).iter(|| insert(p, Some(mode)))
            });
            group.bench_function(format!("insert/{m}/tenant"), |b| {
                b.to_async(&rt).iter(|| insert(t, None))
            });
            group.bench_function(format!("update_by_id/{m}/raw"), |b| {
                b.to_async(&rt).iter(|| update_by_id(p, Some(mode), id))
            });
            group.bench_function(format!("update_by_id/{m}/tenant"), |b| {
                b.to_async(&rt).iter(|| update_by_id(t, None, id))
            });
        }
        // The ratios, each from a paired run: the two calls alternate in timed blocks,
        // so that the server's drift between two criterion benches does not count. The
        // rows the inserts added are in the tenant's range by then, on both sides alike.
        for mode in [MatchMode::Exact, MatchMode::Prefix] {
            let (p, t) = (&pool, &tenant(mode));
            support::paired_ratio(
                &rt,
                &paired_id("find_by_id", mode),
                rounds,
                block,
                || find_by_id(p, Some(mode), id),
                || find_by_id(t, None, id),
            );
            support::paired_ratio(
                &rt,
                &paired_id("list_50", mode),
                rounds,
                block,
                || list_50(p, Some(mode)),
                || list_50(t, None),
            );
            support::paired_ratio(
                &rt,
                &paired_id("insert", mode),
                rounds,
                block,
                || insert(p, Some(mode)),
                || insert(t, None),
            );
            support::paired_ratio(
                &rt,
                &paired_id("update_by_id", mode),
                rounds,
                block,
                || update_by_id(p, Some(mode), id),
                || update_by_id(t, None, id),
            );
        }
        group.finish();
        rt.block_on(db.destroy());
    }
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
