//! The `tenant_member` table: which users belong to which tenants, with a role.
//!
//! A user may belong to several tenants. Membership of a tenant also opens its
//! descendants (see [`TenantAdmin::connect_member`](super::TenantAdmin::connect_member)).
//! Tenanted through `data_key`, the member's tenant's key, so a move re-keys it.
//!
//! ```
//! use sea_orm::EntityName;
//! use sea_orm_tenancy::lifecycle::tenant_member;
//! assert_eq!(tenant_member::Entity.table_name(), "tenant_member");
//! ```

use sea_orm::entity::prelude::*;

/// One user's membership of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, crate::Tenancy)]
#[sea_orm(table_name = "tenant_member")]
#[tenanted]
pub struct Model {
    /// The membership's id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The tenant.
    pub tenant_id: i32,
    /// The tenant's DataKey (kept equal to `tenant.data_key`).
    pub data_key: String,
    /// The user, as your authentication names them.
    pub user_id: String,
    /// The user's role in the tenant, as your application defines roles.
    pub role: String,
    /// When the user joined.
    pub created_at: DateTimeUtc,
}

/// The membership's relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The tenant.
    #[sea_orm(
        belongs_to = "super::tenant::Entity",
        from = "Column::TenantId",
        to = "super::tenant::Column::Id"
    )]
    Tenant,
}

impl Related<super::tenant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
