//! [`TenantTransaction`]: a transaction that keeps its tenant, nested ones included.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel,
    QueryResult, Statement, StreamTrait, TransactionError, TransactionOptions, TransactionSession,
    TransactionTrait,
};

use super::Scope;
use crate::DataKey;

/// A transaction opened by a [`TenantConnection`](crate::TenantConnection). Every
/// statement in it, and in the transactions nested in it (savepoints), is rewritten for
/// the same tenant.
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
/// use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, EntityTrait, Schema, TransactionTrait};
/// use sea_orm_tenancy::{DataKey, TenantConnection};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// # pool.execute(&Schema::new(pool.get_database_backend()).create_table_from_entity(invoice::Entity)).await?;
/// let db = TenantConnection::new(pool, DataKey::new("1.")?);
/// let txn = db.begin().await?;
/// invoice::ActiveModel { id: NotSet, data_key: NotSet }.insert(&txn).await?;
/// txn.rollback().await?;
/// assert!(invoice::Entity::find().all(&db).await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TenantTransaction {
    inner: DatabaseTransaction,
    scope: Arc<Scope>,
}

impl TenantTransaction {
    pub(super) fn new(inner: DatabaseTransaction, scope: Arc<Scope>) -> Self {
        TenantTransaction { inner, scope }
    }

    /// The tenant's DataKey.
    ///
    /// ```
    /// # use sea_orm::TransactionTrait;
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let txn = TenantConnection::new(pool, DataKey::new("1.")?).begin().await?;
    /// assert_eq!(txn.key().as_str(), "1.");
    /// # Ok(())
    /// # }
    /// ```
    pub fn key(&self) -> &DataKey {
        &self.scope.key
    }

    /// The backend (inherent, because `ConnectionTrait` and `StreamTrait` both have it).
    ///
    /// ```
    /// # use sea_orm::TransactionTrait;
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let txn = TenantConnection::new(pool, DataKey::new("1.")?).begin().await?;
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
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let txn = TenantConnection::new(pool, DataKey::new("1.")?).begin().await?;
    /// txn.commit().await?;
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
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let txn = TenantConnection::new(pool, DataKey::new("1.")?).begin().await?;
    /// txn.rollback().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.inner.rollback().await
    }

    /// Runs `callback` in a nested transaction (a savepoint).
    ///
    /// ```
    /// # use sea_orm::{DbErr, TransactionTrait};
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let txn = TenantConnection::new(pool, DataKey::new("1.")?).begin().await?;
    /// txn.transaction_async(async |_inner| Ok::<_, DbErr>(())).await?;
    /// txn.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transaction_async<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> AsyncFnOnce(&'c TenantTransaction) -> Result<T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self.begin().await.map_err(TransactionError::Connection)?;
        txn.run_async(callback).await
    }

    /// [`transaction_async`](Self::transaction_async) with an isolation level and/or
    /// access mode.
    ///
    /// ```
    /// # use sea_orm::{DbErr, TransactionTrait};
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let txn = TenantConnection::new(pool, DataKey::new("1.")?).begin().await?;
    /// txn.transaction_with_config_async(async |_inner| Ok::<_, DbErr>(()), None, None)
    ///     .await?;
    /// txn.commit().await?;
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
        F: for<'c> AsyncFnOnce(&'c TenantTransaction) -> Result<T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self
            .begin_with_config(isolation_level, access_mode)
            .await
            .map_err(TransactionError::Connection)?;
        txn.run_async(callback).await
    }

    pub(super) async fn run_async<F, T, E>(self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> AsyncFnOnce(&'c TenantTransaction) -> Result<T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let result = callback(&self).await;
        match result {
            Ok(v) => {
                self.commit().await.map_err(TransactionError::Connection)?;
                Ok(v)
            }
            Err(e) => {
                self.rollback()
                    .await
                    .map_err(TransactionError::Connection)?;
                Err(TransactionError::Transaction(e))
            }
        }
    }

    pub(super) async fn run<F, T, E>(self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c TenantTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let result = callback(&self).await;
        match result {
            Ok(v) => {
                self.commit().await.map_err(TransactionError::Connection)?;
                Ok(v)
            }
            Err(e) => {
                self.rollback()
                    .await
                    .map_err(TransactionError::Connection)?;
                Err(TransactionError::Transaction(e))
            }
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for TenantTransaction {
    fn get_database_backend(&self) -> DbBackend {
        ConnectionTrait::get_database_backend(&self.inner)
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let stmt = self.scope.rewrite(stmt)?;
        self.inner.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let sql = self
            .scope
            .rewrite_unprepared(sql, ConnectionTrait::get_database_backend(&self.inner))?;
        self.inner.execute_unprepared(&sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let stmt = self.scope.rewrite(stmt)?;
        self.inner.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let stmt = self.scope.rewrite(stmt)?;
        self.inner.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.inner.is_mock_connection()
    }
}

impl StreamTrait for TenantTransaction {
    type Stream<'a> = <DatabaseTransaction as StreamTrait>::Stream<'a>;

    fn get_database_backend(&self) -> DbBackend {
        ConnectionTrait::get_database_backend(&self.inner)
    }

    fn stream_raw<'a>(
        &'a self,
        stmt: Statement,
    ) -> Pin<Box<dyn Future<Output = Result<Self::Stream<'a>, DbErr>> + 'a + Send>> {
        match self.scope.rewrite(stmt) {
            Ok(stmt) => self.inner.stream_raw(stmt),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}

#[async_trait::async_trait]
impl TransactionTrait for TenantTransaction {
    type Transaction = TenantTransaction;

    async fn begin(&self) -> Result<TenantTransaction, DbErr> {
        Ok(TenantTransaction::new(
            self.inner.begin().await?,
            self.scope.clone(),
        ))
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<TenantTransaction, DbErr> {
        Ok(TenantTransaction::new(
            self.inner
                .begin_with_config(isolation_level, access_mode)
                .await?,
            self.scope.clone(),
        ))
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<TenantTransaction, DbErr> {
        Ok(TenantTransaction::new(
            self.inner.begin_with_options(options).await?,
            self.scope.clone(),
        ))
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c TenantTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self.begin().await.map_err(TransactionError::Connection)?;
        txn.run(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c TenantTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self
            .begin_with_config(isolation_level, access_mode)
            .await
            .map_err(TransactionError::Connection)?;
        txn.run(callback).await
    }
}

#[async_trait::async_trait]
impl TransactionSession for TenantTransaction {
    async fn commit(self) -> Result<(), DbErr> {
        self.inner.commit().await
    }

    async fn rollback(self) -> Result<(), DbErr> {
        self.inner.rollback().await
    }
}
