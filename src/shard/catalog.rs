//! The routing catalog: the table `tenant_shard`, one row per routed subtree, and the
//! migration that creates it.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Alias, ColumnDef, Table};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};

/// A route: the tenant `data_key`, with its subtree, lives in the shard `shard`.
///
/// The table is not registered with the tenancy registry: tenant connections cannot
/// touch it, and only [`TenantRouter`](super::TenantRouter) (on the catalog's own pool)
/// reads and writes it.
///
/// ```
/// use sea_orm::EntityName;
/// use sea_orm_tenancy::shard::tenant_shard;
/// assert_eq!(tenant_shard::Entity.table_name(), "tenant_shard");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_shard")]
pub struct Model {
    /// The routed tenant's DataKey; its descendants follow it unless they have a route
    /// of their own (the longest matching key wins).
    #[sea_orm(primary_key, auto_increment = false)]
    pub data_key: String,
    /// The shard's name, as given to [`TenantRouterBuilder::shard`](super::TenantRouterBuilder::shard).
    pub shard: String,
    /// The shard holds this subtree and nothing else, so
    /// [`TenantRouter::connect_unfiltered`](super::TenantRouter::connect_unfiltered) may
    /// hand out its pool without the tenant filter.
    pub dedicated: bool,
}

/// The catalog has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Creates `tenant_shard` and `tenant_shard_move` (the moves under way) in the catalog
/// database; `down` drops them. The key column is
/// bytewise, as every DataKey column.
///
/// ```
/// use sea_orm_migration::{MigrationTrait, SchemaManager};
/// use sea_orm_tenancy::shard::CreateShardCatalog;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let catalog = sea_orm::Database::connect("sqlite::memory:").await?;
/// CreateShardCatalog.up(&SchemaManager::new(&catalog)).await?;
/// CreateShardCatalog.down(&SchemaManager::new(&catalog)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateShardCatalog;

impl MigrationName for CreateShardCatalog {
    fn name(&self) -> &str {
        "m20261206_000002_sea_orm_tenancy_create_shard_catalog"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateShardCatalog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(super::moves::tenant_shard_move::Entity.table_ref())
                    .if_not_exists()
                    .col(
                        ColumnDef::new(super::moves::tenant_shard_move::Column::DataKey)
                            .custom(Alias::new(crate::migration::sql::data_key_column_type(
                                backend,
                                crate::MAX_DATA_KEY_LEN,
                            )))
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(super::moves::tenant_shard_move::Column::FromShard)
                            .string_len(63)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(super::moves::tenant_shard_move::Column::ToShard)
                            .string_len(63)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(super::moves::tenant_shard_move::Column::Phase)
                            .string_len(16)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Entity.table_ref())
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Column::DataKey)
                            .custom(Alias::new(crate::migration::sql::data_key_column_type(
                                backend,
                                crate::MAX_DATA_KEY_LEN,
                            )))
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Column::Shard).string_len(63).not_null())
                    .col(
                        ColumnDef::new(Column::Dedicated)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(super::moves::tenant_shard_move::Entity.table_ref())
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Entity.table_ref()).to_owned())
            .await
    }
}
