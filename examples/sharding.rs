//! Tenants spread over two databases: a router picks each tenant's database from a
//! catalog table, and the SQL that Citus would route to one shard.
//!
//! ```sh
//! cargo run --example sharding --features sharding
//! ```
//!
//! - Two in-memory SQLite databases stand for two servers: `eu` (which also holds the
//!   catalog `tenant_shard`) and `us`.
//! - `100.` lives in `eu`, `200.` and its subtree in `us`, and `300.` has `us-dedicated`
//!   to itself. Every connection is filtered, the dedicated one too; `connect_unfiltered`
//!   is the explicit opt-out.
//! - `100.` then moves from `eu` to `us`: copied, verified, switched, cleaned up.
//! - Last, the shape of a join in `MatchMode::Distributed`, and the migration statements
//!   that make a table Citus-ready.

// The entity's items are `pub`, as SeaORM's derives expect, in a private module.
#![allow(unreachable_pub)]

use sea_orm::sea_query::{ColumnDef, Table};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, DbBackend, EntityTrait, Statement,
};
use sea_orm_migration::{MigrationTrait, SchemaManager};
use sea_orm_tenancy::migration::{ReferenceTable, TenantedTable};
use sea_orm_tenancy::rewrite::rewrite;
use sea_orm_tenancy::shard::{CreateShardCatalog, MoveOptions, TenantRouter};
use sea_orm_tenancy::{DataKey, MatchMode, Registry};

mod note {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "note")]
    #[tenanted]
    pub struct Model {
        /// Unique across shards (the application makes it), so that a tenant can move.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub data_key: String,
        pub body: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One in-memory database (one connection: each connection to `sqlite::memory:` is a
/// database of its own), with the `note` table, its DataKey column and index.
async fn shard() -> Result<DatabaseConnection, Box<dyn std::error::Error>> {
    let pool = Database::connect(
        ConnectOptions::new("sqlite::memory:")
            .max_connections(1)
            .sqlx_logging(false)
            .to_owned(),
    )
    .await?;
    let manager = SchemaManager::new(&pool);
    manager
        .create_table(
            Table::create()
                .table("note")
                .col(ColumnDef::new("id").string().not_null().primary_key())
                .col(ColumnDef::new("body").string().not_null())
                .to_owned(),
        )
        .await?;
    TenantedTable::new("note")
        .add_column()
        .index(&["id"])
        .up(&manager)
        .await?;
    Ok(pool)
}

async fn bodies(db: &impl ConnectionTrait) -> Result<Vec<String>, sea_orm::DbErr> {
    Ok(note::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|n| n.body)
        .collect())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (eu, us, own) = (shard().await?, shard().await?, shard().await?);
    CreateShardCatalog.up(&SchemaManager::new(&eu)).await?;
    let router = TenantRouter::builder(eu.clone())
        .shard("eu", eu.clone())
        .shard("us", us.clone())
        .shard("us-dedicated", own.clone())
        .default_shard("eu")
        .build()
        .await?;
    router.assign(&DataKey::new("200.")?, "us", false).await?;
    router
        .assign(&DataKey::new("300.")?, "us-dedicated", true)
        .await?;

    // Each tenant writes through its own connection; the router picks the database.
    for (tenant, body) in [
        ("100.", "a note of 100."),
        ("200.", "a note of 200."),
        ("200.7.", "a note of 200.7."),
        ("300.", "a note of 300."),
    ] {
        let key = DataKey::new(tenant)?;
        let route = router.route(&key)?;
        let db = router.connect(&key)?;
        note::ActiveModel {
            id: Set(format!("note-{tenant}")),
            body: Set(body.into()),
            ..Default::default()
        }
        .insert(&db)
        .await?;
        println!(
            "{tenant:7} -> {:13} (routed by {})",
            route.shard(),
            route
                .routed_by()
                .map_or("the default shard".to_owned(), |k| format!("`{k}`"))
        );
    }
    println!("\nrows in eu:           {:?}", bodies(&eu).await?);
    println!("rows in us:           {:?}", bodies(&us).await?);
    println!("rows in us-dedicated: {:?}", bodies(&own).await?);
    let parent = router.connect(&DataKey::new("200.")?)?;
    println!("200. sees:            {:?}", bodies(&parent).await?);
    assert_eq!(bodies(&parent).await?.len(), 2);

    // A dedicated tenant is still filtered by default; the raw pool is an explicit choice.
    let raw = router.connect_unfiltered(&DataKey::new("300.")?)?;
    println!("300. unfiltered sees: {:?}", bodies(&raw).await?);
    assert!(router.connect_unfiltered(&DataKey::new("200.")?).is_err());

    // Move 100. from eu to us while it could be written: copied, verified, switched.
    let report = router
        .move_tenant(&DataKey::new("100.")?, "us", MoveOptions::default())
        .await?;
    println!(
        "\nmoved {} from {} to {}: rows copied {}, counts and checksums equal",
        report.tenant(),
        report.from(),
        report.to(),
        report.rows()
    );
    println!("rows in eu now:       {:?}", bodies(&eu).await?);
    println!("rows in us now:       {:?}", bodies(&us).await?);
    assert_eq!(router.route(&DataKey::new("100.")?)?.shard(), "us");

    // Citus: a join in the shape it routes to one shard, and a Citus-ready table.
    let registry = Registry::builder()
        .tenanted("invoice", "data_key")
        .tenanted("line", "data_key")
        .universal("country")
        .build();
    let join = Statement::from_string(
        DbBackend::Postgres,
        "SELECT l.id FROM invoice i JOIN line l ON l.invoice_id = i.id",
    );
    let routed = rewrite(
        join,
        &DataKey::new("200.")?,
        MatchMode::Distributed,
        &registry,
    )?;
    println!("\nMatchMode::Distributed on PostgreSQL:\n  {}", routed.sql);
    println!("\nmigration statements for Citus:");
    let line = TenantedTable::new("line")
        .primary_key(&["id"])
        .foreign_key(
            "line_invoice",
            &["invoice_id"],
            "invoice",
            "data_key",
            &["id"],
        )
        .distributed();
    for sql in line.up_statements(DbBackend::Postgres)? {
        println!("  {sql}");
    }
    for sql in ReferenceTable::new("country").up_statements(DbBackend::Postgres) {
        println!("  {sql}");
    }
    Ok(())
}
