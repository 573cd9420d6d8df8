//! [`TenancyError`] and its round trip through SeaORM's [`DbErr`].

use std::sync::Arc;

use sea_orm::DbErr;

/// Everything sea-orm-tenancy refuses, as a typed error.
///
/// SeaORM's traits return [`DbErr`], so a `TenancyError` raised inside a
/// [`TenantConnection`](crate::TenantConnection) reaches you wrapped in one. Get it back
/// with [`TenancyError::from_db_err`]:
///
/// ```
/// use sea_orm::DbErr;
/// use sea_orm_tenancy::{DataKey, TenancyError};
///
/// let err: DbErr = DataKey::new("nope").unwrap_err().into();
/// assert!(matches!(
///     TenancyError::from_db_err(&err),
///     Some(TenancyError::InvalidDataKey { .. })
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenancyError {
    /// A statement tried to read, write or move rows outside the connection's tenant.
    #[error("invalid tenant access: {reason} (table `{table}`, tenant `{tenant}`)")]
    InvalidTenantAccess {
        /// The table that was touched.
        table: String,
        /// The DataKey of the connection's tenant.
        tenant: String,
        /// What was attempted.
        reason: String,
    },
    /// A DataKey that is not well-formed.
    #[error("invalid data key {key:?}: {reason}")]
    InvalidDataKey {
        /// The offending text (cut at 300 characters).
        key: String,
        /// Why it was refused.
        reason: String,
    },
    /// SQL that the rewriter cannot prove safe, so it is refused rather than passed through.
    #[error("unsupported statement for tenant `{tenant}`: {reason}")]
    UnsupportedStatement {
        /// The DataKey of the connection's tenant.
        tenant: String,
        /// Why the statement was refused.
        reason: String,
    },
    /// A table that is neither tenanted, universal nor allow-listed.
    #[error(
        "unknown table `{table}` for tenant `{tenant}`: derive `Tenancy` on its entity (tenanted or universal) or allow-list it"
    )]
    UnknownTable {
        /// The table name as written in the statement.
        table: String,
        /// The DataKey of the connection's tenant.
        tenant: String,
    },
    /// The database refused a write for a unique, exclusion or foreign-key constraint.
    ///
    /// A tenant connection replaces such errors on PostgreSQL and MySQL, whose messages
    /// and details quote the key's values (MySQL's `Duplicate entry 'x' for key …`,
    /// PostgreSQL's `Key (number)=(x) already exists`), which can be another tenant's:
    /// this error keeps the constraint's name and drops every value. SQLite's messages
    /// quote no values and are passed on unchanged. Use [`TenancyError::sql_err`] in place
    /// of [`DbErr::sql_err`] to handle both alike.
    #[error("constraint violation: {message} (tenant `{tenant}`; values withheld)")]
    ConstraintViolation {
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// The database's message without values.
        message: String,
        /// The DataKey of the connection's tenant.
        tenant: String,
    },
    /// Code asked for the current tenant outside a
    /// [`with_tenant`](crate::context::with_tenant) scope. There is no default tenant.
    #[error("no tenant in scope: {reason}")]
    NoTenantInScope {
        /// Where a scope was expected.
        reason: String,
    },
    /// A lifecycle operation named a tenant that does not exist.
    #[error("tenant not found: no tenant has the data key `{tenant}` (table `{table}`)")]
    TenantNotFound {
        /// The tenant table.
        table: String,
        /// The DataKey looked for.
        tenant: String,
    },
    /// A lifecycle operation that would break the tenant tree or a reserved tenant: a
    /// move under the tenant itself or one of its descendants, a delete of the system
    /// tenant, a reserved key asked for outside the reserved range.
    #[error("invalid tenant change: {reason} (table `{table}`, tenant `{tenant}`)")]
    InvalidTenantChange {
        /// The tenant table.
        table: String,
        /// The tenant the operation was about.
        tenant: String,
        /// Why it was refused.
        reason: String,
    },
    /// The schema verifier ([`migration::verify`](crate::migration::verify)) found the
    /// database unsafe for tenancy; the report lists every problem.
    #[error("{report}")]
    UnsafeSchema {
        /// The verifier's report, one problem per line.
        report: String,
    },
    /// A tenant directory (`web::TenantDirectory`, feature `axum`) or a shard catalog
    /// (`shard::TenantRouter`, feature `sharding`) could not be loaded: the source failed,
    /// or it held a malformed slug, DataKey or route, or a slug twice. A reload that fails
    /// keeps the map it had.
    #[error("tenant directory not loaded: {reason} (source `{source_name}`)")]
    DirectoryNotLoaded {
        /// What was read: a file's path, `tenant table`, `static map`, or your source's name.
        source_name: String,
        /// Why it was refused.
        reason: String,
    },
    /// A tenant router (`shard::TenantRouter`, feature `sharding`) has no database for the
    /// tenant: no route and no default shard, a route to an unknown shard, or an
    /// unfiltered connection asked for a tenant whose route is not dedicated.
    #[error("tenant not routed: {reason} (tenant `{tenant}`)")]
    TenantNotRouted {
        /// The DataKey that was routed.
        tenant: String,
        /// Why no database was found.
        reason: String,
    },
    /// The tenant's subtree is being moved to another shard, or moved after the
    /// connection was opened (`shard::TenantRouter`, feature `sharding`). Nothing was
    /// run: retry, with a new connection from the router. See
    /// [`TenancyError::is_retryable`].
    #[error("tenant moving: {reason} (tenant `{tenant}`)")]
    TenantMoving {
        /// The connection's tenant.
        tenant: String,
        /// What is moving, and what to do.
        reason: String,
    },
    /// A limit on the number of tenants was exceeded.
    #[error("max tenant exceeded: {reason} (tenant `{tenant}`)")]
    MaxTenantExceeded {
        /// The tenant (or parent) whose limit was hit.
        tenant: String,
        /// Which limit.
        reason: String,
    },
    /// A statement ran past its tenant's statement timeout
    /// ([`Guardrails`](crate::guard::Guardrails)) and was cut. The connection stays
    /// usable; in a transaction, roll it back.
    #[error("statement timeout: a statement on {tables} ran past {timeout:?} (tenant `{tenant}`)")]
    StatementTimeout {
        /// The connection's tenant.
        tenant: String,
        /// The registered tables the statement names, comma-separated, in backquotes.
        tables: String,
        /// The tenant's statement timeout.
        timeout: std::time::Duration,
    },
    /// The tenant (or its subtree) already has its limit of statements in flight, and
    /// none finished within the wait ([`Guardrails`](crate::guard::Guardrails)).
    /// Nothing was run: retry later. See [`TenancyError::is_retryable`].
    #[error(
        "tenant busy: {limit} statements in flight, its limit, and none finished within {waited:?} (tenant `{tenant}`)"
    )]
    TenantBusy {
        /// The tenant, or the subtree root, whose limit was hit.
        tenant: String,
        /// How many statements it may have in flight.
        limit: u32,
        /// How long the statement waited for a turn.
        waited: std::time::Duration,
    },
    /// Guardrail settings that cannot work, refused when they are built.
    #[error("invalid guardrails: {reason}")]
    InvalidGuardrails {
        /// What is wrong.
        reason: String,
    },
}

/// The kind of a [`TenancyError::ConstraintViolation`].
///
/// ```
/// use sea_orm_tenancy::ConstraintKind;
/// assert_ne!(ConstraintKind::Unique, ConstraintKind::ForeignKey);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A unique index or primary key (also PostgreSQL's exclusion constraints).
    Unique,
    /// A foreign key.
    ForeignKey,
}

/// The `from` marker of the [`DbErr::TryIntoErr`] that carries a [`TenancyError`].
const CARRIER_FROM: &str = "sql statement";
/// The `into` marker of the [`DbErr::TryIntoErr`] that carries a [`TenancyError`].
const CARRIER_INTO: &str = "tenant-scoped statement";

impl TenancyError {
    /// Recovers the typed error from a [`DbErr`] returned by SeaORM, if the error was
    /// raised by sea-orm-tenancy.
    ///
    /// The `TenancyError` travels as the `source` of a [`DbErr::TryIntoErr`], which every
    /// SeaORM executor passes through unchanged.
    ///
    /// ```
    /// # use sea_orm::DbErr;
    /// # use sea_orm_tenancy::TenancyError;
    /// assert_eq!(TenancyError::from_db_err(&DbErr::RecordNotFound("x".into())), None);
    /// ```
    pub fn from_db_err(err: &DbErr) -> Option<&TenancyError> {
        match err {
            DbErr::TryIntoErr { from, into, source }
                if *from == CARRIER_FROM && *into == CARRIER_INTO =>
            {
                source.downcast_ref::<TenancyError>()
            }
            _ => None,
        }
    }

    /// [`DbErr::sql_err`] that also reads the constraint errors a tenant connection
    /// rewrote (see [`TenancyError::ConstraintViolation`]), so that the same code handles
    /// a duplicate key on every backend.
    ///
    /// ```
    /// use sea_orm::{DbErr, SqlErr};
    /// use sea_orm_tenancy::{ConstraintKind, TenancyError};
    ///
    /// let err: DbErr = TenancyError::ConstraintViolation {
    ///     kind: ConstraintKind::Unique,
    ///     message: "duplicate entry for key 'number'".into(),
    ///     tenant: "1.".into(),
    /// }
    /// .into();
    /// assert!(matches!(
    ///     TenancyError::sql_err(&err),
    ///     Some(SqlErr::UniqueConstraintViolation(m)) if m == "duplicate entry for key 'number'"
    /// ));
    /// assert_eq!(TenancyError::sql_err(&DbErr::Custom("x".into())), None);
    /// ```
    pub fn sql_err(err: &DbErr) -> Option<sea_orm::SqlErr> {
        match TenancyError::from_db_err(err) {
            Some(TenancyError::ConstraintViolation { kind, message, .. }) => Some(match kind {
                ConstraintKind::Unique => {
                    sea_orm::SqlErr::UniqueConstraintViolation(message.clone())
                }
                ConstraintKind::ForeignKey => {
                    sea_orm::SqlErr::ForeignKeyConstraintViolation(message.clone())
                }
            }),
            _ => err.sql_err(),
        }
    }

    /// Whether the statement was refused without running and may simply be retried:
    /// [`TenancyError::TenantMoving`] (with a new connection from the router) and
    /// [`TenancyError::TenantBusy`] (after a pause).
    ///
    /// ```
    /// use sea_orm_tenancy::TenancyError;
    /// let moving = TenancyError::TenantMoving { tenant: "1.".into(), reason: "moving".into() };
    /// assert!(moving.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TenancyError::TenantMoving { .. } | TenancyError::TenantBusy { .. }
        )
    }

    /// Whether this is [`TenancyError::InvalidTenantAccess`].
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, TenancyError};
    /// assert!(!DataKey::new("x").unwrap_err().is_invalid_tenant_access());
    /// ```
    pub fn is_invalid_tenant_access(&self) -> bool {
        matches!(self, TenancyError::InvalidTenantAccess { .. })
    }
}

impl From<TenancyError> for DbErr {
    fn from(err: TenancyError) -> Self {
        DbErr::TryIntoErr {
            from: CARRIER_FROM,
            into: CARRIER_INTO,
            source: Arc::new(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_error_survives_a_round_trip_through_db_err() {
        let original = TenancyError::UnknownTable {
            table: "t".into(),
            tenant: "1.".into(),
        };
        let db: DbErr = original.clone().into();
        assert_eq!(TenancyError::from_db_err(&db), Some(&original));
        assert!(db.to_string().contains("unknown table `t` for tenant `1.`"));
    }

    #[test]
    fn foreign_try_into_errors_are_not_mistaken_for_ours() {
        let db = DbErr::TryIntoErr {
            from: "u64",
            into: "i32",
            source: Arc::new(TenancyError::MaxTenantExceeded {
                tenant: "1.".into(),
                reason: "x".into(),
            }),
        };
        assert_eq!(TenancyError::from_db_err(&db), None);
    }
}
