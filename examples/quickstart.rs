//! Two tenants and a parent tenant on embedded in-memory SQLite, each seeing only its
//! rows, and a refused cross-tenant write.
//!
//! Run: `cargo run --example quickstart`

// Entity modules are `pub`, as in every SeaORM application.
#![allow(unreachable_pub)]

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectOptions, Database, Schema};
use sea_orm_tenancy::{DataKey, TenancyError, TenantConnection};

mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "invoice")]
    #[tenanted]
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

async fn numbers(db: &TenantConnection) -> Result<Vec<String>, DbErr> {
    Ok(invoice::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|i| format!("{} ({})", i.number, i.data_key))
        .collect())
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
    let schema = Schema::new(pool.get_database_backend());
    pool.execute(&schema.create_table_from_entity(invoice::Entity))
        .await?;

    let acme = TenantConnection::new(pool.clone(), DataKey::new("1.")?);
    let acme_eu = TenantConnection::new(pool.clone(), DataKey::new("1.4.")?);
    let globex = TenantConnection::new(pool.clone(), DataKey::new("2.")?);

    for (db, number) in [
        (&acme, "ACME-1"),
        (&acme_eu, "ACME-EU-1"),
        (&globex, "GLOBEX-1"),
    ] {
        // No data_key given: the connection fills in its tenant's.
        invoice::ActiveModel {
            number: Set(number.into()),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }

    println!("acme (1., the parent) sees: {:?}", numbers(&acme).await?);
    println!("acme-eu (1.4.) sees:       {:?}", numbers(&acme_eu).await?);
    println!("globex (2.) sees:          {:?}", numbers(&globex).await?);

    // Globex tries to write a row into Acme's data.
    let forged = invoice::ActiveModel {
        number: Set("FORGED".into()),
        data_key: Set("1.".into()),
        ..Default::default()
    };
    let err = forged.insert(&globex).await.expect_err("refused");
    match TenancyError::from_db_err(&err) {
        Some(e @ TenancyError::InvalidTenantAccess { .. }) => {
            println!("globex's forged insert: {e}")
        }
        _ => return Err(err.into()),
    }

    // Globex tries to delete Acme's invoice by id: nothing happens.
    let acme_invoice = invoice::Entity::find()
        .one(&acme)
        .await?
        .expect("acme has an invoice");
    let deleted = invoice::Entity::delete_by_id(acme_invoice.id)
        .exec(&globex)
        .await?;
    println!(
        "globex deleting acme's invoice {} removed {} rows",
        acme_invoice.id, deleted.rows_affected
    );

    println!("acme still sees:           {:?}", numbers(&acme).await?);
    Ok(())
}
