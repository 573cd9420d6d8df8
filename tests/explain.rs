//! Index use: the tenant predicate the rewriter writes is served by an index on the
//! DataKey column, on every backend, in both match modes, when the column has the
//! bytewise collation the crate recommends (`C` on PostgreSQL, `utf8mb4_bin` on
//! MariaDB/MySQL, SQLite's default `BINARY`). Checked with each backend's EXPLAIN on
//! 10,000 rows of 1,000 tenants in two levels. A control shows that the check can fail:
//! the same index on a column of another collation cannot serve the predicate.
//!
//! On MariaDB the collation goes on the values (`data_key >= ? COLLATE utf8mb4_bin`):
//! MariaDB does not use the index through `data_key COLLATE utf8mb4_bin >= ?`, even on
//! a `utf8mb4_bin` column.
//!
//! Servers and skipping work as in the isolation tests (`tests/common/mod.rs`):
//!
//!     DATABASE_URL_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!     DATABASE_URL_MYSQL=mysql://root@127.0.0.1:3306/test \
//!     TENANCY_REQUIRE_SERVERS=1 \
//!     cargo test --test explain

mod common;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sea_orm_tenancy::rewrite::rewrite_unprepared;
use sea_orm_tenancy::{DataKey, MatchMode, Registry};

use common::Backend;

const INDEX: &str = "item_data_key_idx";

/// The table, its DataKey column in `collation` (`None`: the backend's default), and
/// the index.
fn ddl(backend: DbBackend, collation: Option<&str>) -> Vec<String> {
    let collate = collation.map_or(String::new(), |c| format!(" COLLATE {c}"));
    match backend {
        DbBackend::Postgres => vec![
            format!(
                "CREATE TABLE item (id SERIAL PRIMARY KEY, data_key VARCHAR(255){collate} NOT NULL, body VARCHAR(100) NOT NULL)"
            ),
            format!("CREATE INDEX {INDEX} ON item (data_key)"),
        ],
        DbBackend::MySql => vec![format!(
            "CREATE TABLE item (id INT AUTO_INCREMENT PRIMARY KEY, data_key VARCHAR(255) CHARACTER SET utf8mb4{collate} NOT NULL, body VARCHAR(100) NOT NULL, INDEX {INDEX} (data_key))"
        )],
        _ => vec![
            format!(
                "CREATE TABLE item (id INTEGER PRIMARY KEY, data_key TEXT{collate} NOT NULL, body TEXT NOT NULL)"
            ),
            format!("CREATE INDEX {INDEX} ON item (data_key)"),
        ],
    }
}

/// 10,000 rows: tenants `0.` … `99.`, each with children `n.0.` … `n.9.`, 10 rows per
/// child; then the statistics the planner needs.
async fn fill(pool: &DatabaseConnection) {
    let backend = pool.get_database_backend();
    for chunk in 0..10 {
        let rows: Vec<String> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| format!("('{}.{}.', 'row {i}')", i % 100, (i / 100) % 10))
            .collect();
        pool.execute_unprepared(&format!(
            "INSERT INTO item (data_key, body) VALUES {}",
            rows.join(", ")
        ))
        .await
        .expect("insert rows");
    }
    let analyze = match backend {
        DbBackend::MySql => "ANALYZE TABLE item",
        _ => "ANALYZE item",
    };
    pool.execute_unprepared(analyze).await.expect("analyze");
}

/// The plan of `sql` (already rewritten, values as literals), as one text.
async fn plan(pool: &DatabaseConnection, sql: &str) -> String {
    let backend = pool.get_database_backend();
    let (explain, column) = match backend {
        DbBackend::Postgres => (format!("EXPLAIN {sql}"), 0),
        DbBackend::MySql => (format!("EXPLAIN FORMAT=JSON {sql}"), 0),
        _ => (format!("EXPLAIN QUERY PLAN {sql}"), 3),
    };
    let rows = pool
        .query_all_raw(Statement::from_string(backend, explain.clone()))
        .await
        .unwrap_or_else(|e| panic!("{explain}: {e}"));
    rows.iter()
        .map(|r| {
            r.try_get_by::<String, _>(column)
                .unwrap_or_else(|e| panic!("{explain}: plan column: {e}"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the plan reads `item` through the DataKey index.
fn uses_the_index(backend: DbBackend, plan: &str) -> bool {
    match backend {
        // `Index Scan using …`, `Index Only Scan using …`, `Bitmap Index Scan on …`.
        DbBackend::Postgres => plan.contains(&format!(" {INDEX}")) && plan.contains("Index"),
        DbBackend::MySql => plan.contains(&format!("\"key\": \"{INDEX}\"")),
        _ => plan.contains(&format!("INDEX {INDEX}")),
    }
}

/// The tenant's rewritten list query, in `mode`, with the DataKey as a literal.
fn tenant_query(backend: DbBackend, key: &str, mode: MatchMode) -> String {
    let registry = Registry::builder().tenanted("item", "data_key").build();
    rewrite_unprepared(
        "SELECT id, body FROM item WHERE body <> ''",
        backend,
        &DataKey::new(key).expect("key"),
        mode,
        &registry,
    )
    .expect("rewritten")
}

async fn with_table<F>(backend: Backend, test: &str, collation: Option<&str>, check: F)
where
    F: AsyncFnOnce(&DatabaseConnection),
{
    common::on_fresh_database(backend, test, async |pool| {
        for statement in ddl(pool.get_database_backend(), collation) {
            pool.execute_unprepared(&statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        fill(pool).await;
        check(pool).await;
    })
    .await;
}

/// The collation the crate recommends for the DataKey column.
fn bytewise(backend: DbBackend) -> Option<&'static str> {
    match backend {
        DbBackend::Postgres => Some("\"C\""),
        DbBackend::MySql => Some("utf8mb4_bin"),
        // SQLite's default, BINARY.
        _ => None,
    }
}

async fn the_tenant_predicate_is_served_by_the_data_key_index(backend: Backend) {
    let db_backend = match backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
        Backend::MySql => DbBackend::MySql,
    };
    with_table(
        backend,
        "the_tenant_predicate_is_served_by_the_data_key_index",
        bytewise(db_backend),
        async |pool| {
            for (key, mode) in [
                ("7.", MatchMode::Prefix),   // a parent: 100 rows of 10,000
                ("7.3.", MatchMode::Prefix), // a leaf: 10 rows
                ("7.3.", MatchMode::Exact),
                ("7.", MatchMode::Exact),
            ] {
                let sql = tenant_query(db_backend, key, mode);
                let plan = plan(pool, &sql).await;
                assert!(
                    uses_the_index(db_backend, &plan),
                    "{key} ({mode:?}) does not use {INDEX}:\n{sql}\n{plan}"
                );
            }
        },
    )
    .await;
}

/// The control: an index in another collation cannot serve the bytewise predicate, and
/// the check above says so.
async fn an_index_in_another_collation_cannot_serve_it(backend: Backend) {
    let (db_backend, collation) = match backend {
        Backend::Sqlite => (DbBackend::Sqlite, "NOCASE"),
        Backend::Postgres => (DbBackend::Postgres, "\"en-x-icu\""),
        Backend::MySql => (DbBackend::MySql, "utf8mb4_general_ci"),
    };
    with_table(
        backend,
        "an_index_in_another_collation_cannot_serve_it",
        Some(collation),
        async |pool| {
            let sql = tenant_query(db_backend, "7.", MatchMode::Prefix);
            let plan = plan(pool, &sql).await;
            assert!(
                !uses_the_index(db_backend, &plan),
                "an index in {collation} served the bytewise predicate:\n{sql}\n{plan}"
            );
        },
    )
    .await;
}

mod the_tenant_predicate_is_served_by_the_data_key_index {
    #[tokio::test]
    async fn sqlite() {
        super::the_tenant_predicate_is_served_by_the_data_key_index(super::Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::the_tenant_predicate_is_served_by_the_data_key_index(super::Backend::Postgres).await;
    }

    /// Failed while the rewriter wrote `data_key COLLATE utf8mb4_bin >= ?`: MariaDB does
    /// not use the column's index through a COLLATE on the column.
    #[tokio::test]
    async fn mysql() {
        super::the_tenant_predicate_is_served_by_the_data_key_index(super::Backend::MySql).await;
    }
}

mod an_index_in_another_collation_cannot_serve_it {
    #[tokio::test]
    async fn sqlite() {
        super::an_index_in_another_collation_cannot_serve_it(super::Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::an_index_in_another_collation_cannot_serve_it(super::Backend::Postgres).await;
    }

    #[tokio::test]
    async fn mysql() {
        super::an_index_in_another_collation_cannot_serve_it(super::Backend::MySql).await;
    }
}
