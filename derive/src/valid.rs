//! Checks the modelled input as a whole: the derive is on a struct with named fields, the
//! table is named, exactly one of `#[tenanted]` and `#[universal]` is given, and a
//! tenanted struct has its DataKey field, a non-null `String` column.

use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

use crate::ast::{Body, DEFAULT_DATA_KEY_FIELD, Field, Input};
use crate::ctxt::Ctxt;

/// Records every problem of `input` in `cx`.
pub(crate) fn check(cx: &Ctxt, input: &Input<'_>) {
    let ident = input.ident();
    match &input.body {
        Body::Struct(_) => {}
        Body::TupleStruct(fields) => {
            cx.error_spanned_by(
                fields,
                "#[derive(Tenancy)] needs a struct with named fields, such as an entity's `Model`",
            );
            return;
        }
        Body::UnitStruct => {
            cx.error_spanned_by(
                ident,
                "#[derive(Tenancy)] needs a struct with named fields, such as an entity's `Model`",
            );
            return;
        }
        Body::Enum(data) => {
            let enum_token = data.enum_token;
            cx.error_spanned_by(
                quote!(#enum_token #ident),
                "#[derive(Tenancy)] goes on an entity's `Model` struct, not on an enum",
            );
            return;
        }
        Body::Union(data) => {
            let union_token = data.union_token;
            cx.error_spanned_by(
                quote!(#union_token #ident),
                "#[derive(Tenancy)] goes on an entity's `Model` struct, not on a union",
            );
            return;
        }
    }

    // The table name is what the registration is for; generic structs are not registered.
    let sea_orm = &input.attrs.sea_orm;
    if sea_orm.table_name.is_none() && !sea_orm.unreadable && !input.is_generic() {
        cx.error_spanned_by(
            ident,
            format!(
                "missing table name: add #[sea_orm(table_name = \"...\")] to `{ident}` \
                 (#[derive(Tenancy)] registers the table under that name)"
            ),
        );
    }

    match (&input.attrs.tenanted, &input.attrs.universal) {
        (None, None) => cx.error_spanned_by(
            ident,
            format!(
                "missing #[tenanted] or #[universal] on `{ident}`: say whether its rows belong \
                 to a tenant through a DataKey field (#[tenanted]) or are shared by every \
                 tenant (#[universal])"
            ),
        ),
        (Some(tenanted), Some(universal)) => {
            let (second, message) = if tenanted.position < universal.position {
                (
                    universal.original,
                    "#[universal] conflicts with #[tenanted]",
                )
            } else {
                (tenanted.original, "#[tenanted] conflicts with #[universal]")
            };
            cx.error_spanned_by(
                second,
                format!("{message}: a table is either tenanted or universal, not both"),
            );
        }
        // Which field a malformed #[tenanted(...)] means is uncertain: its errors suffice.
        (Some(tenanted), None) if tenanted.malformed => {}
        (Some(tenanted), None) => match input.data_key_field() {
            Some(field) => check_data_key_field(cx, field),
            None => match &tenanted.column {
                Some(column) => {
                    let wanted = column.value();
                    // `column` names the field; the user may have given the SQL column.
                    let rename_all = input.attrs.sea_orm.rename_all;
                    let hint = match &input.body {
                        Body::Struct(fields) => fields
                            .iter()
                            .find(|field| field.sql_column(rename_all) == wanted)
                            .map(|field| {
                                format!(
                                    ": `{wanted}` is the SQL column of the field `{0}`, and \
                                     `column` names the field: write \
                                     #[tenanted(column = \"{0}\")]",
                                    field.name()
                                )
                            }),
                        _ => None,
                    };
                    cx.error_spanned_by(
                        column,
                        format!(
                            "no field `{wanted}` in `{ident}` to hold the DataKey{}",
                            hint.unwrap_or_default()
                        ),
                    );
                }
                None => cx.error_spanned_by(
                    tenanted.original,
                    format!(
                        "no field `{DEFAULT_DATA_KEY_FIELD}` in `{ident}` to hold the DataKey: \
                         add `pub {DEFAULT_DATA_KEY_FIELD}: String`, or name the DataKey \
                         field with #[tenanted(column = \"...\")]"
                    ),
                ),
            },
        },
        (None, Some(_)) => {}
    }
}

fn check_data_key_field(cx: &Ctxt, field: &Field<'_>) {
    let name = field.name();
    if is_option(field.ty) {
        cx.error_spanned_by(
            field.ty,
            format!(
                "the DataKey field `{name}` must be `String`, not an `Option`: \
                 NULL DataKeys are not allowed"
            ),
        );
    } else if !is_string(field.ty) {
        cx.error_spanned_by(
            field.ty,
            format!("the DataKey field `{name}` must be `String`"),
        );
    }
    if let Some(nullable) = &field.attrs.nullable {
        cx.error_spanned_by(
            nullable,
            format!(
                "the DataKey field `{name}` must not be `nullable`: NULL DataKeys are not allowed"
            ),
        );
    }
    if let Some(ignore) = &field.attrs.ignore {
        cx.error_spanned_by(
            ignore,
            format!("the DataKey field `{name}` must be a column: remove `ignore`"),
        );
    }
}

/// Strips the invisible groups and parentheses a type may come wrapped in.
fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peel(&group.elem),
        Type::Paren(paren) => peel(&paren.elem),
        other => other,
    }
}

/// `String`, `std::string::String` or `alloc::string::String` (with or without a
/// leading `::`).
fn is_string(ty: &Type) -> bool {
    let Type::Path(path) = peel(ty) else {
        return false;
    };
    if path.qself.is_some()
        || path
            .path
            .segments
            .iter()
            .any(|segment| !segment.arguments.is_none())
    {
        return false;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    match segments.as_slice() {
        [string] => path.path.leading_colon.is_none() && string == "String",
        [krate, module, string] => {
            (krate == "std" || krate == "alloc") && module == "string" && string == "String"
        }
        _ => false,
    }
}

/// `Option<_>` under any path.
fn is_option(ty: &Type) -> bool {
    let Type::Path(path) = peel(ty) else {
        return false;
    };
    path.qself.is_none()
        && path.path.segments.last().is_some_and(|last| {
            last.ident == "Option"
                && matches!(
                    &last.arguments,
                    PathArguments::AngleBracketed(args)
                        if matches!(args.args.first(), Some(GenericArgument::Type(_)))
                )
        })
}
