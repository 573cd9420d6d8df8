//! The template cache: keyed without the tenant, and bounded.
//!
//! Run: `cargo test --test cache`

use sea_orm::{DbBackend, Statement};
use sea_orm_tenancy::rewrite::rewrite;
use sea_orm_tenancy::{DataKey, MatchMode, Registry};

#[test]
fn ten_thousand_tenants_running_one_query_share_one_template() {
    let registry = Registry::builder().tenanted("invoice", "data_key").build();
    for t in 0..10_000 {
        let key = DataKey::new(format!("{}.{}.", t % 100, t)).expect("key");
        let stmt = Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"SELECT "id" FROM "invoice" WHERE "id" = $1"#,
            [1.into()],
        );
        let out = rewrite(stmt, &key, MatchMode::Prefix, &registry).expect("rewritten");
        let values = out.values.expect("values").0;
        assert_eq!(values[1], sea_orm::Value::from(key.as_str()));
    }
    assert_eq!(registry.cached_templates(), 1);
}

#[test]
fn the_same_sql_in_each_mode_and_backend_is_a_template_of_its_own() {
    let registry = Registry::builder().tenanted("invoice", "data_key").build();
    let key = DataKey::new("1.").expect("key");
    for backend in [DbBackend::MySql, DbBackend::Sqlite] {
        for mode in [MatchMode::Prefix, MatchMode::Exact] {
            let stmt = Statement::from_string(backend, "SELECT id FROM invoice");
            rewrite(stmt, &key, mode, &registry).expect("rewritten");
        }
    }
    assert_eq!(registry.cached_templates(), 4);
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
