//! Tenants as data: the `tenant` and `tenant_member` entities, their migration, and
//! [`TenantAdmin`] to create, rename, delete and move tenants, with change hooks,
//! limits, membership and reserved keys. Behind the `lifecycle` feature (on by default).
//!
//! Every operation runs in one transaction on an [`AdminConnection`]: the tenant rows,
//! the rows of every registered tenanted table, and what your [`TenantHooks`] do all
//! commit together or not at all.
//!
//! ```
//! use sea_orm_migration::{MigrationTrait, SchemaManager};
//! use sea_orm_tenancy::AdminConnection;
//! use sea_orm_tenancy::lifecycle::{CreateTenantTables, TenantAdmin};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sea_orm::Database::connect("sqlite::memory:").await?;
//! CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
//!
//! let admin = TenantAdmin::new(AdminConnection::new(pool));
//! let chain = admin.create("Retail Chain", None).await?;
//! let north = admin.create("North", Some(&chain.key()?)).await?;
//! assert_eq!(north.data_key, format!("{}1.", chain.data_key));
//!
//! let tree = admin.tree().await?;
//! assert_eq!(tree.len(), 2); // the system tenant and the chain
//! # Ok(())
//! # }
//! ```

mod migration;
pub mod tenant;
pub mod tenant_member;

use std::fmt;
use std::sync::Arc;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityName,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionError,
};

pub use migration::CreateTenantTables;

use crate::rewrite::subtree::{self, KeyedTable};
use crate::{AdminConnection, AdminTransaction, DataKey, TenancyError, TenantConnection};

/// What an application does when tenants change, called inside the operation's
/// transaction: seed a new tenant's data, clean up a deleted one's, follow a move.
/// An `Err` rolls the whole operation back, your changes included.
///
/// Every method has a default that does nothing. `before_create` is also the policy
/// hook for limits beyond [`TenantAdmin::max_tenants`] and
/// [`TenantAdmin::max_children`]: return
/// [`TenancyError::MaxTenantExceeded`] (converted into a `DbErr`) to refuse.
///
/// ```
/// use sea_orm::{ConnectionTrait, DbErr, Statement};
/// use sea_orm_tenancy::AdminTransaction;
/// use sea_orm_tenancy::lifecycle::{TenantHooks, tenant};
///
/// #[derive(Debug)]
/// struct Seed;
///
/// #[async_trait::async_trait]
/// impl TenantHooks for Seed {
///     async fn created(&self, txn: &AdminTransaction, tenant: &tenant::Model) -> Result<(), DbErr> {
///         // e.g. insert the tenant's default settings, naming its data_key explicitly
///         let _ = (txn, tenant);
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait TenantHooks: Send + Sync + fmt::Debug {
    /// Before a tenant is created under `parent` (`None`: top level). The policy hook.
    async fn before_create(
        &self,
        _txn: &AdminTransaction,
        _parent: Option<&tenant::Model>,
        _name: &str,
    ) -> Result<(), DbErr> {
        Ok(())
    }

    /// After `tenant` was inserted.
    async fn created(&self, _txn: &AdminTransaction, _tenant: &tenant::Model) -> Result<(), DbErr> {
        Ok(())
    }

    /// After a rename.
    async fn renamed(
        &self,
        _txn: &AdminTransaction,
        _before: &tenant::Model,
        _after: &tenant::Model,
    ) -> Result<(), DbErr> {
        Ok(())
    }

    /// Before `root` and its `subtree` (root included, deepest first) are deleted with
    /// their rows: the rows are still there to read.
    async fn deleting(
        &self,
        _txn: &AdminTransaction,
        _root: &tenant::Model,
        _subtree: &[tenant::Model],
    ) -> Result<(), DbErr> {
        Ok(())
    }

    /// After `before` (with its subtree) moved and was re-keyed to `after`. Rows of
    /// registered tenanted tables are re-keyed already; re-key anything else here.
    async fn moved(
        &self,
        _txn: &AdminTransaction,
        _before: &tenant::Model,
        _after: &tenant::Model,
    ) -> Result<(), DbErr> {
        Ok(())
    }
}

/// Shared hooks: keep an `Arc` to read what they recorded.
#[async_trait::async_trait]
impl<T: TenantHooks + ?Sized> TenantHooks for Arc<T> {
    async fn before_create(
        &self,
        txn: &AdminTransaction,
        parent: Option<&tenant::Model>,
        name: &str,
    ) -> Result<(), DbErr> {
        (**self).before_create(txn, parent, name).await
    }

    async fn created(&self, txn: &AdminTransaction, tenant: &tenant::Model) -> Result<(), DbErr> {
        (**self).created(txn, tenant).await
    }

    async fn renamed(
        &self,
        txn: &AdminTransaction,
        before: &tenant::Model,
        after: &tenant::Model,
    ) -> Result<(), DbErr> {
        (**self).renamed(txn, before, after).await
    }

    async fn deleting(
        &self,
        txn: &AdminTransaction,
        root: &tenant::Model,
        subtree: &[tenant::Model],
    ) -> Result<(), DbErr> {
        (**self).deleting(txn, root, subtree).await
    }

    async fn moved(
        &self,
        txn: &AdminTransaction,
        before: &tenant::Model,
        after: &tenant::Model,
    ) -> Result<(), DbErr> {
        (**self).moved(txn, before, after).await
    }
}

/// The hooks used when none are set: they do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

#[async_trait::async_trait]
impl TenantHooks for NoHooks {}

/// A tenant and its children, from [`TenantAdmin::tree`].
///
/// ```
/// use sea_orm_tenancy::lifecycle::{TenantNode, tenant};
/// let leaf = TenantNode {
///     tenant: tenant::Model { id: 2, name: "Shop".into(), parent_id: Some(1), data_key: "10.1.".into(), created_at: Default::default() },
///     children: vec![],
/// };
/// assert_eq!(leaf.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantNode {
    /// The tenant.
    pub tenant: tenant::Model,
    /// Its children, by DataKey.
    pub children: Vec<TenantNode>,
}

impl TenantNode {
    /// How many tenants the subtree holds, this one included.
    ///
    /// ```
    /// # use sea_orm_tenancy::lifecycle::{TenantNode, tenant};
    /// let t = tenant::Model { id: 1, name: "A".into(), parent_id: None, data_key: "10.".into(), created_at: Default::default() };
    /// assert_eq!(TenantNode { tenant: t, children: vec![] }.len(), 1);
    /// ```
    #[allow(clippy::len_without_is_empty)] // never empty: it holds its tenant
    pub fn len(&self) -> usize {
        1 + self.children.iter().map(TenantNode::len).sum::<usize>()
    }
}

/// A user's membership, from [`TenantAdmin::tenants_of`].
///
/// ```
/// use sea_orm_tenancy::lifecycle::{Membership, tenant};
/// let m = Membership {
///     tenant: tenant::Model { id: 1, name: "A".into(), parent_id: None, data_key: "10.".into(), created_at: Default::default() },
///     role: "owner".into(),
/// };
/// assert_eq!(m.role, "owner");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The tenant.
    pub tenant: tenant::Model,
    /// The user's role there.
    pub role: String,
}

/// Creates, renames, deletes and moves tenants, and manages members. Admin only: it is
/// made from an [`AdminConnection`].
///
/// - Keys are derived: a child's DataKey is its parent's plus the next free number and
///   `.`. Top-level numbers below [`reserve_below`](Self::reserve_below) (default 100)
///   are never handed out: `0.` is the [system tenant](DataKey::system), `1.` the
///   [default tenant](DataKey::default_tenant), the rest yours
///   ([`create_reserved`](Self::create_reserved)).
/// - Delete and move act on the whole subtree and on every tenanted table of the admin
///   connection's registry, in one transaction.
/// - Operations are serialised through a lock on the system tenant's row (PostgreSQL,
///   MariaDB; SQLite serialises writers itself), so that limits and key allocation hold
///   under concurrency.
///
/// ```
/// use std::sync::Arc;
/// use sea_orm_migration::{MigrationTrait, SchemaManager};
/// use sea_orm_tenancy::{AdminConnection, Registry, TenancyError};
/// use sea_orm_tenancy::lifecycle::{CreateTenantTables, TenantAdmin, tenant, tenant_member};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
/// // Delete and move act on every tenanted table of the registry: here, only these two.
/// let registry = Registry::builder()
///     .entity::<tenant::Entity>()
///     .entity::<tenant_member::Entity>()
///     .build();
/// let admin = AdminConnection::with_registry(pool, Arc::new(registry));
/// let admin = TenantAdmin::new(admin).max_children(2);
///
/// let head = admin.create("Head office", None).await?;
/// assert_eq!(head.data_key, "100.");
/// let north = admin.create("North", Some(&head.key()?)).await?;
/// admin.create("South", Some(&head.key()?)).await?;
/// let err = admin.create("East", Some(&head.key()?)).await.unwrap_err();
/// assert!(matches!(TenancyError::from_db_err(&err), Some(TenancyError::MaxTenantExceeded { .. })));
///
/// let moved = admin.move_subtree(&north.key()?, None).await?;
/// assert_eq!(moved.data_key, "101.");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TenantAdmin {
    admin: AdminConnection,
    hooks: Arc<dyn TenantHooks>,
    max_tenants: Option<u64>,
    max_children: Option<u64>,
    reserved_below: u64,
}

impl fmt::Debug for TenantAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantAdmin")
            .field("hooks", &self.hooks)
            .field("max_tenants", &self.max_tenants)
            .field("max_children", &self.max_children)
            .field("reserved_below", &self.reserved_below)
            .finish_non_exhaustive()
    }
}

/// The default of [`TenantAdmin::reserve_below`].
pub const DEFAULT_RESERVED_BELOW: u64 = 100;

fn table() -> String {
    tenant::Entity.table_name().to_owned()
}

fn not_found(key: &DataKey) -> DbErr {
    TenancyError::TenantNotFound {
        table: table(),
        tenant: key.to_string(),
    }
    .into()
}

fn invalid_change(key: &DataKey, reason: impl Into<String>) -> DbErr {
    TenancyError::InvalidTenantChange {
        table: table(),
        tenant: key.to_string(),
        reason: reason.into(),
    }
    .into()
}

fn key_of(t: &tenant::Model) -> Result<DataKey, DbErr> {
    t.key().map_err(DbErr::from)
}

/// The number of a segment, when it is one.
fn segment_number(key: &str) -> Option<u64> {
    key.trim_end_matches('.').rsplit('.').next()?.parse().ok()
}

fn unwrap_txn(e: TransactionError<DbErr>) -> DbErr {
    match e {
        TransactionError::Connection(e) | TransactionError::Transaction(e) => e,
    }
}

impl TenantAdmin {
    /// Tenant administration on `admin`, with no hooks and no limits.
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::TenantAdmin};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = TenantAdmin::new(AdminConnection::new(pool));
    /// # let _ = admin;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(admin: AdminConnection) -> Self {
        TenantAdmin {
            admin,
            hooks: Arc::new(NoHooks),
            max_tenants: None,
            max_children: None,
            reserved_below: DEFAULT_RESERVED_BELOW,
        }
    }

    /// Calls `hooks` on every change, inside its transaction.
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{NoHooks, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = TenantAdmin::new(AdminConnection::new(pool)).with_hooks(NoHooks);
    /// # let _ = admin;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_hooks(mut self, hooks: impl TenantHooks + 'static) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// At most `n` tenants, reserved ones not counted; creating one more fails with
    /// [`TenancyError::MaxTenantExceeded`].
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::TenantAdmin};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = TenantAdmin::new(AdminConnection::new(pool)).max_tenants(500);
    /// # let _ = admin;
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_tenants(mut self, n: u64) -> Self {
        self.max_tenants = Some(n);
        self
    }

    /// At most `n` children per parent (top-level tenants count as the children of
    /// none); creating or moving one more under a parent fails with
    /// [`TenancyError::MaxTenantExceeded`].
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::TenantAdmin};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = TenantAdmin::new(AdminConnection::new(pool)).max_children(50);
    /// # let _ = admin;
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_children(mut self, n: u64) -> Self {
        self.max_children = Some(n);
        self
    }

    /// Top-level keys `0.` to `<n-1>.` are reserved: [`create`](Self::create) never hands
    /// them out. `n` is at least 2, for the system and default tenants.
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::TenantAdmin};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = TenantAdmin::new(AdminConnection::new(pool)).reserve_below(1000);
    /// # let _ = admin;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reserve_below(mut self, n: u64) -> Self {
        self.reserved_below = n.max(2);
        self
    }

    /// The admin connection.
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::TenantAdmin};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = TenantAdmin::new(AdminConnection::new(pool));
    /// let _conn: &AdminConnection = admin.connection();
    /// # Ok(())
    /// # }
    /// ```
    pub fn connection(&self) -> &AdminConnection {
        &self.admin
    }

    fn is_reserved(&self, t: &tenant::Model) -> bool {
        t.parent_id.is_none()
            && segment_number(&t.data_key).is_some_and(|n| n < self.reserved_below)
    }

    /// Takes the lifecycle lock: the system tenant's row, inserted if missing.
    async fn lock(&self, txn: &AdminTransaction) -> Result<(), DbErr> {
        let system = tenant::Entity::find()
            .filter(tenant::Column::DataKey.eq(DataKey::system().as_str()))
            .lock_exclusive()
            .one(txn)
            .await?;
        if system.is_none() {
            self.insert(txn, "system", None, &DataKey::system()).await?;
        }
        Ok(())
    }

    async fn insert(
        &self,
        txn: &AdminTransaction,
        name: &str,
        parent: Option<&tenant::Model>,
        key: &DataKey,
    ) -> Result<tenant::Model, DbErr> {
        tenant::ActiveModel {
            name: Set(name.to_owned()),
            parent_id: Set(parent.map(|p| p.id)),
            data_key: Set(key.to_string()),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await
    }

    async fn find<C: ConnectionTrait>(
        &self,
        conn: &C,
        key: &DataKey,
    ) -> Result<tenant::Model, DbErr> {
        tenant::Entity::find()
            .filter(tenant::Column::DataKey.eq(key.as_str()))
            .one(conn)
            .await?
            .ok_or_else(|| not_found(key))
    }

    /// The tenant whose DataKey is `key`, or [`TenancyError::TenantNotFound`].
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, DataKey, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// assert_eq!(admin.get(&DataKey::system()).await?.name, "system");
    /// assert!(admin.get(&DataKey::new("42.")?).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get(&self, key: &DataKey) -> Result<tenant::Model, DbErr> {
        self.find(&self.admin, key).await
    }

    async fn children(
        &self,
        txn: &AdminTransaction,
        parent: Option<&tenant::Model>,
    ) -> Result<Vec<tenant::Model>, DbErr> {
        let q = tenant::Entity::find();
        let q = match parent {
            Some(p) => q.filter(tenant::Column::ParentId.eq(p.id)),
            None => q.filter(tenant::Column::ParentId.is_null()),
        };
        q.all(txn).await
    }

    /// Checks the limits for one more child of `parent`, and picks its key.
    async fn next_key(
        &self,
        txn: &AdminTransaction,
        parent: Option<&tenant::Model>,
        new_tenant: bool,
    ) -> Result<DataKey, DbErr> {
        let siblings = self.children(txn, parent).await?;
        let parent_key = parent.map(key_of).transpose()?;
        let label = parent_key
            .as_ref()
            .map_or_else(|| "(top level)".to_owned(), DataKey::to_string);
        if let Some(max) = self.max_children {
            let counted = siblings.iter().filter(|s| !self.is_reserved(s)).count() as u64;
            if counted >= max {
                return Err(TenancyError::MaxTenantExceeded {
                    tenant: label,
                    reason: format!("at most {max} children per parent"),
                }
                .into());
            }
        }
        if let (true, Some(max)) = (new_tenant, self.max_tenants) {
            let all = tenant::Entity::find().count(txn).await?;
            let reserved = self
                .children(txn, None)
                .await?
                .iter()
                .filter(|t| self.is_reserved(t))
                .count() as u64;
            if all.saturating_sub(reserved) >= max {
                return Err(TenancyError::MaxTenantExceeded {
                    tenant: label,
                    reason: format!("at most {max} tenants"),
                }
                .into());
            }
        }
        let floor = if parent.is_none() {
            self.reserved_below
        } else {
            1
        };
        let next = siblings
            .iter()
            .filter_map(|s| segment_number(&s.data_key))
            .map(|n| n.saturating_add(1))
            .fold(floor, u64::max);
        let segment = next.to_string();
        match parent_key {
            Some(k) => k.child(&segment),
            None => DataKey::new(format!("{segment}.")),
        }
        .map_err(DbErr::from)
    }

    /// Creates a tenant under `parent` (`None`: top level) with a derived key: the
    /// parent's key plus the next free number plus `.`. Calls
    /// [`TenantHooks::before_create`] and [`TenantHooks::created`]; fails with
    /// [`TenancyError::MaxTenantExceeded`] past a limit and
    /// [`TenancyError::TenantNotFound`] for an unknown parent.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// let eu = admin.create("Acme EU", Some(&acme.key()?)).await?;
    /// assert_eq!((acme.data_key.as_str(), eu.data_key.as_str()), ("100.", "100.1."));
    /// assert_eq!(eu.parent_id, Some(acme.id));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create(
        &self,
        name: &str,
        parent: Option<&DataKey>,
    ) -> Result<tenant::Model, DbErr> {
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                let parent = match parent {
                    Some(k) => Some(self.find(txn, k).await?),
                    None => None,
                };
                self.hooks.before_create(txn, parent.as_ref(), name).await?;
                let key = self.next_key(txn, parent.as_ref(), true).await?;
                let created = self.insert(txn, name, parent.as_ref(), &key).await?;
                self.hooks.created(txn, &created).await?;
                Ok(created)
            })
            .await
            .map_err(unwrap_txn)
    }

    /// Creates a top-level tenant with the reserved key `<segment>.`, for platform or
    /// virtual tenants. `segment` must be below [`reserve_below`](Self::reserve_below)
    /// and not `0` (the system tenant), else [`TenancyError::InvalidTenantChange`].
    /// Limits do not apply; hooks do.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// assert_eq!(admin.create_reserved("Demo data", 7).await?.data_key, "7.");
    /// assert!(admin.create_reserved("Nope", 100).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_reserved(&self, name: &str, segment: u64) -> Result<tenant::Model, DbErr> {
        let key = DataKey::new(format!("{segment}."))?;
        if segment == 0 || segment >= self.reserved_below {
            return Err(invalid_change(
                &key,
                format!(
                    "reserved keys are 1. to {}.; 0. is the system tenant",
                    self.reserved_below - 1
                ),
            ));
        }
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                self.hooks.before_create(txn, None, name).await?;
                let created = self.insert(txn, name, None, &key).await?;
                self.hooks.created(txn, &created).await?;
                Ok(created)
            })
            .await
            .map_err(unwrap_txn)
    }

    /// The system tenant (`0.`), created if missing.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, DataKey, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// assert_eq!(admin.system_tenant().await?.key()?, DataKey::system());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn system_tenant(&self) -> Result<tenant::Model, DbErr> {
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                self.find(txn, &DataKey::system()).await
            })
            .await
            .map_err(unwrap_txn)
    }

    /// The default tenant (`1.`) that
    /// [`TenantConnection::single_tenant`] writes as, created if missing (named
    /// `default`, hooks called): how a single-tenant app adopts tenancy.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, DataKey, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let first = admin.default_tenant().await?;
    /// assert_eq!(admin.default_tenant().await?, first);
    /// assert_eq!(first.key()?, DataKey::default_tenant());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn default_tenant(&self) -> Result<tenant::Model, DbErr> {
        let key = DataKey::default_tenant();
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                match self.find(txn, &key).await {
                    Ok(t) => Ok(t),
                    Err(e)
                        if matches!(
                            TenancyError::from_db_err(&e),
                            Some(TenancyError::TenantNotFound { .. })
                        ) =>
                    {
                        self.hooks.before_create(txn, None, "default").await?;
                        let created = self.insert(txn, "default", None, &key).await?;
                        self.hooks.created(txn, &created).await?;
                        Ok(created)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
            .map_err(unwrap_txn)
    }

    /// Renames the tenant `key`; calls [`TenantHooks::renamed`].
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let t = admin.create("Acme", None).await?;
    /// assert_eq!(admin.rename(&t.key()?, "Acme Corp").await?.name, "Acme Corp");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rename(&self, key: &DataKey, name: &str) -> Result<tenant::Model, DbErr> {
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                let before = self.find(txn, key).await?;
                let mut active: tenant::ActiveModel = before.clone().into();
                active.name = Set(name.to_owned());
                let after = active.update(txn).await?;
                self.hooks.renamed(txn, &before, &after).await?;
                Ok(after)
            })
            .await
            .map_err(unwrap_txn)
    }

    /// The tenants of `key`'s subtree, root first, by DataKey.
    async fn subtree_rows<C: ConnectionTrait>(
        &self,
        conn: &C,
        key: &DataKey,
    ) -> Result<Vec<tenant::Model>, DbErr> {
        let stmt = subtree::select(conn.get_database_backend(), self.tenant_table(), "*", key);
        tenant::Entity::find().from_raw_sql(stmt).all(conn).await
    }

    fn tenant_table(&self) -> KeyedTable<'static> {
        KeyedTable {
            schema: None,
            table: "tenant",
            column: "data_key",
        }
    }

    /// The registry's tenanted tables, deletion order, with the tenant table marked.
    fn keyed_tables(&self) -> Vec<(KeyedTable<'_>, bool)> {
        self.admin
            .registry()
            .tenanted_tables()
            .into_iter()
            .map(|(schema, table, column)| {
                let is_tenant =
                    schema.is_none() && table.eq_ignore_ascii_case(tenant::Entity.table_name());
                (
                    KeyedTable {
                        schema,
                        table,
                        column,
                    },
                    is_tenant,
                )
            })
            .collect()
    }

    /// Deletes the tenant `key`, its whole subtree, and their rows in every tenanted
    /// table of the registry (referencing tables first), in one transaction. Calls
    /// [`TenantHooks::deleting`] first. Returns how many tenants were deleted. The
    /// system tenant cannot be deleted ([`TenancyError::InvalidTenantChange`]).
    ///
    /// Every tenanted table of the admin connection's registry must exist: a missing one
    /// fails the whole operation (nothing is deleted). Build the
    /// [`AdminConnection`] with a registry of your own when some derived entities have
    /// no table.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// admin.create("Acme EU", Some(&acme.key()?)).await?;
    /// assert_eq!(admin.delete(&acme.key()?).await?, 2);
    /// assert!(admin.get(&acme.key()?).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete(&self, key: &DataKey) -> Result<u64, DbErr> {
        if *key == DataKey::system() {
            return Err(invalid_change(key, "the system tenant cannot be deleted"));
        }
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                let root = self.find(txn, key).await?;
                let mut doomed = self.subtree_rows(txn, key).await?;
                doomed.sort_by(|a, b| {
                    let depth = |t: &tenant::Model| t.data_key.matches('.').count();
                    depth(b)
                        .cmp(&depth(a))
                        .then_with(|| b.data_key.cmp(&a.data_key))
                });
                self.hooks.deleting(txn, &root, &doomed).await?;
                let backend = txn.get_database_backend();
                for (table, is_tenant) in self.keyed_tables() {
                    if !is_tenant {
                        txn.execute_raw(subtree::delete(backend, table, key))
                            .await?;
                    }
                }
                for t in &doomed {
                    tenant::Entity::delete_by_id(t.id).exec(txn).await?;
                }
                Ok(doomed.len() as u64)
            })
            .await
            .map_err(unwrap_txn)
    }

    /// Moves the tenant `key` and its subtree under `new_parent` (`None`: top level).
    /// The moved root gets a fresh key under its new parent, and every row of every
    /// tenanted table of the registry, and every descendant tenant, is re-keyed in the
    /// same transaction; then [`TenantHooks::moved`] is called. Returns the moved root.
    ///
    /// Refused with [`TenancyError::InvalidTenantChange`]: a move under the tenant itself
    /// or one of its descendants, and a move of the system tenant. Moving under the
    /// current parent changes nothing. The new parent's child limit applies.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, TenancyError, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let north = admin.create("North", None).await?;
    /// let south = admin.create("South", None).await?;
    /// let shop = admin.create("Shop 1", Some(&north.key()?)).await?;
    /// let moved = admin.move_subtree(&shop.key()?, Some(&south.key()?)).await?;
    /// assert_eq!(moved.data_key, "101.1.");
    ///
    /// let err = admin.move_subtree(&north.key()?, Some(&north.key()?)).await.unwrap_err();
    /// assert!(matches!(TenancyError::from_db_err(&err), Some(TenancyError::InvalidTenantChange { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn move_subtree(
        &self,
        key: &DataKey,
        new_parent: Option<&DataKey>,
    ) -> Result<tenant::Model, DbErr> {
        if *key == DataKey::system() {
            return Err(invalid_change(key, "the system tenant cannot be moved"));
        }
        if let Some(p) = new_parent
            && key.contains(p)
        {
            return Err(invalid_change(
                key,
                format!("cannot move a tenant under itself or its descendant `{p}`"),
            ));
        }
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                let before = self.find(txn, key).await?;
                let parent = match new_parent {
                    Some(k) => Some(self.find(txn, k).await?),
                    None => None,
                };
                if before.parent_id == parent.as_ref().map(|p| p.id) {
                    return Ok(before);
                }
                let new_key = self.next_key(txn, parent.as_ref(), false).await?;
                let backend = txn.get_database_backend();
                // Referenced tables first: a composite foreign key with `ON UPDATE
                // CASCADE` (see `migration::TenantedTable::foreign_key`) carries the
                // referencing rows along, and nothing is ever left pointing at a key
                // that no longer exists.
                for (table, _) in self.keyed_tables().into_iter().rev() {
                    txn.execute_raw(subtree::rekey(backend, table, key, &new_key))
                        .await?;
                }
                let mut active: tenant::ActiveModel = self.find(txn, &new_key).await?.into();
                active.parent_id = Set(parent.as_ref().map(|p| p.id));
                let after = active.update(txn).await?;
                self.hooks.moved(txn, &before, &after).await?;
                Ok(after)
            })
            .await
            .map_err(unwrap_txn)
    }

    /// Every tenant, as a forest: top-level tenants (the system tenant included) with
    /// their descendants, siblings in the order of their numbers (`2.` before `10.`).
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// admin.create("Acme EU", Some(&acme.key()?)).await?;
    /// let tree = admin.tree().await?;
    /// assert_eq!(tree[1].tenant.name, "Acme");
    /// assert_eq!(tree[1].children[0].tenant.name, "Acme EU");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn tree(&self) -> Result<Vec<TenantNode>, DbErr> {
        let all = tenant::Entity::find()
            .order_by_asc(tenant::Column::DataKey)
            .all(&self.admin)
            .await?;
        Ok(forest(all))
    }

    /// The subtree of `key`, or [`TenancyError::TenantNotFound`].
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// admin.create("Acme EU", Some(&acme.key()?)).await?;
    /// assert_eq!(admin.subtree(&acme.key()?).await?.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn subtree(&self, key: &DataKey) -> Result<TenantNode, DbErr> {
        let rows = self.subtree_rows(&self.admin, key).await?;
        let mut roots = forest_under(rows, |t| t.data_key == key.as_str());
        roots.pop().ok_or_else(|| not_found(key))
    }

    /// Makes `user_id` a member of the tenant `key` with `role`, or changes the role of
    /// an existing member.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// let m = admin.add_member(&acme.key()?, "alice", "owner").await?;
    /// assert_eq!((m.user_id.as_str(), m.data_key.as_str()), ("alice", "100."));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn add_member(
        &self,
        key: &DataKey,
        user_id: &str,
        role: &str,
    ) -> Result<tenant_member::Model, DbErr> {
        self.admin
            .transaction_async(async |txn| {
                self.lock(txn).await?;
                let t = self.find(txn, key).await?;
                let existing = tenant_member::Entity::find()
                    .filter(tenant_member::Column::TenantId.eq(t.id))
                    .filter(tenant_member::Column::UserId.eq(user_id))
                    .one(txn)
                    .await?;
                match existing {
                    Some(m) => {
                        let mut active: tenant_member::ActiveModel = m.into();
                        active.role = Set(role.to_owned());
                        active.update(txn).await
                    }
                    None => {
                        tenant_member::ActiveModel {
                            tenant_id: Set(t.id),
                            data_key: Set(t.data_key.clone()),
                            user_id: Set(user_id.to_owned()),
                            role: Set(role.to_owned()),
                            created_at: Set(chrono::Utc::now()),
                            ..Default::default()
                        }
                        .insert(txn)
                        .await
                    }
                }
            })
            .await
            .map_err(unwrap_txn)
    }

    /// Removes `user_id` from the tenant `key`; whether they were a member.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// admin.add_member(&acme.key()?, "alice", "owner").await?;
    /// assert!(admin.remove_member(&acme.key()?, "alice").await?);
    /// assert!(!admin.remove_member(&acme.key()?, "alice").await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn remove_member(&self, key: &DataKey, user_id: &str) -> Result<bool, DbErr> {
        let t = self.get(key).await?;
        let done = tenant_member::Entity::delete_many()
            .filter(tenant_member::Column::TenantId.eq(t.id))
            .filter(tenant_member::Column::UserId.eq(user_id))
            .exec(&self.admin)
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// The tenants `user_id` belongs to, with their role, by DataKey.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// let globex = admin.create("Globex", None).await?;
    /// admin.add_member(&acme.key()?, "alice", "owner").await?;
    /// admin.add_member(&globex.key()?, "alice", "viewer").await?;
    /// let mine = admin.tenants_of("alice").await?;
    /// assert_eq!(mine.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(), ["owner", "viewer"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn tenants_of(&self, user_id: &str) -> Result<Vec<Membership>, DbErr> {
        let rows = tenant_member::Entity::find()
            .filter(tenant_member::Column::UserId.eq(user_id))
            .find_also_related(tenant::Entity)
            .order_by_asc(tenant_member::Column::DataKey)
            .all(&self.admin)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(m, t)| {
                t.map(|tenant| Membership {
                    tenant,
                    role: m.role,
                })
            })
            .collect())
    }

    /// A [`TenantConnection`] for `user_id` in the tenant `key`, on the admin
    /// connection's pool and registry. The user must be a member of `key` or of one of
    /// its ancestors (who sees the subtree anyway); otherwise
    /// [`TenancyError::InvalidTenantAccess`]. An unknown `key` is
    /// [`TenancyError::TenantNotFound`].
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{AdminConnection, TenancyError, lifecycle::{CreateTenantTables, TenantAdmin}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
    /// # let registry = sea_orm_tenancy::Registry::builder()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant::Entity>()
    /// #     .entity::<sea_orm_tenancy::lifecycle::tenant_member::Entity>()
    /// #     .build();
    /// # let admin_connection = AdminConnection::with_registry(pool, std::sync::Arc::new(registry));
    /// let admin = TenantAdmin::new(admin_connection);
    /// let acme = admin.create("Acme", None).await?;
    /// admin.add_member(&acme.key()?, "alice", "owner").await?;
    /// let db = admin.connect_member("alice", &acme.key()?).await?;
    /// assert_eq!(db.key(), &acme.key()?);
    ///
    /// let err = admin.connect_member("mallory", &acme.key()?).await.unwrap_err();
    /// assert!(TenancyError::from_db_err(&err).is_some_and(|e| e.is_invalid_tenant_access()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_member(
        &self,
        user_id: &str,
        key: &DataKey,
    ) -> Result<TenantConnection, DbErr> {
        let t = self.get(key).await?;
        let key = key_of(&t)?;
        let memberships = tenant_member::Entity::find()
            .filter(tenant_member::Column::UserId.eq(user_id))
            .all(&self.admin)
            .await?;
        let member = memberships
            .iter()
            .any(|m| DataKey::new(&m.data_key).is_ok_and(|k| k.contains(&key)));
        if !member {
            return Err(TenancyError::InvalidTenantAccess {
                table: tenant_member::Entity.table_name().to_owned(),
                tenant: key.to_string(),
                reason: format!("user `{user_id}` is not a member of the tenant or of an ancestor"),
            }
            .into());
        }
        Ok(self.admin.tenant(key))
    }
}

/// Builds the forest of `rows` (sorted by DataKey) whose roots satisfy `is_root`.
fn forest_under(
    rows: Vec<tenant::Model>,
    is_root: impl Fn(&tenant::Model) -> bool,
) -> Vec<TenantNode> {
    use std::collections::HashMap;
    let mut children: HashMap<i32, Vec<tenant::Model>> = HashMap::new();
    let mut roots = Vec::new();
    for t in rows {
        if is_root(&t) {
            roots.push(t);
        } else if let Some(p) = t.parent_id {
            children.entry(p).or_default().push(t);
        }
    }
    // Siblings in the order of their numbers (`100.2.` before `100.10.`), then by key.
    let order = |a: &tenant::Model, b: &tenant::Model| {
        (segment_number(&a.data_key), &a.data_key).cmp(&(segment_number(&b.data_key), &b.data_key))
    };
    roots.sort_by(order);
    children.values_mut().for_each(|kids| kids.sort_by(order));
    fn build(t: tenant::Model, children: &mut HashMap<i32, Vec<tenant::Model>>) -> TenantNode {
        let kids = children.remove(&t.id).unwrap_or_default();
        TenantNode {
            tenant: t,
            children: kids.into_iter().map(|k| build(k, children)).collect(),
        }
    }
    roots.into_iter().map(|r| build(r, &mut children)).collect()
}

fn forest(rows: Vec<tenant::Model>) -> Vec<TenantNode> {
    forest_under(rows, |t| t.parent_id.is_none())
}
