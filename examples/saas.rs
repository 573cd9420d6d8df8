//! A small SaaS: invoices for many tenants, each reached at its own subdomain.
//!
//! ```sh
//! cargo run --example saas --features axum      # serves 127.0.0.1:3000 (SAAS_ADDR to change)
//! curl -H 'Host: acme.localhost:3000'   localhost:3000/invoices
//! curl -H 'Host: globex.localhost:3000' localhost:3000/invoices
//! ```
//!
//! - Embedded SQLite in the temp directory (`SAAS_DATABASE_URL` for another database).
//! - The schema is migrated at start: the lifecycle's tenant tables, and `invoices` with
//!   its DataKey column, index and a per-tenant unique invoice number, through
//!   `sea_orm_tenancy::migration::TenantedTable`.
//! - Tenants `acme` and `globex` are created on first start. The directory maps each
//!   tenant's name to its DataKey and is read from the tenant table; `kill -HUP <pid>`
//!   reloads it, so a tenant created while the server runs is served without a restart.
//! - Handlers take a `TenantConnection` and never mention the tenant: every query is
//!   scoped, inserts get the DataKey, and a body that names another tenant's DataKey is
//!   refused with 403.

// Its items are `pub` for `tests/web.rs`, which includes this file and serves its router.
#![allow(missing_docs, missing_debug_implementations, unreachable_pub)]

use std::error::Error;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::sea_query::{ColumnDef, Table};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use sea_orm_migration::{MigrationName, MigrationTrait, MigratorTrait, SchemaManager};
use sea_orm_tenancy::lifecycle::{CreateTenantTables, TenantAdmin, tenant};
use sea_orm_tenancy::migration::TenantedTable;
use sea_orm_tenancy::web::{
    CurrentTenant, Subdomain, TenancyLayer, TenantDirectory, TenantRejection, TenantTable,
};
use sea_orm_tenancy::{AdminConnection, TenantConnection, context};
use serde::{Deserialize, Serialize};

pub mod invoice {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(
        Clone, Debug, PartialEq, DeriveEntityModel, sea_orm_tenancy::Tenancy, Serialize, Deserialize,
    )]
    #[sea_orm(table_name = "invoices")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
        pub number: String,
        pub customer: String,
        pub amount_cents: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `invoices` table: created without its DataKey, which the tenancy helper adds
/// (bytewise collation, format CHECK), indexes, and puts in the unique invoice number.
struct CreateInvoices;

impl MigrationName for CreateInvoices {
    fn name(&self) -> &str {
        "m_0002_create_invoices"
    }
}

fn invoices_tenancy() -> TenantedTable {
    TenantedTable::new("invoices")
        .add_column()
        .index(&["id"])
        .unique("invoices_number_key", &["number"])
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInvoices {
    async fn up(&self, manager: &SchemaManager) -> Result<(), sea_orm::DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("invoices")
                    .col(
                        ColumnDef::new("id")
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("number").string_len(64).not_null())
                    .col(ColumnDef::new("customer").string_len(200).not_null())
                    .col(ColumnDef::new("amount_cents").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        invoices_tenancy().up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), sea_orm::DbErr> {
        invoices_tenancy().down(manager).await?;
        manager
            .drop_table(Table::drop().table("invoices").to_owned())
            .await
    }
}

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateTenantTables), Box::new(CreateInvoices)]
    }
}

/// What a client sends to create or change an invoice. `data_key` is accepted (clients
/// copy rows around) and checked by the tenant connection: the request's own key or one
/// below it passes, any other is refused with 403.
#[derive(Debug, Deserialize)]
pub struct InvoiceInput {
    pub number: String,
    pub customer: String,
    pub amount_cents: i64,
    #[serde(default)]
    pub data_key: Option<String>,
}

/// Who the request is for, as the layer resolved it and as the task-local context sees it.
#[derive(Debug, Serialize, Deserialize)]
pub struct WhoAmI {
    pub slug: Option<String>,
    pub data_key: String,
    pub context: String,
}

async fn whoami(tenant: CurrentTenant) -> Result<Json<WhoAmI>, TenantRejection> {
    Ok(Json(WhoAmI {
        slug: tenant.slug().map(str::to_owned),
        data_key: tenant.key().to_string(),
        context: context::current_tenant()?.to_string(),
    }))
}

async fn list(db: TenantConnection) -> Result<Json<Vec<invoice::Model>>, TenantRejection> {
    let invoices = invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .all(&db)
        .await?;
    Ok(Json(invoices))
}

async fn create(
    db: TenantConnection,
    Json(input): Json<InvoiceInput>,
) -> Result<(StatusCode, Json<invoice::Model>), TenantRejection> {
    let mut row = invoice::ActiveModel {
        number: Set(input.number),
        customer: Set(input.customer),
        amount_cents: Set(input.amount_cents),
        ..Default::default()
    };
    if let Some(key) = input.data_key {
        row.data_key = Set(key);
    }
    Ok((StatusCode::CREATED, Json(row.insert(&db).await?)))
}

async fn find(db: &TenantConnection, id: i32) -> Result<invoice::Model, TenantRejection> {
    invoice::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(TenantRejection::NotFound)
}

async fn show(
    db: TenantConnection,
    Path(id): Path<i32>,
) -> Result<Json<invoice::Model>, TenantRejection> {
    Ok(Json(find(&db, id).await?))
}

async fn update(
    db: TenantConnection,
    Path(id): Path<i32>,
    Json(input): Json<InvoiceInput>,
) -> Result<Json<invoice::Model>, TenantRejection> {
    let mut row = find(&db, id).await?.into_active_model();
    row.number = Set(input.number);
    row.customer = Set(input.customer);
    row.amount_cents = Set(input.amount_cents);
    if let Some(key) = input.data_key {
        row.data_key = Set(key);
    }
    Ok(Json(row.update(&db).await?))
}

async fn remove(db: TenantConnection, Path(id): Path<i32>) -> Result<StatusCode, TenantRejection> {
    let deleted = invoice::Entity::delete_by_id(id).exec(&db).await?;
    if deleted.rows_affected == 0 {
        return Err(TenantRejection::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The routes, behind the tenancy layer: tenants are `<name>.localhost` and
/// `<name>.example.com`; the apex and `127.0.0.1` name no tenant (400).
pub fn router(pool: DatabaseConnection, directory: TenantDirectory) -> Router {
    let tenancy = TenancyLayer::new(
        pool,
        Subdomain::new(["localhost", "example.com"]).dev_host("127.0.0.1"),
    )
    .with_directory(directory);
    Router::new()
        .route("/whoami", get(whoami))
        .route("/invoices", get(list).post(create))
        .route("/invoices/{id}", get(show).put(update).delete(remove))
        .layer(tenancy)
}

/// The running service's parts.
pub struct Saas {
    pub router: Router,
    pub directory: TenantDirectory,
    pub admin: TenantAdmin,
}

/// Migrates `pool`, creates `acme` and `globex` when missing, loads the directory from
/// the tenant table and builds the router.
pub async fn setup(pool: DatabaseConnection) -> Result<Saas, Box<dyn Error + Send + Sync>> {
    Migrator::up(&pool, None).await?;
    let admin_connection = AdminConnection::new(pool.clone());
    let admin = TenantAdmin::new(admin_connection.clone());
    for name in ["acme", "globex"] {
        let existing = tenant::Entity::find()
            .filter(tenant::Column::Name.eq(name))
            .one(admin.connection())
            .await?;
        if existing.is_none() {
            admin.create(name, None).await?;
        }
    }
    let directory = TenantDirectory::load(TenantTable::new(admin_connection)).await?;
    Ok(Saas {
        router: router(pool, directory.clone()),
        directory,
        admin,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let url = std::env::var("SAAS_DATABASE_URL").unwrap_or_else(|_| {
        let file = std::env::temp_dir().join("sea-orm-tenancy-saas.db");
        format!("sqlite://{}?mode=rwc", file.display())
    });
    let mut options = sea_orm::ConnectOptions::new(&url);
    options.sqlx_logging(false);
    let pool = sea_orm::Database::connect(options).await?;
    let saas = setup(pool).await?;
    #[cfg(unix)]
    saas.directory.reload_on_sighup()?;
    let addr = std::env::var("SAAS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "serving {} tenants on http://{addr} ({url})",
        saas.directory.len()
    );
    println!("  curl -H 'Host: acme.localhost:3000' http://{addr}/invoices");
    println!(
        "  kill -HUP {} reloads the tenant directory",
        std::process::id()
    );
    axum::serve(listener, saas.router).await?;
    Ok(())
}
