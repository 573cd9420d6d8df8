//! The task-scoped tenant (`sea_orm_tenancy::context`): it survives `.await`, follows
//! into tasks started with `context::spawn`, never leaks into sibling tasks or tasks
//! started with plain `tokio::spawn`, and outside a scope it is an error, never a
//! default. Then, on each backend, a connection opened from the scope sees only that
//! tenant's rows.
//!
//! Run: `cargo test --test context` (servers as for `tests/isolation.rs`).

#[macro_use]
mod common;

use std::time::Duration;

use sea_orm::{DatabaseConnection, EntityTrait};
use sea_orm_tenancy::context::{current_tenant, spawn, with_tenant};
use sea_orm_tenancy::{DataKey, TenancyError, TenantConnection};

use common::entities::invoice;

fn key(text: &str) -> DataKey {
    DataKey::new(text).expect("key")
}

fn is_no_tenant(result: Result<DataKey, TenancyError>) -> bool {
    matches!(result, Err(TenancyError::NoTenantInScope { .. }))
}

#[tokio::test]
async fn asking_for_the_tenant_outside_a_scope_is_an_error_not_a_default() {
    assert!(is_no_tenant(current_tenant()));
    let err = current_tenant().expect_err("no scope");
    assert!(err.to_string().contains("no tenant in scope"), "{err}");
    let pool = sea_orm::Database::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    assert!(matches!(
        TenantConnection::for_current_tenant(pool),
        Err(TenancyError::NoTenantInScope { .. })
    ));
}

#[tokio::test]
async fn the_scope_survives_awaits() {
    let seen = with_tenant(key("1.4."), async {
        let mut seen = Vec::new();
        for _ in 0..3 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            seen.push(current_tenant().expect("in scope"));
        }
        seen
    })
    .await;
    assert_eq!(seen, vec![key("1.4."); 3]);
    assert!(
        is_no_tenant(current_tenant()),
        "the scope ended with its future"
    );
}

#[tokio::test]
async fn an_inner_scope_shadows_the_outer_one_until_it_ends() {
    with_tenant(key("1."), async {
        let inner = with_tenant(key("2."), async {
            tokio::task::yield_now().await;
            current_tenant()
        })
        .await;
        assert_eq!(inner.expect("inner"), key("2."));
        assert_eq!(current_tenant().expect("outer"), key("1."));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_started_with_context_spawn_carry_the_tenant_to_any_thread() {
    let handles = with_tenant(key("5."), async {
        (0..8)
            .map(|_| {
                spawn(async {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    // And one level further down.
                    let grandchild = spawn(async { current_tenant() }).expect("in scope");
                    (current_tenant(), grandchild.await.expect("joined"))
                })
                .expect("in scope")
            })
            .collect::<Vec<_>>()
    })
    .await;
    for h in handles {
        let (child, grandchild) = h.await.expect("joined");
        assert_eq!(child.expect("child"), key("5."));
        assert_eq!(grandchild.expect("grandchild"), key("5."));
    }
}

#[tokio::test]
async fn a_task_started_with_tokio_spawn_does_not_inherit_the_scope() {
    let (inside, plain) = with_tenant(key("1."), async {
        let handle = tokio::spawn(async { current_tenant() });
        (current_tenant(), handle.await.expect("joined"))
    })
    .await;
    assert_eq!(inside.expect("in scope"), key("1."));
    assert!(is_no_tenant(plain));
}

#[tokio::test]
async fn spawn_outside_a_scope_starts_nothing() {
    let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = started.clone();
    let refused = spawn(async move {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    assert!(matches!(refused, Err(TenancyError::NoTenantInScope { .. })));
    tokio::task::yield_now().await;
    assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sibling_tasks_keep_their_own_tenants_while_they_interleave() {
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let mine = key(&format!("{}.{}.", i % 5, i));
            tokio::spawn(with_tenant(mine.clone(), async move {
                for round in 0..20 {
                    if round % 3 == 0 {
                        tokio::time::sleep(Duration::from_micros(100)).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                    assert_eq!(current_tenant().expect("in scope"), mine);
                }
                mine
            }))
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.expect("joined"), key(&format!("{}.{}.", i % 5, i)));
    }
    assert!(is_no_tenant(current_tenant()));
}

/// On each backend: a connection opened from the scope, here inside a spawned job, sees
/// exactly what a connection bound to the same tenant sees.
async fn a_connection_from_the_scope_sees_only_that_tenants_rows(pool: &DatabaseConnection) {
    for tenant in common::TENANTS {
        let pool = pool.clone();
        let job = with_tenant(key(tenant), async move {
            spawn(async move {
                let db = TenantConnection::for_current_tenant(pool).expect("in scope");
                invoice::Entity::find().all(&db).await.expect("find")
            })
        })
        .await
        .expect("in scope");
        let rows = job.await.expect("joined");
        let numbers: Vec<&str> = rows.iter().map(|r| r.number.as_str()).collect();
        assert_eq!(
            common::sorted(&numbers),
            common::sorted(&common::visible_invoices(tenant)),
            "{tenant}"
        );
    }
}

scenarios! {
    a_connection_from_the_scope_sees_only_that_tenants_rows,
}
