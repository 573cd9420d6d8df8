//! `TenantConnection` and `TenantTransaction` offer the inherent methods of
//! `DatabaseConnection` and `DatabaseTransaction` (where they hand out no raw pool), and
//! they behave like the originals. This file imports neither `TransactionSession` nor
//! `StreamTrait`: `commit`, `rollback` and `get_database_backend` must resolve as
//! inherent methods.
//!
//! Run: `cargo test --test inherent`

#![allow(unreachable_pub)]

use std::sync::Arc;

use sea_orm::entity::prelude::*;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use sea_orm_tenancy::{DataKey, Registry, TenantConnection};

mod note {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "inherent_note")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub body: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

async fn pool() -> DatabaseConnection {
    Database::connect(
        ConnectOptions::new("sqlite::memory:")
            .max_connections(1)
            .to_owned(),
    )
    .await
    .expect("sqlite")
}

/// A pool whose schema was created on the pool itself, as migrations are.
async fn pool_with_notes() -> DatabaseConnection {
    let pool = pool().await;
    pool.get_schema_builder()
        .register(note::Entity)
        .apply(&pool)
        .await
        .expect("schema");
    pool
}

fn tenant(pool: &DatabaseConnection) -> TenantConnection {
    let registry = Registry::builder()
        .universal("inherent_note")
        .allow_schema_changes()
        .build();
    TenantConnection::with_registry(
        pool.clone(),
        DataKey::new("1.").expect("key"),
        Arc::new(registry),
    )
}

async fn count(db: &impl ConnectionTrait) -> u64 {
    note::Entity::find().count(db).await.expect("count")
}

fn new_note(body: &str) -> note::ActiveModel {
    note::ActiveModel {
        body: sea_orm::Set(body.to_owned()),
        ..Default::default()
    }
}

#[tokio::test]
async fn get_database_backend_is_the_pools() {
    let pool = pool().await;
    let db = tenant(&pool);
    assert_eq!(db.get_database_backend(), pool.get_database_backend());
    let txn = db.begin().await.expect("begin");
    assert_eq!(txn.get_database_backend(), pool.get_database_backend());
    txn.rollback().await.expect("rollback");
}

#[tokio::test]
async fn get_schema_builder_builds_what_the_pools_builds() {
    let pool = pool().await;
    let db = tenant(&pool);
    // Applied through the tenant connection: a schema change naming no tenanted table.
    db.get_schema_builder()
        .register(note::Entity)
        .apply(&db)
        .await
        .expect("schema applied through the tenant connection");
    assert_eq!(count(&pool).await, 0);
    new_note("x").insert(&db).await.expect("insert");
    assert_eq!(count(&pool).await, 1);
}

#[tokio::test]
async fn ping_answers_like_the_pool_and_close_closes_it() {
    let pool = pool().await;
    let db = tenant(&pool);
    db.ping().await.expect("ping");
    pool.ping().await.expect("pool ping");
    db.clone().close().await.expect("close");
    assert!(pool.ping().await.is_err(), "the shared pool is closed");
    assert!(db.ping().await.is_err());
}

#[tokio::test]
async fn transaction_async_commits_on_ok_and_rolls_back_on_err() {
    let pool = pool_with_notes().await;
    let db = tenant(&pool);
    db.transaction_async(async |txn| new_note("kept").insert(txn).await.map(|_| ()))
        .await
        .expect("committed");
    assert_eq!(count(&pool).await, 1);
    let err = db
        .transaction_async(async |txn| {
            new_note("gone").insert(txn).await?;
            Err::<(), DbErr>(DbErr::Custom("stop".into()))
        })
        .await;
    assert!(err.is_err());
    assert_eq!(count(&pool).await, 1);
    db.transaction_with_config_async(
        async |txn| new_note("configured").insert(txn).await.map(|_| ()),
        None,
        None,
    )
    .await
    .expect("committed");
    assert_eq!(count(&pool).await, 2);
}

#[tokio::test]
async fn commit_and_rollback_are_inherent_on_the_transaction() {
    let pool = pool_with_notes().await;
    let db = tenant(&pool);
    let txn = db.begin().await.expect("begin");
    new_note("a").insert(&txn).await.expect("insert");
    txn.rollback().await.expect("rollback");
    assert_eq!(count(&pool).await, 0);
    let txn = db.begin().await.expect("begin");
    new_note("b").insert(&txn).await.expect("insert");
    // Nested, through the inherent async closure API.
    txn.transaction_async(async |inner| new_note("c").insert(inner).await.map(|_| ()))
        .await
        .expect("nested");
    txn.transaction_with_config_async(
        async |inner| new_note("d").insert(inner).await.map(|_| ()),
        None,
        None,
    )
    .await
    .expect("nested with config");
    txn.commit().await.expect("commit");
    assert_eq!(count(&pool).await, 3);
}
