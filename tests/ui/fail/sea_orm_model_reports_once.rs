// Under `#[sea_orm::model]`, the generated `ModelEx` carries the same attributes as
// `Model` and derives `Tenancy` too; the mistake is reported once, by `Model` (not a
// second time as "... on `ModelEx`").
mod invoice {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "invoice")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
        pub number: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

fn main() {}
