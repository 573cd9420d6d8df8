//! MySQL/MariaDB-only cases: `?` placeholders placed by text position, backticks,
//! ON DUPLICATE KEY UPDATE guards, multi-table UPDATE and DELETE.

use sea_orm::DatabaseBackend::MySql;
use sea_orm_tenancy::MatchMode;

use crate::support::{assert_rewrites, assert_rewrites_in, shown};

const B: &str = "COLLATE utf8mb4_bin";

#[test]
fn tenant_values_land_before_limit_and_offset_values() {
    let v = assert_rewrites(
        MySql,
        "SELECT `invoice`.`id` FROM `invoice` WHERE `invoice`.`id` = ? LIMIT ? OFFSET ?",
        &format!(
            "SELECT `invoice`.`id` FROM `invoice` WHERE `invoice`.`id` = ? AND `invoice`.`data_key` >= ? {B} AND `invoice`.`data_key` < ? {B} LIMIT ? OFFSET ?"
        ),
    );
    assert_eq!(shown(&v), ["0", "1.4.", "1.4/", "1", "2"]);
}

#[test]
fn values_of_a_left_join_are_placed_before_the_where_values() {
    let v = assert_rewrites(
        MySql,
        "SELECT i.id FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id AND c.rank > ? WHERE i.amount > ?",
        &format!(
            "SELECT i.id FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id AND c.rank > ? AND c.`data_key` >= ? {B} AND c.`data_key` < ? {B} WHERE i.amount > ? AND i.`data_key` >= ? {B} AND i.`data_key` < ? {B}"
        ),
    );
    assert_eq!(shown(&v), ["0", "1.4.", "1.4/", "1", "1.4.", "1.4/"]);
}

#[test]
fn exact_mode_compares_bytewise() {
    assert_rewrites_in(
        MySql,
        MatchMode::Exact,
        "SELECT id FROM invoice",
        &format!("SELECT id FROM invoice WHERE invoice.`data_key` = ? {B}"),
    );
}

#[test]
fn insert_many_fills_each_row_in_order() {
    let v = assert_rewrites(
        MySql,
        "INSERT INTO `invoice` (`number`, `amount`) VALUES (?, ?), (?, ?)",
        "INSERT INTO `invoice` (`number`, `amount`, `data_key`) VALUES (?, ?, ?), (?, ?, ?)",
    );
    assert_eq!(shown(&v), ["0", "1", "1.4.", "2", "3", "1.4."]);
}

#[test]
fn on_duplicate_key_update_guards_every_assignment() {
    let v = assert_rewrites(
        MySql,
        "INSERT INTO `invoice` (`id`, `number`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `number` = VALUES(`number`)",
        &format!(
            "INSERT INTO `invoice` (`id`, `number`, `data_key`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `number` = IF(`invoice`.`data_key` >= ? {B} AND `invoice`.`data_key` < ? {B}, VALUES(`number`), `number`)"
        ),
    );
    assert_eq!(shown(&v), ["0", "1", "1.4.", "1.4.", "1.4/"]);
}

#[test]
fn multi_table_update_restricts_every_table() {
    assert_rewrites(
        MySql,
        "UPDATE invoice i JOIN customer c ON c.id = i.customer_id SET i.amount = c.credit",
        &format!(
            "UPDATE invoice i JOIN customer c ON c.id = i.customer_id SET i.amount = c.credit WHERE i.`data_key` >= ? {B} AND i.`data_key` < ? {B} AND c.`data_key` >= ? {B} AND c.`data_key` < ? {B}"
        ),
    );
}

#[test]
fn multi_table_delete_restricts_every_table() {
    assert_rewrites(
        MySql,
        "DELETE i FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE c.closed = 1",
        &format!(
            "DELETE i FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE c.closed = 1 AND i.`data_key` >= ? {B} AND i.`data_key` < ? {B} AND c.`data_key` >= ? {B} AND c.`data_key` < ? {B}"
        ),
    );
}

#[test]
fn backslash_escapes_in_literals_round_trip() {
    assert_rewrites(
        MySql,
        r"SELECT 'it\'s \\ x', 'a''b' FROM country",
        r"SELECT 'it\'s \\ x', 'a''b' FROM country",
    );
}

#[test]
fn executable_comments_are_read_as_mysql_reads_them_and_restricted() {
    assert_rewrites(
        MySql,
        "SELECT id FROM country /*!50000 UNION SELECT id FROM invoice */",
        &format!(
            "SELECT id FROM country UNION SELECT id FROM invoice WHERE invoice.`data_key` >= ? {B} AND invoice.`data_key` < ? {B}"
        ),
    );
}

#[test]
fn ordinary_comments_never_reach_the_database() {
    assert_rewrites(
        MySql,
        "SELECT id /* DELETE FROM invoice */ FROM country -- ; DROP TABLE invoice",
        "SELECT id FROM country",
    );
}

#[test]
fn lock_in_share_mode_is_kept_after_the_tenant_predicate() {
    assert_rewrites(
        MySql,
        "SELECT `id` FROM `invoice` WHERE `id` = ? LOCK IN SHARE MODE",
        &format!(
            "SELECT `id` FROM `invoice` WHERE `id` = ? AND invoice.`data_key` >= ? {B} AND invoice.`data_key` < ? {B} LOCK IN SHARE MODE"
        )
        .replace("invoice.`data_key`", "`invoice`.`data_key`"),
    );
}

// Found by the hostile corpus: MariaDB groups `a XOR b AND c` as `a XOR (b AND c)`, while
// sqlparser reads XOR tighter than `>`; the user's condition must be one operand.
#[test]
fn xor_condition_is_parenthesised_before_the_tenants_and() {
    assert_rewrites(
        MySql,
        "SELECT id FROM invoice WHERE amount > 100 XOR amount > 1000",
        &format!(
            "SELECT id FROM invoice WHERE (amount > 100 XOR amount > 1000) AND invoice.`data_key` >= ? {B} AND invoice.`data_key` < ? {B}"
        ),
    );
}

#[test]
fn xor_in_a_left_join_condition_is_parenthesised() {
    assert_rewrites(
        MySql,
        "SELECT i.id FROM invoice i LEFT JOIN customer c ON c.id = i.customer_id XOR c.id > 3",
        &format!(
            "SELECT i.id FROM invoice i LEFT JOIN customer c ON (c.id = i.customer_id XOR c.id > 3) AND c.`data_key` >= ? {B} AND c.`data_key` < ? {B} WHERE i.`data_key` >= ? {B} AND i.`data_key` < ? {B}"
        ),
    );
}

// Found by fuzzing: without PIPES_AS_CONCAT, MySQL reads `||` as OR.
#[test]
fn pipes_condition_is_parenthesised_before_the_tenants_and() {
    assert_rewrites(
        MySql,
        "SELECT id FROM invoice WHERE id = 1 || 1",
        &format!(
            "SELECT id FROM invoice WHERE (id = 1 || 1) AND invoice.`data_key` >= ? {B} AND invoice.`data_key` < ? {B}"
        ),
    );
}
