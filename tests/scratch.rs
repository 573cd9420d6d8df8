use sea_orm::{DbBackend, Statement};
use sea_orm_tenancy::{DataKey, MatchMode, Registry, rewrite::{rewrite, rewrite_unprepared}};

#[test]
fn scratch() {
    let r = Registry::builder().tenanted("invoice", "data_key").tenanted("customer", "data_key").tenanted("line", "tenant_key").universal("country").universal_read_only("plan").build();
    let k = DataKey::new("1.4.").unwrap();
    let cases: &[(DbBackend, &str)] = &[
        (DbBackend::Postgres, r#"SELECT "invoice"."id" FROM "invoice" WHERE "invoice"."id" = $1 LIMIT $2"#),
        (DbBackend::MySql, "SELECT `invoice`.`id` FROM `invoice` WHERE `invoice`.`id` = ? LIMIT ? OFFSET ?"),
        (DbBackend::Sqlite, r#"SELECT i.id, c.name FROM invoice AS i LEFT JOIN customer c ON c.id = i.customer_id WHERE i.id > ? OR i.id < ?"#),
        (DbBackend::Sqlite, r#"SELECT * FROM invoice i RIGHT JOIN customer c ON c.id = i.customer_id"#),
        (DbBackend::Postgres, r#"SELECT * FROM invoice i FULL JOIN customer c ON c.id = i.customer_id"#),
        (DbBackend::Postgres, r#"WITH invoice AS (SELECT * FROM invoice WHERE x = $1) SELECT * FROM invoice"#),
        (DbBackend::Postgres, r#"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t WHERE n < 5) SELECT * FROM t, invoice"#),
        (DbBackend::Sqlite, r#"SELECT id FROM invoice UNION SELECT id FROM customer WHERE id IN (SELECT customer_id FROM line)"#),
        (DbBackend::Sqlite, r#"INSERT INTO "invoice" ("number") VALUES (?), (?) RETURNING "id""#),
        (DbBackend::Sqlite, r#"INSERT INTO "invoice" ("number", "data_key") VALUES (?, ?)"#),
        (DbBackend::Postgres, r#"INSERT INTO "invoice" ("id", "number") VALUES ($1, $2) ON CONFLICT ("id") DO UPDATE SET "number" = "excluded"."number""#),
        (DbBackend::MySql, "INSERT INTO `invoice` (`id`, `number`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `number` = VALUES(`number`)"),
        (DbBackend::Postgres, r#"UPDATE "invoice" SET "number" = $1 WHERE "invoice"."id" = $2"#),
        (DbBackend::MySql, "DELETE FROM `invoice` WHERE `invoice`.`id` = ?"),
        (DbBackend::Sqlite, "INSERT INTO invoice DEFAULT VALUES"),
        (DbBackend::Sqlite, "SELECT 'it''s', \"a\"\"b\" FROM country"),
        (DbBackend::MySql, r"SELECT 'it\'s \\ x', 'a''b' FROM country"),
        (DbBackend::Sqlite, "SELECT * FROM unknown_t"),
        (DbBackend::Sqlite, "DROP TABLE invoice"),
        (DbBackend::Sqlite, "UPDATE plan SET name = 'x'"),
        (DbBackend::Sqlite, "SELECT * FROM invoice; DELETE FROM invoice"),
        (DbBackend::MySql, "SELECT * FROM invoice LOCK IN SHARE MODE"),
        (DbBackend::Postgres, r#"SELECT COUNT(*) AS "num_items" FROM (SELECT "invoice"."id" FROM "invoice") AS "sub_query""#),
    ];
    for (b, sql) in cases {
        let n = sql.matches('?').count() + (1..9).filter(|i| sql.contains(&format!("${i}"))).count();
        let stmt = Statement::from_sql_and_values(*b, *sql, (0..n).map(|i| sea_orm::Value::from(i as i32)));
        match rewrite(stmt, &k, MatchMode::Prefix, &r) {
            Ok(s) => println!("{b:?}\n  IN : {sql}\n  OUT: {}\n  VAL: {:?}", s.sql, s.values.map(|v| v.0)),
            Err(e) => println!("{b:?}\n  IN : {sql}\n  ERR: {e}"),
        }
    }
    println!("{:?}", rewrite_unprepared("DELETE FROM invoice; SELECT * FROM customer", DbBackend::MySql, &k, MatchMode::Exact, &r));
}
