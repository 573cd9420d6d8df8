//! Per-tenant guardrails on SQLite, PostgreSQL and MariaDB: a statement cut at its
//! tenant's timeout while the other tenants run as usual, a cap on the statements a
//! tenant has in flight that holds under 200 concurrent tasks without delaying the
//! others, the retryable refusal past the wait, and the span and metrics of every
//! statement.
//!
//! Run (SQLite only; the servers are skipped, loudly):
//!
//!     cargo test --all-features --test guardrails
//!
//! Against every backend, as CI does: set `DATABASE_URL_POSTGRES`,
//! `DATABASE_URL_MYSQL` and `TENANCY_REQUIRE_SERVERS=1` (see `tests/common/mod.rs`).
//!
//! SQLite runs on a file database with a pool of four connections, opened with
//! `guard::interrupt_at_deadline`; the servers on a fresh database each, with a pool of
//! four.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    Statement, TransactionTrait,
};
use sea_orm_tenancy::guard::{Guardrails, Limits};
use sea_orm_tenancy::{DataKey, TenancyError, TenantConnection};

use common::entities::{customer, invoice};
use common::{Backend, TestDb};

/// A SQLite pool of `connections` on `url`, all opened at once (so that every statement
/// takes an idle one, through the interrupt's hook), with `guard::interrupt_at_deadline`.
async fn sqlite_pool(url: &str, connections: u32) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(connections)
        .min_connections(connections)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(60))
        .sqlx_logging(false);
    sea_orm_tenancy::guard::interrupt_at_deadline(&mut options);
    Database::connect(options).await.expect("open SQLite")
}

/// Runs `body` on a fresh seeded database of `backend` with a pool of four connections,
/// and the server's administrative connection with the database's name (servers only).
async fn on_pool<F>(backend: Backend, test: &str, body: F)
where
    F: AsyncFnOnce(&DatabaseConnection, Option<(&DatabaseConnection, &str)>),
{
    if backend == Backend::Sqlite {
        let path =
            std::env::temp_dir().join(format!("sea_orm_tenancy_{test}_{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let pool = sqlite_pool(&format!("sqlite://{}?mode=rwc", path.display()), 4).await;
        pool.execute_unprepared("PRAGMA journal_mode = WAL")
            .await
            .expect("wal");
        common::create_tables(&pool).await;
        common::seed(&pool).await;
        let outcome =
            futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(body(&pool, None)))
                .await;
        let _ = pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
        return;
    }
    let Some(db) = TestDb::create(backend, test).await else {
        return;
    };
    common::create_tables(&db.pool).await;
    common::seed(&db.pool).await;
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(body(
        &db.pool,
        db.admin(),
    )))
    .await;
    db.destroy().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// `guarded! { a, b }`: a test per scenario and backend, each on [`on_pool`].
macro_rules! guarded {
    (@backend $module:ident, $backend:ident, $($name:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::on_pool(crate::common::Backend::$backend, stringify!($name), crate::$name).await;
                }
            )+
        }
    };
    ($($name:ident),+ $(,)?) => {
        guarded!(@backend sqlite, Sqlite, $($name),+);
        guarded!(@backend postgres, Postgres, $($name),+);
        guarded!(@backend mysql, MySql, $($name),+);
    };
}

guarded! {
    a_slow_statement_is_cut_at_its_timeout_while_other_tenants_run_as_usual,
    a_slow_statement_in_a_transaction_is_cut_and_the_transaction_rolls_back,
    the_cap_holds_under_200_concurrent_tasks_and_other_tenants_are_not_delayed,
    a_statement_that_waits_past_its_turn_gets_a_retryable_busy_error,
    every_statement_runs_in_a_span_with_the_tenant_the_kind_and_the_tables,
}

fn key(k: &str) -> DataKey {
    DataKey::new(k).expect("key")
}

/// A statement of about `seconds` on the tenanted table `invoice`: a server-side sleep
/// on the servers; on SQLite, a recursive count calibrated by [`sqlite_steps`].
fn slow_statement(backend: DbBackend, seconds: f64, sqlite_steps: u64) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            format!(r#"SELECT pg_sleep({seconds}) AS slept, count(*) AS n FROM "invoice""#)
        }
        DbBackend::MySql => {
            format!("SELECT SLEEP({seconds}) AS slept, count(*) AS n FROM `invoice`")
        }
        _ => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {sqlite_steps}) \
             SELECT (SELECT count(*) FROM c) AS slept, count(*) AS n FROM \"invoice\""
        ),
    };
    Statement::from_string(backend, sql)
}

/// How many steps of the SQLite count take about `seconds` on this machine.
async fn sqlite_steps(pool: &DatabaseConnection, seconds: f64) -> u64 {
    if pool.get_database_backend() != DbBackend::Sqlite {
        return 0;
    }
    let probe = 200_000u64;
    let started = Instant::now();
    pool.query_one_raw(slow_statement(DbBackend::Sqlite, 0.0, probe))
        .await
        .expect("calibrate");
    let per_step = started.elapsed().as_secs_f64() / probe as f64;
    ((seconds / per_step) as u64).max(1_000)
}

/// The tenant's invoices, the quick statement of the neighbours.
async fn quick(db: &TenantConnection) -> Duration {
    let started = Instant::now();
    invoice::Entity::find().all(db).await.expect("quick read");
    started.elapsed()
}

fn tenancy_error(err: &DbErr) -> TenancyError {
    TenancyError::from_db_err(err)
        .unwrap_or_else(|| panic!("expected a tenancy error, got {err}"))
        .clone()
}

async fn a_slow_statement_is_cut_at_its_timeout_while_other_tenants_run_as_usual(
    pool: &DatabaseConnection,
    _admin: Option<(&DatabaseConnection, &str)>,
) {
    let backend = pool.get_database_backend();
    let timeout = Duration::from_millis(400);
    let guardrails = Guardrails::builder()
        .defaults(Limits::new().statement_timeout(timeout))
        .build()
        .expect("guardrails");
    let noisy = TenantConnection::new(pool.clone(), key("1.")).with_guardrails(&guardrails);
    let neighbour = TenantConnection::new(pool.clone(), key("2.")).with_guardrails(&guardrails);
    // The neighbour's usual time, alone.
    let mut usual = Duration::ZERO;
    for _ in 0..5 {
        usual = usual.max(quick(&neighbour).await);
    }
    let steps = sqlite_steps(pool, 30.0).await;

    let slow = {
        let noisy = noisy.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = noisy
                .query_all_raw(slow_statement(backend, 30.0, steps))
                .await;
            (result, started.elapsed())
        })
    };
    // While the slow statement runs, the neighbour reads, on the same pool.
    let mut worst = Duration::ZERO;
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        worst = worst.max(quick(&neighbour).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (result, took) = slow.await.expect("join");
    let err = result.expect_err("the slow statement is cut");
    match tenancy_error(&err) {
        TenancyError::StatementTimeout {
            tenant,
            tables,
            timeout: limit,
        } => {
            assert_eq!(tenant, "1.");
            assert_eq!(tables, "`invoice`");
            assert_eq!(limit, timeout);
        }
        other => panic!("expected a statement timeout, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("tenant `1.`") && text.contains("`invoice`"),
        "{text}"
    );
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(3),
        "cut after {took:?}, its timeout is {timeout:?}"
    );
    assert!(
        worst < usual + Duration::from_millis(250),
        "the neighbour took {worst:?} while the slow statement ran, {usual:?} alone"
    );
    // Both connections are healthy afterwards, and the neighbour is as quick as before.
    let mine = invoice::Entity::find().all(&noisy).await.expect("healthy");
    assert_eq!(mine.len(), common::visible_invoices("1.").len());
    let after = quick(&neighbour).await;
    assert!(after < usual + Duration::from_millis(250), "{after:?}");
}

async fn a_slow_statement_in_a_transaction_is_cut_and_the_transaction_rolls_back(
    pool: &DatabaseConnection,
    _admin: Option<(&DatabaseConnection, &str)>,
) {
    let backend = pool.get_database_backend();
    let timeout = Duration::from_millis(300);
    let guardrails = Guardrails::builder()
        .defaults(Limits::new().statement_timeout(Duration::from_secs(60)))
        .subtree(key("1."), Limits::new().statement_timeout(timeout))
        .build()
        .expect("guardrails");
    let db = TenantConnection::new(pool.clone(), key("1.4.")).with_guardrails(&guardrails);
    assert_eq!(db.limits().statement_timeout, Some(timeout));
    let steps = sqlite_steps(pool, 30.0).await;
    let txn = db.begin().await.expect("begin");
    let started = Instant::now();
    let err = txn
        .query_all_raw(slow_statement(backend, 30.0, steps))
        .await
        .expect_err("cut");
    assert!(
        matches!(tenancy_error(&err), TenancyError::StatementTimeout { ref tenant, .. } if tenant == "1.4."),
        "{err}"
    );
    assert!(started.elapsed() < timeout + Duration::from_secs(3));
    // The statement stopped on the server (on SQLite, inside SQLite): the rollback does
    // not wait for it to run its course.
    let started = Instant::now();
    txn.rollback().await.expect("the transaction rolls back");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the rollback waited {:?}",
        started.elapsed()
    );
    // The connection goes on.
    let rows = invoice::Entity::find().all(&db).await.expect("healthy");
    assert_eq!(rows.len(), common::visible_invoices("1.4.").len());
}

/// How many statements of the test database are in their sleep on the server now (not
/// merely listed: a finished one can linger in the list after its client has moved on),
/// seen from the administrative connection; `None` on SQLite.
async fn sleeping_on_server(admin: Option<(&DatabaseConnection, &str)>) -> Option<u32> {
    let (admin, name) = admin?;
    let backend = admin.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{name}' \
             AND state = 'active' AND wait_event = 'PgSleep'"
        ),
        _ => format!(
            "SELECT CAST(count(*) AS SIGNED) AS n FROM information_schema.processlist \
             WHERE db = '{name}' AND state = 'User sleep'"
        ),
    };
    let row = admin
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("watch the server")
        .expect("a count");
    let n: i64 = row.try_get("", "n").expect("n");
    Some(n as u32)
}

async fn the_cap_holds_under_200_concurrent_tasks_and_other_tenants_are_not_delayed(
    pool: &DatabaseConnection,
    admin: Option<(&DatabaseConnection, &str)>,
) {
    const CAP: u32 = 3;
    const TASKS: usize = 200;
    let backend = pool.get_database_backend();
    let each = 0.03;
    let guardrails = Guardrails::builder()
        .defaults(
            Limits::new()
                .max_in_flight(CAP)
                .queue_timeout(Duration::from_secs(60)),
        )
        .build()
        .expect("guardrails");
    let neighbour = TenantConnection::new(pool.clone(), key("2.")).with_guardrails(&guardrails);
    let mut usual = Duration::ZERO;
    for _ in 0..5 {
        usual = usual.max(quick(&neighbour).await);
    }
    let steps = sqlite_steps(pool, each).await;

    let done = Arc::new(AtomicBool::new(false));
    let most = Arc::new(AtomicU32::new(0));
    let most_on_server = Arc::new(AtomicU32::new(0));
    // Watches the cap from the guardrails' count and, on the servers, from the server's
    // own list of running statements.
    let watcher = {
        let (done, most, guardrails) = (done.clone(), most.clone(), guardrails.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                most.fetch_max(guardrails.in_flight(&key("1.")), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let server_watch = async {
        while !done.load(Ordering::SeqCst) {
            match sleeping_on_server(admin).await {
                Some(n) => most_on_server.fetch_max(n, Ordering::SeqCst),
                None => return,
            };
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            // Each task opens its own connection of the tenant: the cap is shared.
            let db = TenantConnection::new(pool.clone(), key("1.")).with_guardrails(&guardrails);
            tokio::spawn(async move {
                db.query_all_raw(slow_statement(backend, each, steps))
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let neighbour_reads = async {
        // Let the tenant's tasks fill its cap and queue, then read as the neighbour.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut worst = Duration::ZERO;
        for _ in 0..10 {
            worst = worst.max(quick(&neighbour).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worst
    };
    let all_tasks = async {
        for task in tasks {
            task.await.expect("join").expect("every statement runs");
        }
        done.store(true, Ordering::SeqCst);
    };
    let (worst, (), ()) = tokio::join!(neighbour_reads, all_tasks, server_watch);
    let took = started.elapsed();
    watcher.await.expect("watcher");

    let most = most.load(Ordering::SeqCst);
    eprintln!(
        "{TASKS} statements in {took:?}, at most {most} in flight ({} on the server); \
         the neighbour's worst read {worst:?}, {usual:?} alone",
        most_on_server.load(Ordering::SeqCst)
    );
    assert_eq!(
        most, CAP,
        "at most {CAP} in flight, and the cap was reached"
    );
    if admin.is_some() {
        let on_server = most_on_server.load(Ordering::SeqCst);
        assert!(
            (1..=CAP).contains(&on_server),
            "the server ran {on_server} of the tenant's statements at once"
        );
        // With at most CAP at a time, 200 sleeps take at least 200 / CAP of them.
        let floor = Duration::from_secs_f64(each * TASKS as f64 / f64::from(CAP) * 0.9);
        assert!(
            took >= floor,
            "{TASKS} statements in {took:?}, under {floor:?}"
        );
    }
    assert!(
        worst < usual + Duration::from_millis(300),
        "the neighbour took {worst:?} while the tenant was capped, {usual:?} alone ({took:?} for the tenant's tasks)"
    );
    assert_eq!(guardrails.in_flight(&key("1.")), 0);
}

async fn a_statement_that_waits_past_its_turn_gets_a_retryable_busy_error(
    pool: &DatabaseConnection,
    _admin: Option<(&DatabaseConnection, &str)>,
) {
    let backend = pool.get_database_backend();
    let wait = Duration::from_millis(150);
    let guardrails = Guardrails::builder()
        .defaults(Limits::new().max_in_flight(1).queue_timeout(wait))
        .cap_per_subtree(1)
        .build()
        .expect("guardrails");
    let steps = sqlite_steps(pool, 1.0).await;
    // `1.4.` counts against its subtree root `1.`: one statement of the whole subtree.
    let parent = TenantConnection::new(pool.clone(), key("1.")).with_guardrails(&guardrails);
    let child = TenantConnection::new(pool.clone(), key("1.4.")).with_guardrails(&guardrails);
    let other = TenantConnection::new(pool.clone(), key("2.")).with_guardrails(&guardrails);
    let long = {
        let parent = parent.clone();
        tokio::spawn(async move {
            parent
                .query_all_raw(slow_statement(backend, 1.0, steps))
                .await
                .map(|_| ())
        })
    };
    while guardrails.in_flight(&key("1.")) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let err = invoice::Entity::find()
        .all(&child)
        .await
        .expect_err("no turn within the wait");
    let waited = started.elapsed();
    let refused = tenancy_error(&err);
    assert!(refused.is_retryable(), "{refused}");
    match refused {
        TenancyError::TenantBusy {
            tenant,
            limit,
            waited: reported,
        } => {
            assert_eq!((tenant.as_str(), limit), ("1.", 1));
            assert!(reported >= wait, "{reported:?}");
        }
        other => panic!("expected busy, got {other}"),
    }
    assert!(
        waited >= wait && waited < wait + Duration::from_secs(1),
        "{waited:?}"
    );
    // Another subtree has its own turn.
    assert!(quick(&other).await < Duration::from_millis(500));
    long.await
        .expect("join")
        .expect("the long statement finishes");
    // The turn is free again.
    invoice::Entity::find().all(&child).await.expect("a turn");
}

/// A `tenant_statement` span as recorded: its fields, as text.
#[derive(Debug, Clone, Default)]
struct SeenSpan {
    fields: std::collections::BTreeMap<String, String>,
}

struct FieldsOf<'a>(&'a mut std::collections::BTreeMap<String, String>);

impl tracing::field::Visit for FieldsOf<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Records every `tenant_statement` span.
struct StatementSpans(Arc<Mutex<Vec<SeenSpan>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementSpans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "tenant_statement" {
            let mut seen = SeenSpan::default();
            attrs.record(&mut FieldsOf(&mut seen.fields));
            self.0.lock().expect("lock").push(seen);
        }
    }
}

/// The spans of every test of this binary: a process-wide subscriber (a scoped one
/// misses spans whose callsite another test's thread registered first).
fn statement_spans() -> Arc<Mutex<Vec<SeenSpan>>> {
    static SEEN: std::sync::OnceLock<Arc<Mutex<Vec<SeenSpan>>>> = std::sync::OnceLock::new();
    SEEN.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(StatementSpans(seen.clone()))
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sea_orm_tenancy", tracing::Level::DEBUG),
            );
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        seen
    })
    .clone()
}

async fn every_statement_runs_in_a_span_with_the_tenant_the_kind_and_the_tables(
    pool: &DatabaseConnection,
    _admin: Option<(&DatabaseConnection, &str)>,
) {
    use sea_orm::{
        ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, QueryFilter, Set, sea_query::Expr,
    };

    let seen = statement_spans();
    // A tenant of its own, so that the other tests' spans do not count here.
    let tenant = match pool.get_database_backend() {
        DbBackend::Postgres => "31.",
        DbBackend::MySql => "32.",
        _ => "33.",
    };
    // Spans come with or without guardrails.
    let db = TenantConnection::new(pool.clone(), key(tenant));
    invoice::ActiveModel {
        id: NotSet,
        data_key: NotSet,
        number: Set("S-1".to_owned()),
        amount: Set(1),
        customer_id: Set(None),
    }
    .insert(&db)
    .await
    .expect("insert");
    invoice::Entity::update_many()
        .col_expr(invoice::Column::Amount, Expr::value(2))
        .filter(invoice::Column::Number.eq("S-1"))
        .exec(&db)
        .await
        .expect("update");
    let rows = invoice::Entity::find()
        .find_also_related(customer::Entity)
        .all(&db)
        .await
        .expect("select");
    assert_eq!(rows.len(), 1);
    invoice::Entity::delete_many()
        .exec(&db)
        .await
        .expect("delete");

    let mine: Vec<_> = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|s| s.fields.get("tenant").map(String::as_str) == Some(tenant))
        .cloned()
        .collect();
    let described: Vec<(String, String)> = mine
        .iter()
        .map(|s| (s.fields["kind"].clone(), s.fields["tables"].clone()))
        .collect();
    let mut expected = vec![("insert".to_owned(), "invoice".to_owned())];
    if pool.get_database_backend() == DbBackend::MySql {
        // No RETURNING on MariaDB: SeaORM reads the row back.
        expected.push(("select".to_owned(), "invoice".to_owned()));
    }
    expected.extend([
        ("update".to_owned(), "invoice".to_owned()),
        ("select".to_owned(), "invoice,customer".to_owned()),
        ("delete".to_owned(), "invoice".to_owned()),
    ]);
    assert_eq!(described, expected);
}

/// SQLite stops the statement itself: on a pool of one connection, the next statement
/// gets that connection at once (without the interrupt it would wait for the cut
/// statement to finish in the background).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_interrupts_a_statement_past_its_timeout_and_frees_its_connection() {
    let pool = sqlite_pool("sqlite::memory:", 1).await;
    common::create_tables(&pool).await;
    common::seed(&pool).await;
    let timeout = Duration::from_millis(200);
    let guardrails = Guardrails::builder()
        .defaults(Limits::new().statement_timeout(timeout))
        .build()
        .expect("guardrails");
    let db = TenantConnection::new(pool.clone(), key("1.")).with_guardrails(&guardrails);
    let steps = sqlite_steps(&pool, 30.0).await;
    let err = db
        .query_all_raw(slow_statement(DbBackend::Sqlite, 30.0, steps))
        .await
        .expect_err("cut");
    assert!(
        matches!(tenancy_error(&err), TenancyError::StatementTimeout { .. }),
        "{err}"
    );
    let started = Instant::now();
    let other = TenantConnection::new(pool.clone(), key("2."));
    let rows = invoice::Entity::find().all(&other).await.expect("read");
    assert_eq!(rows.len(), common::visible_invoices("2.").len());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the only connection came back after {:?}",
        started.elapsed()
    );
}

/// Per-tenant metrics: statements, rows, errors and latency by tenant and kind.
#[cfg(feature = "metrics")]
#[tokio::test]
async fn metrics_count_each_tenants_statements_rows_and_errors() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let Some(db) = TestDb::create(Backend::Sqlite, "metrics").await else {
        return;
    };
    common::create_tables(&db.pool).await;
    common::seed(&db.pool).await;
    let guardrails = Guardrails::builder()
        .defaults(Limits::new().max_in_flight(4))
        .metrics()
        .build()
        .expect("guardrails");
    // The handles are made when the connection is, from the recorder in place then.
    let (one, two) = metrics::with_local_recorder(&recorder, || {
        (
            TenantConnection::new(db.pool.clone(), key("1.")).with_guardrails(&guardrails),
            TenantConnection::new(db.pool.clone(), key("2.")).with_guardrails(&guardrails),
        )
    });
    invoice::Entity::find().all(&one).await.expect("read");
    invoice::Entity::find().all(&one).await.expect("read");
    invoice::Entity::find().all(&two).await.expect("read");
    // A statement the rewriter refuses counts as an error, of kind `any`.
    let refused = one
        .execute_unprepared("UPDATE invoice SET data_key = '2.'")
        .await;
    assert!(refused.is_err());

    // One snapshot: taking one drains the histograms.
    let snapshot = snapshotter.snapshot().into_vec();
    let value = |name: &str, tenant: &str, kind: &str, error: Option<&str>| {
        snapshot
            .iter()
            .find(|(k, ..)| {
                let labels: Vec<(String, String)> = k
                    .key()
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                k.key().name() == name
                    && labels.contains(&("tenant".to_owned(), tenant.to_owned()))
                    && labels.contains(&("kind".to_owned(), kind.to_owned()))
                    && error.is_none_or(|e| labels.contains(&("error".to_owned(), e.to_owned())))
            })
            .map(|(.., v)| v)
    };
    let rows_of_one = common::visible_invoices("1.").len() as u64;
    assert_eq!(
        value("sea_orm_tenancy_statements_total", "1.", "select", None),
        Some(&DebugValue::Counter(2))
    );
    assert_eq!(
        value("sea_orm_tenancy_rows_total", "1.", "select", None),
        Some(&DebugValue::Counter(2 * rows_of_one))
    );
    assert_eq!(
        value("sea_orm_tenancy_statements_total", "2.", "select", None),
        Some(&DebugValue::Counter(1))
    );
    match value("sea_orm_tenancy_statement_seconds", "1.", "select", None) {
        Some(DebugValue::Histogram(samples)) => assert_eq!(samples.len(), 2),
        other => panic!("latency of 1.: {other:?}"),
    }
    assert_eq!(
        value("sea_orm_tenancy_errors_total", "1.", "any", Some("refused")),
        Some(&DebugValue::Counter(1))
    );
    assert_eq!(
        value(
            "sea_orm_tenancy_errors_total",
            "2.",
            "select",
            Some("database")
        ),
        Some(&DebugValue::Counter(0))
    );
    db.destroy().await;
}

/// A tenant whose timeout is the one the pool sets on its sessions runs its statements as
/// they are, and is still cut and told so; a tenant with another timeout gets its own.
/// On PostgreSQL, a stream outside a transaction is served to the first (a statement in a
/// transaction of its own could not stream) and refused to the second.
async fn a_timeout_the_pool_already_sets_needs_nothing_per_statement(backend: Backend) {
    use futures_util::TryStreamExt;

    let Some(db) = TestDb::create(backend, "pool_timeout").await else {
        return;
    };
    common::create_tables(&db.pool).await;
    common::seed(&db.pool).await;
    let pool_timeout = Duration::from_millis(600);
    let own_timeout = Duration::from_millis(150);
    let mut options = ConnectOptions::new(db.url.clone().expect("a server's URL"));
    options
        .max_connections(2)
        // PostgreSQL's `statement_timeout`, on every session.
        .statement_timeout(pool_timeout)
        .sqlx_logging(false);
    // MariaDB's `max_statement_time`, on every session.
    options.map_sqlx_mysql_pool_opts(move |pool| {
        pool.after_connect(move |conn, _meta| {
            Box::pin(async move {
                use sea_orm::sqlx::Executor;
                conn.execute("SET SESSION max_statement_time = 0.6").await?;
                Ok(())
            })
        })
    });
    let pool = Database::connect(options).await.expect("pool");
    let db_backend = pool.get_database_backend();
    let guardrails = Guardrails::builder()
        .defaults(Limits::new().statement_timeout(pool_timeout))
        .subtree(key("2."), Limits::new().statement_timeout(own_timeout))
        .pool_statement_timeout(pool_timeout)
        .build()
        .expect("guardrails");
    let one = TenantConnection::new(pool.clone(), key("1.")).with_guardrails(&guardrails);
    let two = TenantConnection::new(pool.clone(), key("2.")).with_guardrails(&guardrails);

    let streamed: Vec<invoice::Model> = invoice::Entity::find()
        .stream(&one)
        .await
        .expect("a stream outside a transaction")
        .try_collect()
        .await
        .expect("rows");
    assert_eq!(streamed.len(), common::visible_invoices("1.").len());
    let started = Instant::now();
    let err = one
        .query_all_raw(slow_statement(db_backend, 30.0, 0))
        .await
        .expect_err("cut by the pool's timeout");
    assert!(
        matches!(tenancy_error(&err), TenancyError::StatementTimeout { ref tenant, timeout, .. } if tenant == "1." && timeout == pool_timeout),
        "{err}"
    );
    assert!(started.elapsed() >= pool_timeout - Duration::from_millis(20));

    if db_backend == DbBackend::Postgres {
        let refused = invoice::Entity::find().stream(&two).await.err();
        assert!(
            matches!(
                refused.as_ref().map(tenancy_error),
                Some(TenancyError::UnsupportedStatement { .. })
            ),
            "{refused:?}"
        );
    }
    let started = Instant::now();
    let err = two
        .query_all_raw(slow_statement(db_backend, 30.0, 0))
        .await
        .expect_err("cut by its own timeout");
    let took = started.elapsed();
    assert!(
        matches!(tenancy_error(&err), TenancyError::StatementTimeout { ref tenant, .. } if tenant == "2."),
        "{err}"
    );
    assert!(
        took >= own_timeout && took < pool_timeout,
        "cut after {took:?}: its own {own_timeout:?} applies, not the pool's"
    );
    let _ = pool.close().await;
    db.destroy().await;
}

mod pool_timeout {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_timeout_the_pool_already_sets_needs_nothing_per_statement() {
        crate::a_timeout_the_pool_already_sets_needs_nothing_per_statement(
            crate::common::Backend::Postgres,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql_a_timeout_the_pool_already_sets_needs_nothing_per_statement() {
        crate::a_timeout_the_pool_already_sets_needs_nothing_per_statement(
            crate::common::Backend::MySql,
        )
        .await;
    }
}
