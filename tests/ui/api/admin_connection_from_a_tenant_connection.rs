// A tenant connection cannot be turned into an admin one: `AdminConnection` takes only a
// `DatabaseConnection`, and a `TenantConnection` neither is one nor hands out its pool.
use sea_orm_tenancy::{AdminConnection, DataKey, TenantConnection};

async fn widen(db: TenantConnection) {
    let _ = AdminConnection::new(db.clone());
    let _ = AdminConnection::from(db.clone());
    let _: &sea_orm::DatabaseConnection = &db;
}

fn main() {
    let _ = widen;
    let _ = DataKey::system();
}
