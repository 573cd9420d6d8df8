//! Scale out (feature `sharding`): tenants spread over several databases, each tenant's
//! connection opened on the database that holds it.
//!
//! - [`TenantRouter`] maps a DataKey to a named shard (a `DatabaseConnection`), through
//!   the catalog table [`tenant_shard`] in a catalog database of your choice (one of the
//!   shards, or a small control database). A route covers the tenant's subtree; the
//!   longest matching key wins, and tenants with no route go to the default shard if
//!   there is one, else are refused ([`TenancyError::TenantNotRouted`]).
//! - [`TenantRouter::connect`] opens a [`TenantConnection`] on the right pool: filtered
//!   as always, even when the tenant is alone in its database (a second wall, and cheap).
//!   [`TenantRouter::connect_unfiltered`] is the explicit opt-out, for a tenant whose
//!   route is marked dedicated.
//! - The catalog is read at start and again on [`TenantRouter::reload`];
//!   [`TenantRouter::assign`] writes a route and reloads.
//! - [`TenantRouter::move_tenant`] moves a subtree to another shard while the
//!   application runs (fenced, copied in batches, verified by counts and checksums,
//!   switched, cleaned up); [`TenantRouter::resume_moves`] and
//!   [`TenantRouter::rollback_move`] finish or undo an interrupted one.
//!
//! ```
//! use sea_orm_migration::{MigrationTrait, SchemaManager};
//! use sea_orm_tenancy::DataKey;
//! use sea_orm_tenancy::shard::{CreateShardCatalog, TenantRouter};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (eu, us) = (
//!     sea_orm::Database::connect("sqlite::memory:").await?,
//!     sea_orm::Database::connect("sqlite::memory:").await?,
//! );
//! CreateShardCatalog.up(&SchemaManager::new(&eu)).await?; // the catalog lives in `eu`
//! let router = TenantRouter::builder(eu.clone())
//!     .shard("eu", eu)
//!     .shard("us", us)
//!     .default_shard("eu")
//!     .build()
//!     .await?;
//! router.assign(&DataKey::new("200.")?, "us", false).await?;
//! assert_eq!(router.route(&DataKey::new("200.4.")?)?.shard(), "us"); // the subtree follows
//! assert_eq!(router.route(&DataKey::new("100.")?)?.shard(), "eu"); // the default
//! let db = router.connect(&DataKey::new("200.")?)?; // a TenantConnection on `us`
//! # let _ = db;
//! # Ok(())
//! # }
//! ```

mod catalog;
mod moves;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, sea_query::OnConflict};

pub use catalog::{CreateShardCatalog, Model as TenantShard};
pub use moves::{MoveOptions, MoveReport, tenant_shard_move};

/// The catalog entity: `tenant_shard`.
pub mod tenant_shard {
    pub use super::catalog::{ActiveModel, Column, Entity, Model, PrimaryKey, Relation};
}

use crate::guard::Guardrails;
use crate::rewrite::subtree::{self, KeyedTable};
use crate::{DataKey, MatchMode, Registry, TenancyError, TenantConnection};

/// Where a tenant lives, as [`TenantRouter::route`] found it.
///
/// ```
/// # use sea_orm_migration::{MigrationTrait, SchemaManager};
/// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, TenantRouter}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
/// let router = TenantRouter::builder(pool.clone()).shard("main", pool).default_shard("main").build().await?;
/// let route = router.route(&DataKey::new("100.")?)?;
/// assert_eq!((route.shard(), route.routed_by(), route.dedicated()), ("main", None, false));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    shard: String,
    routed_by: Option<DataKey>,
    dedicated: bool,
}

impl Route {
    /// The shard's name.
    ///
    /// ```
    /// # fn f(route: sea_orm_tenancy::shard::Route) -> String {
    /// route.shard().to_owned()
    /// # }
    /// ```
    pub fn shard(&self) -> &str {
        &self.shard
    }

    /// The catalog key that routed it (the tenant's own, or an ancestor's), or `None`
    /// when it went to the default shard.
    ///
    /// ```
    /// # fn f(route: sea_orm_tenancy::shard::Route) -> bool {
    /// route.routed_by().is_none() // the default shard
    /// # }
    /// ```
    pub fn routed_by(&self) -> Option<&DataKey> {
        self.routed_by.as_ref()
    }

    /// Whether the route is marked dedicated: its shard holds that subtree alone.
    ///
    /// ```
    /// # fn f(route: sea_orm_tenancy::shard::Route) -> bool {
    /// route.dedicated()
    /// # }
    /// ```
    pub fn dedicated(&self) -> bool {
        self.dedicated
    }
}

#[derive(Debug, Clone)]
struct Entry {
    shard: String,
    dedicated: bool,
}

type Routes = HashMap<DataKey, Entry>;

/// Builds a [`TenantRouter`]; see [`TenantRouter::builder`].
///
/// ```
/// # use sea_orm_tenancy::{MatchMode, shard::TenantRouter};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// let builder = TenantRouter::builder(pool.clone()).shard("main", pool).with_mode(MatchMode::Exact);
/// # let _ = builder;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TenantRouterBuilder {
    catalog: DatabaseConnection,
    shards: Vec<(String, DatabaseConnection)>,
    default_shard: Option<String>,
    registry: Arc<Registry>,
    mode: MatchMode,
    guardrails: Option<Guardrails>,
}

impl TenantRouterBuilder {
    /// Adds the shard `name` (1 to 63 characters) on `pool`.
    ///
    /// ```
    /// # use sea_orm_tenancy::shard::TenantRouter;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let builder = TenantRouter::builder(pool.clone()).shard("eu-1", pool);
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    pub fn shard(mut self, name: impl Into<String>, pool: DatabaseConnection) -> Self {
        self.shards.push((name.into(), pool));
        self
    }

    /// Tenants without a route go to the shard `name`. Without a default they are
    /// refused with [`TenancyError::TenantNotRouted`].
    ///
    /// ```
    /// # use sea_orm_tenancy::shard::TenantRouter;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let builder = TenantRouter::builder(pool.clone()).shard("main", pool).default_shard("main");
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    pub fn default_shard(mut self, name: impl Into<String>) -> Self {
        self.default_shard = Some(name.into());
        self
    }

    /// Connections check statements against `registry` (default: the global one); it
    /// also lists the tables [`TenantRouter::assign`] looks at for existing rows.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use sea_orm_tenancy::{Registry, shard::TenantRouter};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let registry = Arc::new(Registry::builder_with_derived().build());
    /// let builder = TenantRouter::builder(pool.clone()).shard("main", pool).with_registry(registry);
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = registry;
        self
    }

    /// Connections in `mode` (default [`MatchMode::Prefix`]).
    ///
    /// ```
    /// # use sea_orm_tenancy::{MatchMode, shard::TenantRouter};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let builder = TenantRouter::builder(pool.clone()).shard("main", pool).with_mode(MatchMode::Exact);
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_mode(mut self, mode: MatchMode) -> Self {
        self.mode = mode;
        self
    }

    /// Connections under `guardrails` ([`TenantConnection::with_guardrails`]): a
    /// tenant's cap is shared by its connections on every shard.
    ///
    /// ```
    /// # use sea_orm_tenancy::{guard::{Guardrails, Limits}, shard::TenantRouter};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let guardrails = Guardrails::builder().defaults(Limits::new().max_in_flight(8)).build()?;
    /// let builder = TenantRouter::builder(pool.clone()).shard("main", pool).with_guardrails(guardrails);
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_guardrails(mut self, guardrails: Guardrails) -> Self {
        self.guardrails = Some(guardrails);
        self
    }

    /// Checks the shards and reads the catalog. Fails on a shard name that is empty,
    /// longer than 63 characters or given twice, a default shard that is not a shard,
    /// or a catalog that [`reload`](TenantRouter::reload) refuses.
    ///
    /// ```
    /// # use sea_orm_tenancy::shard::TenantRouter;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let err = TenantRouter::builder(pool.clone()).shard("main", pool).default_shard("nope").build().await;
    /// assert!(err.unwrap_err().to_string().contains("default shard `nope` is not a shard"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn build(self) -> Result<TenantRouter, TenancyError> {
        let refuse = |reason: String| TenancyError::DirectoryNotLoaded {
            source_name: CATALOG.to_owned(),
            reason,
        };
        let mut shards = HashMap::new();
        for (name, pool) in self.shards {
            if name.is_empty() || name.len() > 63 {
                return Err(refuse(format!(
                    "shard name `{name}` must be 1 to 63 characters"
                )));
            }
            if shards.insert(name.clone(), pool).is_some() {
                return Err(refuse(format!("shard `{name}` is given twice")));
            }
        }
        if let Some(d) = &self.default_shard
            && !shards.contains_key(d)
        {
            return Err(refuse(format!("default shard `{d}` is not a shard")));
        }
        let router = TenantRouter {
            inner: Arc::new(Inner {
                catalog: self.catalog,
                shards,
                default_shard: self.default_shard,
                registry: self.registry,
                mode: self.mode,
                guardrails: self.guardrails,
                routes: RwLock::new(Arc::new(Routes::new())),
                reloading: tokio::sync::Mutex::new(()),
                fences: Arc::default(),
            }),
        };
        router.reload().await?;
        Ok(router)
    }
}

const CATALOG: &str = "tenant_shard catalog";

#[derive(Debug)]
struct Inner {
    catalog: DatabaseConnection,
    shards: HashMap<String, DatabaseConnection>,
    default_shard: Option<String>,
    registry: Arc<Registry>,
    mode: MatchMode,
    guardrails: Option<Guardrails>,
    routes: RwLock<Arc<Routes>>,
    reloading: tokio::sync::Mutex<()>,
    fences: Arc<crate::connection::fence::Fences>,
}

/// Routes each tenant to the database that holds it; see the [module docs](self).
///
/// Cloning is cheap; clones share the routes.
///
/// ```
/// # use sea_orm_migration::{MigrationTrait, SchemaManager};
/// # use sea_orm_tenancy::{DataKey, TenancyError, shard::{CreateShardCatalog, TenantRouter}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
/// let router = TenantRouter::builder(pool.clone()).shard("main", pool).build().await?;
/// // No route and no default shard: refused, never guessed.
/// assert!(matches!(
///     router.connect(&DataKey::new("100.")?),
///     Err(TenancyError::TenantNotRouted { .. })
/// ));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TenantRouter {
    inner: Arc<Inner>,
}

impl TenantRouter {
    /// A router whose catalog ([`tenant_shard`], created by [`CreateShardCatalog`]) is
    /// on `catalog`; add the shards with [`TenantRouterBuilder::shard`].
    ///
    /// ```
    /// # use sea_orm_tenancy::shard::TenantRouter;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let builder = TenantRouter::builder(pool);
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(catalog: DatabaseConnection) -> TenantRouterBuilder {
        TenantRouterBuilder {
            catalog,
            shards: Vec::new(),
            default_shard: None,
            registry: Registry::global(),
            mode: MatchMode::Prefix,
            guardrails: None,
        }
    }

    /// Where `key` lives: the route of the longest catalog key that is `key` or one of
    /// its ancestors, else the default shard; [`TenancyError::TenantNotRouted`] when
    /// there is neither.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, TenantRouter}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # let other = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
    /// let router = TenantRouter::builder(pool.clone()).shard("a", pool).shard("b", other).build().await?;
    /// router.assign(&DataKey::new("1.")?, "a", false).await?;
    /// router.assign(&DataKey::new("1.4.")?, "b", false).await?;
    /// assert_eq!(router.route(&DataKey::new("1.4.2.")?)?.shard(), "b");
    /// assert_eq!(router.route(&DataKey::new("1.5.")?)?.shard(), "a");
    /// assert!(router.route(&DataKey::new("2.")?).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn route(&self, key: &DataKey) -> Result<Route, TenancyError> {
        let routes = self.routes();
        let mut at = Some(key.clone());
        while let Some(k) = at {
            if let Some(entry) = routes.get(&k) {
                return Ok(Route {
                    shard: entry.shard.clone(),
                    routed_by: Some(k),
                    dedicated: entry.dedicated,
                });
            }
            at = k.parent();
        }
        match &self.inner.default_shard {
            Some(shard) => Ok(Route {
                shard: shard.clone(),
                routed_by: None,
                dedicated: false,
            }),
            None => Err(TenancyError::TenantNotRouted {
                tenant: key.to_string(),
                reason: "no route in the catalog and no default shard".to_owned(),
            }),
        }
    }

    /// A [`TenantConnection`] for `key` on the shard that holds it, with the router's
    /// registry and mode. Filtered like any tenant connection, also when the tenant is
    /// alone in its database.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, TenantRouter}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
    /// let router = TenantRouter::builder(pool.clone()).shard("main", pool).default_shard("main").build().await?;
    /// let db = router.connect(&DataKey::new("100.")?)?;
    /// assert_eq!(db.key().as_str(), "100.");
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect(&self, key: &DataKey) -> Result<TenantConnection, TenancyError> {
        let route = self.route(key)?;
        let pool = self.pool_of(&route, key)?;
        let lease = self.inner.fences.lease(key)?;
        let db = TenantConnection::with_registry(pool, key.clone(), self.inner.registry.clone())
            .with_mode(self.inner.mode)
            .with_fence(lease);
        Ok(match &self.inner.guardrails {
            Some(guardrails) => db.with_guardrails(guardrails),
            None => db,
        })
    }

    /// The explicit opt-out of the tenant filter: the shard's raw pool, for a tenant
    /// whose own route (not an ancestor's) is marked dedicated. Statements run as
    /// written: nothing is filtered, no DataKey is filled in, nothing is refused, so
    /// the schema's `NOT NULL` and CHECK on the DataKey column are what remain. Refused
    /// ([`TenancyError::TenantNotRouted`]) for any other tenant.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, TenantRouter}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # let own = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
    /// let router = TenantRouter::builder(pool.clone()).shard("main", pool).shard("bigco", own).build().await?;
    /// router.assign(&DataKey::new("300.")?, "bigco", true).await?;
    /// let raw = router.connect_unfiltered(&DataKey::new("300.")?)?;
    /// assert!(router.connect_unfiltered(&DataKey::new("300.1.")?).is_err()); // not its own route
    /// # let _ = raw;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_unfiltered(&self, key: &DataKey) -> Result<DatabaseConnection, TenancyError> {
        let route = self.route(key)?;
        if !route.dedicated || route.routed_by.as_ref() != Some(key) {
            return Err(TenancyError::TenantNotRouted {
                tenant: key.to_string(),
                reason: "an unfiltered connection needs the tenant's own route marked dedicated"
                    .to_owned(),
            });
        }
        self.pool_of(&route, key)
    }

    /// Routes `key` (and its subtree) to `shard`, marked `dedicated` or not, in the
    /// catalog, and reloads. For a tenant whose rows are not elsewhere: when the
    /// subtree has rows in a tenanted table of the shard it routes to now, the route is
    /// refused ([`TenancyError::InvalidTenantChange`]), since they would be left behind.
    /// Tables of the registry that a shard does not have are passed over. A route that
    /// would put a second tenant on a dedicated shard, or mark a shared one dedicated,
    /// is refused the same way, before the catalog is written.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, TenantRouter}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
    /// let router = TenantRouter::builder(pool.clone()).shard("main", pool).build().await?;
    /// router.assign(&DataKey::new("100.")?, "main", false).await?;
    /// assert!(router.assign(&DataKey::new("101.")?, "elsewhere", false).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn assign(&self, key: &DataKey, shard: &str, dedicated: bool) -> Result<(), DbErr> {
        if !self.inner.shards.contains_key(shard) {
            return Err(TenancyError::TenantNotRouted {
                tenant: key.to_string(),
                reason: format!("`{shard}` is not a shard of this router"),
            }
            .into());
        }
        if let Ok(current) = self.route(key)
            && current.shard != shard
        {
            let pool = self.pool_of(&current, key)?;
            if let Some(table) = self.table_with_rows(&pool, key).await? {
                return Err(TenancyError::InvalidTenantChange {
                    table,
                    tenant: key.to_string(),
                    reason: format!(
                        "the tenant has rows on shard `{}`: routing it to `{shard}` would leave them behind",
                        current.shard
                    ),
                }
                .into());
            }
        }
        let mut next = (*self.routes()).clone();
        next.insert(
            key.clone(),
            Entry {
                shard: shard.to_owned(),
                dedicated,
            },
        );
        if let Err(reason) = self.check(&next) {
            return Err(TenancyError::InvalidTenantChange {
                table: "tenant_shard".to_owned(),
                tenant: key.to_string(),
                reason,
            }
            .into());
        }
        let row = tenant_shard::ActiveModel {
            data_key: sea_orm::ActiveValue::Set(key.to_string()),
            shard: sea_orm::ActiveValue::Set(shard.to_owned()),
            dedicated: sea_orm::ActiveValue::Set(dedicated),
        };
        tenant_shard::Entity::insert(row)
            .on_conflict(
                OnConflict::column(tenant_shard::Column::DataKey)
                    .update_columns([tenant_shard::Column::Shard, tenant_shard::Column::Dedicated])
                    .to_owned(),
            )
            .exec(&self.inner.catalog)
            .await?;
        self.reload().await?;
        Ok(())
    }

    /// Reads the catalog again and swaps the routes in one step. On failure the old
    /// routes stay and the error is returned: a route to a shard this router does not
    /// have, a malformed key, or a dedicated shard that has more than one route or is
    /// the default shard.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, TenantRouter}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
    /// let router = TenantRouter::builder(pool.clone()).shard("main", pool).build().await?;
    /// assert_eq!(router.reload().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reload(&self) -> Result<usize, TenancyError> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        let refuse = |reason: String| TenancyError::DirectoryNotLoaded {
            source_name: CATALOG.to_owned(),
            reason,
        };
        let rows = tenant_shard::Entity::find()
            .all(&self.inner.catalog)
            .await
            .map_err(|e| refuse(format!("cannot read the catalog: {e}")))?;
        let mut routes = Routes::with_capacity(rows.len());
        for row in &rows {
            let key = DataKey::new(&row.data_key).map_err(|e| refuse(e.to_string()))?;
            routes.insert(
                key,
                Entry {
                    shard: row.shard.clone(),
                    dedicated: row.dedicated,
                },
            );
        }
        self.check(&routes).map_err(refuse)?;
        // Moves another router started and did not finish: refused until resumed.
        let unfinished = moves::tenant_shard_move::Entity::find()
            .all(&self.inner.catalog)
            .await
            .map_err(|e| refuse(format!("cannot read the moves under way: {e}")))?;
        let mut copying = Vec::new();
        for m in unfinished.iter().filter(|m| m.phase == "copying") {
            copying.push(DataKey::new(&m.data_key).map_err(|e| refuse(e.to_string()))?);
        }
        self.inner.fences.set_moving(copying);
        let n = routes.len();
        *self.inner.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(routes);
        tracing::info!(target: "sea_orm_tenancy::shard", routes = n, "shard catalog loaded");
        Ok(n)
    }

    /// The names of the shards.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::shard::{CreateShardCatalog, TenantRouter};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&pool)).await?;
    /// let router = TenantRouter::builder(pool.clone()).shard("main", pool).build().await?;
    /// assert_eq!(router.shards(), vec!["main"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn shards(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.inner.shards.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Every route names a shard of this router, and a dedicated shard holds one route
    /// and is not the default shard.
    fn check(&self, routes: &Routes) -> Result<(), String> {
        let mut per_shard: HashMap<&str, usize> = HashMap::new();
        for (key, entry) in routes {
            if !self.inner.shards.contains_key(&entry.shard) {
                return Err(format!(
                    "tenant `{key}` is routed to `{}`, which is not a shard of this router",
                    entry.shard
                ));
            }
            *per_shard.entry(entry.shard.as_str()).or_default() += 1;
        }
        let mut dedicated: Vec<(&DataKey, &Entry)> =
            routes.iter().filter(|(_, e)| e.dedicated).collect();
        dedicated.sort_by(|x, y| x.0.cmp(y.0));
        for (key, entry) in dedicated {
            let alone = per_shard.get(entry.shard.as_str()) == Some(&1)
                && self.inner.default_shard.as_deref() != Some(entry.shard.as_str());
            if !alone {
                return Err(format!(
                    "tenant `{key}` is dedicated to shard `{}`, which holds other tenants too",
                    entry.shard
                ));
            }
        }
        Ok(())
    }

    fn routes(&self) -> Arc<Routes> {
        self.inner
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn pool_of(&self, route: &Route, key: &DataKey) -> Result<DatabaseConnection, TenancyError> {
        self.inner
            .shards
            .get(&route.shard)
            .cloned()
            .ok_or_else(|| TenancyError::TenantNotRouted {
                tenant: key.to_string(),
                reason: format!("`{}` is not a shard of this router", route.shard),
            })
    }

    /// The first tenanted table of the registry, present on `pool`, with a row in
    /// `key`'s subtree.
    async fn table_with_rows(
        &self,
        pool: &DatabaseConnection,
        key: &DataKey,
    ) -> Result<Option<String>, DbErr> {
        let backend = pool.get_database_backend();
        for (schema, table, column) in self.inner.registry.tenanted_tables() {
            if schema.is_none() {
                // A table is there when the catalog lists a column of it.
                let columns = crate::migration::sql::columns_query(backend, table);
                if pool.query_one_raw(columns).await?.is_none() {
                    continue;
                }
            }
            let t = KeyedTable {
                schema,
                table,
                column,
            };
            let probe = subtree::any(backend, t, key);
            if pool.query_one_raw(probe).await?.is_some() {
                return Ok(Some(table.to_owned()));
            }
        }
        Ok(None)
    }
}
