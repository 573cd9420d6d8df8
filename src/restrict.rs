//! [`where_restrict_tenants`]: the tenant condition for queries built by hand.

use sea_orm::EntityTrait;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait};

use crate::{DataKey, MatchMode, TableTenancy, Tenancy};

/// One table to restrict, as its entity or under an alias.
///
/// ```
/// # mod invoice {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
/// #     #[sea_orm(table_name = "invoice")]
/// #     #[tenanted]
/// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub data_key: String }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// use sea_orm_tenancy::TenantTable;
/// let plain = TenantTable::of::<invoice::Entity>();
/// let other = TenantTable::aliased::<invoice::Entity>("i2");
/// # let _ = (plain, other);
/// ```
#[derive(Debug, Clone)]
pub struct TenantTable {
    qualifier: String,
    tenancy: TableTenancy,
}

impl TenantTable {
    /// The entity's table, qualified by its name.
    ///
    /// ```
    /// # mod plan {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    /// #     #[sea_orm(table_name = "plan")]
    /// #     #[universal]
    /// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32 }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// let t = sea_orm_tenancy::TenantTable::of::<plan::Entity>();
    /// # let _ = t;
    /// ```
    pub fn of<E>() -> Self
    where
        E: EntityTrait,
        E::Model: Tenancy,
    {
        TenantTable {
            qualifier: E::default().table_name().to_owned(),
            tenancy: <E::Model as Tenancy>::TENANCY,
        }
    }

    /// The entity's table as it appears under `alias` in the query.
    ///
    /// ```
    /// # mod invoice {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    /// #     #[sea_orm(table_name = "invoice")]
    /// #     #[tenanted]
    /// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub data_key: String }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// let t = sea_orm_tenancy::TenantTable::aliased::<invoice::Entity>("parent");
    /// # let _ = t;
    /// ```
    pub fn aliased<E>(alias: &str) -> Self
    where
        E: EntityTrait,
        E::Model: Tenancy,
    {
        TenantTable {
            qualifier: alias.to_owned(),
            tenancy: <E::Model as Tenancy>::TENANCY,
        }
    }
}

/// The tenant condition for `tables`, for queries built by hand or run on a plain
/// `DatabaseConnection`: a join rooted at a universal table, a report, a migration.
/// Universal tables add nothing.
///
/// Prefix matching is a range in byte order; give the DataKey column a bytewise
/// collation (C on PostgreSQL, `utf8mb4_bin` on MariaDB/MySQL, SQLite's default BINARY)
/// so that it is both correct and served by an index.
///
/// ```
/// # mod invoice {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
/// #     #[sea_orm(table_name = "invoice")]
/// #     #[tenanted]
/// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub data_key: String }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// use sea_orm::sea_query::{Alias, Asterisk, Query, SqliteQueryBuilder};
/// use sea_orm_tenancy::{DataKey, MatchMode, TenantTable, where_restrict_tenants};
///
/// let key = DataKey::new("1.")?;
/// let sql = Query::select()
///     .column(Asterisk)
///     .from(Alias::new("invoice"))
///     .cond_where(where_restrict_tenants(
///         &key,
///         MatchMode::Prefix,
///         &[TenantTable::of::<invoice::Entity>()],
///     ))
///     .to_string(SqliteQueryBuilder);
/// assert_eq!(
///     sql,
///     r#"SELECT * FROM "invoice" WHERE "invoice"."data_key" >= '1.' AND "invoice"."data_key" < '1/'"#
/// );
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
pub fn where_restrict_tenants(key: &DataKey, mode: MatchMode, tables: &[TenantTable]) -> Condition {
    let mut cond = Condition::all();
    let mut first: Option<(Alias, Alias)> = None;
    for t in tables {
        let Some(column) = t.tenancy.data_key_column() else {
            continue;
        };
        let col = || Expr::col((Alias::new(t.qualifier.as_str()), Alias::new(column)));
        cond = match mode {
            MatchMode::Exact => cond.add(col().eq(key.as_str())),
            MatchMode::Distributed => {
                let cond = cond.add(col().eq(key.as_str()));
                match &first {
                    None => {
                        first = Some((Alias::new(t.qualifier.as_str()), Alias::new(column)));
                        cond
                    }
                    Some(anchor) => cond.add(
                        Expr::col(anchor.clone())
                            .equals((Alias::new(t.qualifier.as_str()), Alias::new(column))),
                    ),
                }
            }
            MatchMode::Prefix => cond
                .add(col().gte(key.as_str()))
                .add(col().lt(key.upper_bound())),
        };
    }
    cond
}
