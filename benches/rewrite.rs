//! Criterion benches: the rewriter alone (cache hit, cache miss) and the hot path through
//! `TenantConnection` against raw SeaORM with the filter written by hand, measured in
//! the same run, on in-memory SQLite.
//!
//! Run: `cargo bench --bench rewrite`

// Entity modules are `pub`, as in every SeaORM application.
#![allow(unreachable_pub)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectOptions, Database, DbBackend, Schema, Statement};
use sea_orm_tenancy::rewrite::rewrite;
use sea_orm_tenancy::{DataKey, MatchMode, Registry, TenantConnection};

mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
        pub number: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .tenanted("invoice", "data_key")
            .tenanted("customer", "data_key")
            .tenanted("line", "data_key")
            .build(),
    )
}

const JOIN: &str = r#"SELECT "i"."id", "c"."name" FROM "invoice" AS "i" JOIN "customer" AS "c" ON "c"."id" = "i"."customer_id" LEFT JOIN "line" AS "l" ON "l"."invoice_id" = "i"."id" WHERE "i"."amount" > $1 AND "c"."id" IN (SELECT "customer_id" FROM "invoice" WHERE "number" LIKE $2) LIMIT $3"#;

fn rewriter(c: &mut Criterion) {
    let registry = registry();
    let key = DataKey::new("1.4.").expect("key");
    let find_by_id = Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"SELECT "invoice"."id", "invoice"."data_key", "invoice"."number" FROM "invoice" WHERE "invoice"."id" = $1 LIMIT $2"#,
        [1.into(), 1u64.into()],
    );
    c.bench_function("rewrite/hit/find_by_id", |b| {
        b.iter(|| rewrite(find_by_id.clone(), &key, MatchMode::Prefix, &registry).expect("ok"))
    });
    let join = Statement::from_sql_and_values(
        DbBackend::Postgres,
        JOIN,
        [1.into(), "A%".into(), 10u64.into()],
    );
    c.bench_function("rewrite/miss/3_table_join_with_subquery", |b| {
        let cold = Registry::builder()
            .tenanted("invoice", "data_key")
            .tenanted("customer", "data_key")
            .tenanted("line", "data_key")
            .cache_capacity(1);
        let cold = cold.build();
        let mut n = 0u64;
        b.iter(|| {
            // A distinct comment-free text each time defeats the cache.
            n += 1;
            let sql = format!("{JOIN} OFFSET {n}");
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [1.into(), "A%".into(), 10u64.into()],
            );
            rewrite(stmt, &key, MatchMode::Prefix, &cold).expect("ok")
        })
    });
    c.bench_function("rewrite/hit/3_table_join_with_subquery", |b| {
        b.iter(|| rewrite(join.clone(), &key, MatchMode::Prefix, &registry).expect("ok"))
    });
}

fn hot_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pool = rt.block_on(async {
        let pool = Database::connect(
            ConnectOptions::new("sqlite::memory:")
                .max_connections(1)
                .to_owned(),
        )
        .await
        .expect("sqlite");
        let schema = Schema::new(DbBackend::Sqlite);
        pool.execute(&schema.create_table_from_entity(invoice::Entity))
            .await
            .expect("table");
        for i in 0..1000 {
            pool.execute_unprepared(&format!(
                "INSERT INTO invoice (data_key, number) VALUES ('{}.', 'N-{i}')",
                i % 10
            ))
            .await
            .expect("seed");
        }
        pool
    });
    let db =
        TenantConnection::with_registry(pool.clone(), DataKey::new("3.").expect("key"), registry());
    c.bench_function("hot/sqlite/find_by_id/raw_hand_filter", |b| {
        b.to_async(&rt).iter(|| async {
            invoice::Entity::find_by_id(4)
                .filter(invoice::Column::DataKey.starts_with("3."))
                .one(&pool)
                .await
                .expect("ok")
        })
    });
    c.bench_function("hot/sqlite/find_by_id/tenant_connection", |b| {
        b.to_async(&rt)
            .iter(|| async { invoice::Entity::find_by_id(4).one(&db).await.expect("ok") })
    });
}

criterion_group!(benches, rewriter, hot_path);
criterion_main!(benches);
