mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "invoice")]
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

#[derive(sea_orm_tenancy::Tenancy)]
#[tenanted]
pub struct TenantKey(String);

fn main() {}
