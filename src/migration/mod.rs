//! Migration helpers for tenanted tables, for your sea-orm-migration migrations: the
//! DataKey column (format CHECK, bytewise collation), its index, unique constraints and
//! foreign keys made composite with the DataKey, and, on PostgreSQL, row-level security
//! with the policy and its context functions. Behind the `migration` feature (on by
//! default, through `lifecycle`).
//!
//! One [`TenantedTable`] describes a table; its [`up`](TenantedTable::up) applies every
//! step and its [`down`](TenantedTable::down) undoes them in reverse order.
//!
//! ```
//! use sea_orm::ConnectionTrait;
//! use sea_orm_migration::SchemaManager;
//! use sea_orm_tenancy::migration::TenantedTable;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sea_orm::Database::connect("sqlite::memory:").await?;
//! pool.execute_unprepared("CREATE TABLE invoice (id integer PRIMARY KEY, number text NOT NULL)").await?;
//! pool.execute_unprepared("INSERT INTO invoice (id, number) VALUES (1, 'old')").await?;
//!
//! let invoice = TenantedTable::new("invoice")
//!     .add_column()               // data_key, existing rows backfilled with `1.`
//!     .index(&["id"])             // (data_key, id)
//!     .unique("invoice_number", &["number"]) // (data_key, number)
//!     .row_level_security();      // PostgreSQL only; nothing on SQLite
//! let manager = SchemaManager::new(&pool);
//! invoice.up(&manager).await?;
//! assert!(pool.execute_unprepared("INSERT INTO invoice (id, number, data_key) VALUES (2, 'x', 'no dots')").await.is_err());
//! invoice.down(&manager).await?;
//! # Ok(())
//! # }
//! ```

pub(crate) mod sql;
mod verify;

pub use verify::{Problem, SchemaReport, VerifyOptions, verify};

use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use sea_orm_migration::SchemaManager;

use crate::{DataKey, TenancyError};

/// A composite foreign key declared with [`TenantedTable::foreign_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct ForeignKey {
    name: String,
    columns: Vec<String>,
    target: String,
    target_key: String,
    target_columns: Vec<String>,
}

/// The schema of one tenanted table, applied by [`up`](Self::up) and undone by
/// [`down`](Self::down). Nothing is done unless asked for: combine the steps you need.
///
/// ```
/// use sea_orm::DbBackend;
/// use sea_orm_tenancy::migration::TenantedTable;
///
/// let line = TenantedTable::new("line")
///     .index(&["id"])
///     .foreign_key("line_invoice", &["invoice_id"], "invoice", "data_key", &["id"]);
/// let sql = line.up_statements(DbBackend::Postgres)?;
/// assert_eq!(sql[0], r#"CREATE INDEX "line_data_key_idx" ON "line" ("data_key", "id")"#);
/// assert!(sql[1].contains(r#"FOREIGN KEY ("data_key", "invoice_id") REFERENCES "invoice" ("data_key", "id")"#));
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantedTable {
    table: String,
    column: String,
    add_column: Option<DataKey>,
    index: Option<Vec<String>>,
    uniques: Vec<(String, Vec<String>)>,
    foreign_keys: Vec<ForeignKey>,
    rls: bool,
    primary_key: Option<Vec<String>>,
    distributed: bool,
}

impl TenantedTable {
    /// The table `table`, with its DataKey in the column `data_key`.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let t = TenantedTable::new("invoice");
    /// assert!(t.up_statements(sea_orm::DbBackend::Sqlite)?.is_empty());
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn new(table: &str) -> Self {
        TenantedTable {
            table: table.to_owned(),
            column: "data_key".to_owned(),
            add_column: None,
            index: None,
            uniques: Vec::new(),
            foreign_keys: Vec::new(),
            rls: false,
            primary_key: None,
            distributed: false,
        }
    }

    /// The DataKey column is `column`, not `data_key`.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let t = TenantedTable::new("customer").column("tenant_key").index(&[]);
    /// assert!(t.up_statements(sea_orm::DbBackend::Sqlite)?[0].contains(r#"("tenant_key")"#));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn column(mut self, column: &str) -> Self {
        self.column = column.to_owned();
        self
    }

    /// Adds the DataKey column: `varchar(255)` in the bytewise collation (`COLLATE "C"`,
    /// `utf8mb4_bin`, SQLite's `BINARY`), `NOT NULL`, with a CHECK that holds it to the
    /// DataKey grammar. Existing rows get the [default tenant](DataKey::default_tenant)'s
    /// key (see [`backfill`](Self::backfill)).
    ///
    /// On MariaDB/MySQL a table that also gets a [`foreign_key`](Self::foreign_key) has
    /// no CHECK: MariaDB refuses one on a column a foreign key updates by cascade, and the
    /// composite key holds the value to the target's, which is checked.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let sql = TenantedTable::new("invoice").add_column().up_statements(sea_orm::DbBackend::Postgres)?;
    /// assert!(sql[0].starts_with(r#"ALTER TABLE "invoice" ADD COLUMN "data_key" varchar(255) COLLATE "C" NOT NULL DEFAULT '1.'"#));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn add_column(mut self) -> Self {
        self.add_column = Some(self.add_column.unwrap_or_else(DataKey::default_tenant));
        self
    }

    /// Adds the DataKey column (as [`add_column`](Self::add_column)) with `key` for the
    /// rows already there.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, migration::TenantedTable};
    /// let t = TenantedTable::new("invoice").backfill(DataKey::new("7.")?);
    /// assert!(t.up_statements(sea_orm::DbBackend::MySql)?[0].ends_with("DEFAULT '7.'"));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn backfill(mut self, key: DataKey) -> Self {
        self.add_column = Some(key);
        self
    }

    /// Creates the index `<table>_data_key_idx` on the DataKey column followed by `then`
    /// (the columns your lists sort by, e.g. `["id"]`).
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let sql = TenantedTable::new("invoice").index(&["id"]).up_statements(sea_orm::DbBackend::MySql)?;
    /// assert_eq!(sql[0], "CREATE INDEX `invoice_data_key_idx` ON `invoice` (`data_key`, `id`)");
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn index(mut self, then: &[&str]) -> Self {
        self.index = Some(then.iter().map(|c| (*c).to_owned()).collect());
        self
    }

    /// A unique index `name` on the DataKey column and `columns`: unique within a tenant,
    /// so that a duplicate never tells a tenant another tenant's value exists. The target
    /// of a composite [`foreign_key`](Self::foreign_key) needs one on its key columns.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let sql = TenantedTable::new("invoice").unique("invoice_number", &["number"]).up_statements(sea_orm::DbBackend::Sqlite)?;
    /// assert_eq!(sql[0], r#"CREATE UNIQUE INDEX "invoice_number" ON "invoice" ("data_key", "number")"#);
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn unique(mut self, name: &str, columns: &[&str]) -> Self {
        self.uniques.push((
            name.to_owned(),
            columns.iter().map(|c| (*c).to_owned()).collect(),
        ));
        self
    }

    /// A foreign key `name` from (DataKey, `columns`) to `target` (`target_key`,
    /// `target_columns`): a row can only reference a row of the same tenant, at the
    /// schema level. Updates cascade, so a move that re-keys the target carries the
    /// referencing rows. `target` needs a [`unique`](Self::unique) index on
    /// (`target_key`, `target_columns`). PostgreSQL and MariaDB/MySQL only: SQLite cannot
    /// add a foreign key to an existing table ([`up`](Self::up) fails there).
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let t = TenantedTable::new("invoice").foreign_key("invoice_customer", &["customer_id"], "customer", "tenant_key", &["id"]);
    /// assert!(t.up_statements(sea_orm::DbBackend::Sqlite).is_err());
    /// ```
    pub fn foreign_key(
        mut self,
        name: &str,
        columns: &[&str],
        target: &str,
        target_key: &str,
        target_columns: &[&str],
    ) -> Self {
        self.foreign_keys.push(ForeignKey {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            target: target.to_owned(),
            target_key: target_key.to_owned(),
            target_columns: target_columns.iter().map(|c| (*c).to_owned()).collect(),
        });
        self
    }

    /// On PostgreSQL: creates the context functions (`sea_orm_tenancy_key()`,
    /// `sea_orm_tenancy_upper()`, shared by every table, kept by `down`), enables **and
    /// forces** row-level security on the table, and creates the policy
    /// `sea_orm_tenancy`: rows whose DataKey is in the subtree of the setting
    /// `sea_orm_tenancy.data_key`, for reading and for writing. An unset, empty or
    /// malformed setting matches no row. Nothing on other backends.
    ///
    /// `FORCE` makes the policy bind the table's owner too; a superuser or a `BYPASSRLS`
    /// role still goes around it. Connect the application as a role that is neither, and
    /// not the owner either (README, "Defence in depth").
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let sql = TenantedTable::new("invoice").row_level_security().up_statements(sea_orm::DbBackend::Postgres)?;
    /// assert!(sql.iter().any(|s| s == r#"ALTER TABLE "invoice" FORCE ROW LEVEL SECURITY"#));
    /// assert!(TenantedTable::new("invoice").row_level_security().up_statements(sea_orm::DbBackend::MySql)?.is_empty());
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn row_level_security(mut self) -> Self {
        self.rls = true;
        self
    }

    /// Makes the primary key (DataKey column, `columns`), replacing the key on `columns`
    /// that the table was created with: what Citus requires of a distributed table, and
    /// a target that composite foreign keys can reference. `down` restores the key on
    /// `columns`. PostgreSQL and MariaDB/MySQL; SQLite cannot change a primary key
    /// ([`up`](Self::up) fails there).
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let sql = TenantedTable::new("invoice").primary_key(&["id"]).up_statements(sea_orm::DbBackend::Postgres)?;
    /// assert_eq!(sql[0], r#"ALTER TABLE "invoice" DROP CONSTRAINT "invoice_pkey", ADD CONSTRAINT "invoice_pkey" PRIMARY KEY ("data_key", "id")"#);
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn primary_key(mut self, columns: &[&str]) -> Self {
        self.primary_key = Some(columns.iter().map(|c| (*c).to_owned()).collect());
        self
    }

    /// On PostgreSQL with Citus: distributes the table by its DataKey column
    /// (`SELECT create_distributed_table('t', 'data_key')`, last of the steps, once the
    /// keys include the DataKey), co-located with every other table distributed by a
    /// column of the same type; `down` undistributes it first. Query it in
    /// [`MatchMode::Distributed`](crate::MatchMode::Distributed). Nothing on other
    /// backends.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let sql = TenantedTable::new("invoice").distributed().up_statements(sea_orm::DbBackend::Postgres)?;
    /// assert_eq!(sql, [r#"SELECT create_distributed_table('"invoice"', 'data_key')"#]);
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn distributed(mut self) -> Self {
        self.distributed = true;
        self
    }

    /// Whether the added column gets its CHECK here (see [`add_column`](Self::add_column)).
    fn checked(&self, backend: DbBackend) -> bool {
        self.foreign_keys.is_empty() || sql::check_with_foreign_keys(backend)
    }

    fn not_on_sqlite(&self, what: &str) -> TenancyError {
        TenancyError::UnsupportedStatement {
            tenant: "(migration)".to_owned(),
            reason: format!("sqlite cannot {what} the existing table `{}`", self.table),
        }
    }

    fn index_name(&self) -> String {
        format!("{}_data_key_idx", self.table)
    }

    /// The statements [`up`](Self::up) runs on `backend`, in order.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// assert_eq!(TenantedTable::new("t").index(&[]).up_statements(sea_orm::DbBackend::Sqlite)?.len(), 1);
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn up_statements(&self, backend: DbBackend) -> Result<Vec<String>, TenancyError> {
        let mut out = Vec::new();
        if let Some(backfill) = &self.add_column {
            out.extend(sql::add_column(
                backend,
                &self.table,
                &self.column,
                backfill,
                self.checked(backend),
            ));
        }
        let keyed = |cols: &[String]| {
            std::iter::once(self.column.clone())
                .chain(cols.iter().cloned())
                .collect::<Vec<_>>()
        };
        if let Some(cols) = &self.primary_key {
            let stmt = sql::replace_primary_key(backend, &self.table, &keyed(cols), cols, true)
                .ok_or_else(|| self.not_on_sqlite("change the primary key of"))?;
            out.push(stmt);
        }
        if let Some(then) = &self.index {
            out.push(sql::create_index(
                backend,
                false,
                &self.index_name(),
                &self.table,
                &keyed(then),
            ));
        }
        for (name, cols) in &self.uniques {
            out.push(sql::create_index(
                backend,
                true,
                name,
                &self.table,
                &keyed(cols),
            ));
        }
        for fk in &self.foreign_keys {
            let target_cols = std::iter::once(fk.target_key.clone())
                .chain(fk.target_columns.iter().cloned())
                .collect::<Vec<_>>();
            let stmt = sql::add_foreign_key(
                backend,
                &fk.name,
                &self.table,
                &keyed(&fk.columns),
                &fk.target,
                &target_cols,
            )
            .ok_or_else(|| TenancyError::UnsupportedStatement {
                tenant: "(migration)".to_owned(),
                reason: format!(
                    "sqlite cannot add the foreign key `{}` to the existing table `{}`: declare it when the table is created",
                    fk.name, self.table
                ),
            })?;
            out.push(stmt);
        }
        if self.rls && sql::has_rls(backend) {
            out.extend(sql::create_context_functions());
            out.extend(sql::enable_rls(&self.table, &self.column));
        }
        if self.distributed {
            out.extend(sql::distribute(backend, &self.table, &self.column));
        }
        Ok(out)
    }

    /// The statements [`down`](Self::down) runs on `backend`, in order: the reverse of
    /// [`up_statements`](Self::up_statements).
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// let down = TenantedTable::new("t").index(&[]).down_statements(sea_orm::DbBackend::MySql);
    /// assert_eq!(down, ["DROP INDEX `t_data_key_idx` ON `t`"]);
    /// ```
    pub fn down_statements(&self, backend: DbBackend) -> Vec<String> {
        let mut out = Vec::new();
        if self.distributed {
            out.extend(sql::undistribute(backend, &self.table));
        }
        if self.rls && sql::has_rls(backend) {
            out.extend(sql::disable_rls(&self.table));
        }
        for fk in self.foreign_keys.iter().rev() {
            out.extend(sql::drop_foreign_key(backend, &fk.name, &self.table));
        }
        for (name, _) in self.uniques.iter().rev() {
            out.push(sql::drop_index(backend, name, &self.table));
        }
        if self.index.is_some() {
            out.push(sql::drop_index(backend, &self.index_name(), &self.table));
        }
        if let Some(cols) = &self.primary_key {
            out.extend(sql::replace_primary_key(
                backend,
                &self.table,
                cols,
                cols,
                false,
            ));
        }
        if self.add_column.is_some() {
            out.extend(sql::drop_column(
                backend,
                &self.table,
                &self.column,
                self.checked(backend),
            ));
        }
        out
    }

    /// Applies the steps on `manager`'s connection.
    ///
    /// ```
    /// # use sea_orm::ConnectionTrait;
    /// # use sea_orm_migration::SchemaManager;
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # pool.execute_unprepared("CREATE TABLE t (id integer PRIMARY KEY, data_key text NOT NULL)").await?;
    /// TenantedTable::new("t").index(&["id"]).up(&SchemaManager::new(&pool)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn up(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let statements = self.up_statements(manager.get_database_backend())?;
        run(manager, statements).await
    }

    /// Undoes [`up`](Self::up).
    ///
    /// ```
    /// # use sea_orm::ConnectionTrait;
    /// # use sea_orm_migration::SchemaManager;
    /// # use sea_orm_tenancy::migration::TenantedTable;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// # pool.execute_unprepared("CREATE TABLE t (id integer PRIMARY KEY)").await?;
    /// let t = TenantedTable::new("t").add_column().index(&["id"]);
    /// let manager = SchemaManager::new(&pool);
    /// t.up(&manager).await?;
    /// t.down(&manager).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn down(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        run(
            manager,
            self.down_statements(manager.get_database_backend()),
        )
        .await
    }
}

/// A universal table on Citus: a reference table, copied to every node so that any
/// distributed table joins it locally. PostgreSQL only: nothing on other backends.
///
/// ```
/// use sea_orm::DbBackend;
/// use sea_orm_tenancy::migration::ReferenceTable;
///
/// let country = ReferenceTable::new("country");
/// assert_eq!(country.up_statements(DbBackend::Postgres), [r#"SELECT create_reference_table('"country"')"#]);
/// assert_eq!(country.down_statements(DbBackend::Postgres), [r#"SELECT undistribute_table('"country"')"#]);
/// assert!(country.up_statements(DbBackend::MySql).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceTable {
    table: String,
}

impl ReferenceTable {
    /// The universal table `table`.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::ReferenceTable;
    /// let plan = ReferenceTable::new("plan");
    /// # let _ = plan;
    /// ```
    pub fn new(table: &str) -> Self {
        ReferenceTable {
            table: table.to_owned(),
        }
    }

    /// The statements [`up`](Self::up) runs on `backend`.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::ReferenceTable;
    /// assert!(ReferenceTable::new("plan").up_statements(sea_orm::DbBackend::Sqlite).is_empty());
    /// ```
    pub fn up_statements(&self, backend: DbBackend) -> Vec<String> {
        sql::reference(backend, &self.table).into_iter().collect()
    }

    /// The statements [`down`](Self::down) runs on `backend`.
    ///
    /// ```
    /// # use sea_orm_tenancy::migration::ReferenceTable;
    /// assert!(ReferenceTable::new("plan").down_statements(sea_orm::DbBackend::Sqlite).is_empty());
    /// ```
    pub fn down_statements(&self, backend: DbBackend) -> Vec<String> {
        sql::undistribute(backend, &self.table)
            .into_iter()
            .collect()
    }

    /// Makes the table a reference table (PostgreSQL with Citus).
    ///
    /// ```
    /// # use sea_orm_migration::SchemaManager;
    /// # use sea_orm_tenancy::migration::ReferenceTable;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// ReferenceTable::new("plan").up(&SchemaManager::new(&pool)).await?; // nothing on SQLite
    /// # Ok(())
    /// # }
    /// ```
    pub async fn up(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        run(manager, self.up_statements(manager.get_database_backend())).await
    }

    /// Undoes [`up`](Self::up).
    ///
    /// ```
    /// # use sea_orm_migration::SchemaManager;
    /// # use sea_orm_tenancy::migration::ReferenceTable;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// ReferenceTable::new("plan").down(&SchemaManager::new(&pool)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn down(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        run(
            manager,
            self.down_statements(manager.get_database_backend()),
        )
        .await
    }
}

async fn run(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    for s in statements {
        manager.get_connection().execute_unprepared(&s).await?;
    }
    Ok(())
}

/// Drops the row-level security context functions (PostgreSQL) once no table's policy
/// uses them; nothing on other backends.
///
/// ```
/// # use sea_orm_migration::SchemaManager;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// sea_orm_tenancy::migration::drop_context_functions(&SchemaManager::new(&pool)).await?;
/// # Ok(())
/// # }
/// ```
pub async fn drop_context_functions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if sql::has_rls(manager.get_database_backend()) {
        run(manager, sql::drop_context_functions()).await?;
    }
    Ok(())
}
