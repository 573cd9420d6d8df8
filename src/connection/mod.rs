//! [`TenantConnection`] and [`TenantTransaction`]: SeaORM connections bound to one
//! tenant. They call the rewriter on every statement and forward the result; nothing
//! reaches the database unrewritten. In row-level security mode they also put the tenant
//! in the transaction's setting. [`AdminConnection`] and [`AdminTransaction`] see every
//! tenant, and still check every statement.

mod admin;
#[cfg_attr(not(feature = "sharding"), allow(dead_code))]
pub(crate) mod fence;
mod forward;
mod transaction;

use std::sync::Arc;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, IsolationLevel, SqlErr,
    Statement, TransactionError, TransactionTrait,
};

pub use admin::{AdminConnection, AdminTransaction};
pub use transaction::TenantTransaction;

use tracing::Instrument;

use crate::guard::{self, Deadline, Guard, Guardrails, Limits};
use crate::rewrite::{Backend, ReferenceCheck, Rewritten, StatementKind, TimeoutShape};
use crate::{
    ConstraintKind, DataKey, MatchMode, Registry, TenancyError, TenantTable, rewrite,
    where_restrict_tenants,
};

/// The setting that carries the tenant's DataKey in row-level security mode
/// (PostgreSQL), read by the policies of [`migration`](crate::migration).
pub(crate) const RLS_SETTING: &str = "sea_orm_tenancy.data_key";

/// One call of `ConnectionTrait`, to forward.
#[derive(Debug)]
pub(crate) enum Call<'s> {
    Execute(Statement),
    One(Statement),
    All(Statement),
    Unprepared(&'s str),
}

/// What a [`Call`] returns.
#[derive(Debug)]
pub(crate) enum Answer {
    Exec(sea_orm::ExecResult),
    One(Option<sea_orm::QueryResult>),
    All(Vec<sea_orm::QueryResult>),
}

fn mismatch() -> DbErr {
    DbErr::Custom("sea-orm-tenancy: a forwarded call returned another kind of answer".into())
}

impl Answer {
    pub(crate) fn exec(self) -> Result<sea_orm::ExecResult, DbErr> {
        match self {
            Answer::Exec(r) => Ok(r),
            _ => Err(mismatch()),
        }
    }

    pub(crate) fn one(self) -> Result<Option<sea_orm::QueryResult>, DbErr> {
        match self {
            Answer::One(r) => Ok(r),
            _ => Err(mismatch()),
        }
    }

    pub(crate) fn all(self) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        match self {
            Answer::All(r) => Ok(r),
            _ => Err(mismatch()),
        }
    }
}

/// What a connection is bound to: the tenant, the match mode, the registry, whether
/// statements run with the tenant in the row-level security setting, and its guardrails.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) key: DataKey,
    pub(crate) mode: MatchMode,
    pub(crate) registry: Arc<Registry>,
    pub(crate) rls: bool,
    /// Set on a router's connections: their lease on the tenant, which a move between
    /// shards waits for.
    pub(crate) fence: Option<Arc<fence::Lease>>,
    /// The tenant's statement timeout and its account's cap and meters.
    pub(crate) guard: Option<Guard>,
}

/// How a forwarded call runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Run<'a> {
    /// The caller already holds a turn under the tenant's cap.
    pub(crate) admitted: bool,
    /// In a transaction with a client-side deadline (SQLite): the transaction's.
    pub(crate) deadline: Option<&'a Deadline>,
}

/// How many rows a forwarded call returned or changed, for the metrics.
pub(crate) trait Rows {
    fn rows(&self) -> u64;
}

impl Rows for sea_orm::ExecResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl Rows for Option<sea_orm::QueryResult> {
    fn rows(&self) -> u64 {
        u64::from(self.is_some())
    }
}

impl Rows for Vec<sea_orm::QueryResult> {
    fn rows(&self) -> u64 {
        self.len() as u64
    }
}

impl Rows for sea_orm::QueryStream {
    fn rows(&self) -> u64 {
        0
    }
}

impl Rows for sea_orm::TransactionStream<'_> {
    fn rows(&self) -> u64 {
        0
    }
}

impl Scope {
    /// A scope with no row-level security, fence or guardrails.
    fn plain(key: DataKey, mode: MatchMode, registry: Arc<Registry>) -> Scope {
        Scope {
            key,
            mode,
            registry,
            rls: false,
            fence: None,
            guard: None,
        }
    }

    /// Runs `call` on `conn`: rewritten, reference-checked, guarded, errors sanitized.
    pub(crate) async fn call<C: ConnectionTrait>(
        &self,
        conn: &C,
        call: Call<'_>,
        run: Run<'_>,
    ) -> Result<Answer, DbErr> {
        Ok(match call {
            Call::Execute(s) => Answer::Exec(
                self.forward_with(conn, s, |s| conn.execute_raw(s), run)
                    .await?,
            ),
            Call::One(s) => Answer::One(
                self.forward_with(conn, s, |s| conn.query_one_raw(s), run)
                    .await?,
            ),
            Call::All(s) => Answer::All(
                self.forward_with(conn, s, |s| conn.query_all_raw(s), run)
                    .await?,
            ),
            Call::Unprepared(sql) => Answer::Exec(self.forward_unprepared(conn, sql, run).await?),
        })
    }

    /// The statement timeout this connection applies itself, when `backend` enforces
    /// timeouts the way `shape` says: none when the pool's sessions already have it
    /// ([`GuardrailsBuilder::pool_statement_timeout`](crate::guard::GuardrailsBuilder::pool_statement_timeout)),
    /// except for the client's own deadline.
    fn timeout_shaped(
        &self,
        backend: DbBackend,
        shape: TimeoutShape,
    ) -> Option<std::time::Duration> {
        let guard = self.guard.as_ref()?;
        if Backend::from_db(backend).timeout_shape() != shape
            || (guard.set_by_pool && shape != TimeoutShape::ClientDeadline)
        {
            return None;
        }
        guard.timeout()
    }

    /// The statement timeout, where it is set as a transaction's setting (PostgreSQL).
    fn transaction_timeout(&self, backend: DbBackend) -> Option<std::time::Duration> {
        self.timeout_shaped(backend, TimeoutShape::TransactionSetting)
    }

    /// The statement timeout, where the client keeps it (SQLite).
    pub(crate) fn client_deadline(&self, backend: DbBackend) -> Option<std::time::Duration> {
        self.timeout_shaped(backend, TimeoutShape::ClientDeadline)
    }

    /// Whether a statement outside a transaction needs one of its own: row-level
    /// security mode, or a statement timeout on PostgreSQL.
    pub(crate) fn needs_transaction(&self, backend: DbBackend) -> bool {
        self.rls || self.transaction_timeout(backend).is_some()
    }

    /// Puts the tenant's settings in a transaction just opened (PostgreSQL): its key for
    /// row-level security (`set_config(…, true)`: local to the transaction, the key bound
    /// as a parameter) and its statement timeout, in one statement.
    pub(crate) async fn enter(&self, txn: &sea_orm::DatabaseTransaction) -> Result<(), DbErr> {
        let backend = txn.get_database_backend();
        let settings = Backend::from_db(backend).transaction_settings(
            self.rls.then(|| self.key.as_str()),
            self.transaction_timeout(backend),
        );
        if let Some(statement) = settings {
            txn.execute_raw(statement).await?;
        }
        Ok(())
    }

    /// A turn under the tenant's cap, if it has one.
    pub(crate) async fn admit(&self) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, DbErr> {
        match &self.guard {
            Some(guard) => guard.admit().await,
            None => Ok(None),
        }
    }

    pub(crate) fn rewrite(&self, stmt: Statement) -> Result<Rewritten<Statement>, DbErr> {
        let out = rewrite::rewrite_checked(stmt, &self.key, self.mode, &self.registry)?;
        tracing::debug!(target: "sea_orm_tenancy", tenant = %self.key, sql = %out.statement.sql, "forwarding statement");
        Ok(out)
    }

    pub(crate) fn rewrite_unprepared(
        &self,
        sql: &str,
        backend: DbBackend,
    ) -> Result<Rewritten<String>, DbErr> {
        let out = rewrite::rewrite_unprepared_checked(
            sql,
            backend,
            &self.key,
            self.mode,
            &self.registry,
        )?;
        tracing::debug!(target: "sea_orm_tenancy", tenant = %self.key, sql = %out.statement, "forwarding unprepared statement");
        Ok(out)
    }

    /// Counts a statement the rewriter refused in the tenant's metrics.
    fn refused(&self) {
        if let Some(guard) = &self.guard {
            guard.refused();
        }
    }

    /// The span a statement of this tenant runs in.
    fn span(&self, kind: StatementKind, tables: &str) -> tracing::Span {
        tracing::debug_span!(
            target: "sea_orm_tenancy",
            "tenant_statement",
            tenant = %self.key,
            kind = kind.as_str(),
            tables = tables,
        )
    }

    /// The SQL with the statement timeout in front, where the backend takes it there
    /// (MariaDB). Schema changes run without it; a batch of statements is refused, as
    /// the prefix would limit only the first.
    fn with_timeout_prefix(
        &self,
        backend: DbBackend,
        kind: StatementKind,
        sql: &mut String,
    ) -> Result<(), DbErr> {
        let Some(timeout) = self.timeout_shaped(backend, TimeoutShape::StatementPrefix) else {
            return Ok(());
        };
        match kind {
            StatementKind::Schema => Ok(()),
            StatementKind::Batch => Err(TenancyError::UnsupportedStatement {
                tenant: self.key.to_string(),
                reason: "with a statement timeout on mariadb, send one statement at a time"
                    .to_owned(),
            }
            .into()),
            _ => {
                sql.insert_str(0, &Backend::from_db(backend).timeout_prefix(timeout));
                Ok(())
            }
        }
    }

    /// Rewrites `stmt`, then runs its reference checks and `run`s it on `conn` under the
    /// tenant's guardrails, in the statement's span; a database error comes back
    /// sanitized. What every forwarded method does.
    pub(crate) async fn forward<'c, C, T, F, Fut>(
        &self,
        conn: &'c C,
        stmt: Statement,
        run: F,
    ) -> Result<T, DbErr>
    where
        C: ConnectionTrait,
        F: FnOnce(Statement) -> Fut,
        Fut: std::future::Future<Output = Result<T, DbErr>> + 'c,
        T: Rows,
    {
        self.forward_with(conn, stmt, run, Run::default()).await
    }

    async fn forward_with<'c, C, T, F, Fut>(
        &self,
        conn: &'c C,
        stmt: Statement,
        execute: F,
        run: Run<'_>,
    ) -> Result<T, DbErr>
    where
        C: ConnectionTrait,
        F: FnOnce(Statement) -> Fut,
        Fut: std::future::Future<Output = Result<T, DbErr>> + 'c,
        T: Rows,
    {
        let backend = conn.get_database_backend();
        let out = self.rewrite(stmt).inspect_err(|_| self.refused())?;
        let (kind, tables) = (out.kind, out.tables);
        let mut statement = out.statement;
        self.with_timeout_prefix(backend, kind, &mut statement.sql)?;
        let checks = out.reference_checks;
        let work = async move {
            self.check_references(conn, checks).await?;
            execute(statement).await
        };
        self.guarded(backend, kind, &tables, run, work)
            .instrument(self.span(kind, &tables))
            .await
    }

    /// [`Scope::forward`] for SQL sent without parameters.
    pub(crate) async fn forward_unprepared<C: ConnectionTrait>(
        &self,
        conn: &C,
        sql: &str,
        run: Run<'_>,
    ) -> Result<sea_orm::ExecResult, DbErr> {
        let backend = conn.get_database_backend();
        let out = self
            .rewrite_unprepared(sql, backend)
            .inspect_err(|_| self.refused())?;
        let (kind, tables) = (out.kind, out.tables);
        let mut statement = out.statement;
        self.with_timeout_prefix(backend, kind, &mut statement)?;
        let checks = out.reference_checks;
        let work = async move {
            self.check_references(conn, checks).await?;
            conn.execute_unprepared(&statement).await
        };
        self.guarded(backend, kind, &tables, run, work)
            .instrument(self.span(kind, &tables))
            .await
    }

    /// Runs `work` under the guardrails: a turn under the cap (unless `run` was
    /// admitted), the client-side deadline where the backend needs one (SQLite), the
    /// metrics; errors sanitized, and a statement cut at its timeout reported as
    /// [`TenancyError::StatementTimeout`].
    async fn guarded<T, W>(
        &self,
        backend: DbBackend,
        kind: StatementKind,
        tables: &str,
        run: Run<'_>,
        work: W,
    ) -> Result<T, DbErr>
    where
        T: Rows,
        W: std::future::Future<Output = Result<T, DbErr>>,
    {
        let Some(guard) = &self.guard else {
            return work.await.map_err(|e| self.sanitize(backend, e));
        };
        let started = std::time::Instant::now();
        let result = async {
            let _turn = if run.admitted {
                None
            } else {
                guard.admit().await?
            };
            let Some(timeout) = self.client_deadline(backend) else {
                return work.await;
            };
            let cut = || Err(guard::timed_out(&self.key, tables, timeout));
            match run.deadline {
                // In a transaction, the connection's progress handler reads the
                // transaction's deadline: set it for this statement. It stays set when
                // the statement is cut, so that SQLite stops it.
                Some(deadline) => {
                    deadline.set(timeout);
                    let answer = tokio::time::timeout(timeout, work)
                        .await
                        .or_else(|_| cut())?;
                    deadline.clear();
                    answer
                }
                None => tokio::time::timeout(
                    timeout,
                    guard::DEADLINE.scope(Deadline::after(timeout), work),
                )
                .await
                .or_else(|_| cut())?,
            }
        }
        .await
        .map_err(|e| match guard.timeout() {
            Some(timeout)
                if TenancyError::from_db_err(&e).is_none()
                    && Backend::from_db(backend).is_statement_timeout(&e.to_string()) =>
            {
                guard::timed_out(&self.key, tables, timeout)
            }
            _ => self.sanitize(backend, e),
        });
        guard.record(
            Some(kind),
            result.as_ref().map(Rows::rows),
            started.elapsed(),
        );
        result
    }

    /// Runs the reference checks of a write on `conn`, before the write: the first that
    /// returns a row fails it with its violation, and nothing is written.
    pub(crate) async fn check_references<C: ConnectionTrait>(
        &self,
        conn: &C,
        checks: Vec<ReferenceCheck>,
    ) -> Result<(), DbErr> {
        for check in checks {
            tracing::debug!(target: "sea_orm_tenancy", tenant = %self.key, sql = %check.statement.sql, "forwarding reference check");
            let found = conn
                .query_one_raw(check.statement)
                .await
                .map_err(|e| self.sanitize(conn.get_database_backend(), e))?;
            if found.is_some() {
                return Err(check.violation.into());
            }
        }
        Ok(())
    }

    /// A database error as a tenant may see it: constraint errors lose the values their
    /// messages quote (see [`TenancyError::ConstraintViolation`]).
    pub(crate) fn sanitize(&self, backend: DbBackend, err: DbErr) -> DbErr {
        let (kind, message) = match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(m)) => (ConstraintKind::Unique, m),
            Some(SqlErr::ForeignKeyConstraintViolation(m)) => (ConstraintKind::ForeignKey, m),
            _ => {
                // PostgreSQL's exclusion constraints (23P01), which `sql_err` does not
                // classify, quote the conflicting row's key in their detail.
                let text = err.to_string();
                match text.find("conflicting key value violates exclusion constraint") {
                    Some(at) if backend == DbBackend::Postgres => {
                        (ConstraintKind::Unique, text[at..].to_owned())
                    }
                    _ => return err,
                }
            }
        };
        let message = match backend {
            // The message names the constraint only; the values are in the detail.
            DbBackend::Postgres => message,
            DbBackend::MySql => withhold_mysql_values(&message),
            // `UNIQUE constraint failed: invoice.number`: no values; keep SeaORM's error.
            _ => return err,
        };
        TenancyError::ConstraintViolation {
            kind,
            message,
            tenant: self.key.to_string(),
        }
        .into()
    }
}

/// Commits `txn` on `Ok`, rolls it back on `Err`: the end of every transaction closure,
/// tenant or admin.
async fn finish<S: sea_orm::TransactionSession, T, E>(
    txn: S,
    result: Result<T, E>,
) -> Result<T, TransactionError<E>> {
    match result {
        Ok(v) => {
            txn.commit().await.map_err(TransactionError::Connection)?;
            Ok(v)
        }
        Err(e) => {
            txn.rollback().await.map_err(TransactionError::Connection)?;
            Err(TransactionError::Transaction(e))
        }
    }
}

/// MySQL's `Duplicate entry '<values>' for key '<name>'` without the values; any other
/// message quoting an entry or a record is withheld whole.
fn withhold_mysql_values(message: &str) -> String {
    if message.starts_with("Duplicate entry '")
        && let Some(at) = message.rfind(" for key '")
    {
        return format!(
            "Duplicate entry for key {}",
            &message[at + " for key ".len()..]
        );
    }
    if message.contains("entry '") || message.contains("record '") {
        return "a constraint was violated".to_owned();
    }
    message.to_owned()
}

/// A `DatabaseConnection` bound to one tenant. Use it wherever SeaORM takes a connection.
///
/// Every select, update and delete carries the tenant predicate; inserts get the
/// DataKey filled in; writes of a DataKey outside the tenant fail with
/// [`TenancyError::InvalidTenantAccess`](crate::TenancyError::InvalidTenantAccess).
/// Creating one is cheap (a pool handle and an `Arc`): make one per request.
///
/// It deliberately does not implement `Deref<Target = DatabaseConnection>`: the raw pool
/// would be a way around the tenant. Run migrations on the `DatabaseConnection`.
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
/// use sea_orm::{ConnectionTrait, Database, EntityTrait, Schema};
/// use sea_orm_tenancy::{DataKey, TenantConnection};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Database::connect("sqlite::memory:").await?;
/// # pool.execute(&Schema::new(pool.get_database_backend()).create_table_from_entity(invoice::Entity)).await?;
/// let db = TenantConnection::new(pool, DataKey::new("1.4.")?);
/// let mine = invoice::Entity::find().all(&db).await?; // only rows within 1.4.
/// assert!(mine.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TenantConnection {
    inner: DatabaseConnection,
    scope: Arc<Scope>,
}

impl TenantConnection {
    /// Binds `pool` to the tenant `key`, in [`MatchMode::Prefix`], with every entity that
    /// derives `Tenancy` ([`Registry::global`]).
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// assert_eq!(db.key().as_str(), "1.");
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: DatabaseConnection, key: DataKey) -> Self {
        Self::with_registry(pool, key, Registry::global())
    }

    /// Single-tenant mode: `pool` bound to [`DataKey::default_tenant`], for an app with no
    /// authentication and one customer. Its rows carry the DataKey `1.` from day one, so
    /// the app can adopt tenancy later without changing its queries: the default tenant
    /// becomes one tenant among others
    /// ([`TenantAdmin::default_tenant`](crate::lifecycle::TenantAdmin::default_tenant)
    /// gives it a row), and its data stays its own.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::single_tenant(pool);
    /// assert_eq!(db.key(), &DataKey::default_tenant());
    /// # Ok(())
    /// # }
    /// ```
    pub fn single_tenant(pool: DatabaseConnection) -> Self {
        Self::new(pool, DataKey::default_tenant())
    }

    /// Binds `pool` to `key` with a registry of your own.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use sea_orm_tenancy::{DataKey, Registry, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let registry = Arc::new(Registry::builder_with_derived().allow("seaql_migrations").build());
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::with_registry(pool, DataKey::new("1.")?, registry);
    /// # let _ = db;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_registry(pool: DatabaseConnection, key: DataKey, registry: Arc<Registry>) -> Self {
        TenantConnection {
            inner: pool,
            scope: Arc::new(Scope::plain(key, MatchMode::Prefix, registry)),
        }
    }

    /// A connection bound to all of these at once, for the web layer (one allocation per
    /// request). `rls` is only set where the backend has been checked.
    #[cfg(feature = "axum")]
    pub(crate) fn scoped(
        pool: DatabaseConnection,
        key: DataKey,
        mode: MatchMode,
        registry: Arc<Registry>,
        rls: bool,
        guardrails: Option<&Guardrails>,
    ) -> Self {
        let guard = guardrails.map(|g| g.guard(&key));
        TenantConnection {
            inner: pool,
            scope: Arc::new(Scope {
                rls,
                guard,
                ..Scope::plain(key, mode, registry)
            }),
        }
    }

    /// The same connection with its scope changed by `change`.
    fn rescoped(self, change: impl FnOnce(&mut Scope)) -> Self {
        let mut scope = Scope::clone(&self.scope);
        change(&mut scope);
        TenantConnection {
            inner: self.inner,
            scope: Arc::new(scope),
        }
    }

    /// The same connection behind a router's fence (moves between shards).
    #[cfg(feature = "sharding")]
    pub(crate) fn with_fence(self, fence: fence::Lease) -> Self {
        self.rescoped(|s| s.fence = Some(Arc::new(fence)))
    }

    /// The same connection with another [`MatchMode`].
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, MatchMode, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?).with_mode(MatchMode::Exact);
    /// assert_eq!(db.mode(), MatchMode::Exact);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_mode(self, mode: MatchMode) -> Self {
        self.rescoped(|s| s.mode = mode)
    }

    /// The same connection under `guardrails`: the tenant's statement timeout, a turn
    /// under its cap for every statement, and its metrics (see [`crate::guard`]). The
    /// cap is shared with every other connection given the same guardrails.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sea_orm_tenancy::{DataKey, TenantConnection, guard::{Guardrails, Limits}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let guardrails = Guardrails::builder()
    ///     .defaults(Limits::new().statement_timeout(Duration::from_secs(2)).max_in_flight(4))
    ///     .build()?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?).with_guardrails(&guardrails);
    /// assert_eq!(db.limits().max_in_flight, Some(4));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_guardrails(self, guardrails: &Guardrails) -> Self {
        let guard = guardrails.guard(&self.scope.key);
        self.rescoped(|s| s.guard = Some(guard))
    }

    /// The limits the connection runs under ([`Limits::new`], none, without
    /// [guardrails](Self::with_guardrails)).
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection, guard::Limits};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// assert_eq!(TenantConnection::new(pool, DataKey::new("1.")?).limits(), Limits::new());
    /// # Ok(())
    /// # }
    /// ```
    pub fn limits(&self) -> Limits {
        self.scope
            .guard
            .as_ref()
            .map_or(Limits::new(), |g| g.limits)
    }

    /// Row-level security mode (PostgreSQL): every statement also runs with the tenant's
    /// key in the setting `sea_orm_tenancy.data_key`, which the policies of
    /// [`TenantedTable::row_level_security`](crate::migration::TenantedTable::row_level_security)
    /// read: a second wall behind the rewriter.
    ///
    /// - A statement outside a transaction runs in one of its own: `BEGIN`,
    ///   `SELECT set_config('sea_orm_tenancy.data_key', $1, true)` with the key bound,
    ///   the statement, `COMMIT` (or `ROLLBACK` when it fails).
    /// - A transaction (`begin`, `transaction`, …) sets it once, when it opens.
    /// - The setting is local to the transaction: a pooled connection keeps nothing of it.
    /// - `.stream()` outside a transaction is refused (the stream would outlive the
    ///   transaction): stream inside one.
    ///
    /// Fails with [`TenancyError::UnsupportedStatement`] on other backends.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenancyError, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// assert!(!db.row_level_security());
    /// assert!(matches!(
    ///     db.with_row_level_security(),
    ///     Err(TenancyError::UnsupportedStatement { .. })
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_row_level_security(self) -> Result<Self, TenancyError> {
        if self.inner.get_database_backend() != DbBackend::Postgres {
            return Err(TenancyError::UnsupportedStatement {
                tenant: self.scope.key.to_string(),
                reason: "row-level security mode is postgresql only".to_owned(),
            });
        }
        Ok(self.rescoped(|s| s.rls = true))
    }

    /// Whether the connection is in [row-level security mode](Self::with_row_level_security).
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// assert!(!TenantConnection::new(pool, DataKey::new("1.")?).row_level_security());
    /// # Ok(())
    /// # }
    /// ```
    pub fn row_level_security(&self) -> bool {
        self.scope.rls
    }

    /// Runs one forwarded call: in a transaction of its own that carries the tenant's
    /// settings where it needs one (row-level security mode, a statement timeout on
    /// PostgreSQL), after taking its turn under the tenant's cap.
    pub(crate) async fn call(&self, call: Call<'_>) -> Result<Answer, DbErr> {
        if let Some(lease) = &self.scope.fence {
            lease.check()?;
        }
        if !self
            .scope
            .needs_transaction(self.inner.get_database_backend())
        {
            return self.scope.call(&self.inner, call, Run::default()).await;
        }
        // The turn comes before the transaction: a statement waiting under its cap holds
        // no connection of the pool.
        let _turn = self.scope.admit().await?;
        let txn = self.inner.begin().await?;
        let result = match self.scope.enter(&txn).await {
            Ok(()) => {
                let run = Run {
                    admitted: true,
                    deadline: None,
                };
                self.scope.call(&txn, call, run).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(answer) => {
                txn.commit().await?;
                Ok(answer)
            }
            Err(e) => {
                // The statement's error is the one to report; a rollback that fails too
                // leaves the connection to the pool to discard.
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(target: "sea_orm_tenancy", tenant = %self.scope.key, error = %rollback, "rollback after a failed statement failed");
                }
                Err(e)
            }
        }
    }

    /// Wraps the transaction `begin` opens. With a client-side deadline (SQLite), the
    /// transaction gets a deadline of its own, which the connection's progress handler
    /// reads ([`interrupt_at_deadline`](crate::guard::interrupt_at_deadline)) from the
    /// moment `begin` takes the connection.
    pub(crate) async fn open_transaction(
        &self,
        begin: impl std::future::Future<Output = Result<sea_orm::DatabaseTransaction, DbErr>>,
    ) -> Result<TenantTransaction, DbErr> {
        let deadline = self
            .scope
            .client_deadline(self.inner.get_database_backend())
            .map(|_| Deadline::cleared());
        let inner = match &deadline {
            Some(deadline) => guard::DEADLINE.scope(deadline.clone(), begin).await?,
            None => begin.await?,
        };
        TenantTransaction::open(inner, self.scope.clone(), deadline).await
    }

    /// Streams need a transaction in row-level security mode, and with a statement
    /// timeout on PostgreSQL.
    pub(crate) fn may_stream(&self) -> Result<(), DbErr> {
        if let Some(lease) = &self.scope.fence {
            lease.check()?;
        }
        if self
            .scope
            .needs_transaction(self.inner.get_database_backend())
        {
            let mode = if self.scope.rls {
                "in row-level security mode"
            } else {
                "with a statement timeout on postgresql"
            };
            return Err(TenancyError::UnsupportedStatement {
                tenant: self.scope.key.to_string(),
                reason: format!("{mode}, stream inside a transaction (`begin`, `transaction`)"),
            }
            .into());
        }
        Ok(())
    }

    /// The tenant's DataKey.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.4.")?);
    /// assert_eq!(db.key().depth(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn key(&self) -> &DataKey {
        &self.scope.key
    }

    /// How the DataKey selects rows.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, MatchMode, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// assert_eq!(TenantConnection::new(pool, DataKey::new("1.")?).mode(), MatchMode::Prefix);
    /// # Ok(())
    /// # }
    /// ```
    pub fn mode(&self) -> MatchMode {
        self.scope.mode
    }

    /// The registry the connection checks statements against.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// let _templates = db.registry().cached_templates();
    /// # Ok(())
    /// # }
    /// ```
    pub fn registry(&self) -> &Arc<Registry> {
        &self.scope.registry
    }

    /// [`where_restrict_tenants`] for this connection's tenant and mode.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// let cond = db.restrict_tenants(&[]);
    /// # let _ = cond;
    /// # Ok(())
    /// # }
    /// ```
    pub fn restrict_tenants(&self, tables: &[TenantTable]) -> sea_orm::Condition {
        where_restrict_tenants(&self.scope.key, self.scope.mode, tables)
    }

    /// The backend (inherent, because `ConnectionTrait` and `StreamTrait` both have it).
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// assert_eq!(db.get_database_backend(), sea_orm::DbBackend::Sqlite);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    /// A [`SchemaBuilder`](sea_orm::SchemaBuilder) for this backend, as
    /// `DatabaseConnection::get_schema_builder` gives. Applying it through a tenant
    /// connection needs a registry that
    /// [allows schema changes](crate::RegistryBuilder::allow_schema_changes); run
    /// migrations on the plain connection otherwise.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// let builder = db.get_schema_builder();
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_schema_builder(&self) -> sea_orm::SchemaBuilder {
        self.inner.get_schema_builder()
    }

    /// Checks that the database answers.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// TenantConnection::new(pool, DataKey::new("1.")?).ping().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.inner.ping().await
    }

    /// Closes the underlying pool (shared with every clone and with the pool you gave).
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// TenantConnection::new(pool, DataKey::new("1.")?).close().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(self) -> Result<(), DbErr> {
        self.inner.close().await
    }

    /// Runs `callback` in a transaction of this tenant: committed on `Ok`, rolled back on
    /// `Err`.
    ///
    /// ```
    /// # use sea_orm::{ConnectionTrait, DbErr};
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// let n = db.transaction_async(async |txn| Ok::<_, DbErr>(1)).await?;
    /// assert_eq!(n, 1);
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
    /// # use sea_orm::DbErr;
    /// # use sea_orm_tenancy::{DataKey, TenantConnection};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let db = TenantConnection::new(pool, DataKey::new("1.")?);
    /// db.transaction_with_config_async(async |_txn| Ok::<_, DbErr>(()), None, None).await?;
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
}

forward::forward_traits!(TenantConnection, DatabaseConnection, TenantTransaction);

#[cfg(test)]
mod tests {
    use super::withhold_mysql_values;

    #[test]
    fn mysql_duplicate_entries_lose_their_values_and_keep_the_key_name() {
        assert_eq!(
            withhold_mysql_values("Duplicate entry '2.-INV-7' for key 'invoice.number'"),
            "Duplicate entry for key 'invoice.number'"
        );
        // A value that itself contains " for key '" cannot move the cut.
        assert_eq!(
            withhold_mysql_values("Duplicate entry 'x for key 'y' for key 'number'"),
            "Duplicate entry for key 'number'"
        );
        assert_eq!(
            withhold_mysql_values(
                "Foreign key constraint for table 'line', record '7' would lead to a duplicate entry"
            ),
            "a constraint was violated"
        );
        let plain = "Cannot add or update a child row: a foreign key constraint fails";
        assert_eq!(withhold_mysql_values(plain), plain);
    }
}
