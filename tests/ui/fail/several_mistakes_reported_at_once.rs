mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Copy, Clone, Default, Debug, DeriveEntity)]
    #[sea_orm(table_name = "invoice")]
    pub struct Entity;

    // 1. no #[sea_orm(table_name = "...")] on the Model
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[tenanted(column = "tenant")]
    // 2. a second #[tenanted], 3. with an unknown key
    #[tenanted(colum = "tenant")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        // 4. a nullable DataKey type, 5. and column
        #[sea_orm(nullable, indexed)]
        pub tenant: Option<String>,
        // 6. #[universal] on a field
        #[universal]
        pub number: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn main() {}
