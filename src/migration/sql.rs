//! The DDL of the migration helpers, per backend: the only place in the schema code that
//! branches on the backend. Pure builders of SQL text; nothing here runs.

use sea_orm::{DbBackend, Statement};

use crate::{DataKey, MAX_DATA_KEY_LEN};

/// The name of the setting that carries the tenant's DataKey in row-level security mode.
pub(crate) const SETTING: &str = crate::connection::RLS_SETTING;
/// The function that reads the setting, validated (`NULL` when empty or malformed).
pub(crate) const KEY_FUNCTION: &str = "sea_orm_tenancy_key";
/// The function that gives the exclusive upper bound of the setting's subtree.
pub(crate) const UPPER_FUNCTION: &str = "sea_orm_tenancy_upper";
/// The name of the policy on every table.
pub(crate) const POLICY: &str = "sea_orm_tenancy";

/// A quoted identifier.
pub(crate) fn ident(backend: DbBackend, name: &str) -> String {
    match backend {
        DbBackend::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A string literal (for a validated DataKey or a fixed text).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `a, b, c`, each quoted.
fn ident_list(backend: DbBackend, names: &[String]) -> String {
    names
        .iter()
        .map(|c| ident(backend, c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The type of a DataKey column of `len` bytes, in the collation that compares bytewise
/// so that an index serves the tenant predicate (see the crate docs' table).
pub(crate) fn data_key_column_type(backend: DbBackend, len: usize) -> String {
    match backend {
        DbBackend::Postgres => format!(r#"varchar({len}) COLLATE "C""#),
        DbBackend::MySql => format!("varchar({len}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
        _ => format!("varchar({len})"),
    }
}

/// The CHECK that holds a DataKey column to the DataKey grammar: segments of
/// `[A-Za-z0-9-]`, each ending with `.`.
pub(crate) fn data_key_check(backend: DbBackend, column: &str) -> String {
    let c = ident(backend, column);
    match backend {
        DbBackend::Postgres => format!("{c} ~ '^([A-Za-z0-9-]+[.])+$'"),
        DbBackend::MySql => format!("{c} REGEXP '^([A-Za-z0-9-]+[.])+$'"),
        // SQLite has no regular expressions without an extension: the same grammar in
        // GLOBs (ends with `.`, only allowed characters, no empty segment).
        _ => format!(
            "{c} GLOB '*.' AND {c} NOT GLOB '*[^A-Za-z0-9.-]*' AND {c} NOT GLOB '.*' AND {c} NOT GLOB '*..*'"
        ),
    }
}

/// The name of the CHECK constraint on `table`'s DataKey column.
pub(crate) fn check_name(table: &str) -> String {
    format!("{table}_data_key_format")
}

/// Adds the DataKey column to `table`, existing rows taking `backfill`.
///
/// `checked: false` leaves the CHECK out: MariaDB refuses a CHECK on a column that a
/// foreign key updates by cascade, and there the composite key holds the value to the
/// target's, which has its own CHECK.
pub(crate) fn add_column(
    backend: DbBackend,
    table: &str,
    column: &str,
    backfill: &DataKey,
    checked: bool,
) -> Vec<String> {
    let (t, c) = (ident(backend, table), ident(backend, column));
    let ty = data_key_column_type(backend, MAX_DATA_KEY_LEN);
    let default = literal(backfill.as_str());
    let check = data_key_check(backend, column);
    let name = ident(backend, &check_name(table));
    match backend {
        DbBackend::Postgres => vec![
            format!(
                "ALTER TABLE {t} ADD COLUMN {c} {ty} NOT NULL DEFAULT {default} CONSTRAINT {name} CHECK ({check})"
            ),
            format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"),
        ],
        DbBackend::MySql => {
            let mut out = vec![format!(
                "ALTER TABLE {t} ADD COLUMN {c} {ty} NOT NULL DEFAULT {default}"
            )];
            if checked {
                out.push(format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {name} CHECK ({check})"
                ));
            }
            out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"));
            out
        }
        // SQLite cannot drop a default: the column keeps `backfill` as its default.
        _ => vec![format!(
            "ALTER TABLE {t} ADD COLUMN {c} {ty} NOT NULL DEFAULT {default} CONSTRAINT {name} CHECK ({check})"
        )],
    }
}

/// Undoes [`add_column`].
pub(crate) fn drop_column(
    backend: DbBackend,
    table: &str,
    column: &str,
    checked: bool,
) -> Vec<String> {
    let (t, c) = (ident(backend, table), ident(backend, column));
    match backend {
        DbBackend::MySql if checked => vec![
            format!(
                "ALTER TABLE {t} DROP CONSTRAINT {}",
                ident(backend, &check_name(table))
            ),
            format!("ALTER TABLE {t} DROP COLUMN {c}"),
        ],
        _ => vec![format!("ALTER TABLE {t} DROP COLUMN {c}")],
    }
}

/// Whether the DataKey column of a table with foreign keys keeps its CHECK (see
/// [`add_column`]).
pub(crate) fn check_with_foreign_keys(backend: DbBackend) -> bool {
    backend != DbBackend::MySql
}

/// `CREATE [UNIQUE] INDEX name ON table (columns)`.
pub(crate) fn create_index(
    backend: DbBackend,
    unique: bool,
    name: &str,
    table: &str,
    columns: &[String],
) -> String {
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        ident(backend, name),
        ident(backend, table),
        ident_list(backend, columns)
    )
}

/// Undoes [`create_index`].
pub(crate) fn drop_index(backend: DbBackend, name: &str, table: &str) -> String {
    match backend {
        DbBackend::MySql => format!(
            "DROP INDEX {} ON {}",
            ident(backend, name),
            ident(backend, table)
        ),
        _ => format!("DROP INDEX {}", ident(backend, name)),
    }
}

/// A composite foreign key `(key column, columns…)` → `target (target key column,
/// target columns…)`, cascading updates so that a move (which re-keys the target) carries
/// the referencing rows along. `None` on SQLite, which cannot add a foreign key to an
/// existing table.
pub(crate) fn add_foreign_key(
    backend: DbBackend,
    name: &str,
    table: &str,
    columns: &[String],
    target: &str,
    target_columns: &[String],
) -> Option<String> {
    match backend {
        DbBackend::Postgres | DbBackend::MySql => Some(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON UPDATE CASCADE ON DELETE RESTRICT",
            ident(backend, table),
            ident(backend, name),
            ident_list(backend, columns),
            ident(backend, target),
            ident_list(backend, target_columns)
        )),
        _ => None,
    }
}

/// Replaces the primary key with `columns` (the DataKey column first). `None` on SQLite,
/// which cannot change a table's primary key. PostgreSQL keeps the constraint name
/// `<table>_pkey` (its default). MariaDB/MySQL also index the old key's columns: InnoDB
/// wants an auto-increment column to lead an index.
pub(crate) fn replace_primary_key(
    backend: DbBackend,
    table: &str,
    columns: &[String],
    lead: &[String],
    composite: bool,
) -> Option<String> {
    let t = ident(backend, table);
    let (new, lead_index) = (
        ident_list(backend, columns),
        ident(backend, &format!("{table}_pk_lead")),
    );
    match backend {
        DbBackend::Postgres => {
            let name = ident(backend, &format!("{table}_pkey"));
            Some(format!(
                "ALTER TABLE {t} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} PRIMARY KEY ({new})"
            ))
        }
        DbBackend::MySql if composite => Some(format!(
            "ALTER TABLE {t} DROP PRIMARY KEY, ADD PRIMARY KEY ({new}), ADD INDEX {lead_index} ({})",
            ident_list(backend, lead)
        )),
        DbBackend::MySql => Some(format!(
            "ALTER TABLE {t} DROP PRIMARY KEY, ADD PRIMARY KEY ({new}), DROP INDEX {lead_index}"
        )),
        _ => None,
    }
}

/// Citus: distributes `table` by `column`, co-located with the other tables distributed
/// by a column of the same type. PostgreSQL only (`None` elsewhere).
pub(crate) fn distribute(backend: DbBackend, table: &str, column: &str) -> Option<String> {
    (backend == DbBackend::Postgres).then(|| {
        format!(
            "SELECT create_distributed_table({}, {})",
            literal(&ident(backend, table)),
            literal(column)
        )
    })
}

/// Citus: copies `table` to every node as a reference table. PostgreSQL only.
pub(crate) fn reference(backend: DbBackend, table: &str) -> Option<String> {
    (backend == DbBackend::Postgres).then(|| {
        format!(
            "SELECT create_reference_table({})",
            literal(&ident(backend, table))
        )
    })
}

/// Citus: undoes [`distribute`] or [`reference`]. PostgreSQL only.
pub(crate) fn undistribute(backend: DbBackend, table: &str) -> Option<String> {
    (backend == DbBackend::Postgres).then(|| {
        format!(
            "SELECT undistribute_table({})",
            literal(&ident(backend, table))
        )
    })
}

/// Undoes [`add_foreign_key`] (`None` on SQLite, which never added one).
pub(crate) fn drop_foreign_key(backend: DbBackend, name: &str, table: &str) -> Option<String> {
    let (t, n) = (ident(backend, table), ident(backend, name));
    match backend {
        DbBackend::MySql => Some(format!("ALTER TABLE {t} DROP FOREIGN KEY {n}")),
        DbBackend::Postgres => Some(format!("ALTER TABLE {t} DROP CONSTRAINT {n}")),
        _ => None,
    }
}

/// The context functions of row-level security (PostgreSQL): the setting, validated, and
/// its subtree's upper bound. An unset, empty (after `RESET` or `DISCARD ALL`) or
/// malformed setting gives `NULL`, which no row matches.
pub(crate) fn create_context_functions() -> Vec<String> {
    // Single-expression SQL functions: the planner inlines them, so the policy's
    // InitPlans cost an expression, not a function call planned on every statement.
    let setting = format!("current_setting('{SETTING}', true)");
    vec![
        format!(
            "CREATE OR REPLACE FUNCTION {KEY_FUNCTION}() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$ \
             SELECT CASE WHEN {setting} ~ '^([A-Za-z0-9-]+[.])+$' AND length({setting}) <= {MAX_DATA_KEY_LEN} \
             THEN {setting} END $$"
        ),
        format!(
            "CREATE OR REPLACE FUNCTION {UPPER_FUNCTION}() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$ \
             SELECT left({KEY_FUNCTION}(), -1) || '/' $$"
        ),
    ]
}

/// Undoes [`create_context_functions`].
pub(crate) fn drop_context_functions() -> Vec<String> {
    vec![
        format!("DROP FUNCTION IF EXISTS {UPPER_FUNCTION}()"),
        format!("DROP FUNCTION IF EXISTS {KEY_FUNCTION}()"),
    ]
}

/// The predicate of the policy: the column in the setting's subtree, bytewise. Each
/// function call is a scalar subquery, so it is evaluated once per statement (an
/// InitPlan), not once per row, and an index on the column serves it.
pub(crate) fn policy_predicate(column: &str) -> String {
    let c = ident(DbBackend::Postgres, column);
    format!(
        r#"{c} COLLATE "C" >= (SELECT {KEY_FUNCTION}()) AND {c} COLLATE "C" < (SELECT {UPPER_FUNCTION}())"#
    )
}

/// Enables and forces row-level security on `table` (PostgreSQL) with the policy.
pub(crate) fn enable_rls(table: &str, column: &str) -> Vec<String> {
    let t = ident(DbBackend::Postgres, table);
    let p = policy_predicate(column);
    vec![
        format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"),
        format!("ALTER TABLE {t} FORCE ROW LEVEL SECURITY"),
        format!("CREATE POLICY {POLICY} ON {t} USING ({p}) WITH CHECK ({p})"),
    ]
}

/// Undoes [`enable_rls`].
pub(crate) fn disable_rls(table: &str) -> Vec<String> {
    let t = ident(DbBackend::Postgres, table);
    vec![
        format!("DROP POLICY IF EXISTS {POLICY} ON {t}"),
        format!("ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY"),
        format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"),
    ]
}

/// The catalog query of `table`'s columns: rows of `name` and `collation` (`NULL` where
/// the backend does not say).
pub(crate) fn columns_query(backend: DbBackend, table: &str) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT a.attname::text AS name, co.collname::text AS collation \
             FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             WHERE t.relname = $1 AND pg_table_is_visible(t.oid) AND a.attnum > 0 AND NOT a.attisdropped"
        }
        DbBackend::MySql => {
            "SELECT column_name AS name, collation_name AS collation FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ?"
        }
        _ => "SELECT name, NULL AS collation FROM pragma_table_info(?)",
    };
    Statement::from_sql_and_values(backend, sql, [table.into()])
}

/// Whether a column of this collation compares bytewise (`None`: the backend's default,
/// bytewise on SQLite only).
pub(crate) fn collation_is_bytewise(backend: DbBackend, collation: Option<&str>) -> bool {
    match (backend, collation) {
        (DbBackend::Postgres, Some(c)) => c == "C" || c == "POSIX",
        (DbBackend::MySql, Some(c)) => c.ends_with("_bin"),
        (DbBackend::Postgres | DbBackend::MySql, None) => false,
        _ => true,
    }
}

/// The catalog query of `table`'s indexes: one row per indexed column, with
/// `index_name`, `is_unique`, `is_primary`, `position` (0-based) and `column_name`.
pub(crate) fn indexes_query(backend: DbBackend, table: &str) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT i.relname::text AS index_name, x.indisunique AS is_unique, x.indisprimary AS is_primary, \
             (k.ord - 1)::bigint AS position, a.attname::text AS column_name \
             FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
             CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE t.relname = $1 AND pg_table_is_visible(t.oid)"
        }
        DbBackend::MySql => {
            "SELECT index_name AS index_name, non_unique = 0 AS is_unique, index_name = 'PRIMARY' AS is_primary, \
             CAST(seq_in_index - 1 AS SIGNED) AS position, column_name AS column_name FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = ?"
        }
        _ => {
            "SELECT il.name AS index_name, il.\"unique\" AS is_unique, il.origin = 'pk' AS is_primary, \
             ii.seqno AS position, ii.name AS column_name \
             FROM pragma_index_list(?1) AS il JOIN pragma_index_info(il.name) AS ii"
        }
    };
    Statement::from_sql_and_values(backend, sql, [table.into()])
}

/// The catalog query of `table`'s foreign keys: one row per column, with `name`,
/// `column_name` and `target`.
pub(crate) fn foreign_keys_query(backend: DbBackend, table: &str) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT c.conname::text AS name, a.attname::text AS column_name, ft.relname::text AS target \
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class ft ON ft.oid = c.confrelid \
             CROSS JOIN LATERAL unnest(c.conkey) AS k(attnum) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE c.contype = 'f' AND t.relname = $1 AND pg_table_is_visible(t.oid)"
        }
        DbBackend::MySql => {
            "SELECT constraint_name AS name, column_name AS column_name, referenced_table_name AS target \
             FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = ? AND referenced_table_name IS NOT NULL"
        }
        _ => {
            "SELECT CAST(id AS TEXT) AS name, \"from\" AS column_name, \"table\" AS target \
             FROM pragma_foreign_key_list(?)"
        }
    };
    Statement::from_sql_and_values(backend, sql, [table.into()])
}

/// Row-level security of `table` (PostgreSQL): `enabled`, `forced`, `owned` (by the
/// connected role or one it is a member of) and `policy` (ours exists).
pub(crate) fn rls_query(table: &str) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT t.relrowsecurity AS enabled, t.relforcerowsecurity AS forced, \
             pg_has_role(current_user, t.relowner, 'MEMBER') AS owned, \
             EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid AND p.polname = '{POLICY}') AS policy \
             FROM pg_class t WHERE t.relname = $1 AND pg_table_is_visible(t.oid)"
        ),
        [table.into()],
    )
}

/// The connected role (PostgreSQL): `superuser`, `bypass` (BYPASSRLS) and `name`.
pub(crate) fn role_query() -> Statement {
    Statement::from_string(
        DbBackend::Postgres,
        "SELECT rolsuper AS superuser, rolbypassrls AS bypass, rolname::text AS name \
         FROM pg_roles WHERE rolname = current_user",
    )
}

/// The views that read `table` (PostgreSQL): `name`, and `invoker` when they are
/// `security_invoker`.
pub(crate) fn views_query(table: &str) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT DISTINCT v.relname::text AS name, \
         coalesce(array_to_string(v.reloptions, ','), '') ~* 'security_invoker=(true|on|yes|1)' AS invoker \
         FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class \
         JOIN pg_class t ON t.oid = d.refobjid \
         WHERE v.relkind = 'v' AND v.oid <> t.oid AND t.relname = $1 AND pg_table_is_visible(t.oid)",
        [table.into()],
    )
}

/// Whether the backend has row-level security (only PostgreSQL).
pub(crate) fn has_rls(backend: DbBackend) -> bool {
    backend == DbBackend::Postgres
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_reads_the_setting_once_through_scalar_subqueries() {
        assert_eq!(
            policy_predicate("data_key"),
            r#""data_key" COLLATE "C" >= (SELECT sea_orm_tenancy_key()) AND "data_key" COLLATE "C" < (SELECT sea_orm_tenancy_upper())"#
        );
    }

    #[test]
    fn the_format_check_is_written_per_backend() {
        assert_eq!(
            data_key_check(DbBackend::MySql, "k"),
            "`k` REGEXP '^([A-Za-z0-9-]+[.])+$'"
        );
        assert!(data_key_check(DbBackend::Sqlite, "k").contains("NOT GLOB '*..*'"));
    }

    #[test]
    fn sqlite_gets_no_foreign_key_on_an_existing_table() {
        let cols = ["k".to_owned(), "a".to_owned()];
        assert!(add_foreign_key(DbBackend::Sqlite, "fk", "t", &cols, "u", &cols).is_none());
        assert!(
            add_foreign_key(DbBackend::Postgres, "fk", "t", &cols, "u", &cols)
                .is_some_and(|s| s.ends_with("ON UPDATE CASCADE ON DELETE RESTRICT"))
        );
    }
}
