//! A task-scoped tenant, for code that cannot be handed a connection: background jobs,
//! event handlers, code deep below the request that opened the scope.
//!
//! [`with_tenant`] runs a future with a tenant in scope; inside it, [`current_tenant`]
//! returns that tenant and [`TenantConnection::for_current_tenant`] opens a connection
//! for it. The scope is a tokio task-local: it survives every `.await` of the future,
//! follows into tasks started with [`spawn`], and reaches nothing else. A task started
//! with plain `tokio::spawn`, a sibling task, another thread: none of them sees it. It is
//! never a thread-local and never a process-wide switch, and outside a scope asking for
//! the tenant is an error ([`TenancyError::NoTenantInScope`]), never a default.
//!
//! ```
//! use sea_orm_tenancy::{DataKey, context};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), sea_orm_tenancy::TenancyError> {
//! let key = DataKey::new("1.4.")?;
//! let seen = context::with_tenant(key.clone(), async {
//!     tokio::task::yield_now().await;
//!     context::current_tenant()
//! })
//! .await?;
//! assert_eq!(seen, key);
//! assert!(context::current_tenant().is_err()); // outside: no default
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use sea_orm::DatabaseConnection;

use crate::{DataKey, TenancyError, TenantConnection};

tokio::task_local! {
    static CURRENT: DataKey;
}

/// Runs `future` with `key` as the current tenant, and returns its output. Scopes nest:
/// an inner `with_tenant` shadows the outer one until it ends.
///
/// ```
/// use sea_orm_tenancy::{DataKey, context::{current_tenant, with_tenant}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sea_orm_tenancy::TenancyError> {
/// let (outer, inner) = (DataKey::new("1.")?, DataKey::new("2.")?);
/// with_tenant(outer.clone(), async {
///     let seen = with_tenant(inner.clone(), async { current_tenant() }).await?;
///     assert_eq!(seen, inner);
///     assert_eq!(current_tenant()?, outer);
///     Ok::<_, sea_orm_tenancy::TenancyError>(())
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn with_tenant<F: Future>(key: DataKey, future: F) -> F::Output {
    CURRENT.scope(key, future).await
}

/// The tenant of the enclosing [`with_tenant`] scope; [`TenancyError::NoTenantInScope`]
/// outside one.
///
/// ```
/// use sea_orm_tenancy::{TenancyError, context::current_tenant};
///
/// assert!(matches!(current_tenant(), Err(TenancyError::NoTenantInScope { .. })));
/// ```
pub fn current_tenant() -> Result<DataKey, TenancyError> {
    CURRENT
        .try_with(DataKey::clone)
        .map_err(|_| TenancyError::NoTenantInScope {
            reason: "no `with_tenant` scope encloses this code (a task started with `tokio::spawn` does not inherit one; use `sea_orm_tenancy::context::spawn`)".to_owned(),
        })
}

/// Starts `future` as a tokio task with the current tenant in scope, like
/// `tokio::spawn`. Outside a scope it starts nothing and fails with
/// [`TenancyError::NoTenantInScope`].
///
/// ```
/// use sea_orm_tenancy::{DataKey, context};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = DataKey::new("7.")?;
/// let job = context::with_tenant(key.clone(), async {
///     context::spawn(async { context::current_tenant() })
/// })
/// .await?;
/// assert_eq!(job.await??, key);
/// assert!(context::spawn(async {}).is_err());
/// # Ok(())
/// # }
/// ```
pub fn spawn<F>(future: F) -> Result<tokio::task::JoinHandle<F::Output>, TenancyError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let key = current_tenant()?;
    Ok(tokio::spawn(CURRENT.scope(key, future)))
}

impl TenantConnection {
    /// A connection on `pool` for the tenant of the enclosing
    /// [`with_tenant`](crate::context::with_tenant) scope, with the registry of every
    /// derived entity; [`TenancyError::NoTenantInScope`] outside one. The connection
    /// keeps its tenant after the scope ends, as any `TenantConnection` does.
    ///
    /// ```
    /// use sea_orm_tenancy::{DataKey, TenantConnection, context::with_tenant};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = with_tenant(DataKey::new("3.")?, async {
    ///     TenantConnection::for_current_tenant(pool.clone())
    /// })
    /// .await?;
    /// assert_eq!(db.key().as_str(), "3.");
    /// assert!(TenantConnection::for_current_tenant(pool).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_current_tenant(pool: DatabaseConnection) -> Result<Self, TenancyError> {
        Ok(TenantConnection::new(pool, current_tenant()?))
    }
}
