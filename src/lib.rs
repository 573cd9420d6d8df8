//! # sea-orm-tenancy
//!
//! Row-level multi-tenancy for SeaORM 2.x, applied transparently to every statement.
//!
//! Derive [`Tenancy`] on an entity's `Model` and mark it `#[tenanted]` (its rows belong
//! to a tenant through a DataKey column) or `#[universal]` (shared rows). Then use a
//! [`TenantConnection`] where you used a `DatabaseConnection`:
//!
//! - every select, update and delete carries the tenant predicate, wherever the table
//!   appears (joins, subqueries, CTEs, set operations);
//! - inserts get the DataKey filled in;
//! - reading, writing or moving another tenant's rows fails with
//!   [`TenancyError::InvalidTenantAccess`];
//! - SQL the rewriter does not understand, and tables nobody classified, are refused.
//!
//! ```
//! use sea_orm::entity::prelude::*;
//! use sea_orm::{ActiveValue::Set, ConnectionTrait, Database, Schema};
//! use sea_orm_tenancy::{DataKey, Tenancy, TenancyError, TenantConnection};
//!
//! mod invoice {
//!     use sea_orm::entity::prelude::*;
//!
//!     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
//!     #[sea_orm(table_name = "invoice")]
//!     #[tenanted]
//!     pub struct Model {
//!         #[sea_orm(primary_key)]
//!         pub id: i32,
//!         pub data_key: String,
//!         pub number: String,
//!     }
//!
//!     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//!     pub enum Relation {}
//!
//!     impl ActiveModelBehavior for ActiveModel {}
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Database::connect("sqlite::memory:").await?;
//! let schema = Schema::new(pool.get_database_backend());
//! pool.execute(&schema.create_table_from_entity(invoice::Entity)).await?;
//!
//! let acme = TenantConnection::new(pool.clone(), DataKey::new("1.")?);
//! let globex = TenantConnection::new(pool.clone(), DataKey::new("2.")?);
//!
//! invoice::ActiveModel { number: Set("A-1".into()), ..Default::default() }
//!     .insert(&acme)
//!     .await?; // data_key filled in with "1."
//!
//! assert_eq!(invoice::Entity::find().all(&acme).await?.len(), 1);
//! assert_eq!(invoice::Entity::find().all(&globex).await?.len(), 0);
//!
//! let forged = invoice::ActiveModel {
//!     number: Set("G-1".into()),
//!     data_key: Set("1.".into()),
//!     ..Default::default()
//! };
//! let err = forged.insert(&globex).await.unwrap_err();
//! assert!(TenancyError::from_db_err(&err).is_some_and(|e| e.is_invalid_tenant_access()));
//! # Ok(())
//! # }
//! ```
//!
//! ## The DataKey column: collation and index
//!
//! The tenant predicate compares the DataKey bytewise, whatever the column's collation:
//! prefix matching is the byte range `key <= data_key < upper_bound`, and a case- or
//! punctuation-insensitive collation would let `a.` match `A.` or order `.` and `/`
//! differently. It is written `data_key COLLATE "C" >= $1` on PostgreSQL,
//! `data_key COLLATE BINARY >= ?` on SQLite and `data_key >= ? COLLATE utf8mb4_bin` on
//! MariaDB/MySQL. An index serves it only when the column itself has that collation, so
//! declare the column and index it (with the columns your lists sort by):
//!
//! | backend | column | index |
//! |---|---|---|
//! | PostgreSQL | `data_key VARCHAR(255) COLLATE "C" NOT NULL` | `CREATE INDEX … ON t (data_key, id)` |
//! | MariaDB/MySQL | `data_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL` | the same |
//! | SQLite | `data_key TEXT NOT NULL` (BINARY is the default) | the same |
//!
//! In any other collation the predicate stays correct and no index serves it. The
//! repository's `tests/explain.rs` checks both with each backend's EXPLAIN.
//!
//! ```
//! use sea_orm::{DbBackend, Statement};
//! use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::rewrite};
//!
//! let registry = Registry::builder().tenanted("item", "data_key").build();
//! let stmt = Statement::from_string(DbBackend::MySql, "SELECT id FROM item");
//! let out = rewrite(stmt, &DataKey::new("1.")?, MatchMode::Exact, &registry)?;
//! assert_eq!(out.sql, "SELECT id FROM item WHERE item.`data_key` = ? COLLATE utf8mb4_bin");
//! # Ok::<(), sea_orm_tenancy::TenancyError>(())
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | (always) | | the core: derive, registry, rewriter, [`TenantConnection`], [`AdminConnection`] |
//! | `migration` | yes (through `lifecycle`) | [`migration`]: helpers for tenanted tables in sea-orm-migration migrations (DataKey column, index, composite keys, PostgreSQL row-level security) |
//! | `lifecycle` | yes | [`lifecycle`]: the `tenant` and `tenant_member` entities (registered as tenanted tables), their migration, and `TenantAdmin`; turn it off if your schema has its own `tenant` table |
//! | `sharding` | no | `shard`: a tenant router over several databases, from a catalog table |
//! | `axum` | no | `web`: a tower layer and axum extractors that resolve each request's tenant (subdomain, header, your resolver) and hand the handler a [`TenantConnection`]; a reloadable tenant directory |
//! | `metrics` | no | per-tenant metrics of [`guard::Guardrails`] through the `metrics` facade |
//! | `sqlite` | no | [`guard::interrupt_at_deadline`]: statements past their timeout are interrupted inside SQLite (enables SeaORM's `sqlx-sqlite`) |

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

// The crate's own entities derive `Tenancy`, whose expansion names `::sea_orm_tenancy`.
extern crate self as sea_orm_tenancy;

pub(crate) mod connection;
pub mod context;
mod error;
pub mod guard;
mod key;
#[cfg(feature = "lifecycle")]
pub mod lifecycle;
#[cfg(feature = "migration")]
pub mod migration;
mod mover;
mod registry;
mod restrict;
pub mod rewrite;
#[cfg(feature = "sharding")]
pub mod shard;
#[cfg(feature = "axum")]
pub mod web;

pub use connection::{AdminConnection, AdminTransaction, TenantConnection, TenantTransaction};
pub use error::{ConstraintKind, TenancyError};
pub use key::{DataKey, MAX_DATA_KEY_LEN};
pub use registry::{DEFAULT_CACHE_CAPACITY, Reference, Registry, RegistryBuilder, TableTenancy};
pub use restrict::{TenantTable, where_restrict_tenants};

/// Derives [`Tenancy`](trait@Tenancy) for an entity's `Model` and registers its table.
///
/// Put it beside `DeriveEntityModel`, with one of:
/// - `#[tenanted]`: the DataKey lives in the field `data_key`;
/// - `#[tenanted(column = "field")]`: the DataKey lives in `field` (a `String`);
/// - `#[universal]`: shared rows, no DataKey field;
/// - `#[universal(read_only)]`: shared rows that tenants may read, never write.
///
/// ```
/// mod plan {
///     use sea_orm::entity::prelude::*;
///
///     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
///     #[sea_orm(table_name = "plan")]
///     #[universal(read_only)]
///     pub struct Model {
///         #[sea_orm(primary_key)]
///         pub id: i32,
///         pub name: String,
///     }
///
///     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
///     pub enum Relation {}
///
///     impl ActiveModelBehavior for ActiveModel {}
/// }
/// use sea_orm_tenancy::{TableTenancy, Tenancy};
/// assert_eq!(<plan::Model as Tenancy>::TENANCY, TableTenancy::Universal { read_only: true });
/// ```
pub use sea_orm_tenancy_derive::Tenancy;

/// How one entity takes part in tenancy. Implemented by `#[derive(Tenancy)]`.
///
/// ```
/// # mod ledger {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
/// #     #[sea_orm(table_name = "ledger")]
/// #     #[tenanted(column = "tenant_key")]
/// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub tenant_key: String }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// use sea_orm_tenancy::{TableTenancy, Tenancy};
/// assert_eq!(
///     <ledger::Model as Tenancy>::TENANCY,
///     TableTenancy::Tenanted { column: "tenant_key" }
/// );
/// ```
pub trait Tenancy {
    /// Tenanted (through which column) or universal.
    const TENANCY: TableTenancy;
}

/// How a tenant's DataKey selects rows.
///
/// ```
/// use sea_orm_tenancy::MatchMode;
/// assert_eq!(MatchMode::default(), MatchMode::Prefix);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MatchMode {
    /// The default: a tenant sees its rows and its descendants' (`1.` sees `1.4.`).
    /// Rendered as a byte-ordered range, `key <= data_key < upper_bound`, which an index
    /// on the DataKey column serves.
    #[default]
    Prefix,
    /// Single-level: a tenant sees only rows whose DataKey equals its own. Cheaper, and
    /// what a distributed engine such as Citus routes on.
    Exact,
    /// [`Exact`](Self::Exact), written in the shape a distributed engine such as Citus
    /// routes to one shard:
    /// - every tenanted relation carries `t.data_key = $n`: on PostgreSQL a plain
    ///   equality with no `COLLATE`, which Citus prunes shards on (the column must have
    ///   a deterministic collation, as `migration::TenantedTable` columns do: equality
    ///   is then bytewise); on MariaDB/MySQL and SQLite the bytewise equality of
    ///   [`Exact`](Self::Exact);
    /// - every join between two tenanted tables carries `a.data_key = b.data_key`: in the
    ///   join's `ON` for a table on the nullable side of an outer join, in `WHERE`
    ///   otherwise. Tables wrapped in a derived table (FULL joins, outer joins with
    ///   `USING`) carry only their own equality.
    ///
    /// ```
    /// use sea_orm::{DbBackend, Statement};
    /// use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::rewrite};
    ///
    /// let registry = Registry::builder().tenanted("invoice", "data_key").tenanted("line", "data_key").build();
    /// let sql = "SELECT l.id FROM invoice i JOIN line l ON l.invoice_id = i.id";
    /// let stmt = Statement::from_string(DbBackend::Postgres, sql);
    /// let out = rewrite(stmt, &DataKey::new("7.")?, MatchMode::Distributed, &registry)?;
    /// assert_eq!(
    ///     out.sql,
    ///     r#"SELECT l.id FROM invoice i JOIN line l ON l.invoice_id = i.id WHERE i."data_key" = $1 AND l."data_key" = $2 AND i."data_key" = l."data_key""#
    /// );
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    Distributed,
}

#[doc(hidden)]
pub mod __private {
    //! Used by the code `#[derive(Tenancy)]` generates. Not public API.
    pub use crate::mover::{Digest, MoveFuture, MoverFn, TableMover, mover_of};
    pub use crate::registry::TableRegistration;
    pub use inventory;
    pub use sea_orm::ModelTrait;

    /// The foreign keys of the entity of the model `M`, for the derive's registration.
    pub fn references_of<M: ModelTrait>() -> Vec<crate::Reference> {
        crate::Reference::of_entity::<M::Entity>()
    }
}
