//! Moving a tenant's subtree from one shard to another while the application runs.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, TransactionTrait,
    sea_query::OnConflict,
};

use super::{Entry, TenantRouter, tenant_shard};
use crate::mover::{Digest, TableMover};
use crate::registry::TableRegistration;
use crate::rewrite::subtree::{self, KeyedTable};
use crate::{DataKey, TenancyError};

/// The catalog's record of the moves under way.
pub mod tenant_shard_move {
    use sea_orm::entity::prelude::*;

    /// A move under way: the subtree of `data_key` from `from_shard` to `to_shard`.
    ///
    /// ```
    /// use sea_orm::EntityName;
    /// use sea_orm_tenancy::shard::tenant_shard_move;
    /// assert_eq!(tenant_shard_move::Entity.table_name(), "tenant_shard_move");
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_shard_move")]
    pub struct Model {
        /// The moved subtree's root.
        #[sea_orm(primary_key, auto_increment = false)]
        pub data_key: String,
        /// Where its rows were.
        pub from_shard: String,
        /// Where they go.
        pub to_shard: String,
        /// `copying` (the route still points at `from_shard`) or `switched` (it points at
        /// `to_shard`; the source rows remain to be deleted).
        pub phase: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

const COPYING: &str = "copying";
const SWITCHED: &str = "switched";

/// How [`TenantRouter::move_tenant`] runs.
///
/// ```
/// use sea_orm_tenancy::shard::MoveOptions;
/// let options = MoveOptions::default().batch_size(500);
/// assert_eq!(options.batch(), 500);
/// ```
#[derive(Debug, Clone)]
pub struct MoveOptions {
    batch_size: u64,
    drain_timeout: std::time::Duration,
    stop_after_batches: Option<u64>,
}

impl Default for MoveOptions {
    fn default() -> Self {
        MoveOptions {
            batch_size: 1000,
            drain_timeout: std::time::Duration::from_secs(30),
            stop_after_batches: None,
        }
    }
}

impl MoveOptions {
    /// Rows per copied batch (default 1000, at least 1).
    ///
    /// ```
    /// # use sea_orm_tenancy::shard::MoveOptions;
    /// assert_eq!(MoveOptions::default().batch_size(0).batch(), 1);
    /// ```
    pub fn batch_size(mut self, rows: u64) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// How long the move waits for the connections of the subtree's path that are open
    /// when it starts (default 30 s); past that it gives up, and nothing has changed.
    ///
    /// ```
    /// # use sea_orm_tenancy::shard::MoveOptions;
    /// let options = MoveOptions::default().drain_timeout(std::time::Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    pub fn drain_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The batch size.
    ///
    /// ```
    /// # use sea_orm_tenancy::shard::MoveOptions;
    /// assert_eq!(MoveOptions::default().batch(), 1000);
    /// ```
    pub fn batch(&self) -> u64 {
        self.batch_size
    }

    /// Stops the copy after `n` batches, as a crash would: for tests of resuming.
    #[doc(hidden)]
    pub fn stop_after_batches(mut self, n: u64) -> Self {
        self.stop_after_batches = Some(n);
        self
    }
}

/// What a finished move did.
///
/// ```
/// # fn f(report: sea_orm_tenancy::shard::MoveReport) {
/// println!("{} rows of {} moved from {} to {}", report.rows(), report.tenant(), report.from(), report.to());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveReport {
    tenant: DataKey,
    from: String,
    to: String,
    tables: Vec<(String, Digest)>,
}

impl MoveReport {
    /// The moved subtree's root.
    ///
    /// ```
    /// # fn f(report: sea_orm_tenancy::shard::MoveReport) -> String { report.tenant().to_string() }
    /// ```
    pub fn tenant(&self) -> &DataKey {
        &self.tenant
    }

    /// The shard it left.
    ///
    /// ```
    /// # fn f(report: sea_orm_tenancy::shard::MoveReport) -> String { report.from().to_owned() }
    /// ```
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The shard it lives in now.
    ///
    /// ```
    /// # fn f(report: sea_orm_tenancy::shard::MoveReport) -> String { report.to().to_owned() }
    /// ```
    pub fn to(&self) -> &str {
        &self.to
    }

    /// Every table with rows copied, and their digest (the same on both sides).
    ///
    /// ```
    /// # fn f(report: sea_orm_tenancy::shard::MoveReport) -> usize { report.tables().len() }
    /// ```
    pub fn tables(&self) -> &[(String, Digest)] {
        &self.tables
    }

    /// The rows moved, in every table.
    ///
    /// ```
    /// # fn f(report: sea_orm_tenancy::shard::MoveReport) -> u64 { report.rows() }
    /// ```
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, d)| d.rows).sum()
    }
}

/// A tenanted table present on a shard, with its mover when its entity has one.
struct Movable {
    schema: Option<String>,
    table: String,
    column: &'static str,
    mover: Option<Box<dyn TableMover>>,
}

impl Movable {
    fn keyed(&self) -> KeyedTable<'_> {
        KeyedTable {
            schema: self.schema.as_deref(),
            table: &self.table,
            column: self.column,
        }
    }
}

fn change(key: &DataKey, table: &str, reason: String) -> DbErr {
    TenancyError::InvalidTenantChange {
        table: table.to_owned(),
        tenant: key.to_string(),
        reason,
    }
    .into()
}

impl TenantRouter {
    /// Moves `key`'s subtree to the shard `to` while the application runs:
    ///
    /// 1. records the move in the catalog (`tenant_shard_move`);
    /// 2. fences the subtree: waits for the router's statements and transactions in
    ///    flight, then refuses every statement of a tenant on the subtree's path with
    ///    [`TenancyError::TenantMoving`], which is retryable: nothing is lost, and the
    ///    caller retries with a new connection;
    /// 3. copies every registered tenanted table, referenced tables first, in batches,
    ///    with each entity's own types;
    /// 4. verifies row counts and checksums of every table on both sides;
    /// 5. switches the route (catalog and memory at once); connections opened before are
    ///    refused from then on, new ones go to `to`;
    /// 6. deletes the source rows and the record.
    ///
    /// An interrupted move (a crash, an error) stays recorded and fenced: any router on
    /// the catalog refuses the subtree until [`resume_moves`](Self::resume_moves) finishes
    /// it or [`rollback_move`](Self::rollback_move) undoes it.
    ///
    /// Refused ([`TenancyError::InvalidTenantChange`]) when `key` is already on `to`,
    /// a move on its path is unfinished, a descendant has a route of its own to either
    /// shard, or a table with rows to move has no typed mover (a table added to the
    /// registry by hand rather than through `#[derive(Tenancy)]`). Rows need keys that
    /// are unique across shards (UUIDs, or a composite primary key with the DataKey):
    /// a clash fails the copy, and the move can be rolled back.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, MoveOptions, TenantRouter}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (a, b) = (sea_orm::Database::connect("sqlite::memory:").await?, sea_orm::Database::connect("sqlite::memory:").await?);
    /// # CreateShardCatalog.up(&SchemaManager::new(&a)).await?;
    /// let router = TenantRouter::builder(a.clone()).shard("a", a).shard("b", b).default_shard("a").build().await?;
    /// let report = router.move_tenant(&DataKey::new("100.")?, "b", MoveOptions::default()).await?;
    /// assert_eq!((report.from(), report.to(), report.rows()), ("a", "b", 0));
    /// assert_eq!(router.route(&DataKey::new("100.")?)?.shard(), "b");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn move_tenant(
        &self,
        key: &DataKey,
        to: &str,
        options: MoveOptions,
    ) -> Result<MoveReport, DbErr> {
        let route = self.route(key)?;
        let from = route.shard().to_owned();
        if !self.inner.shards.contains_key(to) {
            return Err(TenancyError::TenantNotRouted {
                tenant: key.to_string(),
                reason: format!("`{to}` is not a shard of this router"),
            }
            .into());
        }
        if from == to {
            return Err(change(
                key,
                "tenant_shard",
                format!("already on shard `{to}`"),
            ));
        }
        let moves = tenant_shard_move::Entity::find()
            .all(&self.inner.catalog)
            .await?;
        for m in &moves {
            let k = DataKey::new(&m.data_key)?;
            if k.contains(key) || key.contains(&k) {
                return Err(change(
                    key,
                    "tenant_shard_move",
                    format!("the move of `{k}` is unfinished: resume or roll it back first"),
                ));
            }
        }
        for (k, entry) in self.routes().iter() {
            if k != key && key.contains(k) && (entry.shard == from || entry.shard == to) {
                return Err(change(
                    key,
                    "tenant_shard",
                    format!(
                        "the descendant `{k}` has a route of its own to shard `{}`: move or reroute it first",
                        entry.shard
                    ),
                ));
            }
        }
        let mut next = (*self.routes()).clone();
        let dedicated = next.get(key).is_some_and(|e| e.dedicated);
        next.insert(
            key.clone(),
            Entry {
                shard: to.to_owned(),
                dedicated,
            },
        );
        if let Err(reason) = self.check(&next) {
            return Err(change(key, "tenant_shard", reason));
        }
        tenant_shard_move::Entity::insert(tenant_shard_move::ActiveModel {
            data_key: Set(key.to_string()),
            from_shard: Set(from.clone()),
            to_shard: Set(to.to_owned()),
            phase: Set(COPYING.to_owned()),
        })
        .exec(&self.inner.catalog)
        .await?;
        if let Err(e) = self.inner.fences.close(key, options.drain_timeout).await {
            tenant_shard_move::Entity::delete_by_id(key.to_string())
                .exec(&self.inner.catalog)
                .await?;
            return Err(e.into());
        }
        tracing::info!(target: "sea_orm_tenancy::shard", tenant = %key, from = %from, to = %to, "move started");
        self.copy_and_switch(key, &from, to, dedicated, &options)
            .await
    }

    /// Finishes every move the catalog records as unfinished (after a crash, say):
    /// one still copying is copied again from the start, and one already switched gets
    /// its source rows deleted. Returns what each finished move did.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::shard::{CreateShardCatalog, TenantRouter};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let a = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&a)).await?;
    /// let router = TenantRouter::builder(a.clone()).shard("a", a).build().await?;
    /// assert!(router.resume_moves().await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn resume_moves(&self) -> Result<Vec<MoveReport>, DbErr> {
        let moves = tenant_shard_move::Entity::find()
            .all(&self.inner.catalog)
            .await?;
        let mut reports = Vec::new();
        for m in moves {
            let key = DataKey::new(&m.data_key)?;
            tracing::info!(target: "sea_orm_tenancy::shard", tenant = %key, phase = %m.phase, "resuming a move");
            if m.phase == SWITCHED {
                self.reload().await?;
                self.finish(&key, &m.from_shard).await?;
                // Copied and verified before the interruption: no digests to report.
                reports.push(MoveReport {
                    tenant: key,
                    from: m.from_shard,
                    to: m.to_shard,
                    tables: Vec::new(),
                });
                continue;
            }
            let options = MoveOptions::default();
            self.inner.fences.close(&key, options.drain_timeout).await?;
            let dedicated = self.routes().get(&key).is_some_and(|e| e.dedicated);
            reports.push(
                self.copy_and_switch(&key, &m.from_shard, &m.to_shard, dedicated, &options)
                    .await?,
            );
        }
        Ok(reports)
    }

    /// Undoes an unfinished move that has not switched yet: deletes what was copied to
    /// the target, forgets the move, and lets the subtree's statements through again
    /// (on its old shard). A move that has switched can only be resumed.
    ///
    /// ```
    /// # use sea_orm_migration::{MigrationTrait, SchemaManager};
    /// # use sea_orm_tenancy::{DataKey, shard::{CreateShardCatalog, TenantRouter}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let a = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # CreateShardCatalog.up(&SchemaManager::new(&a)).await?;
    /// let router = TenantRouter::builder(a.clone()).shard("a", a).build().await?;
    /// assert!(router.rollback_move(&DataKey::new("100.")?).await.is_err()); // no such move
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rollback_move(&self, key: &DataKey) -> Result<(), DbErr> {
        let Some(m) = tenant_shard_move::Entity::find_by_id(key.to_string())
            .one(&self.inner.catalog)
            .await?
        else {
            return Err(change(
                key,
                "tenant_shard_move",
                "no move of it is under way".into(),
            ));
        };
        if m.phase != COPYING {
            return Err(change(
                key,
                "tenant_shard_move",
                "the move has switched already: resume it instead".into(),
            ));
        }
        let target = self.shard_pool(&m.to_shard, key)?;
        self.delete_subtree(&target, key).await?;
        tenant_shard_move::Entity::delete_by_id(key.to_string())
            .exec(&self.inner.catalog)
            .await?;
        self.inner.fences.reopen(key);
        tracing::info!(target: "sea_orm_tenancy::shard", tenant = %key, "move rolled back");
        Ok(())
    }

    fn shard_pool(&self, shard: &str, key: &DataKey) -> Result<DatabaseConnection, DbErr> {
        self.inner.shards.get(shard).cloned().ok_or_else(|| {
            TenancyError::TenantNotRouted {
                tenant: key.to_string(),
                reason: format!("`{shard}` is not a shard of this router"),
            }
            .into()
        })
    }

    /// The registry's tenanted tables present on `pool`, in deletion order (a table
    /// before the tables it references).
    async fn present(&self, pool: &DatabaseConnection) -> Result<Vec<Movable>, DbErr> {
        let backend = pool.get_database_backend();
        let mut out = Vec::new();
        for (schema, table, column) in self.inner.registry.tenanted_tables() {
            if schema.is_none() {
                let columns = crate::migration::sql::columns_query(backend, table);
                if pool.query_one_raw(columns).await?.is_none() {
                    continue;
                }
            }
            out.push(Movable {
                schema: schema.map(str::to_owned),
                table: table.to_owned(),
                column,
                mover: TableRegistration::mover_for(schema, table),
            });
        }
        Ok(out)
    }

    async fn copy_and_switch(
        &self,
        key: &DataKey,
        from: &str,
        to: &str,
        dedicated: bool,
        options: &MoveOptions,
    ) -> Result<MoveReport, DbErr> {
        let (source, target) = (self.shard_pool(from, key)?, self.shard_pool(to, key)?);
        let tables = self.present(&source).await?;
        let on_target = self.present(&target).await?;
        // What an earlier, interrupted attempt copied.
        self.delete_subtree(&target, key).await?;
        let mut batches = 0u64;
        let mut digests = Vec::new();
        // Referenced tables first.
        for t in tables.iter().rev() {
            let probe = subtree::any(source.get_database_backend(), t.keyed(), key);
            let has_rows = source.query_one_raw(probe).await?.is_some();
            let Some(mover) = &t.mover else {
                if has_rows {
                    return Err(change(
                        key,
                        &t.table,
                        "the table has rows to move but no typed mover: derive `Tenancy` on its entity".into(),
                    ));
                }
                continue;
            };
            if !has_rows {
                continue;
            }
            if !on_target.iter().any(|o| o.table == t.table) {
                return Err(change(
                    key,
                    &t.table,
                    format!("the table is missing on shard `{to}`"),
                ));
            }
            let mut offset = 0;
            loop {
                let n = mover
                    .copy_page(&source, &target, t.column, key, offset, options.batch_size)
                    .await?;
                offset += n;
                batches += 1;
                if options
                    .stop_after_batches
                    .is_some_and(|stop| batches >= stop)
                {
                    return Err(change(
                        key,
                        "tenant_shard_move",
                        format!("the move stopped after {batches} batches: resume or roll it back"),
                    ));
                }
                if n < options.batch_size {
                    break;
                }
            }
            mover.after_copy(&target).await?;
            let (at_source, at_target) = (
                mover.digest(&source, t.column, key).await?,
                mover.digest(&target, t.column, key).await?,
            );
            if at_source != at_target {
                return Err(change(
                    key,
                    &t.table,
                    format!(
                        "the copy does not match its source ({} rows, checksum {:x}; copied {} rows, checksum {:x}): resume or roll it back",
                        at_source.rows, at_source.checksum, at_target.rows, at_target.checksum
                    ),
                ));
            }
            digests.push((t.table.clone(), at_source));
        }
        // The switch: the catalog in one transaction, then the routes in memory under the
        // fence's gate.
        let txn = self.inner.catalog.begin().await?;
        tenant_shard::Entity::insert(tenant_shard::ActiveModel {
            data_key: Set(key.to_string()),
            shard: Set(to.to_owned()),
            dedicated: Set(dedicated),
        })
        .on_conflict(
            OnConflict::column(tenant_shard::Column::DataKey)
                .update_columns([tenant_shard::Column::Shard, tenant_shard::Column::Dedicated])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
        tenant_shard_move::Entity::update(tenant_shard_move::ActiveModel {
            data_key: Set(key.to_string()),
            phase: Set(SWITCHED.to_owned()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        let mut next: HashMap<DataKey, Entry> = (*self.routes()).clone();
        next.insert(
            key.clone(),
            Entry {
                shard: to.to_owned(),
                dedicated,
            },
        );
        *self.inner.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        self.inner.fences.reopen(key);
        tracing::info!(target: "sea_orm_tenancy::shard", tenant = %key, from = %from, to = %to, "route switched");
        self.finish(key, from).await?;
        Ok(MoveReport {
            tenant: key.clone(),
            from: from.to_owned(),
            to: to.to_owned(),
            tables: digests,
        })
    }

    /// Deletes `key`'s subtree from every registered tenanted table present on `pool`,
    /// referencing tables first.
    async fn delete_subtree(&self, pool: &DatabaseConnection, key: &DataKey) -> Result<(), DbErr> {
        for t in self.present(pool).await? {
            pool.execute_raw(subtree::delete(pool.get_database_backend(), t.keyed(), key))
                .await?;
        }
        Ok(())
    }

    /// After the switch: deletes the source rows and the move's record.
    async fn finish(&self, key: &DataKey, from: &str) -> Result<(), DbErr> {
        let source = self.shard_pool(from, key)?;
        self.delete_subtree(&source, key).await?;
        tenant_shard_move::Entity::delete_by_id(key.to_string())
            .exec(&self.inner.catalog)
            .await?;
        tracing::info!(target: "sea_orm_tenancy::shard", tenant = %key, "move finished");
        Ok(())
    }
}
