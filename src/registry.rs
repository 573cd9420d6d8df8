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
        }
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
        self.add(
            schema.as_deref(),
            &table,
            <E::Model as crate::Tenancy>::TENANCY,
        )
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
    /// [`DEFAULT_CACHE_CAPACITY`]). The cache key never contains the tenant.
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
