//! A generic struct gets the impl, with its generics, but no registration: `inventory`
//! registers one concrete table, and a generic struct is not one. Nor does it need a
//! `table_name`, which only the registration uses.

use std::marker::PhantomData;

use sea_orm_tenancy::__private::{TableRegistration, inventory};
use sea_orm_tenancy::{TableTenancy, Tenancy};

#[derive(sea_orm_tenancy::Tenancy)]
#[tenanted(column = "owner")]
pub struct Scoped<'a, T: Clone, const N: usize>
where
    T: Default,
{
    pub owner: String,
    pub values: [&'a T; N],
}

#[derive(sea_orm_tenancy::Tenancy)]
#[universal(read_only)]
pub struct Shared<T> {
    pub marker: PhantomData<T>,
}

fn tenancy_of<T: Tenancy>() -> TableTenancy {
    T::TENANCY
}

fn main() {
    assert_eq!(
        tenancy_of::<Scoped<'static, i32, 3>>(),
        TableTenancy::Tenanted { column: "owner" }
    );
    assert_eq!(
        <Shared<String> as Tenancy>::TENANCY,
        TableTenancy::Universal { read_only: true }
    );
    assert_eq!(inventory::iter::<TableRegistration>.into_iter().count() - LIFECYCLE_TABLES, 0);
}

/// `tenant` and `tenant_member`, registered by the crate itself (the default `lifecycle`
/// feature).
const LIFECYCLE_TABLES: usize = 2;
