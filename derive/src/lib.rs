//! `#[derive(Tenancy)]` for [`sea-orm-tenancy`](https://docs.rs/sea-orm-tenancy).
//!
//! Use it through `sea_orm_tenancy::Tenancy`, beside sea-orm's `DeriveEntityModel` on an
//! entity's `Model` (or under `#[sea_orm::model]`), with exactly one of:
//!
//! - `#[tenanted]`: rows belong to a tenant through the `String` field `data_key`;
//! - `#[tenanted(column = "field")]`: the same, through the `String` field `field`;
//! - `#[universal]`: rows are shared by every tenant;
//! - `#[universal(read_only)]`: shared rows that tenants may read but never write.
//!
//! The derive reads sea-orm's own `#[sea_orm(...)]` attributes for the table
//! (`table_name`, `schema_name`, `rename_all`) and for the DataKey field's SQL column
//! (`column_name`, `enum_name`), naming that column exactly as sea-orm 2.0.4 does.
//!
//! It implements `sea_orm_tenancy::Tenancy` and registers the table with `inventory`,
//! inside `const _: () = { ... };`. Generic structs get the impl but no registration,
//! since `inventory` needs one concrete table. Every misuse is reported at once, each
//! error spanned on the tokens at fault.
//!
//! The layout follows `thiserror-impl`: `attr` parses attributes, `ast` models the input,
//! `valid` checks it, `expand` generates code, and `ctxt` collects the errors.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `sea_orm_tenancy::Tenancy` for an entity's `Model` and registers its table.
///
/// See the crate documentation, and `sea_orm_tenancy::Tenancy` for examples.
#[proc_macro_derive(Tenancy, attributes(tenanted, universal))]
pub fn derive_tenancy(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

#[cfg(test)]
mod tests;
