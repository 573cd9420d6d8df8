//! Shared harness of the live isolation tests: the entities, a fresh database per test on
//! each backend, the seed rows, and snapshots of the rows a tenant must not touch.
//!
//! Run (SQLite only; PostgreSQL and MariaDB are skipped, loudly):
//!
//!     cargo test --test isolation
//!
//! Run against every backend, failing if a server is missing (what CI does):
//!
//!     DATABASE_URL_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!     DATABASE_URL_MYSQL=mysql://root@127.0.0.1:3306/test \
//!     TENANCY_REQUIRE_SERVERS=1 \
//!     cargo test --test isolation
//!
//! One backend only: add a filter, `cargo test --test isolation postgres::` (or `sqlite::`,
//! `mysql::`). The URLs name an administrative database: each test creates its own
//! database `t_<test>_<pid>_<n>` next to it and drops it when the test ends.
//!
//! - PostgreSQL: the URL's user must be allowed to `CREATE DATABASE`. `customer.tenant_key`
//!   is put in the ICU collation `en-x-icu` (when the server has it), so the tenant
//!   predicate is tried on a column that does not compare bytewise.
//! - MariaDB / MySQL: likewise; the test database is `utf8mb4`. `invoice.data_key` is
//!   altered to `utf8mb4_bin`, as the crate recommends; `customer.tenant_key` keeps the
//!   case-insensitive default, on purpose.
//! - SQLite: a private in-memory database on a one-connection pool.
//!
//! Under `TENANCY_REQUIRE_SERVERS=1`, an unset URL or an unreachable server fails every
//! test of that backend; without it they are skipped with a banner on stderr.

// Each test binary uses part of the harness; its `pub` items are for those binaries.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryOrder, Schema, Set,
};
use sea_orm_tenancy::{DataKey, MatchMode, TenancyError, TenantConnection};

/// `scenarios! { a, b }`: a `#[tokio::test]` per scenario function and backend, in modules
/// `sqlite`, `postgres` and `mysql`, each running the scenario on a fresh seeded database
/// ([`run`]). The scenarios are `async fn name(pool: &DatabaseConnection)` at the crate
/// root of the test file, which declares `#[macro_use] mod common;`.
#[allow(unused_macros)] // the benches include this harness too
macro_rules! scenarios {
    (@backend $module:ident, $backend:ident, $($name:ident),+) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::common::run(
                        crate::common::Backend::$backend,
                        stringify!($name),
                        crate::$name,
                    )
                    .await;
                }
            )+
        }
    };
    ($($name:ident),+ $(,)?) => {
        scenarios!(@backend sqlite, Sqlite, $($name),+);
        scenarios!(@backend postgres, Postgres, $($name),+);
        scenarios!(@backend mysql, MySql, $($name),+);
    };
}

/// `postgres_only! { a, b }`: a `#[tokio::test]` per scenario in a module `postgres`,
/// each on a fresh seeded PostgreSQL database ([`run`]), for what only PostgreSQL has.
#[allow(unused_macros)]
macro_rules! postgres_only {
    ($module:ident: $($name:ident),+ $(,)?) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::common::run(
                        crate::common::Backend::Postgres,
                        stringify!($name),
                        crate::$name,
                    )
                    .await;
                }
            )+
        }
    };
}

/// The role the row-level security scenarios and benches connect as: not the tables'
/// owner, not a superuser, not `BYPASSRLS`.
pub const APP_ROLE: &str = "sea_orm_tenancy_app";

/// A pool of `max` connections as [`APP_ROLE`] (created on first use, cluster-wide) on
/// `owner`'s PostgreSQL database, granted what an application needs on its tables and
/// sequences and nothing more. The grants go with the database when it is dropped.
pub async fn application_role_pool(owner: &DatabaseConnection, max: u32) -> DatabaseConnection {
    owner
        .execute_unprepared(&format!(
            "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .await
        .expect("create the application role");
    let db: String = owner
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_database() AS db",
        ))
        .await
        .expect("database")
        .expect("row")
        .try_get("", "db")
        .expect("name");
    for grant in [
        format!("GRANT CONNECT ON DATABASE \"{db}\" TO {APP_ROLE}"),
        format!("GRANT USAGE ON SCHEMA public TO {APP_ROLE}"),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"
        ),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"),
    ] {
        owner.execute_unprepared(&grant).await.expect("grant");
    }
    let url = std::env::var("DATABASE_URL_POSTGRES").expect("a PostgreSQL scenario");
    let url = with_database(&url, &db);
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let mut options = ConnectOptions::new(format!("{scheme}://{APP_ROLE}@{host}"));
    options
        .max_connections(max)
        .min_connections(1)
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .expect("connect as the application role")
}

/// Row-level security (with the DataKey index on `invoice`) on the seed's two tenanted
/// tables, through the migration helpers, and a one-connection pool of [`APP_ROLE`].
/// Tables the scenario needs the role to reach must exist before: the grants cover the
/// tables there are.
pub async fn secure_the_seed(owner: &DatabaseConnection) -> DatabaseConnection {
    use sea_orm_migration::SchemaManager;
    use sea_orm_tenancy::migration::TenantedTable;
    let manager = SchemaManager::new(owner);
    TenantedTable::new("invoice")
        .index(&["id"])
        .row_level_security()
        .up(&manager)
        .await
        .expect("invoice");
    TenantedTable::new("customer")
        .column("tenant_key")
        .row_level_security()
        .up(&manager)
        .await
        .expect("customer");
    application_role_pool(owner, 1).await
}

/// The entities the scenarios run on.
pub mod entities {
    /// Tenanted through the default `data_key` column; belongs to a customer.
    pub mod invoice {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
        #[sea_orm(table_name = "invoice")]
        #[tenanted]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub data_key: String,
            pub number: String,
            pub amount: i32,
            pub customer_id: Option<i32>,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {
            #[sea_orm(
                belongs_to = "super::customer::Entity",
                from = "Column::CustomerId",
                to = "super::customer::Column::Id"
            )]
            Customer,
        }

        impl Related<super::customer::Entity> for Entity {
            fn to() -> RelationDef {
                Relation::Customer.def()
            }
        }

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// Tenanted through a column of another name, `tenant_key`; has many invoices.
    pub mod customer {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
        #[sea_orm(table_name = "customer")]
        #[tenanted(column = "tenant_key")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub tenant_key: String,
            pub name: String,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {
            #[sea_orm(has_many = "super::invoice::Entity")]
            Invoice,
        }

        impl Related<super::invoice::Entity> for Entity {
            fn to() -> RelationDef {
                Relation::Invoice.def()
            }
        }

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// Universal: shared rows every tenant may read and write.
    pub mod country {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
        #[sea_orm(table_name = "country")]
        #[universal]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub code: String,
            pub name: String,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// Universal and read-only for tenants.
    pub mod plan {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
        #[sea_orm(table_name = "plan")]
        #[universal(read_only)]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub name: String,
            pub price: i32,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// Deliberately not classified: no `Tenancy` derive, not allow-listed.
    pub mod ledger {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "ledger")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub entry: String,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }
}

use entities::{country, customer, invoice, ledger, plan};

/// A backend the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    fn env_var(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("DATABASE_URL_POSTGRES"),
            Backend::MySql => Some("DATABASE_URL_MYSQL"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MariaDB/MySQL",
        }
    }
}

fn servers_required() -> bool {
    std::env::var("TENANCY_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// A database of its own for one test, and what it takes to drop it.
pub struct TestDb {
    /// A pool on the test's own database.
    pub pool: DatabaseConnection,
    /// The admin connection and the database name, for servers.
    admin: Option<(DatabaseConnection, String)>,
    /// The test database's URL, for servers: to open pools of other settings on it.
    pub url: Option<String>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `t_<test>_<pid>_<n>`: lower-case, at most 63 bytes (PostgreSQL's limit), unique within
/// a run (pid and counter) and readable (the test name, cut).
fn database_name(test: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{n}", std::process::id());
    let stem: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(63 - 2 - suffix.len())
        .collect();
    format!("t_{stem}{suffix}")
}

/// `url` with its database (the path) replaced by `database`, query string kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

static SKIP_REPORTED: [AtomicBool; 3] = [
    AtomicBool::new(false),
    AtomicBool::new(false),
    AtomicBool::new(false),
];

fn fail_or_skip(backend: Backend, why: String) -> Option<TestDb> {
    if servers_required() {
        panic!(
            "{} is required (TENANCY_REQUIRE_SERVERS=1) but {why}",
            backend.label()
        );
    }
    // Once per backend and run, straight to the process's stderr: the test harness
    // captures `eprintln!` of passing tests, and a skip must not go unnoticed.
    if !SKIP_REPORTED[backend as usize].swap(true, Ordering::Relaxed) {
        let _ = writeln!(
            std::io::stderr(),
            "\n=== SKIPPED: {why}; the {} tests and benches did not run \
             (set TENANCY_REQUIRE_SERVERS=1 to make this an error) ===\n",
            backend.label()
        );
    }
    None
}

/// Per server backend: why its server cannot be reached, once a test has found out.
static UNREACHABLE: [tokio::sync::OnceCell<Option<String>>; 3] = [
    tokio::sync::OnceCell::const_new(),
    tokio::sync::OnceCell::const_new(),
    tokio::sync::OnceCell::const_new(),
];

async fn connect(
    url: &str,
    max_connections: u32,
    timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(timeout)
        .connect_timeout(timeout)
        .sqlx_logging(false);
    Database::connect(options).await
}

impl TestDb {
    /// The connection to the server's administrative database, and the test database's
    /// name (servers only): to watch the test's sessions from outside its pool.
    pub fn admin(&self) -> Option<(&DatabaseConnection, &str)> {
        self.admin.as_ref().map(|(c, n)| (c, n.as_str()))
    }

    /// A fresh, empty database for `test` on `backend`; `None` when the backend is skipped
    /// (a server test without its URL and without `TENANCY_REQUIRE_SERVERS=1`).
    pub async fn create(backend: Backend, test: &str) -> Option<TestDb> {
        let Some(var) = backend.env_var() else {
            let mut options = ConnectOptions::new("sqlite::memory:");
            // One connection: each connection to `sqlite::memory:` is a database of its
            // own, and the pool must never close it (no idle timeout, no max lifetime).
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                // A scenario that waits for the only connection fails instead of hanging.
                .acquire_timeout(Duration::from_secs(20))
                .sqlx_logging(false);
            let pool = Database::connect(options)
                .await
                .expect("open an in-memory SQLite database");
            return Some(TestDb {
                pool,
                admin: None,
                url: None,
            });
        };
        let url = match std::env::var(var) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => return fail_or_skip(backend, format!("{var} is unset")),
        };
        // The first test of a run to reach for the server finds out whether it answers;
        // the others wait for that answer instead of each timing out in turn.
        let probe = UNREACHABLE[backend as usize]
            .get_or_init(|| async {
                match connect(&url, 1, Duration::from_secs(5)).await {
                    Ok(probe) => {
                        let _ = probe.close().await;
                        None
                    }
                    Err(e) => Some(format!("{var}={url} is unreachable ({e})")),
                }
            })
            .await;
        if let Some(why) = probe {
            return fail_or_skip(backend, why.clone());
        }
        let admin = connect(&url, 1, Duration::from_secs(20))
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        let name = database_name(test);
        let create = match backend {
            Backend::Postgres => format!(r#"CREATE DATABASE "{name}""#),
            _ => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
        };
        admin
            .execute_unprepared(&create)
            .await
            .unwrap_or_else(|e| panic!("{create}: {e}"));
        let test_url = with_database(&url, &name);
        let pool = connect(&test_url, 4, Duration::from_secs(20))
            .await
            .unwrap_or_else(|e| panic!("connect to {test_url}: {e}"));
        Some(TestDb {
            pool,
            admin: Some((admin, name)),
            url: Some(test_url),
        })
    }

    /// Closes the pool and drops the database (best effort).
    pub async fn destroy(self) {
        let backend = self.pool.get_database_backend();
        let _ = self.pool.close().await;
        if let Some((admin, name)) = self.admin {
            let drop = match backend {
                DbBackend::Postgres => format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
                _ => format!("DROP DATABASE IF EXISTS `{name}`"),
            };
            if let Err(e) = admin.execute_unprepared(&drop).await {
                eprintln!("warning: {drop}: {e}");
            }
            let _ = admin.close().await;
        }
    }
}

/// Runs `scenario` on a fresh, seeded database of `backend`, then drops the database,
/// whether the scenario passed or panicked. Skips (or fails, under
/// `TENANCY_REQUIRE_SERVERS=1`) when the backend's server is not configured.
pub async fn run<F>(backend: Backend, test: &str, scenario: F)
where
    F: AsyncFnOnce(&DatabaseConnection),
{
    on_fresh_database(backend, test, async |pool| {
        create_tables(pool).await;
        seed(pool).await;
        scenario(pool).await;
    })
    .await;
}

/// Runs `body` on a fresh, empty database of `backend`, then drops the database, whether
/// `body` passed or panicked. Skips (or fails) like [`run`].
pub async fn on_fresh_database<F>(backend: Backend, test: &str, body: F)
where
    F: AsyncFnOnce(&DatabaseConnection),
{
    let Some(db) = TestDb::create(backend, test).await else {
        return;
    };
    let outcome = AssertUnwindSafe(body(&db.pool)).catch_unwind().await;
    db.destroy().await;
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

pub async fn create_tables(pool: &DatabaseConnection) {
    let backend = pool.get_database_backend();
    let schema = Schema::new(backend);
    let statements = [
        schema.create_table_from_entity(customer::Entity),
        schema.create_table_from_entity(invoice::Entity),
        schema.create_table_from_entity(country::Entity),
        schema.create_table_from_entity(plan::Entity),
        schema.create_table_from_entity(ledger::Entity),
    ];
    for statement in &statements {
        pool.execute(statement).await.expect("create table");
    }
    match backend {
        DbBackend::MySql => {
            // The rewriter compares the DataKey with `? COLLATE utf8mb4_bin`.
            // `invoice.data_key` gets that collation, as the crate recommends (the
            // comparison is then the column's own, and an index serves it);
            // `customer.tenant_key` keeps the database's case-insensitive default
            // (`utf8mb4_general_ci`), to prove the predicate is bytewise whatever the
            // column's collation.
            pool.execute_unprepared(
                "ALTER TABLE `invoice` MODIFY `data_key` VARCHAR(255) \
                 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
            )
            .await
            .expect("alter the DataKey column");
        }
        DbBackend::Postgres => {
            // Likewise: `customer.tenant_key` in a linguistic collation (which orders
            // `.`, `/` and `-` unlike bytes), when the server has ICU.
            let icu = pool
                .query_one_raw(sea_orm::Statement::from_string(
                    backend,
                    "SELECT 1 AS one FROM pg_collation WHERE collname = 'en-x-icu'",
                ))
                .await
                .expect("look for ICU");
            if icu.is_some() {
                pool.execute_unprepared(
                    r#"ALTER TABLE "customer" ALTER COLUMN "tenant_key" TYPE varchar COLLATE "en-x-icu""#,
                )
                .await
                .expect("alter the DataKey column");
            } else {
                eprintln!(
                    "note: no ICU collation on this server; customer.tenant_key keeps the default"
                );
            }
        }
        _ => {}
    }
}

/// The tenants of the seed: a parent, its child, a sibling, one whose key starts with
/// the parent's text (`10.` vs `1.`), so that a prefix bug shows, and one in upper case
/// (`A.`, which the tenant `a.` must not see on a case-insensitive column).
pub const TENANTS: [&str; 5] = ["1.", "1.4.", "2.", "10.", "A."];

/// Seed customers: (tenant_key, name).
pub const CUSTOMERS: &[(&str, &str)] = &[
    ("1.", "Acme"),
    ("1.4.", "Acme Four"),
    ("2.", "Globex"),
    ("10.", "Initech"),
    ("A.", "Alpha"),
];

/// Seed invoices: (data_key, number, amount, customer name).
///
/// `1-C` of tenant `1.` points at tenant `2.`'s customer, and `2-B` of tenant `2.` at
/// tenant `1.`'s: related rows across tenants must stay hidden.
pub const INVOICES: &[(&str, &str, i32, Option<&str>)] = &[
    ("1.", "1-A", 100, Some("Acme")),
    ("1.", "1-B", 200, Some("Acme")),
    ("1.", "1-C", 10, Some("Globex")),
    ("1.", "1-D", 20, None),
    ("1.4.", "14-A", 140, Some("Acme Four")),
    ("2.", "2-A", 300, Some("Globex")),
    ("2.", "2-B", 50, Some("Acme")),
    ("10.", "10-A", 1000, Some("Initech")),
    ("A.", "A-1", 5, Some("Alpha")),
];

/// Invoice numbers each tenant sees in prefix mode.
pub fn visible_invoices(key: &str) -> Vec<&'static str> {
    let key = DataKey::new(key).expect("key");
    INVOICES
        .iter()
        .filter(|(k, ..)| key.matches(k, MatchMode::Prefix))
        .map(|(_, n, ..)| *n)
        .collect()
}

pub async fn seed(pool: &DatabaseConnection) {
    customer::Entity::insert_many(CUSTOMERS.iter().map(|(k, name)| customer::ActiveModel {
        tenant_key: Set((*k).to_owned()),
        name: Set((*name).to_owned()),
        ..Default::default()
    }))
    .exec(pool)
    .await
    .expect("seed customers");
    let mut invoices = Vec::new();
    for (k, number, amount, customer) in INVOICES {
        let customer_id = match customer {
            Some(name) => Some(customer_by_name(pool, name).await.id),
            None => None,
        };
        invoices.push(invoice::ActiveModel {
            data_key: Set((*k).to_owned()),
            number: Set((*number).to_owned()),
            amount: Set(*amount),
            customer_id: Set(customer_id),
            ..Default::default()
        });
    }
    invoice::Entity::insert_many(invoices)
        .exec(pool)
        .await
        .expect("seed invoices");
    country::Entity::insert_many([("FR", "France"), ("DE", "Germany")].map(|(code, name)| {
        country::ActiveModel {
            code: Set(code.to_owned()),
            name: Set(name.to_owned()),
        }
    }))
    .exec(pool)
    .await
    .expect("seed countries");
    plan::Entity::insert_many(
        [("free", 0), ("pro", 20)].map(|(name, price)| plan::ActiveModel {
            name: Set(name.to_owned()),
            price: Set(price),
            ..Default::default()
        }),
    )
    .exec(pool)
    .await
    .expect("seed plans");
    ledger::Entity::insert(ledger::ActiveModel {
        entry: Set("opening balance".to_owned()),
        ..Default::default()
    })
    .exec(pool)
    .await
    .expect("seed ledger");
}

/// A connection of tenant `key`, prefix mode, with the derived registry.
pub fn tenant(pool: &DatabaseConnection, key: &str) -> TenantConnection {
    TenantConnection::new(pool.clone(), DataKey::new(key).expect("valid key"))
}

/// Every invoice, through the raw pool, by id.
pub async fn all_invoices(pool: &DatabaseConnection) -> Vec<invoice::Model> {
    invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .all(pool)
        .await
        .expect("read invoices through the raw pool")
}

/// Every customer, through the raw pool, by id.
pub async fn all_customers(pool: &DatabaseConnection) -> Vec<customer::Model> {
    customer::Entity::find()
        .order_by_asc(customer::Column::Id)
        .all(pool)
        .await
        .expect("read customers through the raw pool")
}

/// The invoice numbered `number`, through the raw pool.
pub async fn invoice_by_number(pool: &DatabaseConnection, number: &str) -> invoice::Model {
    all_invoices(pool)
        .await
        .into_iter()
        .find(|i| i.number == number)
        .unwrap_or_else(|| panic!("no invoice {number}"))
}

/// The customer named `name`, through the raw pool.
pub async fn customer_by_name(pool: &DatabaseConnection, name: &str) -> customer::Model {
    all_customers(pool)
        .await
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no customer {name}"))
}

/// The rows of the tenanted tables that a tenant may not touch, read through the raw
/// pool: compare two of them to prove a write left the other tenants' rows unchanged,
/// field for field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    pub invoices: Vec<invoice::Model>,
    pub customers: Vec<customer::Model>,
}

impl Outside {
    /// The rows outside tenant `key` under `mode`.
    pub async fn of_mode(pool: &DatabaseConnection, key: &str, mode: MatchMode) -> Outside {
        let key = DataKey::new(key).expect("key");
        let invoices: Vec<_> = all_invoices(pool)
            .await
            .into_iter()
            .filter(|i| !key.matches(&i.data_key, mode))
            .collect();
        let customers: Vec<_> = all_customers(pool)
            .await
            .into_iter()
            .filter(|c| !key.matches(&c.tenant_key, mode))
            .collect();
        assert!(
            !invoices.is_empty() && !customers.is_empty(),
            "the seed must leave rows outside tenant {key}, or the check proves nothing"
        );
        Outside {
            invoices,
            customers,
        }
    }

    /// The rows outside tenant `key` in prefix mode.
    pub async fn of(pool: &DatabaseConnection, key: &str) -> Outside {
        Outside::of_mode(pool, key, MatchMode::Prefix).await
    }
}

/// Asserts that `err` carries [`TenancyError::InvalidTenantAccess`].
#[track_caller]
pub fn assert_invalid_tenant_access(err: &DbErr) {
    let typed = TenancyError::from_db_err(err);
    assert!(
        matches!(typed, Some(TenancyError::InvalidTenantAccess { .. })),
        "expected InvalidTenantAccess, got {typed:?} from {err}"
    );
}

/// The `n`-th (1-based) placeholder of a raw statement on `backend`.
pub fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Sorted copy, for comparing sets of numbers.
pub fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort();
    v
}

/// A `tracing_subscriber` writer that keeps what the subscriber formats, for tests that
/// read their traces back.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8")
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
