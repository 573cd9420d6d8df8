//! [`TenantTransaction`]: a transaction that keeps its tenant, nested ones included.

use std::sync::Arc;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, IsolationLevel,
    TransactionError, TransactionSession, TransactionTrait,
};

use super::Scope;
use crate::DataKey;
use crate::guard::Deadline;

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
    /// With a client-side deadline (SQLite): the deadline of the statement running on the
    /// transaction's connection.
    deadline: Option<Arc<Deadline>>,
}

impl TenantTransaction {
    /// Wraps a transaction just begun, putting the tenant in its row-level security
    /// setting when the connection asks for it.
    pub(super) async fn open(
        inner: DatabaseTransaction,
        scope: Arc<Scope>,
        deadline: Option<Arc<Deadline>>,
    ) -> Result<Self, DbErr> {
        if let Some(lease) = &scope.fence {
            lease.check()?;
        }
        scope.enter(&inner).await?;
        Ok(TenantTransaction {
            inner,
            scope,
            deadline,
        })
    }

    /// Wraps a nested transaction (a savepoint on the same connection, which keeps this
    /// transaction's deadline).
    pub(crate) async fn open_transaction(
        &self,
        begin: impl std::future::Future<Output = Result<DatabaseTransaction, DbErr>>,
    ) -> Result<TenantTransaction, DbErr> {
        TenantTransaction::open(begin.await?, self.scope.clone(), self.deadline.clone()).await
    }

    pub(crate) async fn call(&self, call: super::Call<'_>) -> Result<super::Answer, DbErr> {
        let run = super::Run {
            admitted: false,
            deadline: self.deadline.as_deref(),
        };
        self.scope.call(&self.inner, call, run).await
    }

    pub(crate) fn may_stream(&self) -> Result<(), DbErr> {
        Ok(())
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
        let result = callback(&txn).await;
        txn.finish(result).await
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
        let result = callback(&txn).await;
        txn.finish(result).await
    }

    /// Commits on `Ok`, rolls back on `Err`: the end of every transaction closure.
    pub(super) async fn finish<T, E>(self, result: Result<T, E>) -> Result<T, TransactionError<E>> {
        super::finish(self, result).await
    }
}

super::forward::forward_traits!(TenantTransaction, DatabaseTransaction, TenantTransaction);

#[async_trait::async_trait]
impl TransactionSession for TenantTransaction {
    async fn commit(self) -> Result<(), DbErr> {
        self.inner.commit().await
    }

    async fn rollback(self) -> Result<(), DbErr> {
        self.inner.rollback().await
    }
}
