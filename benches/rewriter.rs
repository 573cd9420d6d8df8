//! The rewriter alone, no database: a cache hit (lookup and binding the tenant's values)
//! and a cache miss (parse, rewrite, render, and the check that the result reads back),
//! for the statements SeaORM builds for a find by id, a filtered list, an
//! `insert_many` of 100 rows, and a hand-written 3-table join with a subquery; the hit
//! with 2 threads on one statement; and sqlparser's parse alone, the floor of a miss.
//!
//! Run: `cargo bench --bench rewriter`, then `python3 scripts/bench-report.py`.

// Entity modules are `pub`, as in every SeaORM application.
#![allow(unreachable_pub)]

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::NotSet, DbBackend, QuerySelect, QueryTrait, Set, Statement};
use sea_orm_tenancy::rewrite::rewrite_checked;
use sea_orm_tenancy::{DataKey, MatchMode, Registry};

use support::item;

const JOIN: &str = r#"SELECT "i"."id", "c"."name" FROM "invoice" AS "i" JOIN "customer" AS "c" ON "c"."id" = "i"."customer_id" LEFT JOIN "line" AS "l" ON "l"."invoice_id" = "i"."id" WHERE "i"."amount" > $1 AND "c"."id" IN (SELECT "customer_id" FROM "invoice" WHERE "number" LIKE $2) LIMIT $3"#;

fn registry(capacity: usize) -> Registry {
    Registry::builder()
        .entity::<item::Entity>()
        .tenanted("invoice", "data_key")
        .tenanted("customer", "data_key")
        .tenanted("line", "data_key")
        .cache_capacity(capacity)
        .build()
}

/// The statements, as SeaORM builds them for PostgreSQL.
fn statements() -> Vec<(&'static str, Statement)> {
    let pg = DbBackend::Postgres;
    let rows = (0..100).map(|i| item::ActiveModel {
        id: NotSet,
        data_key: NotSet,
        number: Set(format!("N-{i}")),
        amount: Set(i),
    });
    vec![
        ("find_by_id", item::Entity::find_by_id(7).build(pg)),
        (
            "filtered_list",
            item::Entity::find()
                .filter(item::Column::Amount.gte(10))
                .filter(item::Column::Number.starts_with("N-"))
                .limit(50)
                .build(pg),
        ),
        ("insert_many_100", item::Entity::insert_many(rows).build(pg)),
        (
            "3_table_join_with_subquery",
            Statement::from_sql_and_values(pg, JOIN, [1.into(), "A%".into(), 10u64.into()]),
        ),
    ]
}

fn rewriter(c: &mut Criterion) {
    let key = DataKey::new("1.4.").expect("key");
    let warm = registry(sea_orm_tenancy::DEFAULT_CACHE_CAPACITY);
    let cold = registry(0);
    let mut group = c.benchmark_group("rewriter");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, stmt) in statements() {
        // The statement is handed over by value, as a connection does; its copy is made
        // outside the measurement.
        group.bench_function(format!("hit/{name}"), |b| {
            b.iter_batched(
                || stmt.clone(),
                |s| rewrite_checked(s, &key, MatchMode::Prefix, &warm).expect("rewritten"),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("miss/{name}"), |b| {
            b.iter_batched(
                || stmt.clone(),
                |s| rewrite_checked(s, &key, MatchMode::Prefix, &cold).expect("rewritten"),
                BatchSize::SmallInput,
            )
        });
    }
    let parse_only = |sql: &str| {
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .expect("parses")
    };
    group.bench_function("parse_only/3_table_join_with_subquery", |b| {
        b.iter(|| parse_only(JOIN))
    });
    group.finish();
}

/// The hit with 2 threads rewriting the same statement at once, against 1 thread doing
/// the same: the time of one rewrite on each thread. The same within noise means no lock
/// contention.
fn threads(c: &mut Criterion) {
    let key = DataKey::new("1.4.").expect("key");
    let warm = Arc::new(registry(sea_orm_tenancy::DEFAULT_CACHE_CAPACITY));
    let stmt = item::Entity::find_by_id(7).build(DbBackend::Postgres);
    let mut group = c.benchmark_group("rewriter_threads");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for threads in [1usize, 2] {
        group.bench_function(format!("hit/find_by_id/{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let start = Arc::new(Barrier::new(threads));
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        let (warm, key, stmt, start) =
                            (warm.clone(), key.clone(), stmt.clone(), start.clone());
                        std::thread::spawn(move || {
                            let inputs: Vec<Statement> = (0..iters).map(|_| stmt.clone()).collect();
                            start.wait();
                            let t = Instant::now();
                            for s in inputs {
                                std::hint::black_box(
                                    rewrite_checked(s, &key, MatchMode::Prefix, &warm)
                                        .expect("rewritten"),
                                );
                            }
                            t.elapsed()
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("worker"))
                    .max()
                    .unwrap_or_default()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, rewriter, threads);
criterion_main!(benches);
