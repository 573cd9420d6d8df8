//! A retail chain as a tenant tree: a head office, two regions and their shops, on
//! embedded in-memory SQLite. Each level sees its own sales and those below it; then a
//! shop moves to the other region, its sales re-keyed with it in one transaction.
//!
//! Run: `cargo run --example hierarchy`

// Entity modules are `pub`, as in every SeaORM application.
#![allow(unreachable_pub)]

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectOptions, Database, Schema};
use sea_orm_migration::{MigrationTrait, SchemaManager};
use sea_orm_tenancy::lifecycle::{CreateTenantTables, TenantAdmin, TenantNode};
use sea_orm_tenancy::migration::{TenantedTable, VerifyOptions, verify};
use sea_orm_tenancy::{AdminConnection, DataKey, Registry, TenantConnection};

mod sale {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "sale")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
        pub item: String,
        pub amount: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What a connection of `key` sees: the sales' items, sorted.
async fn sales_seen_by(pool: &DatabaseConnection, key: &DataKey) -> Result<Vec<String>, DbErr> {
    let db = TenantConnection::new(pool.clone(), key.clone());
    let mut items: Vec<String> = sale::Entity::find()
        .all(&db)
        .await?
        .into_iter()
        .map(|s| s.item)
        .collect();
    items.sort();
    Ok(items)
}

fn print_tree(nodes: &[TenantNode], depth: usize) {
    for n in nodes {
        println!(
            "{:indent$}{} ({})",
            "",
            n.tenant.name,
            n.tenant.data_key,
            indent = depth * 2
        );
        print_tree(&n.children, depth + 1);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One connection: every connection to `sqlite::memory:` is a database of its own.
    let pool = Database::connect(
        ConnectOptions::new("sqlite::memory:")
            .max_connections(1)
            .to_owned(),
    )
    .await?;
    CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    let schema = Schema::new(pool.get_database_backend());
    pool.execute(&schema.create_table_from_entity(sale::Entity))
        .await?;
    // The DataKey index (and, on PostgreSQL, row-level security) with the migration
    // helpers; then check the schema the way an application would at start-up.
    let manager = SchemaManager::new(&pool);
    TenantedTable::new("sale")
        .index(&["id"])
        .row_level_security()
        .up(&manager)
        .await?;
    let report = verify(&pool, &Registry::global(), VerifyOptions::default()).await?;
    println!("{report}\n");

    // The tenant tree, created by the admin (keys are derived: parent key + number + `.`).
    let admin = TenantAdmin::new(AdminConnection::new(pool.clone()));
    let head = admin.create("Head office", None).await?;
    let north = admin.create("North region", Some(&head.key()?)).await?;
    let south = admin.create("South region", Some(&head.key()?)).await?;
    let leeds = admin.create("Leeds shop", Some(&north.key()?)).await?;
    let york = admin.create("York shop", Some(&north.key()?)).await?;
    let bath = admin.create("Bath shop", Some(&south.key()?)).await?;
    println!("The chain:");
    print_tree(&admin.tree().await?, 1);

    // Each shop records its sales through its own connection: the DataKey is filled in.
    for (shop, item) in [
        (&leeds, "leeds-umbrella"),
        (&york, "york-tea"),
        (&bath, "bath-soap"),
    ] {
        let db = TenantConnection::new(pool.clone(), shop.key()?);
        sale::ActiveModel {
            item: Set(item.into()),
            amount: Set(10),
            ..Default::default()
        }
        .insert(&db)
        .await?;
    }

    // Subtree visibility: the head office sees every shop, a region its own shops.
    let everything = ["bath-soap", "leeds-umbrella", "york-tea"];
    assert_eq!(sales_seen_by(&pool, &head.key()?).await?, everything);
    assert_eq!(
        sales_seen_by(&pool, &north.key()?).await?,
        ["leeds-umbrella", "york-tea"]
    );
    assert_eq!(sales_seen_by(&pool, &south.key()?).await?, ["bath-soap"]);
    assert_eq!(sales_seen_by(&pool, &york.key()?).await?, ["york-tea"]);
    println!("\nBefore the move:");
    for t in [&head, &north, &south] {
        println!(
            "  {:<13} sees {:?}",
            t.name,
            sales_seen_by(&pool, &t.key()?).await?
        );
    }

    // York moves to the South region: the tenant, its sales and its members are re-keyed
    // in one transaction.
    let york = admin
        .move_subtree(&york.key()?, Some(&south.key()?))
        .await?;
    assert_eq!(york.data_key, format!("{}2.", south.data_key));
    assert_eq!(
        sales_seen_by(&pool, &north.key()?).await?,
        ["leeds-umbrella"]
    );
    assert_eq!(
        sales_seen_by(&pool, &south.key()?).await?,
        ["bath-soap", "york-tea"]
    );
    assert_eq!(sales_seen_by(&pool, &head.key()?).await?, everything);
    assert_eq!(sales_seen_by(&pool, &york.key()?).await?, ["york-tea"]);

    println!(
        "\nAfter moving York to the South region (its key is now {}):",
        york.data_key
    );
    for t in [&head, &north, &south] {
        println!(
            "  {:<13} sees {:?}",
            t.name,
            sales_seen_by(&pool, &t.key()?).await?
        );
    }
    println!("\nThe chain:");
    print_tree(&admin.tree().await?, 1);
    Ok(())
}
