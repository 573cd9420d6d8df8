//! Behaviour tests: a `TenantConnection` isolates tenants, proven on live databases.
//!
//! Every scenario below runs unchanged on SQLite (in memory), PostgreSQL and MariaDB,
//! each on a fresh database seeded (through the raw pool) with rows of the tenants `1.`,
//! its child `1.4.`, `2.`, `10.` (whose text starts with `1.`'s) and `A.` (which `a.` must
//! not see). Reads through a tenant connection must return exactly the
//! tenant's rows; after every write, the rows outside the tenant are read back through
//! the raw pool and compared, field for field, with what they were before.
//!
//! The macro at the bottom generates `sqlite::<scenario>`, `postgres::<scenario>` and
//! `mysql::<scenario>` for each scenario. How to run them, and how the servers are found:
//! see `tests/common/mod.rs`. In short:
//!
//!     DATABASE_URL_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!     DATABASE_URL_MYSQL=mysql://root@127.0.0.1:3306/test \
//!     TENANCY_REQUIRE_SERVERS=1 \
//!     cargo test --test isolation

#[macro_use]
mod common;

use futures_util::TryStreamExt;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    DbErr, EntityTrait, ExprTrait, FromQueryResult, IntoActiveModel, LoaderTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait, Set,
    Statement, TransactionTrait,
};
use sea_orm_tenancy::rewrite::rewrite;
use sea_orm_tenancy::{
    DataKey, MatchMode, Registry, TenancyError, TenantConnection, TenantTable,
    where_restrict_tenants,
};

use common::entities::{country, customer, invoice, ledger, plan};
use common::{
    Outside, TENANTS, all_customers, all_invoices, assert_invalid_tenant_access, customer_by_name,
    invoice_by_number, placeholder, sorted, tenant, visible_invoices,
};

fn numbers(rows: &[invoice::Model]) -> Vec<String> {
    rows.iter().map(|r| r.number.clone()).collect()
}

fn names(rows: &[customer::Model]) -> Vec<String> {
    rows.iter().map(|r| r.name.clone()).collect()
}

/// The invoices of tenant `key` under `mode`, read through the raw pool, by id.
async fn expected_invoices(
    db: &DatabaseConnection,
    key: &str,
    mode: MatchMode,
) -> Vec<invoice::Model> {
    let key = DataKey::new(key).expect("key");
    all_invoices(db)
        .await
        .into_iter()
        .filter(|i| key.matches(&i.data_key, mode))
        .collect()
}

/// The customers of tenant `key` (prefix mode), read through the raw pool, by id.
async fn expected_customers(db: &DatabaseConnection, key: &str) -> Vec<customer::Model> {
    let key = DataKey::new(key).expect("key");
    all_customers(db)
        .await
        .into_iter()
        .filter(|c| key.matches(&c.tenant_key, MatchMode::Prefix))
        .collect()
}

async fn tenant_invoices(t: &TenantConnection) -> Vec<invoice::Model> {
    invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .all(t)
        .await
        .expect("find all through the tenant")
}

fn new_invoice(number: &str, amount: i32) -> invoice::ActiveModel {
    invoice::ActiveModel {
        number: Set(number.to_owned()),
        amount: Set(amount),
        customer_id: Set(None),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

async fn find_all_returns_only_the_tenants_rows(db: &DatabaseConnection) {
    for key in TENANTS {
        let t = tenant(db, key);
        let rows = tenant_invoices(&t).await;
        assert_eq!(
            rows,
            expected_invoices(db, key, MatchMode::Prefix).await,
            "{key}"
        );
        assert_eq!(
            sorted(&numbers(&rows)),
            sorted(&visible_invoices(key)),
            "{key}"
        );
        let customers = customer::Entity::find()
            .order_by_asc(customer::Column::Id)
            .all(&t)
            .await
            .expect("customers");
        assert_eq!(customers, expected_customers(db, key).await, "{key}");
    }
    // The expectations themselves, spelled out once.
    assert_eq!(visible_invoices("1."), ["1-A", "1-B", "1-C", "1-D", "14-A"]);
    assert_eq!(visible_invoices("10."), ["10-A"]);
}

async fn find_by_id_of_own_row_returns_it(db: &DatabaseConnection) {
    let own = invoice_by_number(db, "2-A").await;
    let t = tenant(db, "2.");
    let found = invoice::Entity::find_by_id(own.id)
        .one(&t)
        .await
        .expect("find_by_id");
    assert_eq!(found, Some(own));
    // A parent finds its child's row.
    let child = invoice_by_number(db, "14-A").await;
    let found = invoice::Entity::find_by_id(child.id)
        .one(&tenant(db, "1."))
        .await
        .expect("find_by_id");
    assert_eq!(found, Some(child));
}

async fn find_by_id_of_another_tenants_row_returns_none(db: &DatabaseConnection) {
    for (key, foreign) in [
        ("1.", "2-A"),
        ("1.", "10-A"),
        ("1.4.", "1-A"),
        ("2.", "1-C"),
        ("10.", "1-A"),
    ] {
        let row = invoice_by_number(db, foreign).await;
        let found = invoice::Entity::find_by_id(row.id)
            .one(&tenant(db, key))
            .await
            .expect("find_by_id");
        assert_eq!(found, None, "tenant {key} found {foreign}");
    }
    let acme = customer_by_name(db, "Acme").await;
    let found = customer::Entity::find_by_id(acme.id)
        .one(&tenant(db, "2."))
        .await
        .expect("find_by_id");
    assert_eq!(found, None);
}

async fn filter_matches_only_the_tenants_rows(db: &DatabaseConnection) {
    let t = tenant(db, "1.");
    let by_number = invoice::Entity::find()
        .filter(invoice::Column::Number.eq("2-A"))
        .all(&t)
        .await
        .expect("filter");
    assert_eq!(by_number, []);
    let big = invoice::Entity::find()
        .filter(invoice::Column::Amount.gte(100))
        .order_by_asc(invoice::Column::Id)
        .all(&t)
        .await
        .expect("filter");
    assert_eq!(numbers(&big), ["1-A", "1-B", "14-A"]);
    // An OR in the user's filter must not escape the tenant predicate.
    let either = invoice::Entity::find()
        .filter(
            Condition::any()
                .add(invoice::Column::Number.eq("10-A"))
                .add(invoice::Column::Number.eq("1-A"))
                .add(invoice::Column::DataKey.eq("2.")),
        )
        .all(&t)
        .await
        .expect("filter");
    assert_eq!(numbers(&either), ["1-A"]);
    let by_customer = customer::Entity::find()
        .filter(customer::Column::Name.like("%e%"))
        .order_by_asc(customer::Column::Id)
        .all(&t)
        .await
        .expect("filter");
    assert_eq!(names(&by_customer), ["Acme", "Acme Four"]);
}

async fn count_counts_only_the_tenants_rows(db: &DatabaseConnection) {
    for (key, invoices, customers) in [
        ("1.", 5, 2),
        ("1.4.", 1, 1),
        ("2.", 2, 1),
        ("10.", 1, 1),
        ("A.", 1, 1),
        ("a.", 0, 0),
        ("3.", 0, 0),
    ] {
        let t = tenant(db, key);
        let n = invoice::Entity::find().count(&t).await.expect("count");
        assert_eq!(n, invoices, "{key}");
        let n = customer::Entity::find().count(&t).await.expect("count");
        assert_eq!(n, customers, "{key}");
    }
    let n = invoice::Entity::find()
        .filter(invoice::Column::Amount.gt(40))
        .count(&tenant(db, "2."))
        .await
        .expect("count");
    assert_eq!(n, 2);
}

async fn paginate_walks_only_the_tenants_rows(db: &DatabaseConnection) {
    let t = tenant(db, "1.");
    let pages = invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .paginate(&t, 2);
    assert_eq!(pages.num_items().await.expect("num_items"), 5);
    assert_eq!(pages.num_pages().await.expect("num_pages"), 3);
    let mut walked = Vec::new();
    for page in 0..3 {
        let rows = pages.fetch_page(page).await.expect("fetch_page");
        assert_eq!(rows.len(), if page < 2 { 2 } else { 1 }, "page {page}");
        walked.extend(rows);
    }
    assert_eq!(walked, expected_invoices(db, "1.", MatchMode::Prefix).await);
    assert_eq!(pages.fetch_page(3).await.expect("fetch_page"), []);
    let t10 = tenant(db, "10.");
    let small = invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .paginate(&t10, 2);
    assert_eq!(small.num_items().await.expect("num_items"), 1);
    assert_eq!(numbers(&small.fetch_page(0).await.expect("page")), ["10-A"]);

    // Cursor pagination: ids after the tenant's first rows skip every other tenant's.
    let mine = expected_invoices(db, "1.", MatchMode::Prefix).await;
    let mut cursor = invoice::Entity::find().cursor_by(invoice::Column::Id);
    let first = cursor.first(2).all(&t).await.expect("cursor");
    assert_eq!(first, mine[..2]);
    let mut cursor = invoice::Entity::find().cursor_by(invoice::Column::Id);
    let rest = cursor
        .after(mine[1].id)
        .first(10)
        .all(&t)
        .await
        .expect("cursor");
    assert_eq!(rest, mine[2..]);
}

async fn find_also_related_never_joins_another_tenants_row(db: &DatabaseConnection) {
    let acme = customer_by_name(db, "Acme").await;
    let acme4 = customer_by_name(db, "Acme Four").await;
    let globex = customer_by_name(db, "Globex").await;
    let pairs = invoice::Entity::find()
        .find_also_related(customer::Entity)
        .order_by_asc(invoice::Column::Id)
        .all(&tenant(db, "1."))
        .await
        .expect("find_also_related");
    let got: Vec<(String, Option<customer::Model>)> =
        pairs.into_iter().map(|(i, c)| (i.number, c)).collect();
    assert_eq!(
        got,
        [
            ("1-A".to_owned(), Some(acme.clone())),
            ("1-B".to_owned(), Some(acme.clone())),
            // 1-C points at tenant 2.'s customer: the invoice shows, the customer does not.
            ("1-C".to_owned(), None),
            ("1-D".to_owned(), None),
            ("14-A".to_owned(), Some(acme4)),
        ]
    );
    let pairs = invoice::Entity::find()
        .find_also_related(customer::Entity)
        .order_by_asc(invoice::Column::Id)
        .all(&tenant(db, "2."))
        .await
        .expect("find_also_related");
    let got: Vec<(String, Option<customer::Model>)> =
        pairs.into_iter().map(|(i, c)| (i.number, c)).collect();
    assert_eq!(
        got,
        [("2-A".to_owned(), Some(globex)), ("2-B".to_owned(), None)]
    );
}

async fn find_with_related_returns_only_the_tenants_children(db: &DatabaseConnection) {
    let groups = customer::Entity::find()
        .find_with_related(invoice::Entity)
        .order_by_asc(customer::Column::Id)
        .order_by_asc(invoice::Column::Id)
        .all(&tenant(db, "1."))
        .await
        .expect("find_with_related");
    let got: Vec<(String, Vec<String>)> = groups
        .iter()
        .map(|(c, is)| (c.name.clone(), numbers(is)))
        .collect();
    // 2-B (tenant 2.) points at Acme, but is not Acme's as far as tenant 1. can tell.
    assert_eq!(
        got,
        [
            ("Acme".to_owned(), vec!["1-A".to_owned(), "1-B".to_owned()]),
            ("Acme Four".to_owned(), vec!["14-A".to_owned()]),
        ]
    );
    let groups = customer::Entity::find()
        .find_with_related(invoice::Entity)
        .order_by_asc(customer::Column::Id)
        .order_by_asc(invoice::Column::Id)
        .all(&tenant(db, "2."))
        .await
        .expect("find_with_related");
    let got: Vec<(String, Vec<String>)> = groups
        .iter()
        .map(|(c, is)| (c.name.clone(), numbers(is)))
        .collect();
    // 1-C (tenant 1.) points at Globex.
    assert_eq!(got, [("Globex".to_owned(), vec!["2-A".to_owned()])]);

    // find_related from a model: Acme's invoices, as each tenant may see them. The
    // query joins `customer`, which is scoped too: to tenant 2., Acme does not exist,
    // so even 2-B (which points at Acme) does not come back.
    let acme = customer_by_name(db, "Acme").await;
    for (key, expected) in [("1.", vec!["1-A", "1-B"]), ("2.", vec![]), ("10.", vec![])] {
        let related = acme
            .find_related(invoice::Entity)
            .order_by_asc(invoice::Column::Id)
            .all(&tenant(db, key))
            .await
            .expect("find_related");
        assert_eq!(numbers(&related), expected, "{key}");
    }
}

async fn loader_loads_only_the_tenants_related_rows(db: &DatabaseConnection) {
    let t = tenant(db, "1.");
    let customers = customer::Entity::find()
        .order_by_asc(customer::Column::Id)
        .all(&t)
        .await
        .expect("customers");
    assert_eq!(names(&customers), ["Acme", "Acme Four"]);
    let invoices = customers
        .load_many(invoice::Entity, &t)
        .await
        .expect("load_many");
    let got: Vec<Vec<String>> = invoices.iter().map(|is| sorted(&numbers(is))).collect();
    assert_eq!(got, [vec!["1-A", "1-B"], vec!["14-A"]]);

    let invoices = tenant_invoices(&t).await;
    let owners = invoices
        .load_one(customer::Entity, &t)
        .await
        .expect("load_one");
    let got: Vec<(String, Option<String>)> = invoices
        .iter()
        .zip(owners)
        .map(|(i, c)| (i.number.clone(), c.map(|c| c.name)))
        .collect();
    assert_eq!(
        got,
        [
            ("1-A".to_owned(), Some("Acme".to_owned())),
            ("1-B".to_owned(), Some("Acme".to_owned())),
            ("1-C".to_owned(), None),
            ("1-D".to_owned(), None),
            ("14-A".to_owned(), Some("Acme Four".to_owned())),
        ]
    );

    // Models fetched through the raw pool, handed to a tenant's loader: the loader's own
    // query is scoped too.
    let everyone = all_customers(db).await;
    let t2 = tenant(db, "2.");
    let invoices = everyone
        .load_many(invoice::Entity, &t2)
        .await
        .expect("load_many");
    let got: Vec<(String, Vec<String>)> = everyone
        .iter()
        .zip(invoices)
        .map(|(c, is)| (c.name.clone(), sorted(&numbers(&is))))
        .collect();
    assert_eq!(
        got,
        [
            ("Acme".to_owned(), vec!["2-B".to_owned()]),
            ("Acme Four".to_owned(), vec![]),
            ("Globex".to_owned(), vec!["2-A".to_owned()]),
            ("Initech".to_owned(), vec![]),
            ("Alpha".to_owned(), vec![]),
        ]
    );
}

async fn stream_yields_only_the_tenants_rows(db: &DatabaseConnection) {
    for key in TENANTS {
        let t = tenant(db, key);
        let streamed: Vec<invoice::Model> = {
            let stream = invoice::Entity::find()
                .order_by_asc(invoice::Column::Id)
                .stream(&t)
                .await
                .expect("stream");
            stream.try_collect().await.expect("stream rows")
        };
        assert_eq!(
            streamed,
            expected_invoices(db, key, MatchMode::Prefix).await,
            "{key}"
        );
    }
    let t = tenant(db, "1.");
    let txn = t.begin().await.expect("begin");
    let streamed: Vec<invoice::Model> = {
        let stream = invoice::Entity::find()
            .filter(invoice::Column::Amount.gte(100))
            .order_by_asc(invoice::Column::Id)
            .stream(&txn)
            .await
            .expect("stream in a transaction");
        stream.try_collect().await.expect("stream rows")
    };
    txn.commit().await.expect("commit");
    assert_eq!(numbers(&streamed), ["1-A", "1-B", "14-A"]);
}

async fn select_only_into_tuple_sees_only_the_tenants_rows(db: &DatabaseConnection) {
    let t = tenant(db, "2.");
    let tuples: Vec<(String, i32)> = invoice::Entity::find()
        .select_only()
        .column(invoice::Column::Number)
        .column(invoice::Column::Amount)
        .order_by_asc(invoice::Column::Id)
        .into_tuple()
        .all(&t)
        .await
        .expect("into_tuple");
    assert_eq!(tuples, [("2-A".to_owned(), 300), ("2-B".to_owned(), 50)]);
    let count: Option<i64> = invoice::Entity::find()
        .select_only()
        .column_as(invoice::Column::Id.count(), "n")
        .into_tuple()
        .one(&tenant(db, "1."))
        .await
        .expect("count tuple");
    assert_eq!(count, Some(5));
    let keys: Vec<String> = invoice::Entity::find()
        .select_only()
        .column(invoice::Column::DataKey)
        .distinct()
        .order_by_asc(invoice::Column::DataKey)
        .into_tuple()
        .all(&tenant(db, "1."))
        .await
        .expect("distinct keys");
    assert_eq!(keys, ["1.", "1.4."]);
    let per_key: Vec<(String, i64)> = invoice::Entity::find()
        .select_only()
        .column(invoice::Column::DataKey)
        .column_as(invoice::Column::Id.count(), "n")
        .group_by(invoice::Column::DataKey)
        .order_by_asc(invoice::Column::DataKey)
        .into_tuple()
        .all(&tenant(db, "1."))
        .await
        .expect("group by");
    assert_eq!(per_key, [("1.".to_owned(), 4), ("1.4.".to_owned(), 1)]);
}

#[derive(Debug, PartialEq, Eq, FromQueryResult)]
struct NumberOnly {
    number: String,
}

#[derive(Debug, PartialEq, Eq, FromQueryResult)]
struct Total {
    n: i64,
}

async fn raw_statement_into_model_is_scoped(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let t = tenant(db, "1.");
    let rows = invoice::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT * FROM invoice WHERE amount >= {} ORDER BY id",
                placeholder(backend, 1)
            ),
            [100.into()],
        ))
        .all(&t)
        .await
        .expect("from_raw_sql");
    assert_eq!(numbers(&rows), ["1-A", "1-B", "14-A"]);

    let total = Total::find_by_statement(Statement::from_string(
        backend,
        "SELECT COUNT(*) AS n FROM invoice",
    ))
    .one(&tenant(db, "2."))
    .await
    .expect("find_by_statement");
    assert_eq!(total, Some(Total { n: 2 }));

    // A join written by hand: both sides are scoped.
    let joined = NumberOnly::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT i.number FROM invoice i JOIN customer c ON c.id = i.customer_id \
             WHERE c.name = {}",
            placeholder(backend, 1)
        ),
        ["Globex".into()],
    ))
    .all(&t)
    .await
    .expect("raw join");
    assert_eq!(joined, []);
    let joined = NumberOnly::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT i.number FROM invoice i JOIN customer c ON c.id = i.customer_id \
             WHERE c.name = {} ORDER BY i.number",
            placeholder(backend, 1)
        ),
        ["Acme".into()],
    ))
    .all(&t)
    .await
    .expect("raw join");
    assert_eq!(
        joined,
        [
            NumberOnly {
                number: "1-A".into()
            },
            NumberOnly {
                number: "1-B".into()
            }
        ]
    );
    // A subquery reaching for another tenant's row finds nothing.
    let sub = NumberOnly::find_by_statement(Statement::from_string(
        backend,
        "SELECT number FROM invoice WHERE amount < (SELECT MAX(amount) FROM invoice) \
         ORDER BY number",
    ))
    .all(&tenant(db, "2."))
    .await
    .expect("raw subquery");
    // Tenant 2.'s largest is 300, so only 2-B (50) is below it; were 10-A (1000) visible
    // in the subquery, 2-A (300) would show too.
    assert_eq!(
        sub,
        [NumberOnly {
            number: "2-B".into()
        }]
    );
}

// ---------------------------------------------------------------------------------------
// Inserts
// ---------------------------------------------------------------------------------------

async fn insert_fills_the_data_key(db: &DatabaseConnection) {
    let before = Outside::of(db, "1.4.").await;
    let t = tenant(db, "1.4.");
    let inserted = new_invoice("14-NEW", 5).insert(&t).await.expect("insert");
    assert_eq!(inserted.data_key, "1.4.");
    assert_eq!(inserted.number, "14-NEW");
    let stored = invoice_by_number(db, "14-NEW").await;
    assert_eq!(stored, inserted);
    assert_eq!(Outside::of(db, "1.4.").await, before);
    let returned = invoice::Entity::insert(new_invoice("14-RET", 6))
        .exec_with_returning(&t)
        .await
        .expect("exec_with_returning");
    assert_eq!(returned.data_key, "1.4.");
    assert_eq!(invoice_by_number(db, "14-RET").await, returned);
    assert_eq!(Outside::of(db, "1.4.").await, before);

    let before = Outside::of(db, "10.").await;
    let c = customer::ActiveModel {
        name: Set("Initech West".to_owned()),
        ..Default::default()
    }
    .insert(&tenant(db, "10."))
    .await
    .expect("insert customer");
    assert_eq!(c.tenant_key, "10.");
    assert_eq!(customer_by_name(db, "Initech West").await.tenant_key, "10.");
    assert_eq!(Outside::of(db, "10.").await, before);
    // 1. does not see the new row of 10.
    let seen = customer::Entity::find()
        .filter(customer::Column::Name.eq("Initech West"))
        .one(&tenant(db, "1."))
        .await
        .expect("find");
    assert_eq!(seen, None);
}

async fn insert_with_a_forged_data_key_is_refused_and_writes_nothing(db: &DatabaseConnection) {
    let invoices = all_invoices(db).await;
    let customers = all_customers(db).await;
    for (key, forged) in [
        ("2.", "1."),
        ("2.", "20."),
        ("2.", "10."),
        ("1.4.", "1."),
        ("1.", "10."),
        ("1.", "1.4"),
    ] {
        let err = invoice::ActiveModel {
            data_key: Set(forged.to_owned()),
            ..new_invoice("FORGED", 1)
        }
        .insert(&tenant(db, key))
        .await
        .expect_err("a forged DataKey must be refused");
        assert_invalid_tenant_access(&err);
        let err = customer::ActiveModel {
            tenant_key: Set(forged.to_owned()),
            name: Set("Forged".to_owned()),
            ..Default::default()
        }
        .insert(&tenant(db, key))
        .await
        .expect_err("a forged DataKey must be refused");
        assert_invalid_tenant_access(&err);
    }
    // One forged row among good ones: the whole statement is refused.
    let err = invoice::Entity::insert_many([
        invoice::ActiveModel {
            data_key: Set("2.".to_owned()),
            ..new_invoice("GOOD", 1)
        },
        invoice::ActiveModel {
            data_key: Set("1.".to_owned()),
            ..new_invoice("FORGED", 1)
        },
    ])
    .exec(&tenant(db, "2."))
    .await
    .expect_err("a forged DataKey must be refused");
    assert_invalid_tenant_access(&err);
    assert_eq!(all_invoices(db).await, invoices);
    assert_eq!(all_customers(db).await, customers);
}

async fn insert_many_fills_the_data_key_on_every_row(db: &DatabaseConnection) {
    let before = Outside::of(db, "2.").await;
    let t = tenant(db, "2.");
    let res = invoice::Entity::insert_many([
        new_invoice("2-M1", 1),
        new_invoice("2-M2", 2),
        new_invoice("2-M3", 3),
    ])
    .exec(&t)
    .await
    .expect("insert_many");
    assert!(res.last_insert_id.is_some());
    for number in ["2-M1", "2-M2", "2-M3"] {
        assert_eq!(invoice_by_number(db, number).await.data_key, "2.");
    }
    // Explicit keys inside the tenant's subtree are accepted as written.
    invoice::Entity::insert_many([
        invoice::ActiveModel {
            data_key: Set("2.".to_owned()),
            ..new_invoice("2-E1", 1)
        },
        invoice::ActiveModel {
            data_key: Set("2.7.".to_owned()),
            ..new_invoice("2-E2", 2)
        },
    ])
    .exec(&t)
    .await
    .expect("insert_many with explicit keys");
    assert_eq!(invoice_by_number(db, "2-E1").await.data_key, "2.");
    assert_eq!(invoice_by_number(db, "2-E2").await.data_key, "2.7.");
    assert_eq!(Outside::of(db, "2.").await, before);
    assert_eq!(invoice::Entity::find().count(&t).await.expect("count"), 7);
}

async fn save_inserts_then_updates_within_the_tenant(db: &DatabaseConnection) {
    let before = Outside::of(db, "1.").await;
    let t = tenant(db, "1.");
    let saved = new_invoice("1-S", 7).save(&t).await.expect("save (insert)");
    let id = saved.id.clone().unwrap();
    let stored = invoice::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("raw read")
        .expect("saved row");
    assert_eq!(stored.data_key, "1.");
    assert_eq!(stored.amount, 7);
    let mut again = saved;
    again.amount = Set(8);
    let updated = again.save(&t).await.expect("save (update)");
    assert_eq!(updated.amount.clone().unwrap(), 8);
    let stored = invoice::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("raw read")
        .expect("saved row");
    assert_eq!((stored.data_key.as_str(), stored.amount), ("1.", 8));
    assert_eq!(Outside::of(db, "1.").await, before);
}

// ---------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------

async fn update_of_own_row_changes_it(db: &DatabaseConnection) {
    let before = Outside::of(db, "2.").await;
    let t = tenant(db, "2.");
    let own = invoice::Entity::find()
        .filter(invoice::Column::Number.eq("2-A"))
        .one(&t)
        .await
        .expect("find")
        .expect("own row");
    let mut am = own.clone().into_active_model();
    am.amount = Set(301);
    let updated = am.update(&t).await.expect("update");
    assert_eq!(
        updated,
        invoice::Model {
            amount: 301,
            ..own.clone()
        }
    );
    assert_eq!(invoice_by_number(db, "2-A").await, updated);
    assert_eq!(Outside::of(db, "2.").await, before);
    // A parent updates its child's row.
    let child = invoice_by_number(db, "14-A").await;
    let before = Outside::of(db, "1.").await;
    invoice::ActiveModel {
        id: Set(child.id),
        amount: Set(141),
        ..Default::default()
    }
    .update(&tenant(db, "1."))
    .await
    .expect("update a descendant's row");
    assert_eq!(invoice_by_number(db, "14-A").await.amount, 141);
    assert_eq!(Outside::of(db, "1.").await, before);
}

async fn update_by_id_of_another_tenants_row_changes_nothing(db: &DatabaseConnection) {
    let invoices = all_invoices(db).await;
    let customers = all_customers(db).await;
    for (key, foreign) in [
        ("1.", "2-A"),
        ("1.", "10-A"),
        ("1.4.", "1-A"),
        ("10.", "1-B"),
    ] {
        let row = invoice_by_number(db, foreign).await;
        let t = tenant(db, key);
        let err = invoice::ActiveModel {
            id: Set(row.id),
            number: Set("HACKED".to_owned()),
            amount: Set(0),
            ..Default::default()
        }
        .update(&t)
        .await
        .expect_err("another tenant's row must not be updated");
        assert_eq!(
            err,
            DbErr::RecordNotUpdated,
            "tenant {key} updating {foreign}"
        );
        let res = invoice::Entity::update_many()
            .col_expr(invoice::Column::Amount, Expr::value(0))
            .filter(invoice::Column::Id.eq(row.id))
            .exec(&t)
            .await
            .expect("update_many");
        assert_eq!(res.rows_affected, 0, "tenant {key} updating {foreign}");
    }
    let globex = customer_by_name(db, "Globex").await;
    let err = customer::ActiveModel {
        id: Set(globex.id),
        name: Set("HACKED".to_owned()),
        ..Default::default()
    }
    .update(&tenant(db, "1."))
    .await
    .expect_err("another tenant's customer must not be updated");
    assert_eq!(err, DbErr::RecordNotUpdated);
    // Hand-written SQL, bound values.
    let backend = db.get_database_backend();
    let res = tenant(db, "1.")
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE invoice SET amount = {} WHERE number = {}",
                placeholder(backend, 1),
                placeholder(backend, 2)
            ),
            [0.into(), "2-A".into()],
        ))
        .await
        .expect("raw update");
    assert_eq!(res.rows_affected(), 0);
    assert_eq!(all_invoices(db).await, invoices);
    assert_eq!(all_customers(db).await, customers);
}

async fn update_setting_the_data_key_to_another_tenant_is_refused(db: &DatabaseConnection) {
    let invoices = all_invoices(db).await;
    let customers = all_customers(db).await;
    let t = tenant(db, "1.");
    let own = invoice_by_number(db, "1-A").await;
    for forged in ["2.", "10.", "1"] {
        let mut am = own.clone().into_active_model();
        am.data_key = Set(forged.to_owned());
        let err = am.update(&t).await.expect_err("moving a row out must fail");
        assert_invalid_tenant_access(&err);
        let err = invoice::Entity::update_many()
            .col_expr(invoice::Column::DataKey, Expr::value(forged))
            .exec(&t)
            .await
            .expect_err("moving rows out must fail");
        assert_invalid_tenant_access(&err);
    }
    // The child may not move its row up to the parent either.
    let child_row = invoice_by_number(db, "14-A").await;
    let mut am = child_row.into_active_model();
    am.data_key = Set("1.".to_owned());
    let err = am
        .update(&tenant(db, "1.4."))
        .await
        .expect_err("moving a row up must fail");
    assert_invalid_tenant_access(&err);
    let acme = customer_by_name(db, "Acme").await;
    let mut am = acme.into_active_model();
    am.tenant_key = Set("2.".to_owned());
    let err = am
        .update(&t)
        .await
        .expect_err("moving a customer out must fail");
    assert_invalid_tenant_access(&err);
    assert_eq!(all_invoices(db).await, invoices);
    assert_eq!(all_customers(db).await, customers);

    // Moving a row within the tenant's own subtree is allowed.
    let before = Outside::of(db, "1.").await;
    let mut am = own.clone().into_active_model();
    am.data_key = Set("1.4.".to_owned());
    let moved = am.update(&t).await.expect("moving down the subtree");
    assert_eq!(moved.data_key, "1.4.");
    assert_eq!(invoice_by_number(db, "1-A").await.data_key, "1.4.");
    assert_eq!(Outside::of(db, "1.").await, before);
}

async fn update_many_changes_only_the_tenants_rows(db: &DatabaseConnection) {
    let before = Outside::of(db, "1.").await;
    let mine = expected_invoices(db, "1.", MatchMode::Prefix).await;
    let t = tenant(db, "1.");
    let res = invoice::Entity::update_many()
        .col_expr(
            invoice::Column::Amount,
            Expr::col(invoice::Column::Amount).add(1),
        )
        .exec(&t)
        .await
        .expect("update_many");
    assert_eq!(res.rows_affected, 5);
    let after = expected_invoices(db, "1.", MatchMode::Prefix).await;
    let bumped: Vec<_> = mine
        .iter()
        .map(|i| invoice::Model {
            amount: i.amount + 1,
            ..i.clone()
        })
        .collect();
    assert_eq!(after, bumped);
    assert_eq!(Outside::of(db, "1.").await, before);

    // With a filter that other tenants' rows would match too (2-A is 300, 10-A is 1000).
    let res = invoice::Entity::update_many()
        .col_expr(invoice::Column::Number, Expr::value("BIG"))
        .filter(invoice::Column::Amount.gt(150))
        .exec(&t)
        .await
        .expect("update_many");
    assert_eq!(res.rows_affected, 1);
    assert_eq!(invoice_by_number(db, "BIG").await.data_key, "1.");
    let res = customer::Entity::update_many()
        .col_expr(customer::Column::Name, Expr::value("Renamed"))
        .filter(customer::Column::Name.ne("Acme"))
        .exec(&t)
        .await
        .expect("update_many customers");
    assert_eq!(res.rows_affected, 1);
    assert_eq!(customer_by_name(db, "Renamed").await.tenant_key, "1.4.");
    assert_eq!(Outside::of(db, "1.").await, before);
}

// ---------------------------------------------------------------------------------------
// Deletes
// ---------------------------------------------------------------------------------------

async fn delete_of_own_row_removes_it(db: &DatabaseConnection) {
    let before = Outside::of(db, "2.").await;
    let t = tenant(db, "2.");
    let own = invoice::Entity::find()
        .filter(invoice::Column::Number.eq("2-A"))
        .one(&t)
        .await
        .expect("find")
        .expect("own row");
    let res = own.delete(&t).await.expect("delete");
    assert_eq!(res.rows_affected, 1);
    let two_b = invoice_by_number(db, "2-B").await;
    let res = invoice::Entity::delete_by_id(two_b.id)
        .exec(&t)
        .await
        .expect("delete_by_id");
    assert_eq!(res.rows_affected, 1);
    assert!(
        all_invoices(db)
            .await
            .iter()
            .all(|i| i.number != "2-A" && i.number != "2-B")
    );
    assert_eq!(Outside::of(db, "2.").await, before);
}

async fn delete_by_id_of_another_tenants_row_affects_nothing(db: &DatabaseConnection) {
    let invoices = all_invoices(db).await;
    for (key, foreign) in [
        ("1.", "2-A"),
        ("1.", "10-A"),
        ("1.4.", "1-A"),
        ("10.", "1-D"),
    ] {
        let row = invoice_by_number(db, foreign).await;
        let t = tenant(db, key);
        let res = invoice::Entity::delete_by_id(row.id)
            .exec(&t)
            .await
            .expect("delete_by_id");
        assert_eq!(res.rows_affected, 0, "tenant {key} deleting {foreign}");
        // A model fetched elsewhere, deleted through the tenant.
        let res = row.delete(&t).await.expect("delete");
        assert_eq!(res.rows_affected, 0, "tenant {key} deleting {foreign}");
    }
    let res = tenant(db, "2.")
        .execute_raw(Statement::from_string(
            db.get_database_backend(),
            "DELETE FROM invoice WHERE number = '1-A'",
        ))
        .await
        .expect("raw delete");
    assert_eq!(res.rows_affected(), 0);
    assert_eq!(all_invoices(db).await, invoices);
}

async fn delete_many_deletes_only_the_tenants_rows(db: &DatabaseConnection) {
    let before = Outside::of(db, "1.").await;
    // 1-A, 1-C, 1-D and the child's 14-A; 2-B (50) would match too, were it visible.
    let res = invoice::Entity::delete_many()
        .filter(invoice::Column::Amount.lt(150))
        .exec(&tenant(db, "1."))
        .await
        .expect("delete_many");
    assert_eq!(res.rows_affected, 4);
    assert_eq!(
        numbers(&expected_invoices(db, "1.", MatchMode::Prefix).await),
        ["1-B"]
    );
    assert_eq!(Outside::of(db, "1.").await, before);

    let before = Outside::of(db, "2.").await;
    let res = invoice::Entity::delete_many()
        .exec(&tenant(db, "2."))
        .await
        .expect("delete_many");
    assert_eq!(res.rows_affected, 2);
    assert_eq!(Outside::of(db, "2.").await, before);
    assert_eq!(
        sorted(&numbers(&all_invoices(db).await)),
        ["1-B", "10-A", "A-1"]
    );
}

async fn execute_unprepared_delete_is_scoped(db: &DatabaseConnection) {
    let before = Outside::of(db, "1.").await;
    let t = tenant(db, "1.");
    // 2-B (50) would match too, were it visible; 14-A (140) does not match.
    let res = t
        .execute_unprepared("DELETE FROM invoice WHERE amount < 130")
        .await
        .expect("execute_unprepared");
    assert_eq!(res.rows_affected(), 3);
    assert_eq!(Outside::of(db, "1.").await, before);
    let res = t
        .execute_unprepared("UPDATE invoice SET amount = 0")
        .await
        .expect("execute_unprepared");
    assert_eq!(res.rows_affected(), 2);
    let mine = expected_invoices(db, "1.", MatchMode::Prefix).await;
    assert!(mine.iter().all(|i| i.amount == 0), "{mine:?}");
    assert_eq!(Outside::of(db, "1.").await, before);
    let before = Outside::of(db, "10.").await;
    let res = tenant(db, "10.")
        .execute_unprepared("DELETE FROM invoice")
        .await
        .expect("execute_unprepared");
    assert_eq!(res.rows_affected(), 1);
    assert_eq!(Outside::of(db, "10.").await, before);
    assert_eq!(
        sorted(&numbers(&all_invoices(db).await)),
        ["1-B", "14-A", "2-A", "2-B", "A-1"]
    );

    // Several statements in one unprepared string: each is scoped.
    let before = Outside::of(db, "2.").await;
    tenant(db, "2.")
        .execute_unprepared("UPDATE invoice SET amount = 7; UPDATE customer SET name = 'Globex 2'")
        .await
        .expect("execute_unprepared, two statements");
    let mine = expected_invoices(db, "2.", MatchMode::Prefix).await;
    assert!(
        mine.len() == 2 && mine.iter().all(|i| i.amount == 7),
        "{mine:?}"
    );
    assert_eq!(names(&expected_customers(db, "2.").await), ["Globex 2"]);
    assert_eq!(Outside::of(db, "2.").await, before);
}

// ---------------------------------------------------------------------------------------
// Upserts
// ---------------------------------------------------------------------------------------

fn upsert_on_id() -> OnConflict {
    OnConflict::column(invoice::Column::Id)
        .update_columns([
            invoice::Column::Number,
            invoice::Column::Amount,
            invoice::Column::DataKey,
        ])
        .to_owned()
}

async fn upsert_of_own_row_updates_it(db: &DatabaseConnection) {
    let before = Outside::of(db, "2.").await;
    let own = invoice_by_number(db, "2-A").await;
    let t = tenant(db, "2.");
    invoice::Entity::insert(invoice::ActiveModel {
        id: Set(own.id),
        ..new_invoice("2-A*", 333)
    })
    .on_conflict(upsert_on_id())
    .exec(&t)
    .await
    .expect("upsert");
    let stored = invoice::Entity::find_by_id(own.id)
        .one(db)
        .await
        .expect("raw read")
        .expect("row");
    assert_eq!(
        stored,
        invoice::Model {
            number: "2-A*".to_owned(),
            amount: 333,
            ..own
        }
    );
    assert_eq!(Outside::of(db, "2.").await, before);
}

async fn upsert_against_another_tenants_primary_key_does_not_modify_it(db: &DatabaseConnection) {
    let invoices = all_invoices(db).await;
    for (key, foreign) in [("1.", "2-A"), ("1.", "10-A"), ("1.4.", "1-A")] {
        let row = invoice_by_number(db, foreign).await;
        let res = invoice::Entity::insert(invoice::ActiveModel {
            id: Set(row.id),
            ..new_invoice("STOLEN", 9999)
        })
        .on_conflict(upsert_on_id())
        .exec(&tenant(db, key))
        .await;
        match res {
            // Nothing inserted, nothing updated.
            Err(DbErr::RecordNotInserted) => {}
            other => panic!("tenant {key} upserting over {foreign}: {other:?}"),
        }
        assert_eq!(
            all_invoices(db).await,
            invoices,
            "tenant {key} over {foreign}"
        );

        let res = invoice::Entity::insert(invoice::ActiveModel {
            id: Set(row.id),
            ..new_invoice("STOLEN", 9999)
        })
        .on_conflict_do_nothing()
        .exec(&tenant(db, key))
        .await
        .expect("insert, do nothing on conflict");
        assert!(
            matches!(res, sea_orm::TryInsertResult::Conflicted),
            "tenant {key} over {foreign}: {res:?}"
        );
        assert_eq!(
            all_invoices(db).await,
            invoices,
            "tenant {key} over {foreign}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------

async fn transaction_commit_keeps_the_tenant_scope(db: &DatabaseConnection) {
    let before = Outside::of(db, "2.").await;
    let t = tenant(db, "2.");
    let foreign = invoice_by_number(db, "1-A").await;
    let txn = t.begin().await.expect("begin");
    assert_eq!(txn.key().as_str(), "2.");
    let rows = invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .all(&txn)
        .await
        .expect("find in txn");
    assert_eq!(numbers(&rows), ["2-A", "2-B"]);
    let inserted = new_invoice("2-T", 1).insert(&txn).await.expect("insert");
    assert_eq!(inserted.data_key, "2.");
    let found = invoice::Entity::find_by_id(foreign.id)
        .one(&txn)
        .await
        .expect("find_by_id");
    assert_eq!(found, None);
    let res = invoice::Entity::update_many()
        .col_expr(invoice::Column::Amount, Expr::value(0))
        .exec(&txn)
        .await
        .expect("update_many");
    assert_eq!(res.rows_affected, 3);
    let err = invoice::ActiveModel {
        data_key: Set("1.".to_owned()),
        ..new_invoice("FORGED", 1)
    }
    .insert(&txn)
    .await
    .expect_err("forged");
    assert_invalid_tenant_access(&err);
    txn.commit().await.expect("commit");

    let mine = expected_invoices(db, "2.", MatchMode::Prefix).await;
    assert_eq!(sorted(&numbers(&mine)), ["2-A", "2-B", "2-T"]);
    assert!(mine.iter().all(|i| i.amount == 0));
    assert_eq!(Outside::of(db, "2.").await, before);
}

async fn transaction_rollback_discards_writes(db: &DatabaseConnection) {
    let invoices = all_invoices(db).await;
    let t = tenant(db, "2.");
    let txn = t.begin().await.expect("begin");
    new_invoice("2-R", 1).insert(&txn).await.expect("insert");
    let res = invoice::Entity::delete_many()
        .exec(&txn)
        .await
        .expect("delete_many");
    assert_eq!(res.rows_affected, 3);
    assert_eq!(invoice::Entity::find().count(&txn).await.expect("count"), 0);
    txn.rollback().await.expect("rollback");
    assert_eq!(all_invoices(db).await, invoices);
    assert_eq!(invoice::Entity::find().count(&t).await.expect("count"), 2);
}

async fn transaction_closure_commits_on_ok_and_rolls_back_on_err(db: &DatabaseConnection) {
    let before = Outside::of(db, "10.").await;
    let t = tenant(db, "10.");
    let id = t
        .transaction::<_, i32, DbErr>(|txn| {
            Box::pin(async move {
                let m = new_invoice("10-OK", 1).insert(txn).await?;
                assert_eq!(m.data_key, "10.");
                let others = invoice::Entity::find()
                    .filter(invoice::Column::Number.eq("1-A"))
                    .all(txn)
                    .await?;
                assert_eq!(others, []);
                Ok(m.id)
            })
        })
        .await
        .expect("transaction commits");
    assert_eq!(invoice_by_number(db, "10-OK").await.id, id);

    let invoices = all_invoices(db).await;
    let err = t
        .transaction::<_, (), DbErr>(|txn| {
            Box::pin(async move {
                new_invoice("10-ROLLED-BACK", 1).insert(txn).await?;
                invoice::Entity::delete_many().exec(txn).await?;
                Err(DbErr::Custom("abort".to_owned()))
            })
        })
        .await
        .expect_err("transaction rolls back");
    assert!(
        matches!(&err, sea_orm::TransactionError::Transaction(DbErr::Custom(m)) if m == "abort"),
        "{err:?}"
    );
    assert_eq!(all_invoices(db).await, invoices);

    // A refusal inside the closure is an error like any other: everything rolls back.
    let err = t
        .transaction::<_, (), DbErr>(|txn| {
            Box::pin(async move {
                new_invoice("10-BEFORE", 1).insert(txn).await?;
                invoice::ActiveModel {
                    data_key: Set("1.".to_owned()),
                    ..new_invoice("FORGED", 1)
                }
                .insert(txn)
                .await?;
                Ok(())
            })
        })
        .await
        .expect_err("forged insert aborts the transaction");
    match &err {
        sea_orm::TransactionError::Transaction(e) => assert_invalid_tenant_access(e),
        other => panic!("{other:?}"),
    }
    assert_eq!(all_invoices(db).await, invoices);

    // The async-closure form.
    let n = t
        .transaction_async(async |txn| {
            new_invoice("10-ASYNC", 2).insert(txn).await?;
            invoice::Entity::find().count(txn).await
        })
        .await
        .expect("transaction_async");
    assert_eq!(n, 3);
    assert_eq!(invoice_by_number(db, "10-ASYNC").await.data_key, "10.");
    assert_eq!(Outside::of(db, "10.").await, before);
}

async fn nested_transaction_keeps_the_tenant_scope(db: &DatabaseConnection) {
    let before = Outside::of(db, "2.").await;
    let t = tenant(db, "2.");
    let outer = t.begin().await.expect("begin");
    new_invoice("2-OUTER", 1)
        .insert(&outer)
        .await
        .expect("insert");
    {
        let inner = outer.begin().await.expect("savepoint");
        assert_eq!(inner.key().as_str(), "2.");
        let rows = invoice::Entity::find()
            .order_by_asc(invoice::Column::Id)
            .all(&inner)
            .await
            .expect("find in savepoint");
        assert_eq!(numbers(&rows), ["2-A", "2-B", "2-OUTER"]);
        new_invoice("2-INNER-ROLLED-BACK", 1)
            .insert(&inner)
            .await
            .expect("insert");
        let res = invoice::Entity::update_many()
            .col_expr(invoice::Column::Amount, Expr::value(-1))
            .exec(&inner)
            .await
            .expect("update_many");
        assert_eq!(res.rows_affected, 4);
        let err = invoice::ActiveModel {
            data_key: Set("10.".to_owned()),
            ..new_invoice("FORGED", 1)
        }
        .insert(&inner)
        .await
        .expect_err("forged");
        assert_invalid_tenant_access(&err);
        inner.rollback().await.expect("rollback savepoint");
    }
    {
        let inner = outer.begin().await.expect("savepoint");
        let deepest = inner.begin().await.expect("savepoint in savepoint");
        new_invoice("2-DEEPEST", 1)
            .insert(&deepest)
            .await
            .expect("insert");
        let res = invoice::Entity::delete_many()
            .filter(invoice::Column::Number.eq("1-A"))
            .exec(&deepest)
            .await
            .expect("delete_many");
        assert_eq!(res.rows_affected, 0);
        deepest.commit().await.expect("release");
        inner.commit().await.expect("release");
    }
    let n = outer
        .transaction::<_, u64, DbErr>(|txn| {
            Box::pin(async move { invoice::Entity::find().count(txn).await })
        })
        .await
        .expect("nested closure");
    assert_eq!(n, 4);
    outer.commit().await.expect("commit");

    let mine = expected_invoices(db, "2.", MatchMode::Prefix).await;
    assert_eq!(
        sorted(&numbers(&mine)),
        ["2-A", "2-B", "2-DEEPEST", "2-OUTER"]
    );
    assert!(mine.iter().all(|i| i.data_key == "2." && i.amount >= 0));
    assert_eq!(Outside::of(db, "2.").await, before);
}

// ---------------------------------------------------------------------------------------
// The hierarchy and the match modes
// ---------------------------------------------------------------------------------------

async fn parent_sees_its_childs_rows_but_never_a_tenant_sharing_its_prefix_text(
    db: &DatabaseConnection,
) {
    let t = tenant(db, "1.");
    let seen = numbers(&tenant_invoices(&t).await);
    assert!(seen.contains(&"14-A".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"10-A".to_owned()), "{seen:?}");
    let customers = customer::Entity::find()
        .order_by_asc(customer::Column::Id)
        .all(&t)
        .await
        .expect("customers");
    assert_eq!(names(&customers), ["Acme", "Acme Four"]);
    // And the other way round: 10. sees nothing of 1.
    let t10 = tenant(db, "10.");
    assert_eq!(numbers(&tenant_invoices(&t10).await), ["10-A"]);
    let customers = customer::Entity::find().all(&t10).await.expect("customers");
    assert_eq!(names(&customers), ["Initech"]);
}

async fn child_does_not_see_its_parents_rows(db: &DatabaseConnection) {
    let t = tenant(db, "1.4.");
    assert_eq!(numbers(&tenant_invoices(&t).await), ["14-A"]);
    let customers = customer::Entity::find().all(&t).await.expect("customers");
    assert_eq!(names(&customers), ["Acme Four"]);
    let before = Outside::of(db, "1.4.").await;
    let res = invoice::Entity::update_many()
        .col_expr(invoice::Column::Amount, Expr::value(1))
        .exec(&t)
        .await
        .expect("update_many");
    assert_eq!(res.rows_affected, 1);
    assert_eq!(Outside::of(db, "1.4.").await, before);
    assert_eq!(invoice_by_number(db, "1-A").await.amount, 100);
}

async fn exact_mode_sees_only_its_own_level(db: &DatabaseConnection) {
    let t = tenant(db, "1.").with_mode(MatchMode::Exact);
    assert_eq!(
        tenant_invoices(&t).await,
        expected_invoices(db, "1.", MatchMode::Exact).await
    );
    assert_eq!(
        numbers(&tenant_invoices(&t).await),
        ["1-A", "1-B", "1-C", "1-D"]
    );
    assert_eq!(invoice::Entity::find().count(&t).await.expect("count"), 4);
    let child = invoice_by_number(db, "14-A").await;
    let found = invoice::Entity::find_by_id(child.id)
        .one(&t)
        .await
        .expect("find_by_id");
    assert_eq!(found, None);
    let customers = customer::Entity::find().all(&t).await.expect("customers");
    assert_eq!(names(&customers), ["Acme"]);

    let before = Outside::of_mode(db, "1.", MatchMode::Exact).await;
    assert!(before.invoices.contains(&child));
    let err = invoice::ActiveModel {
        data_key: Set("1.4.".to_owned()),
        ..new_invoice("CHILD", 1)
    }
    .insert(&t)
    .await
    .expect_err("exact mode writes its own level only");
    assert_invalid_tenant_access(&err);
    let res = invoice::Entity::update_many()
        .col_expr(invoice::Column::Amount, Expr::value(0))
        .exec(&t)
        .await
        .expect("update_many");
    assert_eq!(res.rows_affected, 4);
    let res = invoice::Entity::delete_by_id(child.id)
        .exec(&t)
        .await
        .expect("delete_by_id");
    assert_eq!(res.rows_affected, 0);
    let inserted = new_invoice("1-EXACT", 1).insert(&t).await.expect("insert");
    assert_eq!(inserted.data_key, "1.");
    assert_eq!(Outside::of_mode(db, "1.", MatchMode::Exact).await, before);
    // The child, in exact mode, sees its own level.
    let t14 = tenant(db, "1.4.").with_mode(MatchMode::Exact);
    assert_eq!(numbers(&tenant_invoices(&t14).await), ["14-A"]);
}

async fn distributed_mode_sees_its_own_level_and_joins_within_it(db: &DatabaseConnection) {
    let t = tenant(db, "1.").with_mode(MatchMode::Distributed);
    assert_eq!(
        numbers(&tenant_invoices(&t).await),
        ["1-A", "1-B", "1-C", "1-D"]
    );
    let customers = customer::Entity::find().all(&t).await.expect("customers");
    assert_eq!(names(&customers), ["Acme"]);
    // A self-join carries the join equality: pairs of invoices of one customer, both
    // of 1. (1-C's customer has 2.'s invoices too, which stay out).
    let pairs = t
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT a.number AS a, b.number AS b FROM invoice a \
             JOIN invoice b ON b.customer_id = a.customer_id AND b.id <> a.id \
             ORDER BY a.number, b.number",
        ))
        .await
        .expect("self-join");
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "a").expect("a"),
                r.try_get::<String>("", "b").expect("b"),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("1-A".to_owned(), "1-B".to_owned()),
            ("1-B".to_owned(), "1-A".to_owned())
        ]
    );
    // Writes stay on its own level, as in exact mode.
    let before = Outside::of_mode(db, "1.", MatchMode::Exact).await;
    let err = invoice::ActiveModel {
        data_key: Set("1.4.".to_owned()),
        ..new_invoice("CHILD", 1)
    }
    .insert(&t)
    .await
    .expect_err("its own level only");
    assert_invalid_tenant_access(&err);
    let child = invoice_by_number(db, "14-A").await;
    let res = invoice::Entity::delete_by_id(child.id)
        .exec(&t)
        .await
        .expect("delete_by_id");
    assert_eq!(res.rows_affected, 0);
    let inserted = new_invoice("1-DIST", 1).insert(&t).await.expect("insert");
    assert_eq!(inserted.data_key, "1.");
    assert_eq!(Outside::of_mode(db, "1.", MatchMode::Exact).await, before);
}

// ---------------------------------------------------------------------------------------
// Universal, read-only and unknown tables
// ---------------------------------------------------------------------------------------

async fn universal_table_is_readable_and_writable(db: &DatabaseConnection) {
    let invoices = all_invoices(db).await;
    let customers = all_customers(db).await;
    let t1 = tenant(db, "1.");
    let t2 = tenant(db, "2.");
    let codes = |rows: Vec<country::Model>| rows.into_iter().map(|c| c.code).collect::<Vec<_>>();
    let all = country::Entity::find()
        .order_by_asc(country::Column::Code)
        .all(&t1)
        .await
        .expect("read");
    assert_eq!(codes(all), ["DE", "FR"]);
    country::ActiveModel {
        code: Set("IT".to_owned()),
        name: Set("Italy".to_owned()),
    }
    .insert(&t1)
    .await
    .expect("insert a shared row");
    let all = country::Entity::find()
        .order_by_asc(country::Column::Code)
        .all(&t2)
        .await
        .expect("read");
    assert_eq!(codes(all), ["DE", "FR", "IT"]);
    let res = country::Entity::update_many()
        .col_expr(country::Column::Name, Expr::value("Italia"))
        .filter(country::Column::Code.eq("IT"))
        .exec(&t2)
        .await
        .expect("update a shared row");
    assert_eq!(res.rows_affected, 1);
    let it = country::Entity::find_by_id("IT".to_owned())
        .one(db)
        .await
        .expect("raw read");
    assert_eq!(it.map(|c| c.name), Some("Italia".to_owned()));
    let res = country::Entity::delete_by_id("DE".to_owned())
        .exec(&t1)
        .await
        .expect("delete a shared row");
    assert_eq!(res.rows_affected, 1);
    let all = country::Entity::find()
        .order_by_asc(country::Column::Code)
        .all(db)
        .await
        .expect("raw read");
    assert_eq!(codes(all), ["FR", "IT"]);
    assert_eq!(all_invoices(db).await, invoices);
    assert_eq!(all_customers(db).await, customers);
}

async fn statements_that_cannot_be_proven_safe_are_refused_and_change_nothing(
    db: &DatabaseConnection,
) {
    let invoices = all_invoices(db).await;
    let customers = all_customers(db).await;
    let t = tenant(db, "1.");
    let is_unsupported = |err: &DbErr| {
        matches!(
            TenancyError::from_db_err(err),
            Some(TenancyError::UnsupportedStatement { .. })
        )
    };
    for sql in [
        "DROP TABLE invoice",
        "ALTER TABLE invoice ADD COLUMN evil INTEGER",
        "CREATE TABLE evil (id INTEGER)",
        // One refused statement refuses the whole batch: the DELETE does not run either.
        "DELETE FROM invoice; DROP TABLE customer",
    ] {
        let err = t.execute_unprepared(sql).await.expect_err(sql);
        assert!(is_unsupported(&err), "{sql}: {err}");
    }
    let err = t
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM invoice; DELETE FROM invoice",
        ))
        .await
        .expect_err("two statements in one prepared statement");
    assert!(is_unsupported(&err), "{err}");
    // The tables are intact (reading them would fail otherwise), and so are their rows.
    assert_eq!(all_invoices(db).await, invoices);
    assert_eq!(all_customers(db).await, customers);

    // Comments do not ride along: what runs is the scoped statement.
    let before = Outside::of(db, "1.").await;
    let res = t
        .execute_unprepared("DELETE FROM invoice /* every row */ WHERE 1 = 1 -- really")
        .await
        .expect("execute_unprepared");
    assert_eq!(res.rows_affected(), 5);
    assert_eq!(Outside::of(db, "1.").await, before);
}

async fn read_only_universal_table_is_readable_but_writes_are_refused(db: &DatabaseConnection) {
    let plans = plan::Entity::find()
        .order_by_asc(plan::Column::Id)
        .all(db)
        .await
        .expect("raw read");
    let t = tenant(db, "1.");
    let seen = plan::Entity::find()
        .order_by_asc(plan::Column::Id)
        .all(&t)
        .await
        .expect("read");
    assert_eq!(seen, plans);
    assert_eq!(seen.len(), 2);

    let err = plan::ActiveModel {
        name: Set("enterprise".to_owned()),
        price: Set(100),
        ..Default::default()
    }
    .insert(&t)
    .await
    .expect_err("insert into a read-only table");
    assert_invalid_tenant_access(&err);
    let mut am = plans[0].clone().into_active_model();
    am.price = Set(1);
    let err = am
        .update(&t)
        .await
        .expect_err("update of a read-only table");
    assert_invalid_tenant_access(&err);
    let err = plan::Entity::update_many()
        .col_expr(plan::Column::Price, Expr::value(0))
        .exec(&t)
        .await
        .expect_err("update_many of a read-only table");
    assert_invalid_tenant_access(&err);
    let err = plan::Entity::delete_many()
        .exec(&t)
        .await
        .expect_err("delete_many of a read-only table");
    assert_invalid_tenant_access(&err);
    let err = plans[1]
        .clone()
        .delete(&t)
        .await
        .expect_err("delete of a read-only table");
    assert_invalid_tenant_access(&err);
    let err = t
        .execute_unprepared("DELETE FROM plan")
        .await
        .expect_err("unprepared delete of a read-only table");
    assert_invalid_tenant_access(&err);
    let after = plan::Entity::find()
        .order_by_asc(plan::Column::Id)
        .all(db)
        .await
        .expect("raw read");
    assert_eq!(after, plans);
}

async fn unknown_table_is_refused(db: &DatabaseConnection) {
    let t = tenant(db, "1.");
    let is_unknown = |err: &DbErr| {
        matches!(
            TenancyError::from_db_err(err),
            Some(TenancyError::UnknownTable { table, .. }) if table == "ledger"
        )
    };
    let err = ledger::Entity::find()
        .all(&t)
        .await
        .expect_err("read of an unknown table");
    assert!(is_unknown(&err), "{err}");
    let err = ledger::ActiveModel {
        entry: Set("x".to_owned()),
        ..Default::default()
    }
    .insert(&t)
    .await
    .expect_err("insert into an unknown table");
    assert!(is_unknown(&err), "{err}");
    let err = ledger::Entity::delete_many()
        .exec(&t)
        .await
        .expect_err("delete from an unknown table");
    assert!(is_unknown(&err), "{err}");
    let err = t
        .execute_unprepared("DELETE FROM ledger")
        .await
        .expect_err("unprepared");
    assert!(is_unknown(&err), "{err}");
    // Hidden in a subquery of a query on a known table.
    let err = invoice::Entity::find()
        .filter(Expr::cust("EXISTS (SELECT 1 FROM ledger)"))
        .all(&t)
        .await
        .expect_err("subquery on an unknown table");
    assert!(is_unknown(&err), "{err}");
    let rows = ledger::Entity::find().all(db).await.expect("raw read");
    assert_eq!(rows.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Hand-written SQL
// ---------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq, FromQueryResult)]
struct NameCount {
    name: String,
    n: i64,
}

async fn raw_numbers(t: &TenantConnection, sql: &str) -> Vec<String> {
    NumberOnly::find_by_statement(Statement::from_string(t.get_database_backend(), sql))
        .all(t)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.number)
        .collect()
}

async fn hand_written_queries_are_scoped_in_every_clause(db: &DatabaseConnection) {
    let t1 = tenant(db, "1.");
    let t2 = tenant(db, "2.");
    // A CTE.
    let sql = "WITH big AS (SELECT number, amount FROM invoice WHERE amount >= 50) \
               SELECT number FROM big ORDER BY number";
    assert_eq!(raw_numbers(&t2, sql).await, ["2-A", "2-B"]);
    // A UNION of two tables.
    let sql = "SELECT number FROM invoice WHERE amount > 100 \
               UNION SELECT name AS number FROM customer ORDER BY number";
    assert_eq!(raw_numbers(&t2, sql).await, ["2-A", "Globex"]);
    // A derived table.
    let sql = "SELECT s.number FROM (SELECT number FROM invoice WHERE amount > 40) AS s \
               ORDER BY s.number";
    assert_eq!(raw_numbers(&t2, sql).await, ["2-A", "2-B"]);
    // IN (subquery): 2-B's customer is tenant 1.'s.
    let sql = "SELECT number FROM invoice \
               WHERE customer_id IN (SELECT id FROM customer WHERE name LIKE 'Acme%') \
               ORDER BY number";
    assert_eq!(raw_numbers(&t2, sql).await, Vec::<String>::new());
    assert_eq!(raw_numbers(&t1, sql).await, ["1-A", "1-B", "14-A"]);
    // A correlated EXISTS: 2-B (50) is Acme's, but not tenant 1.'s.
    let sql = "SELECT c.name AS number FROM customer c WHERE EXISTS \
               (SELECT 1 FROM invoice i WHERE i.customer_id = c.id AND i.amount < 60)";
    assert_eq!(raw_numbers(&t1, sql).await, Vec::<String>::new());
    // A scalar subquery in the projection, with no FROM at the top.
    let total = Total::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT (SELECT COUNT(*) FROM invoice) AS n",
    ))
    .one(&t2)
    .await
    .expect("scalar subquery");
    assert_eq!(total, Some(Total { n: 2 }));
    // A LEFT JOIN with an aggregate: the joined side is scoped in ON, so customers
    // without visible invoices keep their row, and foreign invoices are not counted.
    let sql = "SELECT c.name AS name, COUNT(i.id) AS n FROM customer c \
               LEFT JOIN invoice i ON i.customer_id = c.id \
               GROUP BY c.name ORDER BY c.name";
    let counts = |key: &'static str| {
        let t = tenant(db, key);
        async move {
            NameCount::find_by_statement(Statement::from_string(t.get_database_backend(), sql))
                .all(&t)
                .await
                .expect("left join")
        }
    };
    assert_eq!(
        counts("1.").await,
        [
            NameCount {
                name: "Acme".into(),
                n: 2
            },
            NameCount {
                name: "Acme Four".into(),
                n: 1
            }
        ]
    );
    assert_eq!(
        counts("2.").await,
        [NameCount {
            name: "Globex".into(),
            n: 1
        }]
    );
}

async fn hand_written_writes_with_subqueries_are_scoped(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let t = tenant(db, "2.");
    let invoices = all_invoices(db).await;
    // DELETE … WHERE … IN (subquery on another table): Acme is not tenant 2.'s.
    let res = t
        .execute_raw(Statement::from_string(
            backend,
            "DELETE FROM invoice \
             WHERE customer_id IN (SELECT id FROM customer WHERE name = 'Acme')",
        ))
        .await
        .expect("delete with a subquery");
    assert_eq!(res.rows_affected(), 0);
    assert_eq!(all_invoices(db).await, invoices);

    // UPDATE … SET col = (subquery): the smallest number tenant 2. can see is 2-A.
    let before = Outside::of(db, "2.").await;
    let res = t
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE customer SET name = (SELECT MIN(number) FROM invoice)",
        ))
        .await
        .expect("update with a subquery");
    assert_eq!(res.rows_affected(), 1);
    assert_eq!(names(&expected_customers(db, "2.").await), ["2-A"]);
    assert_eq!(Outside::of(db, "2.").await, before);

    // INSERT … SELECT copies the tenant's rows only (10-A is 1000), DataKey filled.
    let res = t
        .execute_raw(Statement::from_string(
            backend,
            "INSERT INTO invoice (number, amount) \
             SELECT number, amount FROM invoice WHERE amount >= 300",
        ))
        .await
        .expect("insert … select");
    assert_eq!(res.rows_affected(), 1);
    let copies: Vec<_> = all_invoices(db)
        .await
        .into_iter()
        .filter(|i| i.number == "2-A")
        .map(|i| (i.data_key, i.amount))
        .collect();
    assert_eq!(copies, [("2.".to_owned(), 300), ("2.".to_owned(), 300)]);
    assert_eq!(Outside::of(db, "2.").await, before);

    // … and may not copy DataKeys: the value written cannot be checked.
    let invoices = all_invoices(db).await;
    let err = t
        .execute_raw(Statement::from_string(
            backend,
            "INSERT INTO invoice (number, amount, data_key) \
             SELECT number, amount, data_key FROM invoice",
        ))
        .await
        .expect_err("copying DataKeys must be refused");
    assert_invalid_tenant_access(&err);
    assert_eq!(all_invoices(db).await, invoices);
}

// ---------------------------------------------------------------------------------------
// Locking reads, case of keys
// ---------------------------------------------------------------------------------------

async fn locking_reads_in_a_transaction_see_only_the_tenants_rows(db: &DatabaseConnection) {
    let foreign = invoice_by_number(db, "1-A").await;
    let t = tenant(db, "2.");
    let txn = t.begin().await.expect("begin");
    let locked = invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await
        .expect("SELECT … FOR UPDATE");
    assert_eq!(numbers(&locked), ["2-A", "2-B"]);
    let shared = invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .lock_shared()
        .all(&txn)
        .await
        .expect("SELECT … shared lock");
    assert_eq!(numbers(&shared), ["2-A", "2-B"]);
    let none = invoice::Entity::find_by_id(foreign.id)
        .lock_exclusive()
        .one(&txn)
        .await
        .expect("SELECT … FOR UPDATE");
    assert_eq!(none, None);
    txn.commit().await.expect("commit");
}

async fn keys_differing_only_in_case_are_different_tenants(db: &DatabaseConnection) {
    let upper_row = invoice_by_number(db, "A-1").await;
    for mode in [MatchMode::Prefix, MatchMode::Exact, MatchMode::Distributed] {
        let lower = tenant(db, "a.").with_mode(mode);
        assert_eq!(tenant_invoices(&lower).await, [], "{mode:?}");
        let customers = customer::Entity::find()
            .all(&lower)
            .await
            .expect("customers");
        assert_eq!(customers, [], "{mode:?}");
        let found = invoice::Entity::find_by_id(upper_row.id)
            .one(&lower)
            .await
            .expect("find_by_id");
        assert_eq!(found, None, "{mode:?}");
        let upper = tenant(db, "A.").with_mode(mode);
        assert_eq!(numbers(&tenant_invoices(&upper).await), ["A-1"], "{mode:?}");
        let customers = customer::Entity::find()
            .all(&upper)
            .await
            .expect("customers");
        assert_eq!(names(&customers), ["Alpha"], "{mode:?}");
    }
    let before = Outside::of(db, "a.").await;
    let lower = tenant(db, "a.");
    let res = customer::Entity::update_many()
        .col_expr(customer::Column::Name, Expr::value("lower"))
        .exec(&lower)
        .await
        .expect("update_many");
    assert_eq!(res.rows_affected, 0);
    let inserted = customer::ActiveModel {
        name: Set("alpha".to_owned()),
        ..Default::default()
    }
    .insert(&lower)
    .await
    .expect("insert");
    assert_eq!(inserted.tenant_key, "a.");
    let err = customer::ActiveModel {
        tenant_key: Set("A.".to_owned()),
        name: Set("forged".to_owned()),
        ..Default::default()
    }
    .insert(&lower)
    .await
    .expect_err("the upper-case tenant is another tenant");
    assert_invalid_tenant_access(&err);
    assert_eq!(Outside::of(db, "a.").await, before);
    let seen = customer::Entity::find()
        .all(&tenant(db, "A."))
        .await
        .expect("customers");
    assert_eq!(names(&seen), ["Alpha"]);
}

/// sea-orm's `lock_shared()` renders `LOCK IN SHARE MODE` on MySQL, the only shared-lock
/// syntax MariaDB accepts; `sqlparser` does not parse it. The rewriter keeps it at the end,
/// after the tenant predicate, and does not revive one that is commented out.
#[test]
fn mysql_share_lock_is_kept_after_the_tenant_predicate() {
    let registry = Registry::builder().tenanted("invoice", "data_key").build();
    let key = DataKey::new("2.").expect("key");
    let stmt = invoice::Entity::find()
        .filter(invoice::Column::Id.eq(1))
        .lock_shared()
        .build(DbBackend::MySql);
    assert!(stmt.sql.ends_with(" LOCK IN SHARE MODE"), "{}", stmt.sql);
    let out = rewrite(stmt, &key, MatchMode::Exact, &registry).expect("rewrite");
    assert!(
        out.sql.ends_with(
            "WHERE `invoice`.`id` = ? AND `invoice`.`data_key` = ? COLLATE utf8mb4_bin \
             LOCK IN SHARE MODE"
        ),
        "{}",
        out.sql
    );
    assert_eq!(
        out.values.expect("values").0,
        [sea_orm::Value::from(1), sea_orm::Value::from("2.")]
    );
    let commented = Statement::from_string(
        DbBackend::MySql,
        "SELECT * FROM invoice -- LOCK IN SHARE MODE",
    );
    let out = rewrite(commented, &key, MatchMode::Exact, &registry).expect("rewrite");
    assert!(!out.sql.contains("LOCK"), "{}", out.sql);
}

// ---------------------------------------------------------------------------------------

/// For each scenario, one `#[tokio::test]` per backend: `sqlite::<scenario>`,
/// `postgres::<scenario>`, `mysql::<scenario>`.
/// `where_restrict_tenants` scopes queries built by hand and run on the plain connection,
/// joins included; universal tables add nothing.
async fn where_restrict_tenants_scopes_hand_built_queries_on_the_plain_connection(
    db: &DatabaseConnection,
) {
    for (key, mode) in [
        ("1.", MatchMode::Prefix),
        ("1.", MatchMode::Exact),
        ("2.", MatchMode::Prefix),
    ] {
        let k = DataKey::new(key).expect("key");
        let found = invoice::Entity::find()
            .filter(where_restrict_tenants(
                &k,
                mode,
                &[TenantTable::of::<invoice::Entity>()],
            ))
            .order_by_asc(invoice::Column::Id)
            .all(db)
            .await
            .expect("hand-restricted find");
        assert_eq!(
            found,
            expected_invoices(db, key, mode).await,
            "{key} {mode:?}"
        );
        // A join: both sides restricted, the customer under an alias.
        let joined: Vec<(String, String)> = invoice::Entity::find()
            .select_only()
            .column(invoice::Column::Number)
            .column_as(Expr::col(("c", customer::Column::Name)), "name")
            .join_as(
                sea_orm::JoinType::InnerJoin,
                invoice::Relation::Customer.def(),
                "c",
            )
            .filter(where_restrict_tenants(
                &k,
                mode,
                &[
                    TenantTable::of::<invoice::Entity>(),
                    TenantTable::aliased::<customer::Entity>("c"),
                ],
            ))
            .order_by_asc(invoice::Column::Number)
            .into_tuple()
            .all(db)
            .await
            .expect("hand-restricted join");
        let customers = expected_customers(db, key).await;
        if mode == MatchMode::Prefix {
            assert!(!joined.is_empty(), "{key}: the join found nothing");
        }
        for (number, name) in &joined {
            let inv = invoice_by_number(db, number).await;
            assert!(k.matches(&inv.data_key, mode), "{number} leaked to {key}");
            let c = customer_by_name(db, name).await;
            assert!(k.matches(&c.tenant_key, mode), "{name} leaked to {key}");
            if mode == MatchMode::Prefix {
                assert!(customers.iter().any(|x| &x.name == name));
            }
        }
    }
    // A universal table passes through untouched.
    let all = country::Entity::find().all(db).await.expect("countries");
    let restricted = country::Entity::find()
        .filter(where_restrict_tenants(
            &DataKey::new("2.").expect("key"),
            MatchMode::Prefix,
            &[TenantTable::of::<country::Entity>()],
        ))
        .all(db)
        .await
        .expect("countries");
    assert_eq!(restricted, all);
}

// ---------------------------------------------------------------------------------------
// Cross-tenant references (`invoice.customer_id` belongs to `customer`, both tenanted)
// ---------------------------------------------------------------------------------------

fn invoice_of(number: &str, customer_id: Option<i32>) -> invoice::ActiveModel {
    invoice::ActiveModel {
        customer_id: Set(customer_id),
        ..new_invoice(number, 1)
    }
}

async fn insert_pointing_at_another_tenants_row_is_refused_and_writes_nothing(
    db: &DatabaseConnection,
) {
    let acme = customer_by_name(db, "Acme").await.id; // tenant 1.
    let acme_four = customer_by_name(db, "Acme Four").await.id; // tenant 1.4.
    let globex = customer_by_name(db, "Globex").await.id; // tenant 2.
    let initech = customer_by_name(db, "Initech").await.id; // tenant 10.
    let nobody = [acme, acme_four, globex, initech]
        .into_iter()
        .fold(0, Ord::max)
        + 1000;
    let before = all_invoices(db).await;
    for (key, mode, customer) in [
        ("2.", MatchMode::Prefix, acme),     // a sibling's row
        ("1.", MatchMode::Prefix, initech),  // `10.` shares `1.`'s text
        ("1.4.", MatchMode::Prefix, acme),   // the parent's row
        ("1.", MatchMode::Exact, acme_four), // a child's row, exact mode
        ("2.", MatchMode::Prefix, nobody),   // no row at all: the same answer
    ] {
        let t = tenant(db, key).with_mode(mode);
        let err = invoice_of("X-FOREIGN", Some(customer))
            .insert(&t)
            .await
            .expect_err("a reference to a row the tenant cannot see must be refused");
        assert_invalid_tenant_access(&err);
        assert!(err.to_string().contains("customer"), "{err}");
    }
    assert_eq!(all_invoices(db).await, before, "nothing may be written");

    // Within the tenant's subtree, and NULL, are fine.
    for (key, customer) in [
        ("1.", Some(acme)),
        ("1.", Some(acme_four)),
        ("2.", Some(globex)),
        ("2.", None),
    ] {
        let row = invoice_of("X-OWN", customer)
            .insert(&tenant(db, key))
            .await
            .expect("a reference within the subtree is allowed");
        assert_eq!(row.customer_id, customer);
    }
}

async fn insert_many_with_one_foreign_reference_is_refused_whole(db: &DatabaseConnection) {
    let acme = customer_by_name(db, "Acme").await.id;
    let globex = customer_by_name(db, "Globex").await.id;
    let before = all_invoices(db).await;
    let mut rows: Vec<invoice::ActiveModel> = (0..70)
        .map(|i| invoice_of(&format!("MANY-{i}"), Some(globex)))
        .collect();
    rows.insert(41, invoice_of("MANY-FOREIGN", Some(acme)));
    let err = invoice::Entity::insert_many(rows)
        .exec(&tenant(db, "2."))
        .await
        .expect_err("one foreign reference refuses the statement");
    assert_invalid_tenant_access(&err);
    assert_eq!(all_invoices(db).await, before);
    let rows: Vec<invoice::ActiveModel> = (0..70)
        .map(|i| invoice_of(&format!("MANY-{i}"), Some(globex)))
        .collect();
    invoice::Entity::insert_many(rows)
        .exec(&tenant(db, "2."))
        .await
        .expect("all references are the tenant's");
    assert_eq!(all_invoices(db).await.len(), before.len() + 70);
}

async fn update_pointing_at_another_tenants_row_is_refused(db: &DatabaseConnection) {
    let globex = customer_by_name(db, "Globex").await.id;
    let acme_four = customer_by_name(db, "Acme Four").await.id;
    let before = all_invoices(db).await;
    let t = tenant(db, "1.");
    let mut own = invoice_by_number(db, "1-A").await.into_active_model();
    own.customer_id = Set(Some(globex));
    let err = own.update(&t).await.expect_err("refused");
    assert_invalid_tenant_access(&err);
    let err = invoice::Entity::update_many()
        .col_expr(invoice::Column::CustomerId, Expr::value(globex))
        .filter(invoice::Column::Number.eq("1-B"))
        .exec(&t)
        .await
        .expect_err("refused");
    assert_invalid_tenant_access(&err);
    assert_eq!(all_invoices(db).await, before, "nothing may be written");

    let mut own = invoice_by_number(db, "1-A").await.into_active_model();
    own.customer_id = Set(Some(acme_four));
    let row = own
        .update(&t)
        .await
        .expect("a child's row is in the subtree");
    assert_eq!(row.customer_id, Some(acme_four));
    let mut own = invoice_by_number(db, "1-B").await.into_active_model();
    own.customer_id = Set(None);
    own.update(&t).await.expect("NULL references nothing");
}

async fn raw_writes_of_a_foreign_reference_are_refused(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let globex = customer_by_name(db, "Globex").await.id;
    let before = all_invoices(db).await;
    let t = tenant(db, "1.");
    let err = t
        .execute_unprepared(&format!("UPDATE invoice SET customer_id = {globex}"))
        .await
        .expect_err("refused");
    assert_invalid_tenant_access(&err);
    let err = t
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO invoice (number, amount, customer_id) VALUES ('R', 1, {})",
                placeholder(backend, 1)
            ),
            [globex.into()],
        ))
        .await
        .expect_err("refused");
    assert_invalid_tenant_access(&err);
    // Computed values are checked by a query computing them over the same rows: `+ 1`
    // moves `1-C`'s Globex to Initech and 14-A's Acme Four to Globex; a subquery reads
    // Globex; INSERT … SELECT copies `1-C`'s reference to tenant `2.`'s Globex.
    for sql in [
        "UPDATE invoice SET customer_id = customer_id + 1".to_owned(),
        "INSERT INTO invoice (number, amount, customer_id) SELECT number, amount, customer_id FROM invoice".to_owned(),
        format!("UPDATE invoice SET customer_id = (SELECT {globex}) WHERE number = '1-A'"),
        format!("UPDATE invoice SET customer_id = amount - amount + {globex} WHERE number = '1-A'"),
    ] {
        let err = t.execute_unprepared(&sql).await.expect_err(&sql);
        assert_invalid_tenant_access(&err);
    }
    assert_eq!(all_invoices(db).await, before, "nothing may be written");
    // The same forms within the tenant's subtree go through.
    let acme = customer_by_name(db, "Acme").await.id;
    let acme_four = customer_by_name(db, "Acme Four").await.id;
    for sql in [
        format!(
            "INSERT INTO invoice (number, amount, customer_id) SELECT number, amount, customer_id FROM invoice WHERE customer_id = {acme}"
        ),
        format!(
            "UPDATE invoice SET customer_id = amount - amount + {acme_four} WHERE number = '1-D'"
        ),
    ] {
        t.execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert_eq!(
        invoice_by_number(db, "1-D").await.customer_id,
        Some(acme_four)
    );
    // Prepared, with a value the check does not need before the one it does.
    t.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO invoice (number, amount, customer_id) SELECT {}, amount, customer_id FROM invoice WHERE customer_id = {}",
            placeholder(backend, 1),
            placeholder(backend, 2)
        ),
        ["COPY".into(), acme_four.into()],
    ))
    .await
    .expect("a prepared INSERT … SELECT within the subtree");
    assert_eq!(all_invoices(db).await.len(), before.len() + 4);
}

async fn upsert_setting_a_foreign_reference_is_refused(db: &DatabaseConnection) {
    let globex = customer_by_name(db, "Globex").await.id;
    let own = invoice_by_number(db, "1-A").await;
    let before = all_invoices(db).await;
    let err = invoice::Entity::insert(invoice::ActiveModel {
        id: Set(own.id),
        ..invoice_of("1-A", Some(globex))
    })
    .on_conflict(
        OnConflict::column(invoice::Column::Id)
            .update_column(invoice::Column::CustomerId)
            .to_owned(),
    )
    .exec(&tenant(db, "1."))
    .await
    .expect_err("refused");
    assert_invalid_tenant_access(&err);
    assert_eq!(all_invoices(db).await, before);
}

async fn reference_checks_see_the_transactions_own_writes(db: &DatabaseConnection) {
    let t = tenant(db, "2.");
    let txn = t.begin().await.expect("begin");
    let customer = customer::ActiveModel {
        name: Set("Fresh".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .expect("insert customer");
    invoice_of("2-FRESH", Some(customer.id))
        .insert(&txn)
        .await
        .expect("the check runs inside the transaction and sees the new customer");
    txn.commit().await.expect("commit");
    assert_eq!(
        invoice_by_number(db, "2-FRESH").await.customer_id,
        Some(customer.id)
    );
}

async fn unique_violation_does_not_reveal_the_conflicting_value(db: &DatabaseConnection) {
    db.execute_unprepared("CREATE UNIQUE INDEX invoice_number_unique ON invoice (number)")
        .await
        .expect("unique index");
    // `1-C` belongs to tenant `1.`; tenant `2.` tries the same number.
    let err = new_invoice("1-C", 1)
        .insert(&tenant(db, "2."))
        .await
        .expect_err("duplicate");
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("1-C"),
        "the message reveals the value: {shown}"
    );
    assert!(
        matches!(
            TenancyError::sql_err(&err),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ),
        "still recognisable as a unique violation: {shown}"
    );
    let err = t_update_number(db).await;
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("1-C"),
        "the message reveals the value: {shown}"
    );
}

/// Tenant `2.` renames its invoice to another tenant's number.
async fn t_update_number(db: &DatabaseConnection) -> DbErr {
    let mut own = invoice_by_number(db, "2-A").await.into_active_model();
    own.number = Set("1-C".to_owned());
    own.update(&tenant(db, "2.")).await.expect_err("duplicate")
}

scenarios! {
    find_all_returns_only_the_tenants_rows,
    find_by_id_of_own_row_returns_it,
    find_by_id_of_another_tenants_row_returns_none,
    filter_matches_only_the_tenants_rows,
    count_counts_only_the_tenants_rows,
    paginate_walks_only_the_tenants_rows,
    find_also_related_never_joins_another_tenants_row,
    find_with_related_returns_only_the_tenants_children,
    loader_loads_only_the_tenants_related_rows,
    stream_yields_only_the_tenants_rows,
    select_only_into_tuple_sees_only_the_tenants_rows,
    raw_statement_into_model_is_scoped,
    insert_fills_the_data_key,
    insert_with_a_forged_data_key_is_refused_and_writes_nothing,
    insert_many_fills_the_data_key_on_every_row,
    save_inserts_then_updates_within_the_tenant,
    update_of_own_row_changes_it,
    update_by_id_of_another_tenants_row_changes_nothing,
    update_setting_the_data_key_to_another_tenant_is_refused,
    update_many_changes_only_the_tenants_rows,
    delete_of_own_row_removes_it,
    delete_by_id_of_another_tenants_row_affects_nothing,
    delete_many_deletes_only_the_tenants_rows,
    execute_unprepared_delete_is_scoped,
    upsert_of_own_row_updates_it,
    upsert_against_another_tenants_primary_key_does_not_modify_it,
    transaction_commit_keeps_the_tenant_scope,
    transaction_rollback_discards_writes,
    transaction_closure_commits_on_ok_and_rolls_back_on_err,
    nested_transaction_keeps_the_tenant_scope,
    parent_sees_its_childs_rows_but_never_a_tenant_sharing_its_prefix_text,
    child_does_not_see_its_parents_rows,
    exact_mode_sees_only_its_own_level,
    distributed_mode_sees_its_own_level_and_joins_within_it,
    universal_table_is_readable_and_writable,
    read_only_universal_table_is_readable_but_writes_are_refused,
    unknown_table_is_refused,
    statements_that_cannot_be_proven_safe_are_refused_and_change_nothing,
    hand_written_queries_are_scoped_in_every_clause,
    hand_written_writes_with_subqueries_are_scoped,
    locking_reads_in_a_transaction_see_only_the_tenants_rows,
    keys_differing_only_in_case_are_different_tenants,
    where_restrict_tenants_scopes_hand_built_queries_on_the_plain_connection,
    insert_pointing_at_another_tenants_row_is_refused_and_writes_nothing,
    insert_many_with_one_foreign_reference_is_refused_whole,
    update_pointing_at_another_tenants_row_is_refused,
    raw_writes_of_a_foreign_reference_are_refused,
    upsert_setting_a_foreign_reference_is_refused,
    reference_checks_see_the_transactions_own_writes,
    unique_violation_does_not_reveal_the_conflicting_value,
}
