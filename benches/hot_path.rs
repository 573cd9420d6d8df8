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
//! Then the guardrails when nothing triggers them (`guardrails/<backend>/<call>`): the
//! four calls through a tenant connection with and without a statement timeout and a
//! cap, paired. On PostgreSQL both run on a pool that sets the timeout on its sessions,
//! declared with `pool_statement_timeout`; `guardrails/postgres/find_by_id/own_timeout`
//! is a tenant with a timeout of its own (a transaction per statement).
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
use sea_orm_tenancy::guard::{Guardrails, Limits};
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
        // The guardrails when nothing triggers them: the same calls through a tenant
        // connection with and without a statement timeout and a cap, paired, on the
        // same pool. As the README advises, the PostgreSQL pool sets the timeout on its
        // sessions (SeaORM's `ConnectOptions::statement_timeout`), declared with
        // `pool_statement_timeout`; MariaDB is measured both ways: with the
        // `SET STATEMENT` prefix, and with the pool's `max_statement_time` declared.
        let timeout = Duration::from_secs(5);
        let limits = Limits::new().statement_timeout(timeout).max_in_flight(64);
        let prefixed = Guardrails::builder()
            .defaults(limits)
            .build()
            .expect("guardrails");
        let declared = Guardrails::builder()
            .defaults(limits)
            .pool_statement_timeout(timeout)
            .build()
            .expect("guardrails");
        let timed_pool = db
            .url
            .as_ref()
            .map(|url| rt.block_on(support::pool_with_statement_timeout(url, timeout)));
        let on = |pool: &DatabaseConnection| {
            TenantConnection::with_registry(
                pool.clone(),
                DataKey::new(TENANT).expect("key"),
                registry.clone(),
            )
        };
        let name = support::name(backend);
        let guarded = match (&timed_pool, backend) {
            (Some(timed), support::Backend::Postgres) => on(timed).with_guardrails(&declared),
            _ => on(&pool).with_guardrails(&prefixed),
        };
        group.bench_function("find_by_id/prefix/guarded", |b| {
            b.to_async(&rt).iter(|| find_by_id(&guarded, None, id))
        });
        let plain = match (&timed_pool, backend) {
            (Some(timed), support::Backend::Postgres) => on(timed),
            _ => on(&pool),
        };
        guardrail_ratios(
            &rt,
            &format!("guardrails/{name}"),
            &plain,
            &guarded,
            id,
            rounds,
            block,
        );
        // The control: the same connection on both sides. What it shows is the method's
        // own bias and noise.
        guardrail_ratios(
            &rt,
            &format!("guardrails/{name}/control"),
            &plain,
            &plain,
            id,
            rounds,
            block,
        );
        if let Some(timed) = &timed_pool {
            match backend {
                support::Backend::Postgres => {
                    // A tenant with a timeout of its own: a transaction per statement.
                    let (p, o) = (&on(timed), &on(timed).with_guardrails(&prefixed));
                    support::paired_ratio(
                        &rt,
                        "guardrails/postgres/find_by_id/own_timeout",
                        rounds,
                        block,
                        || find_by_id(p, None, id),
                        || find_by_id(o, None, id),
                    );
                }
                _ => guardrail_ratios(
                    &rt,
                    "guardrails/mariadb/pool_timeout",
                    &on(timed),
                    &on(timed).with_guardrails(&declared),
                    id,
                    rounds,
                    block,
                ),
            }
        }
        group.finish();
        if let Some(timed) = timed_pool {
            let _ = rt.block_on(timed.close());
        }
        rt.block_on(db.destroy());
    }
}

/// The paired ratios of the four calls, `subject` (with guardrails) against
/// `reference` (the same tenant without), as `<prefix>/<call>`.
fn guardrail_ratios(
    rt: &tokio::runtime::Runtime,
    prefix: &str,
    reference: &TenantConnection,
    subject: &TenantConnection,
    id: i32,
    rounds: usize,
    block: usize,
) {
    let (p, g) = (reference, subject);
    support::paired_ratio(
        rt,
        &format!("{prefix}/find_by_id"),
        rounds,
        block,
        || find_by_id(p, None, id),
        || find_by_id(g, None, id),
    );
    support::paired_ratio(
        rt,
        &format!("{prefix}/list_50"),
        rounds,
        block,
        || list_50(p, None),
        || list_50(g, None),
    );
    support::paired_ratio(
        rt,
        &format!("{prefix}/insert"),
        rounds,
        block,
        || insert(p, None),
        || insert(g, None),
    );
    support::paired_ratio(
        rt,
        &format!("{prefix}/update_by_id"),
        rounds,
        block,
        || update_by_id(p, None, id),
        || update_by_id(g, None, id),
    );
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
