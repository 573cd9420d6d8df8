//! Generates the `Tenancy` impl and the table's `inventory` registration, or, when the
//! input has errors, those errors plus a stand-in impl so that code using the impl does
//! not add errors of its own.
//!
//! For `#[sea_orm(table_name = "invoice")] #[tenanted] struct Model { data_key: String, .. }`:
//!
//! ```text
//! const _: () = {
//!     #[automatically_derived]
//!     impl ::sea_orm_tenancy::Tenancy for Model {
//!         const TENANCY: ::sea_orm_tenancy::TableTenancy =
//!             ::sea_orm_tenancy::TableTenancy::Tenanted { column: "data_key" };
//!     }
//!     ::sea_orm_tenancy::__private::inventory::submit! {
//!         ::sea_orm_tenancy::__private::TableRegistration::new(
//!             ::core::option::Option::None,
//!             "invoice",
//!             <Model as ::sea_orm_tenancy::Tenancy>::TENANCY,
//!         )
//!         .with_references(::sea_orm_tenancy::__private::references_of::<Model>)
//!         .with_mover(::sea_orm_tenancy::__private::mover_of::<Model>)
//!     }
//! };
//! ```

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, LitStr};

use crate::ast::Input;
use crate::ctxt::Ctxt;
use crate::valid;

/// The derive's output for `node`: its code, or every error found.
pub(crate) fn derive(node: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    valid::check(&cx, &input);
    // The `Model` a `ModelEx` was generated from carries the same attributes, and its
    // derive reports their errors: reporting them here too would only repeat them.
    if input.is_generated_model_ex() && cx.error_count() > 0 {
        return TokenStream::new();
    }
    match cx.check().and_then(|()| expand(&input)) {
        Ok(tokens) => tokens,
        Err(err) => fallback(node, err),
    }
}

fn expand(input: &Input<'_>) -> syn::Result<TokenStream> {
    let ident = input.ident();
    let (impl_generics, ty_generics, where_clause) = input.original.generics.split_for_impl();
    let tenancy = tenancy(input)?;

    // `inventory` registers one concrete table: a generic struct gets the impl only. The
    // `ModelEx` of `#[sea_orm::model]` is the same table as its `Model`, which registers it.
    let registration = if input.is_generic() || input.is_generated_model_ex() {
        None
    } else {
        let table = input.attrs.sea_orm.table_name.as_ref().ok_or_else(|| {
            syn::Error::new_spanned(ident, "missing #[sea_orm(table_name = \"...\")]")
        })?;
        let schema = match &input.attrs.sea_orm.schema_name {
            Some(schema) => quote!(::core::option::Option::Some(#schema)),
            None => quote!(::core::option::Option::None),
        };
        Some(quote! {
            ::sea_orm_tenancy::__private::inventory::submit! {
                ::sea_orm_tenancy::__private::TableRegistration::new(
                    #schema,
                    #table,
                    <#ident as ::sea_orm_tenancy::Tenancy>::TENANCY,
                )
                .with_references(::sea_orm_tenancy::__private::references_of::<#ident>)
                .with_mover(::sea_orm_tenancy::__private::mover_of::<#ident>)
            }
        })
    };

    Ok(quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::sea_orm_tenancy::Tenancy for #ident #ty_generics #where_clause {
                const TENANCY: ::sea_orm_tenancy::TableTenancy = #tenancy;
            }
            #registration
        };
    })
}

/// The `TableTenancy` value of a valid input.
fn tenancy(input: &Input<'_>) -> syn::Result<TokenStream> {
    if let Some(universal) = &input.attrs.universal {
        let read_only = universal.read_only;
        return Ok(quote! {
            ::sea_orm_tenancy::TableTenancy::Universal { read_only: #read_only }
        });
    }
    let field = input
        .data_key_field()
        .ok_or_else(|| syn::Error::new_spanned(input.ident(), "no field holds the DataKey"))?;
    let column = LitStr::new(
        &field.sql_column(input.attrs.sea_orm.rename_all),
        field.ident.span(),
    );
    Ok(quote! {
        ::sea_orm_tenancy::TableTenancy::Tenanted { column: #column }
    })
}

/// The errors, plus an impl standing in for the one that could not be generated, so that
/// uses of `<Model as Tenancy>::TENANCY` do not fail too. The errors fail the build, so
/// the stand-in's value is never used.
fn fallback(node: &DeriveInput, err: syn::Error) -> TokenStream {
    let error = err.into_compile_error();
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    quote! {
        #error
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::sea_orm_tenancy::Tenancy for #ident #ty_generics #where_clause {
                const TENANCY: ::sea_orm_tenancy::TableTenancy =
                    ::sea_orm_tenancy::TableTenancy::Universal { read_only: true };
            }
        };
    }
}
