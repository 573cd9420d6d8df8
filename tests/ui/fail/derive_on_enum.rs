use sea_orm::entity::prelude::*;

mod invoice {
    use sea_orm::entity::prelude::*;

    use super::Status;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "invoice")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
        pub status: Status,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, sea_orm_tenancy::Tenancy)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[universal]
pub enum Status {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "paid")]
    Paid,
}

fn main() {}
