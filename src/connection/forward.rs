//! The SeaORM traits of every wrapper (tenant and admin, connection and transaction):
//! rewrite or check, then forward to the wrapped connection or transaction. One
//! definition, so that they can never drift apart.

/// Implements `ConnectionTrait`, `StreamTrait` and `TransactionTrait` for `$wrapper`, a
/// struct with fields `inner: $inner` and `scope: Arc<S>` (the tenant's
/// [`Scope`](super::Scope) or the admin's [`AdminScope`](super::admin::AdminScope)) and
/// the inherent methods `call` (run one [`Call`](super::Call)), `may_stream` and
/// `open_transaction` (wrap the transaction a `begin` future gives); its transactions are
/// `$txn`.
macro_rules! forward_traits {
    ($wrapper:ty, $inner:ty, $txn:ident) => {
        #[async_trait::async_trait]
        impl sea_orm::ConnectionTrait for $wrapper {
            fn get_database_backend(&self) -> sea_orm::DbBackend {
                sea_orm::ConnectionTrait::get_database_backend(&self.inner)
            }

            async fn execute_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                self.call(crate::connection::Call::Execute(stmt))
                    .await?
                    .exec()
            }

            async fn execute_unprepared(
                &self,
                sql: &str,
            ) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                self.call(crate::connection::Call::Unprepared(sql))
                    .await?
                    .exec()
            }

            async fn query_one_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Option<sea_orm::QueryResult>, sea_orm::DbErr> {
                self.call(crate::connection::Call::One(stmt)).await?.one()
            }

            async fn query_all_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
                self.call(crate::connection::Call::All(stmt)).await?.all()
            }

            fn support_returning(&self) -> bool {
                self.inner.support_returning()
            }

            fn is_mock_connection(&self) -> bool {
                self.inner.is_mock_connection()
            }
        }

        impl sea_orm::StreamTrait for $wrapper {
            type Stream<'a> = <$inner as sea_orm::StreamTrait>::Stream<'a>;

            fn get_database_backend(&self) -> sea_orm::DbBackend {
                sea_orm::ConnectionTrait::get_database_backend(&self.inner)
            }

            fn stream_raw<'a>(
                &'a self,
                stmt: sea_orm::Statement,
            ) -> std::pin::Pin<
                Box<
                    dyn std::future::Future<Output = Result<Self::Stream<'a>, sea_orm::DbErr>>
                        + 'a
                        + Send,
                >,
            > {
                Box::pin(async move {
                    self.may_stream()?;
                    self.scope
                        .forward(&self.inner, stmt, |s| self.inner.stream_raw(s))
                        .await
                })
            }
        }

        #[async_trait::async_trait]
        impl sea_orm::TransactionTrait for $wrapper {
            type Transaction = crate::$txn;

            async fn begin(&self) -> Result<crate::$txn, sea_orm::DbErr> {
                self.open_transaction(self.inner.begin()).await
            }

            async fn begin_with_config(
                &self,
                isolation_level: Option<sea_orm::IsolationLevel>,
                access_mode: Option<sea_orm::AccessMode>,
            ) -> Result<crate::$txn, sea_orm::DbErr> {
                self.open_transaction(self.inner.begin_with_config(isolation_level, access_mode))
                    .await
            }

            async fn begin_with_options(
                &self,
                options: sea_orm::TransactionOptions,
            ) -> Result<crate::$txn, sea_orm::DbErr> {
                self.open_transaction(self.inner.begin_with_options(options))
                    .await
            }

            async fn transaction<F, T, E>(
                &self,
                callback: F,
            ) -> Result<T, sea_orm::TransactionError<E>>
            where
                F: for<'c> FnOnce(
                        &'c crate::$txn,
                    ) -> std::pin::Pin<
                        Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>,
                    > + Send,
                T: Send,
                E: std::fmt::Display + std::fmt::Debug + Send,
            {
                let txn = self
                    .begin()
                    .await
                    .map_err(sea_orm::TransactionError::Connection)?;
                let result = callback(&txn).await;
                txn.finish(result).await
            }

            async fn transaction_with_config<F, T, E>(
                &self,
                callback: F,
                isolation_level: Option<sea_orm::IsolationLevel>,
                access_mode: Option<sea_orm::AccessMode>,
            ) -> Result<T, sea_orm::TransactionError<E>>
            where
                F: for<'c> FnOnce(
                        &'c crate::$txn,
                    ) -> std::pin::Pin<
                        Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>,
                    > + Send,
                T: Send,
                E: std::fmt::Display + std::fmt::Debug + Send,
            {
                let txn = self
                    .begin_with_config(isolation_level, access_mode)
                    .await
                    .map_err(sea_orm::TransactionError::Connection)?;
                let result = callback(&txn).await;
                txn.finish(result).await
            }
        }
    };
}

pub(super) use forward_traits;
