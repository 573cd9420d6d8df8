//! The template cache: keyed without the tenant, and bounded.
//!
//! Run: `cargo test --test cache`

use sea_orm::{DbBackend, Statement};
use sea_orm_tenancy::rewrite::rewrite;
use sea_orm_tenancy::{DataKey, MatchMode, Registry};

#[test]
fn ten_thousand_tenants_running_the_same_queries_share_one_template_per_query() {
    let registry = Registry::builder().tenanted("invoice", "data_key").build();
    // A find by id, a list, an insert and an update, as a tenant's request would run.
    let queries: [(&str, Vec<sea_orm::Value>); 4] = [
        (
            r#"SELECT "id" FROM "invoice" WHERE "id" = $1"#,
            vec![1.into()],
        ),
        (
            r#"SELECT "id" FROM "invoice" WHERE "amount" > $1 LIMIT $2"#,
            vec![10.into(), 50u64.into()],
        ),
        (
            r#"INSERT INTO "invoice" ("number") VALUES ($1)"#,
            vec!["N-1".into()],
        ),
        (
            r#"UPDATE "invoice" SET "amount" = $1 WHERE "id" = $2"#,
            vec![5.into(), 1.into()],
        ),
    ];
    // 10,000 tenants in three levels, up to `99.99.`.
    for t in 0..10_000 {
        let key = DataKey::new(format!("{}.{}.", t % 100, t / 100)).expect("key");
        for (sql, values) in &queries {
            let stmt = Statement::from_sql_and_values(DbBackend::Postgres, *sql, values.clone());
            let out = rewrite(stmt, &key, MatchMode::Prefix, &registry).expect("rewritten");
            let bound = out.values.expect("values").0;
            // The tenant travels in the values, never in the cached text.
            assert!(
                bound.contains(&sea_orm::Value::from(key.as_str())),
                "{bound:?}"
            );
            assert!(!out.sql.contains(key.as_str()), "{}", out.sql);
        }
    }
    assert_eq!(registry.cached_templates(), queries.len());
}

#[test]
fn the_same_sql_in_each_mode_and_backend_is_a_template_of_its_own() {
    let registry = Registry::builder().tenanted("invoice", "data_key").build();
    let key = DataKey::new("1.").expect("key");
    for backend in [DbBackend::MySql, DbBackend::Sqlite] {
        for mode in [MatchMode::Prefix, MatchMode::Exact, MatchMode::Distributed] {
            let stmt = Statement::from_string(backend, "SELECT id FROM invoice");
            rewrite(stmt, &key, mode, &registry).expect("rewritten");
        }
    }
    assert_eq!(registry.cached_templates(), 6);
}

#[test]
fn the_cache_is_bounded_by_its_capacity() {
    let registry = Registry::builder()
        .tenanted("invoice", "data_key")
        .cache_capacity(64)
        .build();
    let key = DataKey::new("1.").expect("key");
    for i in 0..2_000 {
        let stmt = Statement::from_string(
            DbBackend::Sqlite,
            format!("SELECT id FROM invoice WHERE id IN ({i})"),
        );
        rewrite(stmt, &key, MatchMode::Prefix, &registry).expect("rewritten");
    }
    assert!(
        registry.cached_templates() <= 64,
        "{}",
        registry.cached_templates()
    );
    assert!(registry.cached_templates() > 0);
}

#[test]
fn refused_statements_are_not_cached() {
    let registry = Registry::builder().build();
    let key = DataKey::new("1.").expect("key");
    let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT * FROM nowhere");
    assert!(rewrite(stmt, &key, MatchMode::Prefix, &registry).is_err());
    assert_eq!(registry.cached_templates(), 0);
}

#[test]
fn a_capacity_of_zero_keeps_nothing_and_still_rewrites() {
    let registry = Registry::builder()
        .tenanted("invoice", "data_key")
        .cache_capacity(0)
        .build();
    let key = DataKey::new("1.").expect("key");
    for _ in 0..3 {
        let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT id FROM invoice");
        let out = rewrite(stmt, &key, MatchMode::Exact, &registry).expect("rewritten");
        assert!(out.sql.contains("data_key"), "{}", out.sql);
    }
    assert_eq!(registry.cached_templates(), 0);
}

#[test]
fn two_registries_never_share_a_template_even_on_one_thread() {
    // Each thread keeps private copies of the templates it used last; they are keyed by
    // registry as well as by SQL text.
    let by_data_key = Registry::builder().tenanted("invoice", "data_key").build();
    let by_owner_key = Registry::builder().tenanted("invoice", "owner_key").build();
    let key = DataKey::new("1.").expect("key");
    for _ in 0..3 {
        for (registry, column) in [(&by_data_key, "data_key"), (&by_owner_key, "owner_key")] {
            let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT id FROM invoice");
            let out = rewrite(stmt, &key, MatchMode::Exact, registry).expect("rewritten");
            assert!(out.sql.contains(column), "{}", out.sql);
        }
    }
}

#[test]
fn threads_running_the_same_statement_get_the_same_rewrite() {
    let registry = std::sync::Arc::new(Registry::builder().tenanted("invoice", "data_key").build());
    let sql = r#"SELECT "id" FROM "invoice" WHERE "id" = $1"#;
    let expected = rewrite(
        Statement::from_sql_and_values(DbBackend::Postgres, sql, [1.into()]),
        &DataKey::new("1.").expect("key"),
        MatchMode::Prefix,
        &registry,
    )
    .expect("rewritten")
    .sql;
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (registry, expected) = (registry.clone(), expected.clone());
            std::thread::spawn(move || {
                let key = DataKey::new(format!("{t}.")).expect("key");
                // More distinct statements than a thread keeps, so its front fills and
                // empties while the shared one answers.
                for i in 0..300 {
                    let other = format!(r#"SELECT "id" FROM "invoice" WHERE "id" = {i}"#);
                    let stmt = Statement::from_string(DbBackend::Postgres, other);
                    rewrite(stmt, &key, MatchMode::Prefix, &registry).expect("rewritten");
                    let stmt = Statement::from_sql_and_values(DbBackend::Postgres, sql, [1.into()]);
                    let out = rewrite(stmt, &key, MatchMode::Prefix, &registry).expect("rewritten");
                    assert_eq!(out.sql, expected);
                    assert_eq!(out.values.expect("values").0[1], key.as_str().into());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    assert_eq!(registry.cached_templates(), 301);
}
