//! `#[sea_orm::model]`, sea-orm 2's entity format, generates a second struct `ModelEx`
//! from `Model`, copying `#[derive(.., Tenancy)]` and `#[tenanted]` onto it. `ModelEx`
//! gets the same `Tenancy` impl, and the table is registered once, by `Model`.

use sea_orm_tenancy::__private::{TableRegistration, inventory};
use sea_orm_tenancy::{Registry, TableTenancy, Tenancy};

mod invoice {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "invoice", schema_name = "billing")]
    #[tenanted(column = "tenant")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(column_name = "tenant_key")]
        pub tenant: String,
        pub number: String,
        #[sea_orm(has_many)]
        pub lines: HasMany<super::invoice_line::Entity>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

mod invoice_line {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "invoice_line")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
        pub invoice_id: i32,
        #[sea_orm(belongs_to, from = "invoice_id", to = "id")]
        pub invoice: BelongsTo<super::invoice::Entity>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

mod currency {
    use sea_orm::entity::prelude::*;

    #[sea_orm::compact_model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "currency")]
    #[universal(read_only)]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn main() {
    let invoice = TableTenancy::Tenanted {
        column: "tenant_key",
    };
    assert_eq!(<invoice::Model as Tenancy>::TENANCY, invoice);
    assert_eq!(<invoice::ModelEx as Tenancy>::TENANCY, invoice);

    let line = TableTenancy::Tenanted { column: "data_key" };
    assert_eq!(<invoice_line::Model as Tenancy>::TENANCY, line);
    assert_eq!(<invoice_line::ModelEx as Tenancy>::TENANCY, line);

    let currency = TableTenancy::Universal { read_only: true };
    assert_eq!(<currency::Model as Tenancy>::TENANCY, currency);
    assert_eq!(<currency::ModelEx as Tenancy>::TENANCY, currency);

    // Three tables, three registrations: `ModelEx` registers nothing.
    assert_eq!(inventory::iter::<TableRegistration>.into_iter().count() - LIFECYCLE_TABLES, 3);

    let registry = Registry::global();
    assert!(registry.is_tenanted("invoice"));
    assert!(registry.is_tenanted("invoice_line"));
    assert!(!registry.is_tenanted("currency"));

    // The relations' foreign key, declared on both sides, is registered once.
    assert_eq!(
        registry.references_from("invoice_line"),
        [sea_orm_tenancy::Reference::new("invoice_line", &["invoice_id"], "invoice", &["id"])]
    );
    assert!(registry.references_from("invoice").is_empty());
}

/// `tenant` and `tenant_member`, registered by the crate itself (the default `lifecycle`
/// feature).
const LIFECYCLE_TABLES: usize = 2;
