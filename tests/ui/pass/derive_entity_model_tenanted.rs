//! `#[tenanted]` beside `DeriveEntityModel`: the default DataKey field, a named one, a
//! `column_name` rename, a `schema_name`, and the other ways sea-orm names a column.

use sea_orm::IdenStatic;
use sea_orm_tenancy::__private::{TableRegistration, inventory};
use sea_orm_tenancy::{Registry, TableTenancy, Tenancy};

/// The default: the DataKey lives in `data_key`.
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

/// A named DataKey field, renamed in SQL, in a schema, among sea-orm attributes of many
/// shapes.
mod payment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(schema_name = "billing", table_name = "payment", comment = "payments")]
    #[tenanted(column = "tenant")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        #[sea_orm(column_name = "tenant_key", indexed, column_type = "Text")]
        pub tenant: ::std::string::String,
        #[sea_orm(default_value = 0, unique)]
        pub amount: i64,
        #[sea_orm(column_type = "String(StringLen::N(255))", default_value = "none")]
        pub memo: String,
        #[sea_orm(ignore)]
        pub cached: Option<i32>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `rename_all` renames the DataKey column too.
mod ledger {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "ledger", rename_all = "camelCase")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: std::string::String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A raw identifier, and a field name that is not `snake_case`.
mod odd {
    #![allow(non_snake_case)]
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "odd")]
    #[tenanted(column = "ref")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub r#ref: String,
        pub otherKey: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Same, through the non-`snake_case` field.
mod odd_camel {
    #![allow(non_snake_case)]
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "odd_camel")]
    #[tenanted(column = "tenantKey")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenantKey: alloc::string::String,
    }

    extern crate alloc;

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `enum_name` renames the `Column` variant, and with it the column.
mod renamed_variant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "renamed_variant")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(enum_name = "OwnerKey")]
        pub data_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The generated code names everything by absolute path: local items named like the
/// crate, its types or `inventory` change nothing.
mod hygiene {
    #![allow(dead_code)]
    use sea_orm::entity::prelude::*;

    mod sea_orm_tenancy {}
    mod inventory {}
    struct Tenancy;
    struct TableTenancy;
    struct TableRegistration;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, ::sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "hygiene")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn main() {
    let cases = [
        (
            <invoice::Model as Tenancy>::TENANCY,
            invoice::Column::DataKey.as_str(),
            "data_key",
        ),
        (
            <payment::Model as Tenancy>::TENANCY,
            payment::Column::Tenant.as_str(),
            "tenant_key",
        ),
        (
            <ledger::Model as Tenancy>::TENANCY,
            ledger::Column::DataKey.as_str(),
            "dataKey",
        ),
        (
            <odd::Model as Tenancy>::TENANCY,
            odd::Column::Ref.as_str(),
            "ref",
        ),
        (
            <odd_camel::Model as Tenancy>::TENANCY,
            odd_camel::Column::TenantKey.as_str(),
            "tenant_key",
        ),
        (
            <renamed_variant::Model as Tenancy>::TENANCY,
            renamed_variant::Column::OwnerKey.as_str(),
            "owner_key",
        ),
        (
            <hygiene::Model as Tenancy>::TENANCY,
            hygiene::Column::DataKey.as_str(),
            "data_key",
        ),
    ];
    for (tenancy, sea_orm_column, expected) in cases {
        // The derive names the column exactly as sea-orm does.
        assert_eq!(sea_orm_column, expected);
        assert_eq!(tenancy, TableTenancy::Tenanted { column: expected });
    }

    // Every table registered itself, once.
    assert_eq!(
        inventory::iter::<TableRegistration>.into_iter().count() - LIFECYCLE_TABLES,
        cases.len()
    );
    let registry = Registry::global();
    for table in [
        "invoice",
        "payment",
        "ledger",
        "odd",
        "odd_camel",
        "renamed_variant",
        "hygiene",
    ] {
        assert!(registry.is_tenanted(table), "{table} is not registered");
    }
    let from_entity = Registry::builder().entity::<payment::Entity>().build();
    assert!(from_entity.is_tenanted("payment"));
}

/// `tenant` and `tenant_member`, registered by the crate itself (the default `lifecycle`
/// feature).
const LIFECYCLE_TABLES: usize = 2;
