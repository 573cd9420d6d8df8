//! The migration that creates `tenant` and `tenant_member`, for your own
//! sea-orm-migration `Migrator`.
//!
//! ```no_run
//! use sea_orm_migration::prelude::*;
//!
//! pub struct Migrator;
//!
//! #[async_trait::async_trait]
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         vec![
//!             Box::new(sea_orm_tenancy::lifecycle::CreateTenantTables),
//!             // … your own migrations
//!         ]
//!     }
//! }
//! ```

use sea_orm::sea_query::{
    Alias, ColumnDef, ForeignKey, ForeignKeyAction, Index, Query, Table, TableCreateStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityName};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};

use super::{tenant, tenant_member};
use crate::DataKey;

/// Creates `tenant` and `tenant_member` with their indexes and foreign keys, and inserts
/// the system tenant (`0.`); `down` drops both tables.
///
/// The DataKey columns get the collation that keeps prefix matching bytewise and
/// indexable (`COLLATE "C"` on PostgreSQL, `utf8mb4_bin` on MariaDB/MySQL), and a unique
/// index on `tenant.data_key`. Foreign keys are `ON DELETE RESTRICT`:
/// [`TenantAdmin::delete`](super::TenantAdmin::delete) removes rows itself, children first.
///
/// ```
/// use sea_orm::EntityTrait;
/// use sea_orm_migration::{MigrationTrait, SchemaManager};
/// use sea_orm_tenancy::lifecycle::{CreateTenantTables, tenant};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// let manager = SchemaManager::new(&pool);
/// CreateTenantTables.up(&manager).await?;
/// let rows = tenant::Entity::find().all(&pool).await?;
/// assert_eq!(rows[0].data_key, "0."); // the system tenant
/// CreateTenantTables.down(&manager).await?;
/// assert!(tenant::Entity::find().all(&pool).await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateTenantTables;

impl MigrationName for CreateTenantTables {
    fn name(&self) -> &str {
        "m20261206_000001_sea_orm_tenancy_create_tenant_tables"
    }
}

fn data_key_column(backend: DbBackend, column: impl sea_orm::sea_query::IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    def.custom(Alias::new(crate::migration::sql::data_key_column_type(
        backend,
        crate::MAX_DATA_KEY_LEN,
    )))
    .not_null();
    def
}

/// `id`: an auto-increment primary key.
fn id_column(column: impl sea_orm::sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

/// `created_at`: a timestamp with time zone.
fn created_at_column(column: impl sea_orm::sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn tenant_table(backend: DbBackend) -> TableCreateStatement {
    use tenant::Column as C;
    Table::create()
        .table(tenant::Entity.table_ref())
        .if_not_exists()
        .col(id_column(C::Id))
        .col(ColumnDef::new(C::Name).string_len(255).not_null())
        .col(ColumnDef::new(C::ParentId).integer().null())
        .col(data_key_column(backend, C::DataKey).unique_key())
        .col(created_at_column(C::CreatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_tenant_parent")
                .from(tenant::Entity.table_ref(), C::ParentId)
                .to(tenant::Entity.table_ref(), C::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned()
}

fn member_table(backend: DbBackend) -> TableCreateStatement {
    use tenant_member::Column as C;
    Table::create()
        .table(tenant_member::Entity.table_ref())
        .if_not_exists()
        .col(id_column(C::Id))
        .col(ColumnDef::new(C::TenantId).integer().not_null())
        .col(data_key_column(backend, C::DataKey))
        .col(ColumnDef::new(C::UserId).string_len(255).not_null())
        .col(ColumnDef::new(C::Role).string_len(64).not_null())
        .col(created_at_column(C::CreatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_tenant_member_tenant")
                .from(tenant_member::Entity.table_ref(), C::TenantId)
                .to(tenant::Entity.table_ref(), tenant::Column::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTenantTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager.create_table(tenant_table(backend)).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tenant_parent")
                    .table(tenant::Entity.table_ref())
                    .col(tenant::Column::ParentId)
                    .to_owned(),
            )
            .await?;
        manager.create_table(member_table(backend)).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tenant_member_unique")
                    .table(tenant_member::Entity.table_ref())
                    .col(tenant_member::Column::TenantId)
                    .col(tenant_member::Column::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tenant_member_user")
                    .table(tenant_member::Entity.table_ref())
                    .col(tenant_member::Column::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tenant_member_data_key")
                    .table(tenant_member::Entity.table_ref())
                    .col(tenant_member::Column::DataKey)
                    .to_owned(),
            )
            .await?;
        let system = Query::insert()
            .into_table(tenant::Entity.table_ref())
            .columns([
                tenant::Column::Name,
                tenant::Column::ParentId,
                tenant::Column::DataKey,
                tenant::Column::CreatedAt,
            ])
            .values([
                "system".into(),
                Option::<i32>::None.into(),
                DataKey::system().as_str().into(),
                chrono::Utc::now().into(),
            ])
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        manager.get_connection().execute(&system).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(tenant_member::Entity.table_ref())
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(tenant::Entity.table_ref()).to_owned())
            .await
    }
}
