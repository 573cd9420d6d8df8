//! Unit tests of the derive, run on `proc_macro2` tokens: the exact expansion, the edge
//! cases of attribute parsing, and the column naming that must agree with sea-orm.
//! The compile-time behaviour as users see it is tested with trybuild in the main crate
//! (`tests/derive_ui.rs`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, parse_quote};

use crate::ast::{Body, Input};
use crate::ctxt::Ctxt;
use crate::{expand, valid};

/// Every error message the derive reports for `node`, in order.
fn errors(node: &DeriveInput) -> Vec<String> {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    valid::check(&cx, &input);
    match cx.check() {
        Ok(()) => Vec::new(),
        Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
    }
}

fn assert_tokens_eq(actual: &TokenStream, expected: &TokenStream) {
    assert_eq!(actual.to_string(), expected.to_string());
}

/// The SQL column the derive gives the DataKey field of a valid `node`.
fn column(node: &DeriveInput) -> String {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    let column = input
        .data_key_field()
        .map(|field| field.sql_column(input.attrs.sea_orm.rename_all));
    assert!(cx.check().is_ok());
    column.unwrap_or_default()
}

#[test]
fn expands_to_an_impl_and_a_registration() {
    let node: DeriveInput = parse_quote! {
        #[sea_orm(table_name = "invoice")]
        #[tenanted]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub data_key: String,
        }
    };
    let expected = quote! {
        const _: () = {
            #[automatically_derived]
            impl ::sea_orm_tenancy::Tenancy for Model {
                const TENANCY: ::sea_orm_tenancy::TableTenancy =
                    ::sea_orm_tenancy::TableTenancy::Tenanted { column: "data_key" };
            }
            ::sea_orm_tenancy::__private::inventory::submit! {
                ::sea_orm_tenancy::__private::TableRegistration::new(
                    ::core::option::Option::None,
                    "invoice",
                    <Model as ::sea_orm_tenancy::Tenancy>::TENANCY,
                )
                .with_references(::sea_orm_tenancy::__private::references_of::<Model>)
                .with_mover(::sea_orm_tenancy::__private::mover_of::<Model>)
            }
        };
    };
    assert_tokens_eq(&expand::derive(&node), &expected);
}

#[test]
fn registers_the_schema_and_universal_tables() {
    let node: DeriveInput = parse_quote! {
        #[sea_orm(schema_name = "geo", table_name = "country")]
        #[universal(read_only)]
        pub struct Model {
            pub code: String,
        }
    };
    let expected = quote! {
        const _: () = {
            #[automatically_derived]
            impl ::sea_orm_tenancy::Tenancy for Model {
                const TENANCY: ::sea_orm_tenancy::TableTenancy =
                    ::sea_orm_tenancy::TableTenancy::Universal { read_only: true };
            }
            ::sea_orm_tenancy::__private::inventory::submit! {
                ::sea_orm_tenancy::__private::TableRegistration::new(
                    ::core::option::Option::Some("geo"),
                    "country",
                    <Model as ::sea_orm_tenancy::Tenancy>::TENANCY,
                )
                .with_references(::sea_orm_tenancy::__private::references_of::<Model>)
                .with_mover(::sea_orm_tenancy::__private::mover_of::<Model>)
            }
        };
    };
    assert_tokens_eq(&expand::derive(&node), &expected);
}

#[test]
fn generic_structs_get_the_impl_only() {
    let node: DeriveInput = parse_quote! {
        #[tenanted(column = "owner")]
        pub struct Scoped<'a, T: Clone> where T: Default {
            pub owner: String,
            pub value: &'a T,
        }
    };
    let expected = quote! {
        const _: () = {
            #[automatically_derived]
            impl<'a, T: Clone> ::sea_orm_tenancy::Tenancy for Scoped<'a, T> where T: Default {
                const TENANCY: ::sea_orm_tenancy::TableTenancy =
                    ::sea_orm_tenancy::TableTenancy::Tenanted { column: "owner" };
            }
        };
    };
    assert_tokens_eq(&expand::derive(&node), &expected);
}

/// `ModelEx` as `#[sea_orm::model]` (sea-orm-macros 2.0.4) generates it.
fn model_ex(tenancy: TokenStream) -> DeriveInput {
    parse_quote! {
        #[sea_orm(table_name = "invoice")]
        #tenancy
        #[allow(
            clippy::derive_partial_eq_without_eq,
            reason = "Nested relations may contain non-`Eq` fields, so `ModelEx` does not inherit `Eq`"
        )]
        pub struct ModelEx {
            pub id: i32,
            pub data_key: String,
            #[sea_orm(has_many)]
            pub lines: HasMany<super::line::Entity>,
        }
    }
}

#[test]
fn the_generated_model_ex_gets_the_impl_but_registers_nothing() {
    let expected = quote! {
        const _: () = {
            #[automatically_derived]
            impl ::sea_orm_tenancy::Tenancy for ModelEx {
                const TENANCY: ::sea_orm_tenancy::TableTenancy =
                    ::sea_orm_tenancy::TableTenancy::Tenanted { column: "data_key" };
            }
        };
    };
    assert_tokens_eq(&expand::derive(&model_ex(quote!(#[tenanted]))), &expected);
}

#[test]
fn the_generated_model_ex_leaves_errors_to_model() {
    assert!(expand::derive(&model_ex(quote!())).is_empty());
}

#[test]
fn a_struct_merely_named_like_model_ex_is_registered() {
    let node: DeriveInput = parse_quote! {
        #[sea_orm(table_name = "invoice_ex")]
        #[tenanted]
        pub struct ModelEx {
            pub data_key: String,
        }
    };
    assert!(expand::derive(&node).to_string().contains("submit"));
}

#[test]
fn errors_come_with_a_stand_in_impl() {
    let node: DeriveInput = parse_quote! {
        #[sea_orm(table_name = "invoice")]
        pub struct Model {
            pub data_key: String,
        }
    };
    let output = expand::derive(&node).to_string();
    assert!(output.contains("compile_error"));
    assert!(output.contains("impl :: sea_orm_tenancy :: Tenancy for Model"));
    assert!(!output.contains("submit"));
}

#[test]
fn malformed_attributes_are_errors() {
    let cases: Vec<(DeriveInput, &[&str])> = vec![
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[tenanted = "k"]
                struct M {
                    k: String,
                }
            ),
            &["expected #[tenanted] or #[tenanted(column = \"field\")]"],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[tenanted(column = k)]
                struct M {
                    k: String,
                }
            ),
            &[
                "expected the name of the DataKey field as a string, as in #[tenanted(column = \"tenant_key\")]",
            ],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[tenanted(column)]
                struct M {
                    k: String,
                }
            ),
            &["expected `=`"],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[tenanted(column = "k", column = "j")]
                struct M {
                    k: String,
                }
            ),
            &["duplicate `column` key"],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[tenanted(column = "k", a::b(c), d = 1)]
                struct M {
                    k: String,
                }
            ),
            &[
                "unknown key `a::b` in #[tenanted(...)]: the only key is `column`",
                "unknown key `d` in #[tenanted(...)]: the only key is `column`",
            ],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[universal(read_only = true)]
                struct M {}
            ),
            &["`read_only` takes no value: write #[universal(read_only)]"],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[universal(read_only, read_only)]
                struct M {}
            ),
            &["duplicate `read_only` key"],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[universal = true]
                struct M {}
            ),
            &["expected #[universal] or #[universal(read_only)]"],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[universal]
                #[tenanted]
                struct M {
                    data_key: String,
                }
            ),
            &[
                "#[tenanted] conflicts with #[universal]: a table is either tenanted or universal, not both",
            ],
        ),
        (
            parse_quote!(
                #[sea_orm(table_name = "t")]
                #[tenanted(column = "tenant_key")]
                struct M {
                    #[sea_orm(column_name = "tenant_key")]
                    tenant: String,
                }
            ),
            &[
                "no field `tenant_key` in `M` to hold the DataKey: `tenant_key` is the SQL column of the field `tenant`, and `column` names the field: write #[tenanted(column = \"tenant\")]",
            ],
        ),
    ];
    for (node, expected) in cases {
        assert_eq!(errors(&node), *expected, "{}", quote!(#node));
    }
}

#[test]
fn only_a_plain_string_holds_a_data_key() {
    let accepted: Vec<syn::Type> = vec![
        parse_quote!(String),
        parse_quote!(std::string::String),
        parse_quote!(::std::string::String),
        parse_quote!(alloc::string::String),
        parse_quote!(::alloc::string::String),
        parse_quote!((String)),
    ];
    for ty in accepted {
        let node: DeriveInput =
            parse_quote!(#[sea_orm(table_name = "t")] #[tenanted] struct M { data_key: #ty });
        assert_eq!(errors(&node), Vec::<String>::new(), "{}", quote!(#ty));
    }
    let optional: Vec<syn::Type> = vec![
        parse_quote!(Option<String>),
        parse_quote!(std::option::Option<String>),
        parse_quote!(Option<i64>),
    ];
    for ty in optional {
        let node: DeriveInput =
            parse_quote!(#[sea_orm(table_name = "t")] #[tenanted] struct M { data_key: #ty });
        assert_eq!(
            errors(&node),
            [
                "the DataKey field `data_key` must be `String`, not an `Option`: NULL DataKeys are not allowed"
            ],
            "{}",
            quote!(#ty)
        );
    }
    let rejected: Vec<syn::Type> = vec![
        parse_quote!(::String),
        parse_quote!(str),
        parse_quote!(&'static str),
        parse_quote!(Box<String>),
        parse_quote!(core::string::String),
        parse_quote!(<X as Y>::String),
        parse_quote!(Vec<u8>),
    ];
    for ty in rejected {
        let node: DeriveInput =
            parse_quote!(#[sea_orm(table_name = "t")] #[tenanted] struct M { data_key: #ty });
        assert_eq!(
            errors(&node),
            ["the DataKey field `data_key` must be `String`"],
            "{}",
            quote!(#ty)
        );
    }
}

#[test]
fn sea_orm_attributes_of_every_shape_are_skipped() {
    let node: DeriveInput = parse_quote! {
        #[sea_orm(
            model_attrs(derive(Hash), serde(rename_all = "camelCase")),
            comment = "c",
            table_iden,
            table_name = "invoice",
            weird = X::<A, B>,
            other = [1, 2],
        )]
        #[sea_orm(schema_name = "billing")]
        #[tenanted]
        struct Model {
            #[sea_orm(primary_key, auto_increment = false, column_type = "Decimal(Some((10, 2)))")]
            id: i32,
            #[sea_orm(default_value = 1, default_expr = "Expr::current_timestamp()", unique_key = "k")]
            data_key: String,
            #[sea_orm(belongs_to, from = "Column::X", to = "super::x::Column::Id", on_delete = "Cascade")]
            x: BelongsTo<super::x::Entity>,
            #[sea_orm(has_many, via = "a::b")]
            y: HasMany<super::y::Entity>,
        }
    };
    assert_eq!(errors(&node), Vec::<String>::new());
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, &node);
    let sea_orm = &input.attrs.sea_orm;
    assert_eq!(
        sea_orm
            .table_name
            .as_ref()
            .map(syn::LitStr::value)
            .as_deref(),
        Some("invoice")
    );
    assert_eq!(
        sea_orm
            .schema_name
            .as_ref()
            .map(syn::LitStr::value)
            .as_deref(),
        Some("billing")
    );
    assert!(!sea_orm.unreadable);
    assert!(matches!(&input.body, Body::Struct(fields) if fields.len() == 4));
}

#[test]
fn an_unreadable_sea_orm_attribute_is_left_to_sea_orm() {
    // sea-orm reports `table_name = 5` itself; "missing table name" would only add noise.
    for node in [
        parse_quote!(
            #[sea_orm(table_name = 5)]
            #[universal]
            struct M {}
        ),
        parse_quote!(
            #[sea_orm]
            #[universal]
            struct M {}
        ),
        parse_quote!(
            #[sea_orm(rename_all = "nope", table_name = "t")]
            #[universal]
            struct M {}
        ),
    ] {
        assert_eq!(errors(&node), Vec::<String>::new());
    }
    // A field's unreadable attribute keeps what was read before the error.
    let node: DeriveInput = parse_quote! {
        #[sea_orm(table_name = "t")]
        #[tenanted]
        struct M {
            #[sea_orm(column_name = "k", column_type = 5 +)]
            data_key: String,
        }
    };
    assert_eq!(column(&node), "k");
}

#[test]
fn items_other_than_structs_with_named_fields_are_errors() {
    let named = "#[derive(Tenancy)] needs a struct with named fields, such as an entity's `Model`";
    for (node, expected) in [
        (
            parse_quote!(
                #[tenanted]
                struct M(String);
            ),
            named,
        ),
        (
            parse_quote!(
                #[tenanted]
                struct M;
            ),
            named,
        ),
        (
            parse_quote!(
                #[tenanted]
                enum M {
                    A,
                }
            ),
            "#[derive(Tenancy)] goes on an entity's `Model` struct, not on an enum",
        ),
        (
            parse_quote!(#[tenanted] union M { a: u8 }),
            "#[derive(Tenancy)] goes on an entity's `Model` struct, not on a union",
        ),
    ] {
        let node: DeriveInput = node;
        assert_eq!(errors(&node), [expected]);
    }
}

#[test]
fn columns_are_named_as_sea_orm_names_them() {
    let cases: Vec<(DeriveInput, &str)> = vec![
        (
            parse_quote!(
                #[tenanted]
                struct M {
                    data_key: String,
                }
            ),
            "data_key",
        ),
        (
            parse_quote!(
                #[tenanted(column = "type")]
                struct M {
                    r#type: String,
                }
            ),
            "type",
        ),
        (
            parse_quote!(
                #[tenanted(column = "dataKey")]
                struct M {
                    dataKey: String,
                }
            ),
            "data_key",
        ),
        (
            parse_quote!(
                #[tenanted(column = "_data_key")]
                struct M {
                    _data_key: String,
                }
            ),
            "data_key",
        ),
        (
            parse_quote!(
                #[tenanted(column = "key2")]
                struct M {
                    key2: String,
                }
            ),
            "key2",
        ),
        (
            parse_quote!(
                #[tenanted]
                struct M {
                    #[sea_orm(column_name = "DK")]
                    data_key: String,
                }
            ),
            "DK",
        ),
        (
            parse_quote!(
                #[tenanted]
                struct M {
                    #[sea_orm(enum_name = "Owner")]
                    data_key: String,
                }
            ),
            "owner",
        ),
        (
            parse_quote!(
                #[sea_orm(rename_all = "camelCase")]
                #[tenanted]
                struct M {
                    #[sea_orm(enum_name = "Owner")]
                    data_key: String,
                }
            ),
            "dataKey",
        ),
        (
            parse_quote!(
                #[sea_orm(rename_all = "camelCase")]
                #[tenanted]
                struct M {
                    #[sea_orm(column_name = "dk")]
                    data_key: String,
                }
            ),
            "dk",
        ),
    ];
    for (node, expected) in cases {
        assert_eq!(column(&node), expected, "{}", quote!(#node));
    }
    for (style, expected) in [
        ("camelCase", "dataKey"),
        ("PascalCase", "DataKey"),
        ("camel_case", "DataKey"),
        ("snake_case", "data_key"),
        ("kebab-case", "data-key"),
        ("SCREAMING_SNAKE_CASE", "DATA_KEY"),
        ("SCREAMING-KEBAB-CASE", "DATA-KEY"),
        ("lowercase", "datakey"),
        ("UPPERCASE", "DATAKEY"),
        ("title_case", "Data Key"),
        ("mixed_case", "dataKey"),
    ] {
        let node: DeriveInput = parse_quote!(
            #[sea_orm(rename_all = #style)]
            #[tenanted]
            struct M {
                data_key: String,
            }
        );
        assert_eq!(column(&node), expected, "{style}");
    }
}
