//! The derive's input as a model: the item, its attributes, and (for a struct with named
//! fields) each field with its attributes. Building it records attribute errors in the
//! [`Ctxt`]; the checks that need the whole picture live in `valid`.

use heck::{ToSnakeCase, ToUpperCamelCase};
use syn::{Data, DataEnum, DataUnion, DeriveInput, Fields, FieldsUnnamed, Ident, Type};

use crate::attr::{self, Attrs, CaseStyle, FieldAttrs};
use crate::ctxt::Ctxt;

/// The field that holds the DataKey when `#[tenanted]` names none.
pub(crate) const DEFAULT_DATA_KEY_FIELD: &str = "data_key";

/// The item the derive is on.
pub(crate) struct Input<'a> {
    /// As syn parsed it.
    pub(crate) original: &'a DeriveInput,
    /// Its attributes.
    pub(crate) attrs: Attrs<'a>,
    /// What kind of item it is.
    pub(crate) body: Body<'a>,
}

/// The kinds of item a derive can be put on. Only [`Body::Struct`] is supported.
pub(crate) enum Body<'a> {
    /// A struct with named fields.
    Struct(Vec<Field<'a>>),
    /// A tuple struct.
    TupleStruct(&'a FieldsUnnamed),
    /// A unit struct.
    UnitStruct,
    /// An enum.
    Enum(&'a DataEnum),
    /// A union.
    Union(&'a DataUnion),
}

/// A named field.
pub(crate) struct Field<'a> {
    /// Its name.
    pub(crate) ident: &'a Ident,
    /// Its type.
    pub(crate) ty: &'a Type,
    /// Its attributes.
    pub(crate) attrs: FieldAttrs,
}

impl<'a> Input<'a> {
    /// Models `node`, recording attribute errors in `cx`.
    pub(crate) fn from_syn(cx: &Ctxt, node: &'a DeriveInput) -> Self {
        let attrs = attr::get(cx, &node.attrs);
        let body = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(fields) => Body::Struct(
                    fields
                        .named
                        .iter()
                        .filter_map(|field| {
                            let ident = field.ident.as_ref()?;
                            Some(Field {
                                ident,
                                ty: &field.ty,
                                attrs: attr::get_field(cx, &field.attrs, &unraw(ident)),
                            })
                        })
                        .collect(),
                ),
                Fields::Unnamed(fields) => Body::TupleStruct(fields),
                Fields::Unit => Body::UnitStruct,
            },
            Data::Enum(data) => Body::Enum(data),
            Data::Union(data) => Body::Union(data),
        };
        Input {
            original: node,
            attrs,
            body,
        }
    }

    /// The struct's name.
    pub(crate) fn ident(&self) -> &'a Ident {
        &self.original.ident
    }

    /// Whether this is the `ModelEx` struct that `#[sea_orm::model]` generates beside the
    /// `Model` it is written on.
    ///
    /// `#[sea_orm::model]` (sea-orm-macros 2.0.4, `expand_sea_orm_model`) copies every
    /// attribute of `Model` other than `#[sea_orm(...)]`, so `#[derive(Tenancy)]` and
    /// `#[tenanted]` too, onto a second struct `{Model}Ex` holding the same fields plus the
    /// relation fields, and marks that struct
    /// `#[allow(clippy::derive_partial_eq_without_eq, reason = ...)]`. That mark and the
    /// `Ex` suffix are how it is recognised.
    pub(crate) fn is_generated_model_ex(&self) -> bool {
        self.attrs.model_ex_allowance && self.ident().to_string().ends_with("Ex")
    }

    /// Whether the struct has generic parameters (lifetimes included).
    pub(crate) fn is_generic(&self) -> bool {
        !self.original.generics.params.is_empty()
    }

    /// The name of the field meant to hold the DataKey, if `#[tenanted]`.
    pub(crate) fn data_key_field_name(&self) -> Option<String> {
        let tenanted = self.attrs.tenanted.as_ref()?;
        Some(
            tenanted
                .column
                .as_ref()
                .map_or_else(|| DEFAULT_DATA_KEY_FIELD.to_owned(), syn::LitStr::value),
        )
    }

    /// The field holding the DataKey, if `#[tenanted]` and the struct has that field.
    pub(crate) fn data_key_field(&self) -> Option<&Field<'a>> {
        let name = self.data_key_field_name()?;
        match &self.body {
            Body::Struct(fields) => fields.iter().find(|field| field.name() == name),
            _ => None,
        }
    }
}

impl Field<'_> {
    /// The field's name as written, without any `r#`.
    pub(crate) fn name(&self) -> String {
        unraw(self.ident)
    }

    /// The SQL column sea-orm's `DeriveEntityModel` (2.0.4) makes of this field, given the
    /// struct's `rename_all`:
    ///
    /// 1. `#[sea_orm(column_name = "...")]` if given;
    /// 2. else, with `rename_all`, the style applied to the field's `UpperCamelCase` name;
    /// 3. else, if the name is not already `snake_case` (`dataKey`, `_data_key`), its
    ///    `snake_case`;
    /// 4. else the `snake_case` of its `Column` variant: `enum_name` if given, else the
    ///    field's name in `UpperCamelCase`, which gives back the field's name.
    ///
    /// sea-orm escapes a variant named like a keyword first; for the only keywords it
    /// accepts there (`Self`, `self`, `crate`, which get a trailing `_`), `snake_case`
    /// drops that `_` again, so the escape is left out here.
    pub(crate) fn sql_column(&self, rename_all: Option<CaseStyle>) -> String {
        if let Some(column_name) = &self.attrs.column_name {
            return column_name.value();
        }
        let original = self.name();
        let upper_camel = original.to_upper_camel_case();
        if let Some(style) = rename_all {
            return style.apply(&upper_camel);
        }
        if original != upper_camel.to_snake_case() {
            return original.to_snake_case();
        }
        self.attrs
            .enum_name
            .as_deref()
            .unwrap_or(&upper_camel)
            .to_snake_case()
    }
}

/// An identifier as written, without any `r#`.
pub(crate) fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(stripped) => stripped.to_owned(),
        None => name,
    }
}
