//! Which tables are tenanted (and through which column), universal, or allow-listed.
//!
//! `#[derive(Tenancy)]` registers every annotated entity through [`inventory`], so a
//! [`TenantConnection`](crate::TenantConnection) knows them with no other step. Tables
//! can also be registered by hand with [`Registry::builder`].

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::rewrite::cache::TemplateCache;

/// How one table takes part in tenancy.
///
/// ```
/// use sea_orm_tenancy::TableTenancy;
///
/// let t = TableTenancy::Tenanted { column: "data_key" };
/// assert_eq!(t.data_key_column(), Some("data_key"));
/// assert_eq!(TableTenancy::Universal { read_only: true }.data_key_column(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableTenancy {
    /// Rows belong to a tenant through the DataKey column `column`.
    Tenanted {
        /// The column holding the DataKey.
        column: &'static str,
    },
    /// Rows are shared by every tenant. With `read_only`, tenants may read but never write.
    Universal {
        /// Tenants may only read.
        read_only: bool,
    },
}

impl TableTenancy {
    /// The DataKey column of a tenanted table, `None` for a universal one.
    ///
    /// ```
    /// # use sea_orm_tenancy::TableTenancy;
    /// assert_eq!(TableTenancy::Universal { read_only: false }.data_key_column(), None);
    /// ```
    pub fn data_key_column(&self) -> Option<&'static str> {
        match self {
            TableTenancy::Tenanted { column } => Some(column),
            TableTenancy::Universal { .. } => None,
        }
    }
}

/// One table as registered by `#[derive(Tenancy)]`. Not for direct use.
#[doc(hidden)]
#[derive(Debug)]
pub struct TableRegistration {
    schema: Option<&'static str>,
    table: &'static str,
    tenancy: TableTenancy,
    references: Option<fn() -> Vec<Reference>>,
    mover: Option<crate::mover::MoverFn>,
}

impl TableRegistration {
    /// Used by the derive's generated code.
    #[doc(hidden)]
    pub const fn new(
        schema: Option<&'static str>,
        table: &'static str,
        tenancy: TableTenancy,
    ) -> Self {
        TableRegistration {
            schema,
            table,
            tenancy,
            references: None,
            mover: None,
        }
    }

    /// Used by the derive's generated code: the typed copier of the entity's rows, for
    /// moves between shards.
    #[doc(hidden)]
    pub const fn with_mover(mut self, mover: crate::mover::MoverFn) -> Self {
        self.mover = Some(mover);
        self
    }

    /// The mover registered for the table `table` (any case) in `schema`, if any.
    #[cfg(feature = "sharding")]
    pub(crate) fn mover_for(
        schema: Option<&str>,
        table: &str,
    ) -> Option<Box<dyn crate::mover::TableMover>> {
        inventory::iter::<TableRegistration>
            .into_iter()
            .filter(|r| r.schema == schema && r.table.eq_ignore_ascii_case(table))
            .find_map(|r| r.mover.and_then(|m| m()))
    }

    /// Used by the derive's generated code: the foreign keys of the entity's relations.
    #[doc(hidden)]
    pub const fn with_references(mut self, references: fn() -> Vec<Reference>) -> Self {
        self.references = Some(references);
        self
    }
}

/// A foreign key: `columns` of `table` hold the `target_columns` of a row of `target`.
///
/// A tenant connection checks every value a statement writes into `columns`: when
/// `target` is tenanted, the referenced row must be one the tenant can see, or the write
/// fails with [`TenancyError::InvalidTenantAccess`](crate::TenancyError::InvalidTenantAccess).
/// [`RegistryBuilder::entity`] and `#[derive(Tenancy)]` take them from the entity's
/// SeaORM relations; [`RegistryBuilder::reference`] adds one by hand.
///
/// ```
/// use sea_orm_tenancy::Reference;
///
/// let r = Reference::new("line", &["invoice_id"], "invoice", &["id"]);
/// assert_eq!(r.table(), "line");
/// assert_eq!(r.columns(), ["invoice_id"]);
/// assert_eq!(r.target(), "invoice");
/// assert_eq!(r.target_columns(), ["id"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    table: String,
    columns: Vec<String>,
    target: String,
    target_columns: Vec<String>,
}

impl Reference {
    /// `columns` of `table` reference `target_columns` of `target`, in order.
    ///
    /// ```
    /// # use sea_orm_tenancy::Reference;
    /// let r = Reference::new("line", &["a", "b"], "invoice", &["x", "y"]);
    /// assert_eq!(r.columns().len(), 2);
    /// ```
    pub fn new(table: &str, columns: &[&str], target: &str, target_columns: &[&str]) -> Self {
        let own = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect();
        Reference {
            table: table.to_owned(),
            columns: own(columns),
            target: target.to_owned(),
            target_columns: own(target_columns),
        }
    }

    /// The foreign keys of the entity `E`'s relations, whichever side declares them
    /// (`belongs_to` on the referencing entity, `has_one`/`has_many` on the referenced
    /// one).
    ///
    /// ```
    /// # mod invoice {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    /// #     #[sea_orm(table_name = "invoice")]
    /// #     #[tenanted]
    /// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub data_key: String }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// # mod line {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    /// #     #[sea_orm(table_name = "line")]
    /// #     #[tenanted]
    /// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub data_key: String, pub invoice_id: i32 }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {
    /// #         #[sea_orm(belongs_to = "super::invoice::Entity", from = "Column::InvoiceId", to = "super::invoice::Column::Id")]
    /// #         Invoice,
    /// #     }
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// use sea_orm_tenancy::Reference;
    /// # fn main() {
    /// assert_eq!(
    ///     Reference::of_entity::<line::Entity>(),
    ///     [Reference::new("line", &["invoice_id"], "invoice", &["id"])]
    /// );
    /// # }
    /// ```
    pub fn of_entity<E>() -> Vec<Reference>
    where
        E: sea_orm::EntityTrait,
    {
        use sea_orm::{Iterable, RelationTrait};
        let mut out: Vec<Reference> = Vec::new();
        for relation in <E::Relation as Iterable>::iter() {
            let def = relation.def();
            let names = |id: &sea_orm::Identity| -> Vec<String> {
                id.iter().map(|c| c.to_string()).collect()
            };
            let table = |t: &sea_orm::sea_query::TableRef| t.sea_orm_table().to_string();
            // `belongs_to` (not the owner): the FK is on `from`; `has_one`/`has_many`
            // (the owner): it is on `to`.
            let r = if def.is_owner {
                Reference {
                    table: table(&def.to_tbl),
                    columns: names(&def.to_col),
                    target: table(&def.from_tbl),
                    target_columns: names(&def.from_col),
                }
            } else {
                Reference {
                    table: table(&def.from_tbl),
                    columns: names(&def.from_col),
                    target: table(&def.to_tbl),
                    target_columns: names(&def.to_col),
                }
            };
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }

    /// The referencing table.
    ///
    /// ```
    /// # use sea_orm_tenancy::Reference;
    /// assert_eq!(Reference::new("line", &["i"], "invoice", &["id"]).table(), "line");
    /// ```
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The referencing columns.
    ///
    /// ```
    /// # use sea_orm_tenancy::Reference;
    /// assert_eq!(Reference::new("line", &["i"], "invoice", &["id"]).columns(), ["i"]);
    /// ```
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The referenced table.
    ///
    /// ```
    /// # use sea_orm_tenancy::Reference;
    /// assert_eq!(Reference::new("line", &["i"], "invoice", &["id"]).target(), "invoice");
    /// ```
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The referenced columns, in the order of [`Reference::columns`].
    ///
    /// ```
    /// # use sea_orm_tenancy::Reference;
    /// assert_eq!(Reference::new("line", &["i"], "invoice", &["id"]).target_columns(), ["id"]);
    /// ```
    pub fn target_columns(&self) -> &[String] {
        &self.target_columns
    }
}

inventory::collect!(TableRegistration);

/// What the registry knows of a table reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Restrict through this column.
    Tenanted(&'static str),
    /// Shared rows.
    Universal { read_only: bool },
    /// Not registered.
    Unknown,
    /// Registered twice in ways that disagree.
    Conflict(String),
}

#[derive(Debug, Clone)]
struct Entry {
    schema: Option<String>,
    /// The table's name as registered (the map's key is lower-case).
    #[cfg_attr(not(feature = "migration"), allow(dead_code))]
    name: String,
    tenancy: TableTenancy,
}

/// The set of classified tables a [`TenantConnection`](crate::TenantConnection) checks
/// every statement against, with its cache of rewritten statements.
///
/// [`Registry::global`] holds every entity that derives `Tenancy` (through `inventory`).
/// Build your own with [`Registry::builder`] to add tables by hand, for instance when
/// `inventory` cannot see an entity's crate, or to allow-list bookkeeping tables such as
/// `seaql_migrations`.
///
/// Table names match case-insensitively, and a reference without a schema matches an
/// entry of any schema: the registry errs towards restricting.
///
/// ```
/// use sea_orm_tenancy::Registry;
///
/// let registry = Registry::builder()
///     .tenanted("invoice", "data_key")
///     .universal("country")
///     .allow("seaql_migrations")
///     .build();
/// assert!(registry.is_tenanted("INVOICE"));
/// assert!(!registry.is_tenanted("country"));
/// ```
#[derive(Debug)]
pub struct Registry {
    tables: HashMap<String, Vec<Entry>>,
    references: HashMap<String, Vec<Reference>>,
    allowed: HashMap<String, ()>,
    schema_changes: bool,
    pub(crate) cache: TemplateCache,
}

/// Builds a [`Registry`]. Made by [`Registry::builder`] or [`Registry::builder_with_derived`].
///
/// ```
/// use sea_orm_tenancy::Registry;
/// let registry = Registry::builder_with_derived().allow("seaql_migrations").build();
/// # let _ = registry;
/// ```
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    tables: HashMap<String, Vec<Entry>>,
    references: HashMap<String, Vec<Reference>>,
    allowed: HashMap<String, ()>,
    schema_changes: bool,
    cache_capacity: Option<usize>,
}

/// How many rewritten statement templates a registry keeps by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

impl RegistryBuilder {
    fn add(mut self, schema: Option<&str>, table: &str, tenancy: TableTenancy) -> Self {
        self.tables
            .entry(table.to_ascii_lowercase())
            .or_default()
            .push(Entry {
                schema: schema.map(str::to_ascii_lowercase),
                name: table.to_owned(),
                tenancy,
            });
        self
    }

    /// Registers `table` as tenanted through `column`.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().tenanted("invoice", "tenant_key").build();
    /// assert!(r.is_tenanted("invoice"));
    /// ```
    pub fn tenanted(self, table: &str, column: &'static str) -> Self {
        self.add(None, table, TableTenancy::Tenanted { column })
    }

    /// Registers `table` as universal: shared rows that tenants may read and write.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().universal("country").build();
    /// assert!(!r.is_tenanted("country"));
    /// ```
    pub fn universal(self, table: &str) -> Self {
        self.add(None, table, TableTenancy::Universal { read_only: false })
    }

    /// Registers `table` as universal and read-only for tenants.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().universal_read_only("plan").build();
    /// assert!(!r.is_tenanted("plan"));
    /// ```
    pub fn universal_read_only(self, table: &str) -> Self {
        self.add(None, table, TableTenancy::Universal { read_only: true })
    }

    /// Registers the entity `E` with the tenancy its `#[derive(Tenancy)]` declared. Use
    /// this when `inventory` cannot see the entity's crate.
    ///
    /// ```
    /// # use sea_orm::entity::prelude::*;
    /// # use sea_orm_tenancy::{Registry, Tenancy};
    /// # mod invoice {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    /// #     #[sea_orm(table_name = "invoice")]
    /// #     #[tenanted]
    /// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub data_key: String }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// let r = Registry::builder().entity::<invoice::Entity>().build();
    /// assert!(r.is_tenanted("invoice"));
    /// ```
    pub fn entity<E>(self) -> Self
    where
        E: sea_orm::EntityTrait,
        E::Model: crate::Tenancy,
    {
        let e = E::default();
        let schema = sea_orm::EntityName::schema_name(&e).map(str::to_owned);
        let table = sea_orm::EntityName::table_name(&e).to_owned();
        Reference::of_entity::<E>()
            .into_iter()
            .fold(self, RegistryBuilder::add_reference)
            .add(
                schema.as_deref(),
                &table,
                <E::Model as crate::Tenancy>::TENANCY,
            )
    }

    /// Declares a foreign key by hand: `columns` of `table` reference `target_columns`
    /// of `target`. A tenant connection then checks that every value it writes into
    /// `columns` references a row the tenant can see, when `target` is tenanted.
    /// [`RegistryBuilder::entity`] and `#[derive(Tenancy)]` take these from SeaORM
    /// relations already.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder()
    ///     .tenanted("invoice", "data_key")
    ///     .tenanted("line", "data_key")
    ///     .reference("line", &["invoice_id"], "invoice", &["id"])
    ///     .build();
    /// assert_eq!(r.references_from("LINE").len(), 1);
    /// ```
    pub fn reference(
        self,
        table: &str,
        columns: &[&str],
        target: &str,
        target_columns: &[&str],
    ) -> Self {
        self.add_reference(Reference::new(table, columns, target, target_columns))
    }

    fn add_reference(mut self, reference: Reference) -> Self {
        let list = self
            .references
            .entry(reference.table.to_ascii_lowercase())
            .or_default();
        if !list.contains(&reference) {
            list.push(reference);
        }
        self
    }

    /// Allow-lists `table`: tenants may use it although it is not classified. Meant for
    /// bookkeeping tables such as `seaql_migrations`. An allow-listed table is treated as
    /// universal; it never lifts the restriction of a tenanted table of the same name.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().allow("seaql_migrations").build();
    /// assert!(!r.is_tenanted("seaql_migrations"));
    /// ```
    pub fn allow(mut self, table: &str) -> Self {
        self.allowed.insert(table.to_ascii_lowercase(), ());
        self
    }

    /// Lets tenant connections run schema changes (`CREATE`, `ALTER`, `DROP`) whose text
    /// names no tenanted or read-only table, not even as a column or a reference. Off by
    /// default: migrations belong on the plain `DatabaseConnection`. Meant for test suites
    /// and tools that create their own scratch tables.
    ///
    /// Such a statement is sent as written, even when the SQL parser cannot read it (for
    /// example `real(16, 4)`, which sea-query emits for `Decimal` columns on SQLite):
    /// it is checked token by token instead.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().allow("scratch").allow_schema_changes().build();
    /// assert!(r.allows_schema_changes());
    /// ```
    pub fn allow_schema_changes(mut self) -> Self {
        self.schema_changes = true;
        self
    }

    /// How many rewritten statement templates to keep (default
    /// [`DEFAULT_CACHE_CAPACITY`]). The cache key never contains the tenant. `0` turns
    /// the cache off: every statement is parsed and rewritten afresh (what the cold
    /// benchmarks measure).
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().cache_capacity(128).build();
    /// # let _ = r;
    /// ```
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = Some(capacity);
        self
    }

    /// Finishes the registry.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = std::sync::Arc::new(Registry::builder().build());
    /// # let _ = r;
    /// ```
    pub fn build(self) -> Registry {
        Registry {
            tables: self.tables,
            references: self.references,
            allowed: self.allowed,
            schema_changes: self.schema_changes,
            cache: TemplateCache::new(self.cache_capacity.unwrap_or(DEFAULT_CACHE_CAPACITY)),
        }
    }
}

impl Registry {
    /// An empty builder: nothing registered.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().build();
    /// assert!(!r.is_tenanted("invoice"));
    /// ```
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// A builder that starts with every entity registered by `#[derive(Tenancy)]`.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder_with_derived().universal("legacy_lookup").build();
    /// # let _ = r;
    /// ```
    pub fn builder_with_derived() -> RegistryBuilder {
        inventory::iter::<TableRegistration>
            .into_iter()
            .fold(RegistryBuilder::default(), |b, r| {
                let b = match r.references {
                    Some(references) => references()
                        .into_iter()
                        .fold(b, RegistryBuilder::add_reference),
                    None => b,
                };
                b.add(r.schema, r.table, r.tenancy)
            })
    }

    /// The registry of every entity that derives `Tenancy`, built once on first use.
    /// [`TenantConnection::new`](crate::TenantConnection::new) uses it.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let a = Registry::global();
    /// let b = Registry::global();
    /// assert!(std::sync::Arc::ptr_eq(&a, &b));
    /// ```
    pub fn global() -> Arc<Registry> {
        static GLOBAL: OnceLock<Arc<Registry>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| Arc::new(Registry::builder_with_derived().build()))
            .clone()
    }

    /// Whether a table of this name (any schema) is tenanted.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// assert!(Registry::builder().tenanted("a", "k").build().is_tenanted("A"));
    /// ```
    pub fn is_tenanted(&self, table: &str) -> bool {
        matches!(self.resolve(None, table), Resolved::Tenanted(_))
    }

    /// Whether tenant connections may run schema changes that name no tenanted table
    /// (see [`RegistryBuilder::allow_schema_changes`]).
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// assert!(!Registry::builder().build().allows_schema_changes());
    /// ```
    pub fn allows_schema_changes(&self) -> bool {
        self.schema_changes
    }

    /// How many rewritten statement templates the cache holds now.
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// assert_eq!(Registry::builder().build().cached_templates(), 0);
    /// ```
    pub fn cached_templates(&self) -> usize {
        self.cache.len()
    }

    /// The foreign keys declared from `table` (any schema, any case).
    ///
    /// ```
    /// # use sea_orm_tenancy::Registry;
    /// let r = Registry::builder().reference("line", &["invoice_id"], "invoice", &["id"]).build();
    /// assert_eq!(r.references_from("line")[0].target(), "invoice");
    /// assert!(r.references_from("invoice").is_empty());
    /// ```
    pub fn references_from(&self, table: &str) -> &[Reference] {
        self.references
            .get(&table.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// Every tenanted table, as (schema, name as registered, DataKey column), in an
    /// order that deletes safely: a table comes before the tables its foreign keys
    /// reference (cycles are broken by name).
    #[cfg_attr(not(feature = "migration"), allow(dead_code))]
    pub(crate) fn tenanted_tables(&self) -> Vec<(Option<&str>, &str, &'static str)> {
        let mut all: Vec<(Option<&str>, &str, &'static str)> = Vec::new();
        let mut names: Vec<&String> = self.tables.keys().collect();
        names.sort();
        for lower in names {
            let Resolved::Tenanted(column) = self.resolve(None, lower) else {
                continue;
            };
            for e in &self.tables[lower] {
                if matches!(e.tenancy, TableTenancy::Tenanted { .. })
                    && !all.iter().any(|(s, n, _)| {
                        *s == e.schema.as_deref() && n.eq_ignore_ascii_case(&e.name)
                    })
                {
                    all.push((e.schema.as_deref(), &e.name, column));
                }
            }
        }
        // Referencing tables first.
        let mut ordered = Vec::with_capacity(all.len());
        while !all.is_empty() {
            let referenced = |t: &str| {
                all.iter().any(|(_, other, _)| {
                    !other.eq_ignore_ascii_case(t)
                        && self
                            .references_from(other)
                            .iter()
                            .any(|r| r.target().eq_ignore_ascii_case(t))
                })
            };
            let next = all.iter().position(|(_, t, _)| !referenced(t)).unwrap_or(0);
            ordered.push(all.remove(next));
        }
        ordered
    }

    /// Every table registered as universal (not the allow-listed ones), by name.
    #[cfg_attr(not(feature = "migration"), allow(dead_code))]
    pub(crate) fn universal_tables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .tables
            .iter()
            .filter(|(lower, _)| matches!(self.resolve(None, lower), Resolved::Universal { .. }))
            .flat_map(|(_, entries)| entries.iter().map(|e| e.name.as_str()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Resolves a table reference (`schema` as written, if any).
    pub(crate) fn resolve(&self, schema: Option<&str>, table: &str) -> Resolved {
        let name = table.to_ascii_lowercase();
        let schema = schema.map(str::to_ascii_lowercase);
        let mut column: Option<&'static str> = None;
        let mut universal: Option<bool> = None;
        if let Some(entries) = self.tables.get(&name) {
            for e in entries {
                let applies = match (&schema, &e.schema) {
                    (Some(s), Some(es)) => s == es,
                    _ => true,
                };
                if !applies {
                    continue;
                }
                match e.tenancy {
                    TableTenancy::Tenanted { column: c } => match column {
                        Some(prev) if !prev.eq_ignore_ascii_case(c) => {
                            return Resolved::Conflict(format!(
                                "table `{table}` is registered as tenanted through both `{prev}` and `{c}`"
                            ));
                        }
                        _ => column = Some(c),
                    },
                    TableTenancy::Universal { read_only } => {
                        universal = Some(universal.unwrap_or(false) || read_only);
                    }
                }
            }
        }
        if let Some(c) = column {
            return Resolved::Tenanted(c);
        }
        if let Some(read_only) = universal {
            return Resolved::Universal { read_only };
        }
        if self.allowed.contains_key(&name) {
            return Resolved::Universal { read_only: false };
        }
        Resolved::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenanted_wins_over_universal_of_the_same_name() {
        let r = Registry::builder()
            .universal("invoice")
            .tenanted("invoice", "data_key")
            .build();
        assert_eq!(r.resolve(None, "Invoice"), Resolved::Tenanted("data_key"));
    }

    #[test]
    fn two_different_data_key_columns_are_a_conflict() {
        let r = Registry::builder()
            .tenanted("invoice", "a")
            .tenanted("invoice", "b")
            .build();
        assert!(matches!(r.resolve(None, "invoice"), Resolved::Conflict(_)));
    }

    #[test]
    fn allow_list_never_lifts_a_tenanted_table() {
        let r = Registry::builder()
            .tenanted("invoice", "data_key")
            .allow("invoice")
            .build();
        assert_eq!(r.resolve(None, "invoice"), Resolved::Tenanted("data_key"));
        assert_eq!(r.resolve(None, "other"), Resolved::Unknown);
    }

    #[test]
    fn schema_qualified_reference_matches_its_schema_only() {
        let r = Registry::builder()
            .add(
                Some("billing"),
                "invoice",
                TableTenancy::Tenanted { column: "k" },
            )
            .build();
        assert_eq!(
            r.resolve(Some("BILLING"), "invoice"),
            Resolved::Tenanted("k")
        );
        assert_eq!(r.resolve(None, "invoice"), Resolved::Tenanted("k"));
        assert_eq!(r.resolve(Some("other"), "invoice"), Resolved::Unknown);
    }
}
