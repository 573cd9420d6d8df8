//! What the database benches share: the `item` entity, a fresh database per world on
//! each backend (through the test harness, `tests/common`), a world of tenants in three
//! levels seeded by the server itself, and whether this is a full `cargo bench` run.
//!
//! Servers come from `DATABASE_URL_POSTGRES` and `DATABASE_URL_MYSQL`, as for the tests.
//! A backend whose URL is unset is skipped with a banner on stderr, or fails the run
//! under `TENANCY_REQUIRE_SERVERS=1`.

#![allow(dead_code, unreachable_pub)]

#[path = "../../tests/common/mod.rs"]
mod common;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

#[allow(unused_imports)] // not every bench uses every item
pub use common::{Backend, TestDb, application_role_pool};

/// The benchmarked table: tenanted through `data_key`.
pub mod item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, sea_orm_tenancy::Tenancy)]
    #[sea_orm(table_name = "item")]
    #[tenanted]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub data_key: String,
        pub number: String,
        pub amount: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every backend, in the order the benches run them.
pub const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// A short name for bench ids.
pub fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mariadb",
    }
}

/// Whether criterion measures (`cargo bench`) rather than runs each bench once as a test
/// (`cargo test --benches`, or `cargo test --workspace`, which runs them too).
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The runtime the database benches drive their calls on: one thread, as criterion
/// measures one call at a time.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A world of tenants in three levels, `root.mid.leaf.`: `roots × mids × leaves` leaf
/// tenants own `rows_per_leaf` rows each, spread over the table as they would be by
/// tenants writing at the same time (row `g` belongs to leaf `g % leaves`). Roots and
/// mids own no rows of their own; their subtree does.
#[derive(Debug, Clone, Copy)]
pub struct World {
    pub roots: u32,
    pub mids: u32,
    pub leaves: u32,
    pub rows_per_leaf: u32,
}

impl World {
    /// How many leaf tenants own rows.
    pub fn leaf_tenants(self) -> u32 {
        self.roots * self.mids * self.leaves
    }

    /// All tenants: roots, mids and leaves.
    pub fn tenants(self) -> u32 {
        self.roots + self.roots * self.mids + self.leaf_tenants()
    }

    /// Rows in all.
    pub fn rows(self) -> u32 {
        self.leaf_tenants() * self.rows_per_leaf
    }

    /// The key of leaf tenant `l`.
    pub fn leaf_key(self, l: u32) -> String {
        let per_root = self.mids * self.leaves;
        format!(
            "{}.{}.{}.",
            l / per_root,
            (l / self.leaves) % self.mids,
            l % self.leaves
        )
    }

    /// The key of the mid tenant above leaf `l`.
    pub fn mid_key(self, l: u32) -> String {
        let per_root = self.mids * self.leaves;
        format!("{}.{}.", l / per_root, (l / self.leaves) % self.mids)
    }
}

/// Creates `item` with its DataKey in the bytewise collation the crate recommends, fills
/// it with `world`, adds the `(data_key, id)` index and gathers statistics.
pub async fn create_world(pool: &DatabaseConnection, world: World) {
    let backend = pool.get_database_backend();
    let n = world.rows();
    let l = world.leaf_tenants();
    let (m, s) = (world.mids, world.leaves);
    let ms = m * s;
    let statements: Vec<String> = match backend {
        DbBackend::Postgres => vec![
            r#"CREATE TABLE item (id SERIAL PRIMARY KEY, data_key VARCHAR(255) COLLATE "C" NOT NULL, number VARCHAR(64) NOT NULL, amount INTEGER NOT NULL)"#.to_owned(),
            format!(
                "INSERT INTO item (data_key, number, amount) \
                 SELECT (lf / {ms}) || '.' || ((lf / {s}) % {m}) || '.' || (lf % {s}) || '.', 'N-' || g, (g / {l}) % 100 \
                 FROM (SELECT g, g % {l} AS lf FROM generate_series(0, {n} - 1) AS g) AS src"
            ),
            "CREATE INDEX item_data_key ON item (data_key, id)".to_owned(),
            // VACUUM too: autovacuum would otherwise wake on the fresh rows mid-run.
            "VACUUM ANALYZE item".to_owned(),
        ],
        DbBackend::MySql => vec![
            "CREATE TABLE item (id INT AUTO_INCREMENT PRIMARY KEY, data_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, number VARCHAR(64) NOT NULL, amount INT NOT NULL)".to_owned(),
            format!(
                "INSERT INTO item (data_key, number, amount) \
                 SELECT CONCAT(lf DIV {ms}, '.', (lf DIV {s}) % {m}, '.', lf % {s}, '.'), CONCAT('N-', g), (g DIV {l}) % 100 \
                 FROM (SELECT seq AS g, seq % {l} AS lf FROM seq_0_to_{last}) AS src",
                last = n - 1
            ),
            "CREATE INDEX item_data_key ON item (data_key, id)".to_owned(),
            "ANALYZE TABLE item".to_owned(),
        ],
        _ => vec![
            "CREATE TABLE item (id INTEGER PRIMARY KEY, data_key TEXT NOT NULL, number TEXT NOT NULL, amount INTEGER NOT NULL)".to_owned(),
            format!(
                "WITH RECURSIVE src(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM src WHERE g + 1 < {n}) \
                 INSERT INTO item (data_key, number, amount) \
                 SELECT (g % {l} / {ms}) || '.' || ((g % {l} / {s}) % {m}) || '.' || (g % {l} % {s}) || '.', 'N-' || g, (g / {l}) % 100 FROM src"
            ),
            "CREATE INDEX item_data_key ON item (data_key, id)".to_owned(),
            "ANALYZE".to_owned(),
        ],
    };
    for sql in statements {
        pool.execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let count = pool
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM item",
        ))
        .await
        .expect("count")
        .expect("a row");
    let count: i64 = count.try_get("", "n").expect("n");
    assert_eq!(count, i64::from(n), "the world was not seeded in full");
}

/// The smallest id among the rows of the tenant `key` (exactly `key`).
pub async fn first_id(pool: &DatabaseConnection, key: &str) -> i32 {
    let backend = pool.get_database_backend();
    let row = pool
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT MIN(id) AS id FROM item WHERE data_key = '{key}'"),
        ))
        .await
        .expect("min id")
        .expect("a row");
    row.try_get("", "id").expect("an id")
}

/// A paired comparison of two calls (only recorded under `cargo bench`), for ratios that drift and noise between separate
/// benchmarks would swamp: `rounds` rounds of four blocks of `block` calls, each block
/// timed, in the order reference, subject, subject, reference on even rounds and
/// subject, reference, reference, subject on odd ones (a call that runs faster or slower
/// right after the same call, as a write may, favours neither side). The ratio is the subject's
/// total time over the reference's; the interval is ±1.96 standard errors of the
/// per-round ratios. Written to `target/criterion/paired/<id>.json` for
/// `scripts/bench-report.py`, and printed.
pub fn paired_ratio<R, S, FR, FS>(
    rt: &tokio::runtime::Runtime,
    id: &str,
    rounds: usize,
    block: usize,
    mut reference: R,
    mut subject: S,
) where
    R: FnMut() -> FR,
    S: FnMut() -> FS,
    FR: std::future::Future<Output = ()>,
    FS: std::future::Future<Output = ()>,
{
    use std::time::{Duration, Instant};
    let (mut total_ref, mut total_sub) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(rounds);
    rt.block_on(async {
        // Warm both up first: caches, prepared statements, the template.
        for _ in 0..20 {
            reference().await;
            subject().await;
        }
        for round in 0..rounds {
            let mut times = [Duration::ZERO; 4];
            let reference_first = round % 2 == 0;
            for (i, time) in times.iter_mut().enumerate() {
                let t = Instant::now();
                for _ in 0..block {
                    if (i == 0 || i == 3) == reference_first {
                        reference().await;
                    } else {
                        subject().await;
                    }
                }
                *time = t.elapsed();
            }
            let (outer, inner) = (times[0] + times[3], times[1] + times[2]);
            let (r, s) = if reference_first {
                (outer, inner)
            } else {
                (inner, outer)
            };
            total_ref += r;
            total_sub += s;
            ratios.push(s.as_secs_f64() / r.as_secs_f64());
        }
    });
    let ratio = total_sub.as_secs_f64() / total_ref.as_secs_f64();
    let n = ratios.len() as f64;
    let mean = ratios.iter().sum::<f64>() / n;
    let sd = (ratios.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let half = 1.96 * sd / n.sqrt();
    let calls = (rounds * block * 2) as f64;
    let per_ref = total_ref.as_secs_f64() / calls * 1e9;
    let per_sub = total_sub.as_secs_f64() / calls * 1e9;
    println!(
        "paired {id}: ratio {ratio:.4} (±{half:.4}), reference {:.1} µs, subject {:.1} µs per call",
        per_ref / 1e3,
        per_sub / 1e3
    );
    if !measuring() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion/paired");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{}.json", id.replace('/', "_")));
    let json = format!(
        r#"{{"id": "{id}", "ratio": {ratio}, "half_interval": {half}, "reference_ns": {per_ref}, "subject_ns": {per_sub}, "rounds": {rounds}, "block": {block}}}"#
    );
    std::fs::write(&file, json).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// A pool of four on the database at `url` whose sessions have the statement timeout
/// `timeout`: PostgreSQL's `statement_timeout` (SeaORM's
/// `ConnectOptions::statement_timeout`), MariaDB's `max_statement_time` (set as each
/// connection opens).
pub async fn pool_with_statement_timeout(
    url: &str,
    timeout: std::time::Duration,
) -> DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options
        .max_connections(4)
        .statement_timeout(timeout)
        .sqlx_logging(false);
    let seconds = timeout.as_secs_f64();
    options.map_sqlx_mysql_pool_opts(move |pool| {
        pool.after_connect(move |conn, _meta| {
            Box::pin(async move {
                use sea_orm::sqlx::Executor;
                let sql = format!("SET SESSION max_statement_time = {seconds}");
                conn.execute(sea_orm::sqlx::AssertSqlSafe(sql)).await?;
                Ok(())
            })
        })
    });
    sea_orm::Database::connect(options)
        .await
        .expect("a pool with a statement timeout")
}
