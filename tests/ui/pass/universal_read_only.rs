//! `#[universal]` and `#[universal(read_only)]`, including on a table that happens to have
//! a `data_key` field.

use sea_orm_tenancy::__private::{TableRegistration, inventory};
use sea_orm_tenancy::{Registry, TableTenancy, Tenancy};

mod plan {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "plan")]
    #[universal(read_only)]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod country {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "country", schema_name = "geo")]
    #[universal]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub data_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn main() {
    assert_eq!(
        <plan::Model as Tenancy>::TENANCY,
        TableTenancy::Universal { read_only: true }
    );
    assert_eq!(
        <country::Model as Tenancy>::TENANCY,
        TableTenancy::Universal { read_only: false }
    );
    assert_eq!(inventory::iter::<TableRegistration>.into_iter().count() - LIFECYCLE_TABLES, 2);

    let registry = Registry::global();
    assert!(!registry.is_tenanted("plan"));
    assert!(!registry.is_tenanted("country"));
}

/// `tenant` and `tenant_member`, registered by the crate itself (the default `lifecycle`
/// feature).
const LIFECYCLE_TABLES: usize = 2;
