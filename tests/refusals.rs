//! Everything a tenant connection refuses, with the typed error it refuses with. Pure:
//! the rewriter alone, no database (the live refusals run in `tests/isolation.rs`).
//!
//! Run: `cargo test --test refusals`

use sea_orm::{DbBackend, DbErr, Statement, Value};
use sea_orm_tenancy::rewrite::{Rewritten, rewrite, rewrite_checked, rewrite_unprepared};
use sea_orm_tenancy::{DataKey, MatchMode, Registry, TenancyError};

fn registry() -> Registry {
    Registry::builder()
        .tenanted("invoice", "data_key")
        .tenanted("customer", "data_key")
        .universal("country")
        .universal_read_only("plan")
        .allow("seaql_migrations")
        .build()
}

fn refused_with(backend: DbBackend, sql: &str, values: Vec<Value>) -> TenancyError {
    let key = DataKey::new("1.4.").expect("key");
    let stmt = Statement::from_sql_and_values(backend, sql, values);
    match rewrite(stmt, &key, MatchMode::Prefix, &registry()) {
        Ok(s) => panic!("`{sql}` was not refused; it became `{}`", s.sql),
        Err(e) => e,
    }
}

fn refused(sql: &str) -> TenancyError {
    refused_with(DbBackend::Sqlite, sql, vec![])
}

#[track_caller]
fn assert_unsupported(err: TenancyError, needle: &str) {
    match &err {
        TenancyError::UnsupportedStatement { tenant, reason } => {
            assert_eq!(tenant, "1.4.");
            assert!(reason.contains(needle), "`{reason}` lacks `{needle}`");
        }
        other => panic!("expected UnsupportedStatement, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid_access(err: TenancyError, table: &str, needle: &str) {
    match &err {
        TenancyError::InvalidTenantAccess {
            table: t,
            tenant,
            reason,
        } => {
            assert_eq!(t, table);
            assert_eq!(tenant, "1.4.");
            assert!(reason.contains(needle), "`{reason}` lacks `{needle}`");
        }
        other => panic!("expected InvalidTenantAccess, got {other:?}"),
    }
}

#[test]
fn ddl_is_refused() {
    for sql in [
        "CREATE TABLE x (id int)",
        "DROP TABLE invoice",
        "ALTER TABLE invoice ADD COLUMN y int",
        "CREATE INDEX i ON invoice (id)",
        "CREATE VIEW v AS SELECT * FROM invoice",
        "CREATE TRIGGER t AFTER INSERT ON invoice BEGIN DELETE FROM customer; END",
    ] {
        assert_unsupported(refused(sql), "refused on a tenant connection");
    }
}

#[test]
fn session_and_engine_commands_are_refused() {
    assert_unsupported(refused("PRAGMA foreign_keys = 0"), "refused");
    assert_unsupported(refused("ATTACH DATABASE 'other.db' AS other"), "refused");
    assert_unsupported(
        refused_with(DbBackend::Postgres, "SET app.tenant = '2.'", vec![]),
        "refused",
    );
    assert_unsupported(
        refused_with(DbBackend::Postgres, "TRUNCATE invoice", vec![]),
        "refused",
    );
    assert_unsupported(
        refused_with(DbBackend::MySql, "TRUNCATE TABLE invoice", vec![]),
        "refused",
    );
    assert_unsupported(
        refused_with(DbBackend::Postgres, "COPY invoice TO STDOUT", vec![]),
        "refused",
    );
    assert_unsupported(refused("BEGIN"), "refused");
    assert_unsupported(refused("EXPLAIN SELECT * FROM invoice"), "refused");
}

#[test]
fn sql_that_does_not_parse_is_refused() {
    assert_unsupported(refused("SELEKT * FROM invoice"), "does not parse");
}

#[test]
fn lock_in_share_mode_anywhere_but_the_end_of_a_select_is_refused_with_a_hint() {
    // At the end of a single SELECT (what `lock_shared()` renders on MySQL) it is
    // accepted: see `tests/isolation.rs`.
    let err = refused_with(
        DbBackend::MySql,
        "SELECT * FROM invoice LOCK IN SHARE MODE UNION SELECT * FROM invoice",
        vec![],
    );
    assert_unsupported(err, "only at the end of a single SELECT");
    let err = refused_with(
        DbBackend::MySql,
        "DELETE FROM invoice LOCK IN SHARE MODE",
        vec![],
    );
    assert_unsupported(err, "must end a single SELECT");
}

#[test]
fn several_statements_in_one_prepared_statement_are_refused() {
    assert_unsupported(
        refused("SELECT 1 FROM country; DELETE FROM invoice"),
        "2 statements",
    );
}

#[test]
fn one_bad_statement_refuses_the_whole_unprepared_batch() {
    let key = DataKey::new("1.4.").expect("key");
    let err = rewrite_unprepared(
        "DELETE FROM invoice; DROP TABLE customer",
        DbBackend::Sqlite,
        &key,
        MatchMode::Prefix,
        &registry(),
    )
    .expect_err("refused");
    assert_unsupported(err, "DROP TABLE");
}

#[test]
fn unclassified_table_is_refused_wherever_it_appears() {
    for sql in [
        "SELECT * FROM audit_log",
        "SELECT * FROM invoice WHERE id IN (SELECT invoice_id FROM audit_log)",
        "SELECT * FROM invoice JOIN audit_log ON true",
        "INSERT INTO audit_log (x) VALUES (1)",
        "UPDATE audit_log SET x = 1",
        "DELETE FROM audit_log",
        "WITH a AS (SELECT * FROM audit_log) SELECT * FROM a",
    ] {
        match refused(sql) {
            TenancyError::UnknownTable { table, tenant } => {
                assert_eq!(table, "audit_log", "{sql}");
                assert_eq!(tenant, "1.4.");
            }
            other => panic!("{sql}: expected UnknownTable, got {other:?}"),
        }
    }
}

#[test]
fn allow_listed_table_is_accepted() {
    let key = DataKey::new("1.4.").expect("key");
    let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT version FROM seaql_migrations");
    let out = rewrite(stmt, &key, MatchMode::Prefix, &registry()).expect("allowed");
    assert_eq!(out.sql, "SELECT version FROM seaql_migrations");
}

#[test]
fn a_table_registered_with_two_data_key_columns_is_refused() {
    let r = Registry::builder()
        .tenanted("t", "a")
        .tenanted("t", "b")
        .build();
    let key = DataKey::new("1.").expect("key");
    let err = rewrite(
        Statement::from_string(DbBackend::Sqlite, "SELECT * FROM t"),
        &key,
        MatchMode::Prefix,
        &r,
    )
    .expect_err("conflict");
    assert!(matches!(err, TenancyError::UnsupportedStatement { .. }));
}

#[test]
fn insert_of_another_tenants_key_is_refused() {
    let err = refused_with(
        DbBackend::Sqlite,
        "INSERT INTO invoice (number, data_key) VALUES (?, ?)",
        vec!["x".into(), "2.".into()],
    );
    assert_invalid_access(err, "invoice", "outside the tenant");
}

#[test]
fn insert_of_the_parent_key_is_refused() {
    let err = refused_with(
        DbBackend::Sqlite,
        "INSERT INTO invoice (number, data_key) VALUES (?, ?)",
        vec!["x".into(), "1.".into()],
    );
    assert_invalid_access(err, "invoice", "outside the tenant");
}

#[test]
fn insert_of_a_sibling_sharing_a_text_prefix_is_refused() {
    let err = refused_with(
        DbBackend::Sqlite,
        "INSERT INTO invoice (number, data_key) VALUES (?, ?)",
        vec!["x".into(), "1.40.".into()],
    );
    assert_invalid_access(err, "invoice", "outside the tenant");
}

#[test]
fn insert_of_a_malformed_key_inside_the_prefix_is_refused() {
    let err = refused_with(
        DbBackend::Sqlite,
        "INSERT INTO invoice (number, data_key) VALUES (?, ?)",
        vec!["x".into(), "1.4.%".into()],
    );
    assert_invalid_access(err, "invoice", "outside the tenant");
}

#[test]
fn insert_of_a_literal_foreign_key_is_refused() {
    assert_invalid_access(
        refused("INSERT INTO invoice (number, data_key) VALUES ('x', '2.')"),
        "invoice",
        "outside the tenant",
    );
}

#[test]
fn insert_of_a_null_key_is_refused() {
    assert_invalid_access(
        refused("INSERT INTO invoice (number, data_key) VALUES ('x', NULL)"),
        "invoice",
        "null",
    );
    let err = refused_with(
        DbBackend::Sqlite,
        "INSERT INTO invoice (number, data_key) VALUES (?, ?)",
        vec!["x".into(), Value::String(None)],
    );
    assert_invalid_access(err, "invoice", "null");
}

#[test]
fn insert_of_a_key_computed_by_an_expression_is_refused() {
    assert_invalid_access(
        refused("INSERT INTO invoice (number, data_key) VALUES ('x', '1.4.' || 'z.')"),
        "invoice",
        "expression",
    );
}

#[test]
fn insert_select_copying_the_key_column_is_refused() {
    assert_invalid_access(
        refused("INSERT INTO invoice (number, data_key) SELECT name, data_key FROM customer"),
        "invoice",
        "expression",
    );
}

#[test]
fn insert_into_a_tenanted_table_without_columns_is_refused() {
    assert_unsupported(
        refused("INSERT INTO invoice VALUES (1, 'x', '1.4.')"),
        "must name its columns",
    );
}

#[test]
fn replace_into_a_tenanted_table_is_refused() {
    assert_unsupported(
        refused_with(
            DbBackend::MySql,
            "REPLACE INTO invoice (id, number) VALUES (1, 'x')",
            vec![],
        ),
        "REPLACE",
    );
    assert_unsupported(
        refused("INSERT OR REPLACE INTO invoice (id, number) VALUES (1, 'x')"),
        "REPLACE",
    );
}

#[test]
fn upsert_that_moves_the_row_to_another_tenant_is_refused() {
    assert_invalid_access(
        refused_with(
            DbBackend::Postgres,
            "INSERT INTO invoice (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET data_key = '2.'",
            vec![],
        ),
        "invoice",
        "outside the tenant",
    );
    assert_invalid_access(
        refused_with(
            DbBackend::MySql,
            "INSERT INTO invoice (id) VALUES (1) ON DUPLICATE KEY UPDATE data_key = '2.'",
            vec![],
        ),
        "invoice",
        "outside the tenant",
    );
}

#[test]
fn update_of_tenant_column_to_another_tenant_is_refused() {
    let err = refused_with(
        DbBackend::Postgres,
        r#"UPDATE "invoice" SET "data_key" = $1 WHERE "id" = $2"#,
        vec!["2.".into(), 1.into()],
    );
    assert_invalid_access(err, "invoice", "outside the tenant");
}

#[test]
fn update_of_tenant_column_by_an_expression_is_refused() {
    assert_invalid_access(
        refused("UPDATE invoice SET data_key = replace(data_key, '1.4.', '2.')"),
        "invoice",
        "expression",
    );
}

#[test]
fn update_of_tenant_column_within_the_subtree_is_allowed() {
    let key = DataKey::new("1.4.").expect("key");
    let stmt = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE invoice SET data_key = ? WHERE id = ?",
        ["1.4.9.".into(), 1.into()],
    );
    assert!(rewrite(stmt, &key, MatchMode::Prefix, &registry()).is_ok());
}

#[test]
fn writes_to_a_read_only_universal_table_are_refused() {
    for sql in [
        "INSERT INTO plan (name) VALUES ('x')",
        "UPDATE plan SET name = 'x'",
        "DELETE FROM plan",
    ] {
        assert_invalid_access(refused(sql), "plan", "read-only");
    }
}

#[test]
fn reads_of_a_read_only_universal_table_are_allowed() {
    let key = DataKey::new("1.4.").expect("key");
    let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT name FROM plan");
    assert!(rewrite(stmt, &key, MatchMode::Prefix, &registry()).is_ok());
}

#[test]
fn functions_that_run_sql_text_or_touch_files_are_refused() {
    assert_unsupported(
        refused_with(
            DbBackend::Postgres,
            "SELECT query_to_xml('select * from invoice', true, true, '')",
            vec![],
        ),
        "query_to_xml",
    );
    assert_unsupported(
        refused_with(
            DbBackend::Postgres,
            "SELECT set_config('app.tenant', '2.', false)",
            vec![],
        ),
        "set_config",
    );
    assert_unsupported(refused("SELECT load_extension('x')"), "load_extension");
    assert_unsupported(
        refused_with(DbBackend::MySql, "SELECT LOAD_FILE('/etc/passwd')", vec![]),
        "LOAD_FILE",
    );
}

#[test]
fn select_into_is_refused() {
    assert_unsupported(
        refused_with(
            DbBackend::Postgres,
            "SELECT * INTO stolen FROM invoice",
            vec![],
        ),
        "INTO",
    );
}

#[test]
fn table_functions_that_are_not_known_to_be_harmless_are_refused() {
    assert_unsupported(
        refused_with(
            DbBackend::Postgres,
            "SELECT * FROM dblink('x', 'y') AS t(a int)",
            vec![],
        ),
        "dblink",
    );
}

#[test]
fn the_internal_marker_text_is_reserved() {
    assert_unsupported(refused("SELECT '__sot_t0__' FROM country"), "reserved");
}

#[test]
fn a_statement_with_fewer_values_than_placeholders_is_refused() {
    let err = refused_with(
        DbBackend::Sqlite,
        "SELECT * FROM invoice WHERE id = ?",
        vec![],
    );
    assert_unsupported(err, "placeholders");
}

#[test]
fn named_placeholders_are_refused() {
    assert_unsupported(
        refused_with(
            DbBackend::Sqlite,
            "SELECT * FROM invoice WHERE id = :id",
            vec![1.into()],
        ),
        "placeholder",
    );
}

#[test]
fn typed_error_comes_back_from_db_err() {
    let err = refused("SELECT * FROM audit_log");
    let db: DbErr = err.clone().into();
    assert_eq!(TenancyError::from_db_err(&db), Some(&err));
    assert!(
        db.to_string()
            .contains("unknown table `audit_log` for tenant `1.4.`")
    );
    assert_eq!(TenancyError::from_db_err(&DbErr::Custom("x".into())), None);
}

#[test]
fn malformed_data_key_is_a_typed_error() {
    for bad in ["", "1", "1..", "a b.", "1.4"] {
        assert!(
            matches!(DataKey::new(bad), Err(TenancyError::InvalidDataKey { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn error_messages_are_lower_case_and_name_table_and_tenant() {
    let err = refused("DELETE FROM plan");
    let text = err.to_string();
    assert!(text.starts_with("invalid tenant access"), "{text}");
    assert!(text.contains("`plan`") && text.contains("`1.4.`"), "{text}");
    assert!(!text.ends_with('.'), "{text}");
}

#[test]
fn is_followed_by_a_placeholder_is_refused_clearly() {
    let err = refused_with(
        DbBackend::MySql,
        "SELECT * FROM invoice WHERE amount IS ?",
        vec![Value::Int(None)],
    );
    assert_unsupported(err, "IS ?");
}

fn schema_registry() -> Registry {
    Registry::builder()
        .tenanted("invoice", "data_key")
        .universal_read_only("plan")
        .allow_schema_changes()
        .build()
}

fn schema_change(sql: &str) -> Result<String, TenancyError> {
    let key = DataKey::new("1.4.").expect("key");
    rewrite(
        Statement::from_string(DbBackend::Sqlite, sql),
        &key,
        MatchMode::Prefix,
        &schema_registry(),
    )
    .map(|s| s.sql)
}

#[test]
fn schema_changes_naming_no_tenanted_table_pass_as_written_when_allowed() {
    // sea-query's `Decimal` column on SQLite: the SQL parser cannot read `real(16, 4)`.
    let sql = r#"CREATE TABLE "scratch" ("id" integer NOT NULL PRIMARY KEY, "price" real(16, 4) NOT NULL)"#;
    assert_eq!(schema_change(sql).expect("allowed"), sql);
    assert_eq!(
        schema_change("DROP TABLE IF EXISTS scratch").expect("allowed"),
        "DROP TABLE IF EXISTS scratch"
    );
    assert_eq!(
        schema_change("CREATE INDEX idx ON scratch (price)").expect("allowed"),
        "CREATE INDEX idx ON scratch (price)"
    );
}

#[test]
fn schema_changes_naming_a_tenanted_table_anywhere_are_refused() {
    for sql in [
        "DROP TABLE invoice",
        "ALTER TABLE invoice ADD COLUMN x int",
        "CREATE TABLE s (id int REFERENCES invoice (id))",
        "CREATE VIEW v AS SELECT * FROM invoice",
        "CREATE TABLE s AS SELECT * FROM \"INVOICE\"",
        "DROP TABLE plan",
    ] {
        assert_unsupported(schema_change(sql).expect_err(sql), "schema change naming");
    }
}

#[test]
fn schema_changes_smuggling_a_second_statement_are_refused() {
    assert_unsupported(
        schema_change("CREATE TABLE s (id int); DELETE FROM invoice").expect_err("refused"),
        "single statement",
    );
}

#[test]
fn schema_changes_are_refused_unless_the_registry_allows_them() {
    let sql = "CREATE TABLE scratch (id int)";
    assert_unsupported(refused(sql), "refused on a tenant connection");
}

// Found by the hostile corpus (tests/corpus/hostile.txt).

#[test]
fn unqualified_data_key_assignment_in_a_mysql_multi_table_update_is_checked() {
    let err = refused_with(
        DbBackend::MySql,
        "UPDATE country JOIN invoice ON country.code = 'FR' SET data_key = '10.'",
        vec![],
    );
    assert_invalid_access(err, "invoice", "outside the tenant");
}

#[test]
fn unqualified_assignment_next_to_a_read_only_table_in_a_mysql_multi_table_update_is_refused() {
    let err = refused_with(
        DbBackend::MySql,
        "UPDATE invoice JOIN plan ON plan.id = 1 SET price = 0",
        vec![],
    );
    assert_unsupported(err, "qualify the column");
}

#[test]
fn functions_that_dump_tables_or_run_sql_text_are_refused() {
    for sql in [
        "SELECT schema_to_xml('public', true, false, '')",
        "SELECT database_to_xml_and_xmlschema(true, false, '')",
        "SELECT table_to_xmlschema('invoice', true, false, '')",
        "SELECT * FROM ts_stat('SELECT to_tsvector(number) FROM invoice')",
        "SELECT ts_rewrite('a'::tsquery, 'SELECT t, s FROM invoice')",
        "SELECT dblink_connect('x')",
        "SELECT pg_read_binary_file('/etc/passwd')",
    ] {
        let err = refused_with(DbBackend::Postgres, sql, vec![]);
        assert!(
            matches!(err, TenancyError::UnsupportedStatement { .. }),
            "`{sql}`: {err:?}"
        );
    }
}

#[test]
fn column_aliases_on_a_tenanted_table_are_refused() {
    let err = refused_with(
        DbBackend::Postgres,
        "SELECT a FROM invoice AS i (a, b, data_key)",
        vec![],
    );
    assert_unsupported(err, "column aliases");
}

#[test]
fn mariadb_executable_comments_are_refused() {
    let err = refused_with(
        DbBackend::MySql,
        "SELECT id FROM invoice /*M!100000 WHERE 1 = 1 */",
        vec![],
    );
    assert_unsupported(err, "executable comments");
}

#[test]
fn a_quoted_cte_name_in_another_case_does_not_hide_the_table_on_postgres() {
    let key = DataKey::new("1.4.").expect("key");
    let stmt = Statement::from_string(
        DbBackend::Postgres,
        r#"WITH "Invoice" AS (SELECT 1 AS id) SELECT id FROM invoice"#,
    );
    let out = rewrite(stmt, &key, MatchMode::Prefix, &registry()).expect("rewritten");
    assert!(
        out.sql.ends_with(r#"FROM invoice WHERE invoice."data_key" COLLATE "C" >= $1 AND invoice."data_key" COLLATE "C" < $2"#),
        "{}",
        out.sql
    );
}

// Found by fuzzing (fuzz/regressions/).

#[test]
fn a_statement_that_would_read_back_differently_is_refused() {
    // sqlparser renders the type modifier without its quotes: the server would read
    // `… FROM invoice --)` and never see the rest.
    for (backend, sql) in [
        (
            DbBackend::Postgres,
            "SELECT NULL::bpchar('1) AS x, data_key FROM invoice --') FROM country",
        ),
        (
            DbBackend::Sqlite,
            "SELECT CAST(NULL AS t('1)) AS x, data_key FROM invoice --')) FROM country",
        ),
    ] {
        let err = refused_with(backend, sql, vec![]);
        assert_unsupported(err, "does not read back");
    }
}

#[test]
fn unprepared_text_that_would_read_back_differently_is_refused() {
    let key = DataKey::new("1.4.").expect("key");
    let err = rewrite_unprepared(
        "DELETE FROM invoice USING customer WHERE SELECT * STARTSnlotomer_id-INVE-------OCTET_LENGTH--0-- RETURNING *",
        DbBackend::Postgres,
        &key,
        MatchMode::Prefix,
        &registry(),
    )
    .expect_err("refused");
    assert!(
        matches!(err, TenancyError::UnsupportedStatement { .. }),
        "{err:?}"
    );
}

#[test]
fn mysql_delete_from_several_tables_checks_each_of_them() {
    let err = refused_with(
        DbBackend::MySql,
        "DELETE FROM invoice, plan USING invoice JOIN plan ON plan.id = invoice.plan_id",
        vec![],
    );
    assert_invalid_access(err, "plan", "read-only");
}

#[test]
fn a_placeholder_numbered_beyond_what_can_be_bound_is_refused() {
    // Once aborted the process: one bind slot was allocated per number up to the highest.
    for sql in [
        "SELECT $1999999999999999",
        "SELECT * FROM invoice WHERE id = $65536",
    ] {
        let err = refused_with(DbBackend::Postgres, sql, vec![]);
        assert_unsupported(err, "beyond the 65535 values");
    }
}

#[test]
fn the_highest_placeholder_that_can_be_bound_is_accepted() {
    let key = DataKey::new("1.4.").expect("key");
    let values: Vec<Value> = (1..=65535).map(|i: i32| i.into()).collect();
    let out = rewrite(
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM invoice WHERE id = $65535",
            values,
        ),
        &key,
        MatchMode::Prefix,
        &registry(),
    )
    .expect("rewritten");
    assert!(out.sql.contains("$65535"), "{}", out.sql);
}

// Foreign keys into tenanted tables (see `rewrite::rewrite_checked`).

fn registry_with_references() -> Registry {
    Registry::builder()
        .tenanted("invoice", "data_key")
        .tenanted("customer", "data_key")
        .tenanted("line", "data_key")
        .universal("country")
        .reference("invoice", &["customer_id"], "customer", &["id"])
        .reference(
            "line",
            &["invoice_id", "invoice_no"],
            "invoice",
            &["id", "number"],
        )
        .reference("country", &["owner_id"], "customer", &["id"])
        .build()
}

fn checked(
    backend: DbBackend,
    sql: &str,
    values: Vec<Value>,
) -> Result<Rewritten<Statement>, TenancyError> {
    let key = DataKey::new("1.4.").expect("key");
    rewrite_checked(
        Statement::from_sql_and_values(backend, sql, values),
        &key,
        MatchMode::Exact,
        &registry_with_references(),
    )
}

#[test]
fn reference_checks_cover_every_written_row_and_skip_nulls() {
    let out = checked(
        DbBackend::Postgres,
        "INSERT INTO invoice (customer_id, number) VALUES ($1, 'a'), (7, 'b'), (NULL, 'c'), ($2, 'd'), ($3, 'e')",
        vec![5.into(), Value::Int(None), 5.into()],
    )
    .expect("rewritten");
    let [check] = out.reference_checks.as_slice() else {
        panic!("one check expected: {:?}", out.reference_checks)
    };
    // $1 and 7 are checked ($3 repeats $1's value, $2 and the literal NULL reference
    // nothing); two rows need no padding.
    assert_eq!(
        check.statement.sql,
        r#"SELECT 1 WHERE (NOT EXISTS (SELECT 1 FROM "customer" WHERE "customer"."id" = $1 AND "customer"."data_key" COLLATE "C" = $2) OR NOT EXISTS (SELECT 1 FROM "customer" WHERE "customer"."id" = 7 AND "customer"."data_key" COLLATE "C" = $3))"#
    );
    assert_eq!(
        check.statement.values.as_ref().expect("values").0,
        vec![Value::from(5), Value::from("1.4."), Value::from("1.4.")]
    );
    assert!(matches!(
        &check.violation,
        TenancyError::InvalidTenantAccess { table, tenant, .. } if table == "invoice" && tenant == "1.4."
    ));
}

#[test]
fn every_way_of_writing_a_foreign_key_is_checked() {
    for (backend, sql, values) in [
        (
            DbBackend::Sqlite,
            "UPDATE invoice SET customer_id = ? WHERE id = 1",
            vec![Value::from(3)],
        ),
        (
            DbBackend::MySql,
            "INSERT INTO invoice SET customer_id = 3, number = 'x'",
            vec![],
        ),
        (
            DbBackend::Postgres,
            "INSERT INTO invoice (id, number) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET customer_id = 3",
            vec![],
        ),
        (
            DbBackend::MySql,
            "INSERT INTO invoice (id, number) VALUES (1, 'x') ON DUPLICATE KEY UPDATE customer_id = -3",
            vec![],
        ),
        (
            DbBackend::Sqlite,
            "INSERT INTO line (invoice_id, invoice_no) VALUES (1, 'n')",
            vec![],
        ),
        (DbBackend::Sqlite, "UPDATE country SET owner_id = 2", vec![]),
        (
            DbBackend::Postgres,
            "WITH x AS (UPDATE invoice SET customer_id = 2 RETURNING id) SELECT * FROM x",
            vec![],
        ),
        (
            DbBackend::MySql,
            "UPDATE invoice JOIN country ON country.code = invoice.number SET customer_id = 2",
            vec![],
        ),
    ] {
        let out = checked(backend, sql, values).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(out.reference_checks.len(), 1, "{sql}");
    }
}

#[test]
fn a_foreign_key_that_cannot_be_checked_is_refused() {
    for (backend, sql) in [
        (
            DbBackend::Sqlite,
            "INSERT INTO invoice (customer_id, number) SELECT id, 'x' FROM customer UNION SELECT 1, 'y'",
        ),
        (
            DbBackend::Sqlite,
            "INSERT INTO invoice (customer_id, number) SELECT *, 'x' FROM customer",
        ),
        (
            DbBackend::Sqlite,
            "INSERT INTO invoice (customer_id, number) VALUES (abs(-3), 'x')",
        ),
        (
            DbBackend::Sqlite,
            "INSERT INTO line (invoice_id) VALUES (1)",
        ),
        (DbBackend::Sqlite, "UPDATE line SET invoice_no = 'n'"),
        (
            DbBackend::Postgres,
            "UPDATE invoice SET (customer_id, number) = (3, 'x')",
        ),
        (
            DbBackend::Postgres,
            "INSERT INTO line (invoice_id, invoice_no) VALUES (1, 'n') ON CONFLICT (id) DO UPDATE SET invoice_id = 2",
        ),
        (DbBackend::Sqlite, "INSERT INTO country VALUES ('FR', 3)"),
    ] {
        let err = checked(backend, sql, vec![])
            .map(|o| o.statement.sql)
            .expect_err(sql);
        assert!(
            matches!(err, TenancyError::UnsupportedStatement { .. }),
            "{sql}: {err:?}"
        );
    }
}

#[test]
fn the_plain_rewrite_refuses_a_write_that_needs_reference_checks() {
    let key = DataKey::new("1.4.").expect("key");
    let err = rewrite(
        Statement::from_string(DbBackend::Sqlite, "UPDATE invoice SET customer_id = 3"),
        &key,
        MatchMode::Prefix,
        &registry_with_references(),
    )
    .expect_err("refused");
    assert_unsupported(err, "rewrite_checked");
    // Writes that set no foreign key are unaffected.
    rewrite(
        Statement::from_string(DbBackend::Sqlite, "UPDATE invoice SET customer_id = NULL"),
        &key,
        MatchMode::Prefix,
        &registry_with_references(),
    )
    .expect("NULL references nothing");
}

#[test]
fn many_rows_are_checked_in_bounded_statements() {
    let rows: Vec<String> = (0..150).map(|i| format!("({i}, 'n')")).collect();
    let sql = format!(
        "INSERT INTO invoice (customer_id, number) VALUES {}",
        rows.join(", ")
    );
    let out = checked(DbBackend::Sqlite, &sql, vec![]).expect("rewritten");
    // 64 + 64 + 22 rows, the last padded to 32.
    let counts: Vec<usize> = out
        .reference_checks
        .iter()
        .map(|c| c.statement.sql.matches("NOT EXISTS").count())
        .collect();
    assert_eq!(counts, [64, 64, 32]);
}

#[test]
fn computed_foreign_keys_are_checked_by_a_query_over_the_same_rows() {
    let out = checked(
        DbBackend::Sqlite,
        "UPDATE invoice AS i SET customer_id = customer_id + ? WHERE i.number = ?",
        vec![1.into(), "x".into()],
    )
    .expect("rewritten");
    let [check] = out.reference_checks.as_slice() else {
        panic!("one check expected")
    };
    assert_eq!(
        check.statement.sql,
        r#"SELECT 1 FROM (SELECT (customer_id + ?) AS tenancy_c0 FROM invoice AS i WHERE i.number = ? AND i."data_key" COLLATE BINARY = ?) AS tenancy_q WHERE tenancy_q.tenancy_c0 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "customer" WHERE "customer"."id" = tenancy_q.tenancy_c0 AND "customer"."data_key" COLLATE BINARY = ?) LIMIT 1"#
    );
    assert_eq!(
        check.statement.values.as_ref().expect("values").0,
        vec![
            Value::from(1),
            Value::from("x"),
            Value::from("1.4."),
            Value::from("1.4.")
        ]
    );

    // INSERT … SELECT, with `$n` kept: the check binds the values up to the highest used;
    // ORDER BY and LIMIT are dropped, so every row the SELECT could give is checked.
    let out = checked(
        DbBackend::Postgres,
        "INSERT INTO invoice (number, customer_id) SELECT $2, c.id FROM customer AS c WHERE c.name = $1 ORDER BY c.id LIMIT 3",
        vec!["Acme".into(), "n".into()],
    )
    .expect("rewritten");
    let [check] = out.reference_checks.as_slice() else {
        panic!("one check expected")
    };
    assert_eq!(
        check.statement.sql,
        r#"SELECT 1 FROM (SELECT c.id AS tenancy_c0 FROM customer AS c WHERE c.name = $1 AND c."data_key" COLLATE "C" = $2) AS tenancy_q WHERE tenancy_q.tenancy_c0 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "customer" WHERE "customer"."id" = tenancy_q.tenancy_c0 AND "customer"."data_key" COLLATE "C" = $3) LIMIT 1"#
    );
    // `$2` (the number) is not needed by the check: `$1` is bound, then the tenant.
    assert_eq!(
        check.statement.values.as_ref().expect("values").0,
        vec![
            Value::from("Acme"),
            Value::from("1.4."),
            Value::from("1.4.")
        ]
    );
}

#[test]
fn a_table_name_the_server_would_not_read_as_a_name_is_refused() {
    // Found by fuzzing: sqlparser takes `@app` for a schema, PostgreSQL for an operator.
    for (backend, sql) in [
        (DbBackend::Postgres, "SELECT id FROM@app.invoice"),
        (DbBackend::MySql, "SELECT id FROM invoice AS @i"),
        // MySQL reads "invoice" as a string unless sql_mode has ANSI_QUOTES.
        (
            DbBackend::MySql,
            r#"SELECT "id" FROM "invoice" WHERE "id" = 1"#,
        ),
        // `true."data_key"` is not a column reference.
        (DbBackend::Postgres, "SELECT *YEARS FROM invoice true"),
        (DbBackend::Sqlite, "SELECT * FROM invoice AS true"),
        // A string where MySQL wants a column, written again inside IF(…).
        (
            DbBackend::MySql,
            "INSERT INTO invoice (id) VALUES (1) ON DUPLICATE KEY UPDATE '2I'.y0 = 1",
        ),
    ] {
        if let Err(e) = sea_orm_tenancy::rewrite::rewrite_unprepared(
            sql,
            backend,
            &DataKey::new("1.4.").expect("key"),
            MatchMode::Prefix,
            &registry(),
        ) {
            assert!(
                matches!(e, TenancyError::UnsupportedStatement { .. }),
                "{sql}: {e:?}"
            );
        } else {
            panic!("{sql} was accepted");
        }
    }
    // Quoted, any name is fine.
    rewrite_unprepared(
        r#"SELECT id FROM "@app".invoice"#,
        DbBackend::Postgres,
        &DataKey::new("1.4.").expect("key"),
        MatchMode::Prefix,
        &Registry::builder().tenanted("invoice", "data_key").build(),
    )
    .expect("a quoted schema name");
}
