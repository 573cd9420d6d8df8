//! The `tenant` table: one row per tenant, in a tree through `parent_id`.
//!
//! It is tenanted through its own `data_key`, so a [`TenantConnection`](crate::TenantConnection)
//! sees its tenant's row and its descendants' (in prefix mode), and a move re-keys it
//! with every other tenanted table. Change it through
//! [`TenantAdmin`](super::TenantAdmin), which keeps the tree and the keys consistent.
//!
//! ```
//! use sea_orm::EntityName;
//! use sea_orm_tenancy::lifecycle::tenant;
//! assert_eq!(tenant::Entity.table_name(), "tenant");
//! ```

use sea_orm::entity::prelude::*;

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, crate::Tenancy)]
#[sea_orm(table_name = "tenant")]
#[tenanted]
pub struct Model {
    /// The tenant's id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// A display name; not unique.
    pub name: String,
    /// The parent tenant, `None` for a top-level tenant.
    pub parent_id: Option<i32>,
    /// The tenant's DataKey: its parent's key plus one segment plus `.`. Unique.
    #[sea_orm(unique)]
    pub data_key: String,
    /// When the tenant was created.
    pub created_at: DateTimeUtc,
}

/// The tenant's relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The parent tenant.
    #[sea_orm(belongs_to = "Entity", from = "Column::ParentId", to = "Column::Id")]
    Parent,
    /// The tenant's members.
    #[sea_orm(has_many = "super::tenant_member::Entity")]
    Member,
}

impl Related<super::tenant_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Member.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The tenant's DataKey, validated.
    ///
    /// ```
    /// # use sea_orm_tenancy::lifecycle::tenant;
    /// let t = tenant::Model { id: 1, name: "Acme".into(), parent_id: None, data_key: "10.".into(), created_at: Default::default() };
    /// assert_eq!(t.key()?.as_str(), "10.");
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn key(&self) -> Result<crate::DataKey, crate::TenancyError> {
        crate::DataKey::new(&self.data_key)
    }
}
