//! Parses the derive's own attributes, `#[tenanted]` and `#[universal]`, strictly (unknown
//! keys, repeats and malformed values are errors), and reads the few parts of sea-orm's
//! `#[sea_orm(...)]` it needs, leniently: everything else in `#[sea_orm(...)]` is skipped,
//! and an attribute sea-orm itself would reject is left for `DeriveEntityModel` to report.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::ParseStream;
use syn::parse::discouraged::Speculative;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Path, Token};

use crate::ctxt::Ctxt;

/// The attributes on the derive's struct (or enum, or union).
pub(crate) struct Attrs<'a> {
    /// `#[tenanted]` or `#[tenanted(column = "...")]`, the first one if repeated.
    pub(crate) tenanted: Option<Tenanted<'a>>,
    /// `#[universal]` or `#[universal(read_only)]`, the first one if repeated.
    pub(crate) universal: Option<Universal<'a>>,
    /// What the struct's `#[sea_orm(...)]` attributes say about the table.
    pub(crate) sea_orm: SeaOrmStruct,
    /// Whether the struct carries the lint allowance that `#[sea_orm::model]` puts on the
    /// `ModelEx` struct it generates (see `Input::is_generated_model_ex`).
    pub(crate) model_ex_allowance: bool,
}

/// `#[tenanted]` or `#[tenanted(column = "field")]`.
pub(crate) struct Tenanted<'a> {
    /// The attribute, for spans.
    pub(crate) original: &'a Attribute,
    /// Its index among the struct's attributes.
    pub(crate) position: usize,
    /// The field that holds the DataKey, if named.
    pub(crate) column: Option<LitStr>,
    /// The attribute has errors, so which field it means is uncertain.
    pub(crate) malformed: bool,
}

/// `#[universal]` or `#[universal(read_only)]`.
pub(crate) struct Universal<'a> {
    /// The attribute, for spans.
    pub(crate) original: &'a Attribute,
    /// Its index among the struct's attributes.
    pub(crate) position: usize,
    /// Tenants may only read.
    pub(crate) read_only: bool,
}

/// The table as sea-orm's struct-level `#[sea_orm(...)]` attributes describe it.
#[derive(Default)]
pub(crate) struct SeaOrmStruct {
    /// `table_name = "..."`.
    pub(crate) table_name: Option<LitStr>,
    /// `schema_name = "..."`.
    pub(crate) schema_name: Option<LitStr>,
    /// `rename_all = "..."`: how sea-orm names the columns of fields without `column_name`.
    pub(crate) rename_all: Option<CaseStyle>,
    /// Some `#[sea_orm(...)]` could not be read. sea-orm reports that one itself, so the
    /// errors that could follow from it (such as a missing `table_name`) are not reported.
    pub(crate) unreadable: bool,
}

/// What a field's attributes say.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// `#[sea_orm(column_name = "...")]`.
    pub(crate) column_name: Option<LitStr>,
    /// `#[sea_orm(enum_name = "...")]`, which renames the field's `Column` variant and so,
    /// without `column_name`, its column.
    pub(crate) enum_name: Option<String>,
    /// `#[sea_orm(ignore)]`: the field is no column at all.
    pub(crate) ignore: Option<Path>,
    /// `#[sea_orm(nullable)]`.
    pub(crate) nullable: Option<Path>,
}

/// The struct-level attributes.
pub(crate) fn get<'a>(cx: &Ctxt, input: &'a [Attribute]) -> Attrs<'a> {
    let mut attrs = Attrs {
        tenanted: None,
        universal: None,
        sea_orm: SeaOrmStruct::default(),
        model_ex_allowance: false,
    };
    for (position, attr) in input.iter().enumerate() {
        // A repeated attribute is an error, and its contents are checked all the same.
        if attr.path().is_ident("tenanted") {
            if attrs.tenanted.is_some() {
                cx.error_spanned_by(attr, "duplicate #[tenanted] attribute");
                parse_tenanted(cx, attr, position);
            } else {
                attrs.tenanted = Some(parse_tenanted(cx, attr, position));
            }
        } else if attr.path().is_ident("universal") {
            if attrs.universal.is_some() {
                cx.error_spanned_by(attr, "duplicate #[universal] attribute");
                parse_universal(cx, attr, position);
            } else {
                attrs.universal = Some(parse_universal(cx, attr, position));
            }
        } else if attr.path().is_ident("sea_orm") {
            read_sea_orm_struct(attr, &mut attrs.sea_orm);
        } else if attr.path().is_ident("allow") {
            attrs.model_ex_allowance |= is_model_ex_allowance(attr);
        }
    }
    attrs
}

/// The attributes of the field named `name`.
pub(crate) fn get_field(cx: &Ctxt, input: &[Attribute], name: &str) -> FieldAttrs {
    let mut attrs = FieldAttrs::default();
    for attr in input {
        if attr.path().is_ident("sea_orm") {
            read_sea_orm_field(attr, &mut attrs);
        } else if attr.path().is_ident("tenanted") {
            cx.error_spanned_by(
                attr,
                format!(
                    "#[tenanted] goes on the struct, not on a field; to keep the DataKey in \
                     this field, put #[tenanted(column = \"{name}\")] on the struct"
                ),
            );
        } else if attr.path().is_ident("universal") {
            cx.error_spanned_by(attr, "#[universal] goes on the struct, not on a field");
        }
    }
    attrs
}

fn parse_tenanted<'a>(cx: &Ctxt, attr: &'a Attribute, position: usize) -> Tenanted<'a> {
    let errors_before = cx.error_count();
    let mut column: Option<LitStr> = None;
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::NameValue(_) => cx.error_spanned_by(
            attr,
            "expected #[tenanted] or #[tenanted(column = \"field\")]",
        ),
        Meta::List(_) => {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("column") {
                    let value: Expr = meta.value()?.parse()?;
                    match value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(lit), ..
                        }) => {
                            if column.is_some() {
                                cx.error_spanned_by(&meta.path, "duplicate `column` key");
                            } else {
                                column = Some(lit);
                            }
                        }
                        other => cx.error_spanned_by(
                            other,
                            "expected the name of the DataKey field as a string, \
                             as in #[tenanted(column = \"tenant_key\")]",
                        ),
                    }
                } else {
                    cx.error_spanned_by(
                        &meta.path,
                        format!(
                            "unknown key `{}` in #[tenanted(...)]: the only key is `column`",
                            path_to_string(&meta.path)
                        ),
                    );
                    skip_value(meta.input)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
    }
    Tenanted {
        original: attr,
        position,
        column,
        malformed: cx.error_count() > errors_before,
    }
}

fn parse_universal<'a>(cx: &Ctxt, attr: &'a Attribute, position: usize) -> Universal<'a> {
    let mut read_only = false;
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::NameValue(_) => {
            cx.error_spanned_by(attr, "expected #[universal] or #[universal(read_only)]")
        }
        Meta::List(_) => {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("read_only") {
                    if read_only {
                        cx.error_spanned_by(&meta.path, "duplicate `read_only` key");
                    }
                    read_only = true;
                    let value = rest_of_item(meta.input)?;
                    if !value.is_empty() {
                        cx.error_spanned_by(
                            value,
                            "`read_only` takes no value: write #[universal(read_only)]",
                        );
                    }
                } else {
                    cx.error_spanned_by(
                        &meta.path,
                        format!(
                            "unknown key `{}` in #[universal(...)]: the only key is `read_only`",
                            path_to_string(&meta.path)
                        ),
                    );
                    skip_value(meta.input)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
    }
    Universal {
        original: attr,
        position,
        read_only,
    }
}

fn read_sea_orm_struct(attr: &Attribute, out: &mut SeaOrmStruct) {
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("table_name") {
            out.table_name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("schema_name") {
            out.schema_name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("rename_all") {
            let lit: LitStr = meta.value()?.parse()?;
            match CaseStyle::from_name(&lit.value()) {
                Some(style) => out.rename_all = Some(style),
                None => return Err(meta.error("unknown case style")),
            }
        } else {
            skip_value(meta.input)?;
        }
        Ok(())
    });
    out.unreadable |= result.is_err();
}

fn read_sea_orm_field(attr: &Attribute, out: &mut FieldAttrs) {
    // Errors are sea-orm's to report; keep whatever was read before one.
    let _ = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("column_name") {
            out.column_name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("enum_name") {
            let lit: LitStr = meta.value()?.parse()?;
            out.enum_name = Some(lit.value());
        } else {
            if meta.path.is_ident("ignore") {
                out.ignore = Some(meta.path.clone());
            } else if meta.path.is_ident("nullable") {
                out.nullable = Some(meta.path.clone());
            }
            skip_value(meta.input)?;
        }
        Ok(())
    });
}

/// `#[allow(clippy::derive_partial_eq_without_eq, ...)]`, which `#[sea_orm::model]`
/// (sea-orm-macros 2.0.4, `expand_sea_orm_model`) puts on the `ModelEx` it generates.
fn is_model_ex_allowance(attr: &Attribute) -> bool {
    let Meta::List(list) = &attr.meta else {
        return false;
    };
    list.tokens
        .clone()
        .into_iter()
        .any(|tt| matches!(&tt, TokenTree::Ident(ident) if ident == "derive_partial_eq_without_eq"))
}

/// Skips what follows a key in a list of nested metas: nothing, `= value`, or `(...)`.
/// A value is read as an expression when it is one (so `A::<B, C>` is skipped whole),
/// else up to the next comma.
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let fork = input.fork();
        if fork.parse::<Expr>().is_ok() && (fork.is_empty() || fork.peek(Token![,])) {
            input.advance_to(&fork);
            return Ok(());
        }
    }
    rest_of_item(input).map(drop)
}

/// The tokens up to the next comma (or the end).
fn rest_of_item(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    Ok(tokens)
}

fn path_to_string(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// sea-orm's `rename_all` case styles (sea-orm-macros 2.0.4, `derives/case_style.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CaseStyle {
    Camel,
    Kebab,
    Mixed,
    ShoutySnake,
    Snake,
    Title,
    Upper,
    Lower,
    ScreamingKebab,
    Pascal,
}

impl CaseStyle {
    /// The style a `rename_all` value names, as sea-orm reads it.
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "camel_case" | "PascalCase" => CaseStyle::Pascal,
            "camelCase" => CaseStyle::Camel,
            "snake_case" | "snek_case" => CaseStyle::Snake,
            "kebab_case" | "kebab-case" => CaseStyle::Kebab,
            "SCREAMING-KEBAB-CASE" => CaseStyle::ScreamingKebab,
            "shouty_snake_case" | "shouty_snek_case" | "SCREAMING_SNAKE_CASE" => {
                CaseStyle::ShoutySnake
            }
            "title_case" => CaseStyle::Title,
            "mixed_case" => CaseStyle::Mixed,
            "lowercase" => CaseStyle::Lower,
            "UPPERCASE" => CaseStyle::Upper,
            _ => return None,
        })
    }

    /// Converts `name` as sea-orm's `CaseStyleHelpers::convert_case` does.
    pub(crate) fn apply(self, name: &str) -> String {
        use heck::{
            ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToTitleCase,
            ToUpperCamelCase,
        };
        match self {
            CaseStyle::Pascal => name.to_upper_camel_case(),
            CaseStyle::Kebab => name.to_kebab_case(),
            CaseStyle::Mixed => name.to_lower_camel_case(),
            CaseStyle::ShoutySnake => name.to_shouty_snake_case(),
            CaseStyle::Snake => name.to_snake_case(),
            CaseStyle::Title => name.to_title_case(),
            CaseStyle::Upper => name.to_uppercase(),
            CaseStyle::Lower => name.to_lowercase(),
            CaseStyle::ScreamingKebab => name.to_kebab_case().to_uppercase(),
            CaseStyle::Camel => {
                let pascal = name.to_upper_camel_case();
                let mut chars = pascal.chars();
                let mut camel = String::with_capacity(pascal.len());
                if let Some(first) = chars.next() {
                    camel.extend(first.to_lowercase());
                }
                camel.extend(chars);
                camel
            }
        }
    }
}
