//! [`AdminConnection`] and [`AdminTransaction`]: connections that see every tenant, for
//! tenant lifecycle work and back-office jobs. Made only from a `DatabaseConnection`, on
//! purpose: nothing in the tenant API leads here.

use std::sync::Arc;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    IsolationLevel, Statement, TransactionError, TransactionSession, TransactionTrait,
};

use crate::{DataKey, Registry, TenantConnection, rewrite};

/// What an admin connection checks statements against.
#[derive(Debug)]
pub(crate) struct AdminScope {
    pub(crate) registry: Arc<Registry>,
}

impl AdminScope {
    /// Checks `stmt` (see [`rewrite::check_admin`]), traces it with the `admin` marker,
    /// then `run`s it on `conn`, unchanged.
    pub(crate) async fn forward<'c, C, T, F, Fut>(
        &self,
        _conn: &'c C,
        stmt: Statement,
        run: F,
    ) -> Result<T, DbErr>
    where
        C: ConnectionTrait,
        F: FnOnce(Statement) -> Fut,
        Fut: std::future::Future<Output = Result<T, DbErr>> + 'c,
    {
        let stmt = rewrite::check_admin(stmt, &self.registry)?;
        tracing::info!(target: "sea_orm_tenancy::admin", admin = true, sql = %stmt.sql, "admin statement");
        run(stmt).await
    }

    /// Runs `call` on `conn`, checked and traced.
    pub(crate) async fn call<C: ConnectionTrait>(
        &self,
        conn: &C,
        call: super::Call<'_>,
    ) -> Result<super::Answer, DbErr> {
        use super::{Answer, Call};
        Ok(match call {
            Call::Execute(s) => Answer::Exec(self.forward(conn, s, |s| conn.execute_raw(s)).await?),
            Call::One(s) => Answer::One(self.forward(conn, s, |s| conn.query_one_raw(s)).await?),
            Call::All(s) => Answer::All(self.forward(conn, s, |s| conn.query_all_raw(s)).await?),
            Call::Unprepared(sql) => Answer::Exec(self.forward_unprepared(conn, sql).await?),
        })
    }

    /// [`AdminScope::forward`] for SQL sent without parameters.
    pub(crate) async fn forward_unprepared<C: ConnectionTrait>(
        &self,
        conn: &C,
        sql: &str,
    ) -> Result<sea_orm::ExecResult, DbErr> {
        rewrite::check_admin_unprepared(sql, conn.get_database_backend(), &self.registry)?;
        tracing::info!(target: "sea_orm_tenancy::admin", admin = true, sql = %sql, "admin statement");
        conn.execute_unprepared(sql).await
    }
}

/// A connection that sees every tenant's rows: for tenant lifecycle
/// ([`TenantAdmin`](crate::lifecycle::TenantAdmin)), reports across tenants and
/// back-office jobs.
///
/// It is still checked, not raw:
/// - every statement is parsed, must be one SELECT, INSERT, UPDATE or DELETE, and may
///   name only classified tables (else [`TenancyError::UnknownTable`](crate::TenancyError::UnknownTable));
/// - an insert into a tenanted table must name its DataKey column, and every DataKey
///   written as a literal or bound value must be well-formed;
/// - every statement is traced at `INFO` on the target `sea_orm_tenancy::admin`, with the
///   field `admin = true`, for an audit trail.
///
/// No predicate is added. It is made only from a `DatabaseConnection`, never from a
/// [`TenantConnection`], which does not hand out its pool: code holding a tenant
/// connection cannot widen it. Keep the admin connection out of request handlers.
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
/// use sea_orm::{ActiveModelTrait, ActiveValue::{NotSet, Set}, ConnectionTrait, EntityTrait, Schema};
/// use sea_orm_tenancy::{AdminConnection, DataKey, TenantConnection};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// # pool.execute(&Schema::new(pool.get_database_backend()).create_table_from_entity(invoice::Entity)).await?;
/// let admin = AdminConnection::new(pool.clone());
/// for key in ["1.", "2."] {
///     invoice::ActiveModel { id: NotSet, data_key: Set(key.into()) }.insert(&admin).await?;
/// }
/// assert_eq!(invoice::Entity::find().all(&admin).await?.len(), 2);
///
/// // An insert that leaves the DataKey out is refused, not filled.
/// let unnamed = invoice::ActiveModel { id: NotSet, data_key: NotSet }.insert(&admin).await;
/// assert!(unnamed.is_err());
///
/// let acme = admin.tenant(DataKey::new("1.")?);
/// assert_eq!(invoice::Entity::find().all(&acme).await?.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AdminConnection {
    inner: DatabaseConnection,
    scope: Arc<AdminScope>,
}

impl AdminConnection {
    /// An admin connection on `pool`, checking tables against [`Registry::global`].
    ///
    /// ```
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = AdminConnection::new(pool);
    /// # let _ = admin;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: DatabaseConnection) -> Self {
        Self::with_registry(pool, Registry::global())
    }

    /// An admin connection on `pool` with a registry of your own.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use sea_orm_tenancy::{AdminConnection, Registry};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let registry = Arc::new(Registry::builder().tenanted("invoice", "data_key").build());
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = AdminConnection::with_registry(pool, registry);
    /// assert!(admin.registry().is_tenanted("invoice"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_registry(pool: DatabaseConnection, registry: Arc<Registry>) -> Self {
        AdminConnection {
            inner: pool,
            scope: Arc::new(AdminScope { registry }),
        }
    }

    /// The registry statements are checked against.
    ///
    /// ```
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = AdminConnection::new(pool);
    /// let _ = admin.registry().cached_templates();
    /// # Ok(())
    /// # }
    /// ```
    pub fn registry(&self) -> &Arc<Registry> {
        &self.scope.registry
    }

    /// A [`TenantConnection`] for `key` on the same pool and registry: the admin acting
    /// as one tenant. (The other way round does not exist.)
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, DataKey};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = AdminConnection::new(pool);
    /// assert_eq!(admin.tenant(DataKey::new("3.")?).key().as_str(), "3.");
    /// # Ok(())
    /// # }
    /// ```
    pub fn tenant(&self, key: DataKey) -> TenantConnection {
        TenantConnection::with_registry(self.inner.clone(), key, self.scope.registry.clone())
    }

    pub(crate) async fn call(&self, call: super::Call<'_>) -> Result<super::Answer, DbErr> {
        self.scope.call(&self.inner, call).await
    }

    pub(crate) fn may_stream(&self) -> Result<(), DbErr> {
        Ok(())
    }

    /// Wraps the transaction `begin` opens.
    pub(crate) async fn open_transaction(
        &self,
        begin: impl std::future::Future<Output = Result<DatabaseTransaction, DbErr>>,
    ) -> Result<AdminTransaction, DbErr> {
        AdminTransaction::open(begin.await?, self.scope.clone()).await
    }

    /// The backend (inherent, because `ConnectionTrait` and `StreamTrait` both have it).
    ///
    /// ```
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// assert_eq!(AdminConnection::new(pool).get_database_backend(), sea_orm::DbBackend::Sqlite);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    /// Runs `callback` in a transaction: committed on `Ok`, rolled back on `Err`.
    ///
    /// ```
    /// # use sea_orm::DbErr;
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = AdminConnection::new(pool);
    /// assert_eq!(admin.transaction_async(async |_txn| Ok::<_, DbErr>(7)).await?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transaction_async<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> AsyncFnOnce(&'c AdminTransaction) -> Result<T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self.begin().await.map_err(TransactionError::Connection)?;
        let result = callback(&txn).await;
        txn.finish(result).await
    }

    /// [`transaction_async`](Self::transaction_async) with an isolation level and/or
    /// access mode.
    ///
    /// ```
    /// # use sea_orm::DbErr;
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let admin = AdminConnection::new(pool);
    /// admin.transaction_with_config_async(async |_txn| Ok::<_, DbErr>(()), None, None).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transaction_with_config_async<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> AsyncFnOnce(&'c AdminTransaction) -> Result<T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self
            .begin_with_config(isolation_level, access_mode)
            .await
            .map_err(TransactionError::Connection)?;
        let result = callback(&txn).await;
        txn.finish(result).await
    }
}

super::forward::forward_traits!(AdminConnection, DatabaseConnection, AdminTransaction);

/// A transaction of an [`AdminConnection`]: checked and traced the same way.
///
/// ```
/// # use sea_orm::TransactionTrait;
/// # use sea_orm_tenancy::AdminConnection;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// let txn = AdminConnection::new(pool).begin().await?;
/// txn.rollback().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AdminTransaction {
    inner: DatabaseTransaction,
    scope: Arc<AdminScope>,
}

impl AdminTransaction {
    pub(super) async fn open(
        inner: DatabaseTransaction,
        scope: Arc<AdminScope>,
    ) -> Result<Self, DbErr> {
        Ok(AdminTransaction { inner, scope })
    }

    /// Wraps the (nested) transaction `begin` opens.
    pub(crate) async fn open_transaction(
        &self,
        begin: impl std::future::Future<Output = Result<DatabaseTransaction, DbErr>>,
    ) -> Result<AdminTransaction, DbErr> {
        AdminTransaction::open(begin.await?, self.scope.clone()).await
    }

    pub(crate) async fn call(&self, call: super::Call<'_>) -> Result<super::Answer, DbErr> {
        self.scope.call(&self.inner, call).await
    }

    pub(crate) fn may_stream(&self) -> Result<(), DbErr> {
        Ok(())
    }

    /// The backend.
    ///
    /// ```
    /// # use sea_orm::TransactionTrait;
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let txn = AdminConnection::new(pool).begin().await?;
    /// assert_eq!(txn.get_database_backend(), sea_orm::DbBackend::Sqlite);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_database_backend(&self) -> DbBackend {
        ConnectionTrait::get_database_backend(&self.inner)
    }

    /// Commits the transaction.
    ///
    /// ```
    /// # use sea_orm::TransactionTrait;
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// AdminConnection::new(pool).begin().await?.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn commit(self) -> Result<(), DbErr> {
        self.inner.commit().await
    }

    /// Rolls the transaction back.
    ///
    /// ```
    /// # use sea_orm::TransactionTrait;
    /// # use sea_orm_tenancy::AdminConnection;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// AdminConnection::new(pool).begin().await?.rollback().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.inner.rollback().await
    }

    /// Commits on `Ok`, rolls back on `Err`.
    pub(super) async fn finish<T, E>(self, result: Result<T, E>) -> Result<T, TransactionError<E>> {
        super::finish(self, result).await
    }
}

super::forward::forward_traits!(AdminTransaction, DatabaseTransaction, AdminTransaction);

#[async_trait::async_trait]
impl TransactionSession for AdminTransaction {
    async fn commit(self) -> Result<(), DbErr> {
        self.inner.commit().await
    }

    async fn rollback(self) -> Result<(), DbErr> {
        self.inner.rollback().await
    }
}
