//! Tenants as data (`sea_orm_tenancy::lifecycle`) on each backend: create, rename,
//! delete and move with rows in several tenanted tables, a move that re-keys three
//! levels, refused moves, hooks that fail half-way, limits, membership, the admin
//! connection and single-tenant mode.
//!
//! Each scenario runs on a fresh database holding the isolation seed (tenants `1.`,
//! `1.4.`, `2.`, `10.`, `A.`: rows no lifecycle operation here may touch) and the
//! tables of `CreateTenantTables`.
//!
//! Run: `cargo test --test lifecycle` (servers as for `tests/isolation.rs`).

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryOrder,
    Statement,
};
use sea_orm_migration::{MigrationTrait, SchemaManager};
use sea_orm_tenancy::lifecycle::{
    CreateTenantTables, TenantAdmin, TenantHooks, tenant, tenant_member,
};
use sea_orm_tenancy::{
    AdminConnection, AdminTransaction, DataKey, Registry, TenancyError, TenantConnection,
};

use common::Captured;
use common::entities::{customer, invoice};

fn key(text: &str) -> DataKey {
    DataKey::new(text).expect("key")
}

async fn admin_on(pool: &DatabaseConnection) -> TenantAdmin {
    CreateTenantTables
        .up(&SchemaManager::new(pool))
        .await
        .expect("create the tenant tables");
    TenantAdmin::new(AdminConnection::new(pool.clone()))
}

/// Every row of the four tables the operations touch, through the raw pool.
#[derive(Debug, PartialEq)]
struct Snapshot {
    tenants: Vec<tenant::Model>,
    members: Vec<tenant_member::Model>,
    invoices: Vec<invoice::Model>,
    customers: Vec<customer::Model>,
}

async fn snapshot(pool: &DatabaseConnection) -> Snapshot {
    Snapshot {
        tenants: tenant::Entity::find()
            .order_by_asc(tenant::Column::Id)
            .all(pool)
            .await
            .expect("tenants"),
        members: tenant_member::Entity::find()
            .order_by_asc(tenant_member::Column::Id)
            .all(pool)
            .await
            .expect("members"),
        invoices: common::all_invoices(pool).await,
        customers: common::all_customers(pool).await,
    }
}

/// Gives tenant `key` a customer and two invoices, written through its own connection.
async fn give_rows(pool: &DatabaseConnection, key: &str, label: &str) {
    let db = common::tenant(pool, key);
    let c = customer::Entity::insert(customer::ActiveModel {
        name: Set(format!("{label} customer")),
        ..Default::default()
    })
    .exec(&db)
    .await
    .expect("customer");
    for n in 1..=2 {
        invoice::Entity::insert(invoice::ActiveModel {
            number: Set(format!("{label}-{n}")),
            amount: Set(n),
            customer_id: Set(Some(c.last_insert_id)),
            ..Default::default()
        })
        .exec(&db)
        .await
        .expect("invoice");
    }
}

/// The invoice numbers tenant `key` sees, sorted.
async fn numbers_seen_by(pool: &DatabaseConnection, key: &str) -> Vec<String> {
    let mut v: Vec<String> = invoice::Entity::find()
        .all(&common::tenant(pool, key))
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.number)
        .collect();
    v.sort();
    v
}

fn data_keys_of(rows: &[invoice::Model], prefix: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = rows
        .iter()
        .filter(|i| i.data_key.starts_with(prefix))
        .map(|i| (i.number.clone(), i.data_key.clone()))
        .collect();
    v.sort();
    v
}

fn the_seed_is_untouched(before: &Snapshot, after: &Snapshot) {
    let seed = |s: &Snapshot| {
        (
            s.invoices
                .iter()
                .filter(|i| common::TENANTS.contains(&i.data_key.as_str()))
                .cloned()
                .collect::<Vec<_>>(),
            s.customers
                .iter()
                .filter(|c| common::TENANTS.contains(&c.tenant_key.as_str()))
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(seed(before), seed(after), "the seed tenants' rows changed");
    assert!(!seed(after).0.is_empty());
}

fn typed(err: &DbErr) -> &TenancyError {
    TenancyError::from_db_err(err).unwrap_or_else(|| panic!("not a tenancy error: {err}"))
}

/// A hook that records what it saw, writes an audit row through the transaction, and
/// fails on the operations it is told to.
#[derive(Debug, Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    fail_on: Vec<&'static str>,
}

impl Recorder {
    fn failing(on: &[&'static str]) -> Self {
        Recorder {
            calls: Mutex::default(),
            fail_on: on.to_vec(),
        }
    }

    async fn record(
        &self,
        txn: &AdminTransaction,
        what: String,
        op: &str,
        key: &str,
    ) -> Result<(), DbErr> {
        self.calls.lock().expect("lock").push(what);
        // A write the rollback must undo: an invoice in the tenant's name.
        invoice::Entity::insert(invoice::ActiveModel {
            data_key: Set(key.to_owned()),
            number: Set(format!("audit-{op}")),
            amount: Set(0),
            ..Default::default()
        })
        .exec(txn)
        .await?;
        if self.fail_on.contains(&op) {
            return Err(DbErr::Custom(format!("hook refused {op}")));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl TenantHooks for Recorder {
    async fn created(&self, txn: &AdminTransaction, t: &tenant::Model) -> Result<(), DbErr> {
        self.record(
            txn,
            format!("created {}", t.data_key),
            "create",
            &t.data_key,
        )
        .await
    }
    async fn renamed(
        &self,
        txn: &AdminTransaction,
        b: &tenant::Model,
        a: &tenant::Model,
    ) -> Result<(), DbErr> {
        self.record(
            txn,
            format!("renamed {} -> {}", b.name, a.name),
            "rename",
            &a.data_key,
        )
        .await
    }
    async fn deleting(
        &self,
        txn: &AdminTransaction,
        root: &tenant::Model,
        subtree: &[tenant::Model],
    ) -> Result<(), DbErr> {
        let keys: Vec<&str> = subtree.iter().map(|t| t.data_key.as_str()).collect();
        self.record(
            txn,
            format!("deleting {} {keys:?}", root.data_key),
            "delete",
            "0.",
        )
        .await
    }
    async fn moved(
        &self,
        txn: &AdminTransaction,
        b: &tenant::Model,
        a: &tenant::Model,
    ) -> Result<(), DbErr> {
        self.record(
            txn,
            format!("moved {} -> {}", b.data_key, a.data_key),
            "move",
            &a.data_key,
        )
        .await
    }
}

/// A retail chain: head office `100.`, regions `100.1.` and `100.2.`, a shop `100.1.1.`
/// and its till `100.1.1.1.`, and another chain `101.`; each with rows.
async fn chain(admin: &TenantAdmin, pool: &DatabaseConnection) -> [tenant::Model; 6] {
    let head = admin.create("Head office", None).await.expect("head");
    let north = admin
        .create("North", Some(&head.key().expect("k")))
        .await
        .expect("north");
    let south = admin
        .create("South", Some(&head.key().expect("k")))
        .await
        .expect("south");
    let shop = admin
        .create("Shop", Some(&north.key().expect("k")))
        .await
        .expect("shop");
    let till = admin
        .create("Till", Some(&shop.key().expect("k")))
        .await
        .expect("till");
    let other = admin.create("Other chain", None).await.expect("other");
    for (t, label) in [
        (&head, "head"),
        (&north, "north"),
        (&south, "south"),
        (&shop, "shop"),
        (&till, "till"),
        (&other, "other"),
    ] {
        give_rows(pool, &t.data_key, label).await;
    }
    [head, north, south, shop, till, other]
}

async fn create_derives_keys_and_rename_keeps_them(pool: &DatabaseConnection) {
    let recorder = Arc::new(Recorder::default());
    let admin = admin_on(pool).await.with_hooks(recorder.clone());
    let [head, north, south, shop, till, other] = chain(&admin, pool).await;
    let keys: Vec<&str> = [&head, &north, &south, &shop, &till, &other]
        .iter()
        .map(|t| t.data_key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["100.", "100.1.", "100.2.", "100.1.1.", "100.1.1.1.", "101."]
    );
    assert_eq!(north.parent_id, Some(head.id));
    assert_eq!(till.parent_id, Some(shop.id));

    let renamed = admin
        .rename(&north.key().expect("k"), "North-East")
        .await
        .expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.data_key.as_str()),
        ("North-East", "100.1.")
    );
    assert_eq!(
        admin.get(&north.key().expect("k")).await.expect("get").name,
        "North-East"
    );

    let tree = admin.tree().await.expect("tree");
    let top: Vec<&str> = tree.iter().map(|n| n.tenant.data_key.as_str()).collect();
    assert_eq!(top, ["0.", "100.", "101."]);
    assert_eq!(tree[1].len(), 5);
    assert_eq!(
        tree[1].children[0].children[0].children[0].tenant.name,
        "Till"
    );
    assert_eq!(
        admin
            .subtree(&north.key().expect("k"))
            .await
            .expect("subtree")
            .len(),
        3
    );

    let calls = recorder.calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 7, "{calls:?}");
    assert_eq!(calls[6], "renamed North -> North-East");
    // The head office sees its subtree's rows, the other chain only its own.
    assert_eq!(
        numbers_seen_by(pool, "100.").await.len(),
        10 + 5 + 1,
        "2 invoices × 5 tenants, and the audit rows of 5 creations and a rename"
    );
    assert_eq!(
        numbers_seen_by(pool, "101.").await,
        ["audit-create", "other-1", "other-2"]
    );
    // Siblings list in the order of their numbers: `100.2.` … before `100.10.`.
    for i in 3..=10 {
        admin
            .create(&format!("Region {i}"), Some(&head.key().expect("k")))
            .await
            .expect("region");
    }
    let regions: Vec<String> = admin
        .subtree(&head.key().expect("k"))
        .await
        .expect("subtree")
        .children
        .into_iter()
        .map(|n| n.tenant.data_key)
        .collect();
    assert_eq!(regions.first().map(String::as_str), Some("100.1."));
    assert_eq!(regions.last().map(String::as_str), Some("100.10."));
}

async fn delete_removes_the_subtree_and_its_rows_from_every_tenanted_table(
    pool: &DatabaseConnection,
) {
    let admin = admin_on(pool).await;
    let [head, north, _south, shop, _till, other] = chain(&admin, pool).await;
    admin
        .add_member(&shop.key().expect("k"), "sam", "clerk")
        .await
        .expect("member");
    admin
        .add_member(&other.key().expect("k"), "sam", "clerk")
        .await
        .expect("member");
    let before = snapshot(pool).await;

    assert_eq!(
        admin
            .delete(&north.key().expect("k"))
            .await
            .expect("delete"),
        3
    );

    let after = snapshot(pool).await;
    the_seed_is_untouched(&before, &after);
    assert!(
        after
            .tenants
            .iter()
            .all(|t| !t.data_key.starts_with("100.1."))
    );
    assert!(
        after
            .invoices
            .iter()
            .all(|i| !i.data_key.starts_with("100.1."))
    );
    assert!(
        after
            .customers
            .iter()
            .all(|c| !c.tenant_key.starts_with("100.1."))
    );
    assert_eq!(after.members.len(), 1, "the shop's membership went with it");
    // Only the subtree went: 3 tenants, 6 invoices, 3 customers, 1 membership.
    assert_eq!(before.tenants.len() - after.tenants.len(), 3);
    assert_eq!(before.invoices.len() - after.invoices.len(), 6);
    assert_eq!(before.customers.len() - after.customers.len(), 3);
    assert_eq!(
        numbers_seen_by(pool, "100.").await,
        ["head-1", "head-2", "south-1", "south-2"]
    );
    assert_eq!(numbers_seen_by(pool, "101.").await, ["other-1", "other-2"]);
    assert!(matches!(
        typed(&admin.get(&north.key().expect("k")).await.expect_err("gone")),
        TenancyError::TenantNotFound { .. }
    ));
    // Deleting the head office takes the rest of its tree.
    assert_eq!(
        admin.delete(&head.key().expect("k")).await.expect("delete"),
        2
    );
    assert_eq!(numbers_seen_by(pool, "100.").await, Vec::<String>::new());
}

async fn a_move_rekeys_three_levels_in_every_tenanted_table(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    let [head, north, _south, shop, till, other] = chain(&admin, pool).await;
    admin
        .add_member(&till.key().expect("k"), "tim", "clerk")
        .await
        .expect("member");
    let before = snapshot(pool).await;

    let moved = admin
        .move_subtree(&north.key().expect("k"), Some(&other.key().expect("k")))
        .await
        .expect("move");

    assert_eq!(moved.data_key, "101.1.");
    assert_eq!(moved.parent_id, Some(other.id));
    assert_eq!(moved.id, north.id);
    let after = snapshot(pool).await;
    the_seed_is_untouched(&before, &after);
    let new_key = |id| {
        after
            .tenants
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.data_key.clone())
    };
    assert_eq!(new_key(shop.id).as_deref(), Some("101.1.1."));
    assert_eq!(new_key(till.id).as_deref(), Some("101.1.1.1."));
    assert_eq!(new_key(head.id).as_deref(), Some("100."));
    assert_eq!(
        data_keys_of(&after.invoices, "101.1."),
        [
            ("north-1", "101.1."),
            ("north-2", "101.1."),
            ("shop-1", "101.1.1."),
            ("shop-2", "101.1.1."),
            ("till-1", "101.1.1.1."),
            ("till-2", "101.1.1.1."),
        ]
        .map(|(n, k)| (n.to_owned(), k.to_owned()))
    );
    assert!(
        after
            .invoices
            .iter()
            .all(|i| !i.data_key.starts_with("100.1."))
    );
    let moved_customers: Vec<&str> = after
        .customers
        .iter()
        .filter(|c| c.tenant_key.starts_with("101.1."))
        .map(|c| c.tenant_key.as_str())
        .collect();
    assert_eq!(moved_customers.len(), 3, "{moved_customers:?}");
    assert_eq!(after.members[0].data_key, "101.1.1.1.");
    // Row ids and counts are unchanged: re-keyed, not copied.
    assert_eq!(before.invoices.len(), after.invoices.len());
    assert_eq!(
        numbers_seen_by(pool, "100.").await,
        ["head-1", "head-2", "south-1", "south-2"]
    );
    assert_eq!(numbers_seen_by(pool, "101.").await.len(), 8);
    assert_eq!(
        numbers_seen_by(pool, "101.1.1.1.").await,
        ["till-1", "till-2"]
    );
    // The tree follows.
    let tree = admin
        .subtree(&other.key().expect("k"))
        .await
        .expect("subtree");
    assert_eq!(tree.len(), 4);
    // And back to the top level, under a fresh key.
    let top = admin
        .move_subtree(&moved.key().expect("k"), None)
        .await
        .expect("to top");
    assert_eq!(top.data_key, "102.");
    assert_eq!(
        numbers_seen_by(pool, "102.1.1.").await,
        ["till-1", "till-2"]
    );
}

async fn refused_moves_change_nothing(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    let [head, north, _south, shop, till, _other] = chain(&admin, pool).await;
    let before = snapshot(pool).await;
    let k = |t: &tenant::Model| t.key().expect("k");
    for (what, target) in [
        ("itself", &north),
        ("its child", &shop),
        ("its grandchild", &till),
    ] {
        let err = admin
            .move_subtree(&k(&north), Some(&k(target)))
            .await
            .expect_err(what);
        assert!(
            matches!(typed(&err), TenancyError::InvalidTenantChange { .. }),
            "{what}: {err}"
        );
        assert!(err.to_string().contains("100.1."), "{err}");
    }
    let err = admin
        .move_subtree(&DataKey::system(), Some(&k(&head)))
        .await
        .expect_err("system");
    assert!(matches!(
        typed(&err),
        TenancyError::InvalidTenantChange { .. }
    ));
    let err = admin.delete(&DataKey::system()).await.expect_err("system");
    assert!(matches!(
        typed(&err),
        TenancyError::InvalidTenantChange { .. }
    ));
    let err = admin
        .move_subtree(&key("999."), None)
        .await
        .expect_err("unknown");
    assert!(matches!(typed(&err), TenancyError::TenantNotFound { .. }));
    let err = admin
        .move_subtree(&k(&shop), Some(&key("999.")))
        .await
        .expect_err("unknown parent");
    assert!(matches!(typed(&err), TenancyError::TenantNotFound { .. }));
    // Under its current parent: nothing to do.
    assert_eq!(
        admin
            .move_subtree(&k(&shop), Some(&k(&north)))
            .await
            .expect("no-op"),
        shop
    );
    assert_eq!(snapshot(pool).await, before);
}

async fn a_failing_hook_leaves_no_trace(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    let [_head, north, south, shop, _till, _other] = chain(&admin, pool).await;
    let before = snapshot(pool).await;
    let k = |t: &tenant::Model| t.key().expect("k");
    for op in ["create", "rename", "delete", "move"] {
        let recorder = Arc::new(Recorder::failing(&[op]));
        let admin = admin.clone().with_hooks(recorder.clone());
        let err = match op {
            "create" => admin.create("Shop 2", Some(&k(&north))).await.map(drop),
            "rename" => admin.rename(&k(&shop), "Renamed").await.map(drop),
            "delete" => admin.delete(&k(&north)).await.map(drop),
            _ => admin
                .move_subtree(&k(&north), Some(&k(&south)))
                .await
                .map(drop),
        }
        .expect_err(op);
        assert!(
            err.to_string().contains(&format!("hook refused {op}")),
            "{err}"
        );
        assert_eq!(
            recorder.calls.lock().expect("lock").len(),
            1,
            "{op}: the hook ran"
        );
        assert_eq!(snapshot(pool).await, before, "{op} left a trace");
    }
}

async fn limits_refuse_with_max_tenant_exceeded_and_create_nothing(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    admin
        .default_tenant()
        .await
        .expect("reserved tenants do not count");
    let limited = admin.clone().max_tenants(2);
    let a = limited.create("A", None).await.expect("a");
    limited
        .create("B", Some(&a.key().expect("k")))
        .await
        .expect("b");
    let before = snapshot(pool).await;
    let err = limited.create("C", None).await.expect_err("third");
    assert!(
        matches!(typed(&err), TenancyError::MaxTenantExceeded { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("at most 2 tenants"), "{err}");
    assert_eq!(snapshot(pool).await, before);

    let per_parent = admin.clone().max_children(1);
    let err = per_parent
        .create("A2", Some(&a.key().expect("k")))
        .await
        .expect_err("second child");
    assert!(
        matches!(typed(&err), TenancyError::MaxTenantExceeded { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("100."), "names the parent: {err}");
    assert_eq!(snapshot(pool).await, before);

    // A policy hook refuses the same way.
    #[derive(Debug)]
    struct NoMoreThanOneLevel;
    #[async_trait::async_trait]
    impl TenantHooks for NoMoreThanOneLevel {
        async fn before_create(
            &self,
            _: &AdminTransaction,
            parent: Option<&tenant::Model>,
            name: &str,
        ) -> Result<(), DbErr> {
            match parent {
                Some(p) if p.parent_id.is_some() => Err(TenancyError::MaxTenantExceeded {
                    tenant: p.data_key.clone(),
                    reason: format!("no sub-tenant {name} below the second level"),
                }
                .into()),
                _ => Ok(()),
            }
        }
    }
    let policy = admin.clone().with_hooks(NoMoreThanOneLevel);
    let err = policy
        .create("deep", Some(&key("100.1.")))
        .await
        .expect_err("policy");
    assert!(
        matches!(typed(&err), TenancyError::MaxTenantExceeded { .. }),
        "{err}"
    );
    assert_eq!(snapshot(pool).await, before);
}

async fn members_open_their_tenants_and_non_members_are_refused(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    let [head, north, south, shop, _till, other] = chain(&admin, pool).await;
    let k = |t: &tenant::Model| t.key().expect("k");
    admin
        .add_member(&k(&north), "nora", "manager")
        .await
        .expect("m");
    admin
        .add_member(&k(&other), "nora", "auditor")
        .await
        .expect("m");
    admin
        .add_member(&k(&other), "nora", "owner")
        .await
        .expect("role changed, not duplicated");
    admin.add_member(&k(&head), "hugo", "ceo").await.expect("m");

    let mine = admin.tenants_of("nora").await.expect("list");
    let listed: Vec<(&str, &str)> = mine
        .iter()
        .map(|m| (m.tenant.name.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(listed, [("North", "manager"), ("Other chain", "owner")]);
    assert!(admin.tenants_of("nobody").await.expect("list").is_empty());

    // A member opens their tenant, and its descendants; they see that subtree only.
    let db = admin
        .connect_member("nora", &k(&north))
        .await
        .expect("member");
    let seen: Vec<String> = {
        let mut v: Vec<String> = invoice::Entity::find()
            .all(&db)
            .await
            .expect("list")
            .into_iter()
            .map(|i| i.number)
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        seen,
        ["north-1", "north-2", "shop-1", "shop-2", "till-1", "till-2"]
    );
    let shop_db = admin
        .connect_member("nora", &k(&shop))
        .await
        .expect("descendant");
    assert_eq!(
        invoice::Entity::find()
            .all(&shop_db)
            .await
            .expect("list")
            .len(),
        4
    );
    admin
        .connect_member("hugo", &k(&south))
        .await
        .expect("ancestor's member");

    // Not a member of the sibling, the parent, or anything at all: refused.
    for (user, t) in [("nora", &south), ("nora", &head), ("mallory", &north)] {
        let err = admin
            .connect_member(user, &k(t))
            .await
            .expect_err("non-member");
        common::assert_invalid_tenant_access(&err);
        assert!(
            err.to_string().contains(&t.data_key),
            "names the tenant: {err}"
        );
    }
    assert!(
        admin
            .remove_member(&k(&north), "nora")
            .await
            .expect("remove")
    );
    common::assert_invalid_tenant_access(
        &admin
            .connect_member("nora", &k(&north))
            .await
            .expect_err("removed"),
    );
}

async fn the_admin_connection_sees_all_and_still_checks(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    chain(&admin, pool).await;
    let conn = admin.connection();
    let all = invoice::Entity::find().all(conn).await.expect("all");
    assert_eq!(all.len(), common::all_invoices(pool).await.len());
    assert!(all.iter().any(|i| i.data_key == "2.") && all.iter().any(|i| i.data_key == "101."));

    let before = snapshot(pool).await;
    // An unclassified table is refused.
    let err = conn
        .query_all_raw(Statement::from_string(
            pool.get_database_backend(),
            "SELECT * FROM ledger",
        ))
        .await
        .expect_err("ledger");
    assert!(
        matches!(typed(&err), TenancyError::UnknownTable { .. }),
        "{err}"
    );
    // An insert into a tenanted table must name its DataKey…
    let err = invoice::Entity::insert(invoice::ActiveModel {
        number: Set("no key".into()),
        amount: Set(1),
        ..Default::default()
    })
    .exec(conn)
    .await
    .expect_err("no data key");
    assert!(
        err.to_string().contains("must name its data key column"),
        "{err}"
    );
    // …and a well-formed one.
    let err = invoice::Entity::insert_many([("100.", "ok"), ("bad key", "bad")].map(|(k, n)| {
        invoice::ActiveModel {
            data_key: Set(k.into()),
            number: Set(n.into()),
            amount: Set(1),
            ..Default::default()
        }
    }))
    .exec(conn)
    .await
    .expect_err("malformed");
    assert!(
        matches!(typed(&err), TenancyError::InvalidDataKey { .. }),
        "{err}"
    );
    let err = conn
        .execute_unprepared("UPDATE invoice SET data_key = 'x' WHERE id = 1")
        .await
        .expect_err("malformed");
    assert!(
        matches!(typed(&err), TenancyError::InvalidDataKey { .. }),
        "{err}"
    );
    assert_eq!(snapshot(pool).await, before, "nothing was written");
    // It can write any tenant's rows, naming the key.
    invoice::Entity::insert(invoice::ActiveModel {
        data_key: Set("2.".into()),
        number: Set("by admin".into()),
        amount: Set(1),
        ..Default::default()
    })
    .exec(conn)
    .await
    .expect("admin insert");
    assert!(
        numbers_seen_by(pool, "2.")
            .await
            .contains(&"by admin".to_owned())
    );
}

async fn single_tenant_mode_adopts_tenancy_without_code_changes(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    // Day one: no auth, one customer.
    let app = TenantConnection::single_tenant(pool.clone());
    invoice::Entity::insert(invoice::ActiveModel {
        number: Set("day-one".into()),
        amount: Set(1),
        ..Default::default()
    })
    .exec(&app)
    .await
    .expect("insert");
    // Later: tenancy. The default tenant gets its row, new tenants their own keys.
    let default = admin.default_tenant().await.expect("default tenant");
    assert_eq!(default.key().expect("k"), DataKey::default_tenant());
    let newcomer = admin.create("Newcomer", None).await.expect("create");
    assert_eq!(newcomer.data_key, "100.", "the reserved range is skipped");
    let same_code = |db: TenantConnection| async move {
        invoice::Entity::find()
            .all(&db)
            .await
            .expect("list")
            .into_iter()
            .map(|i| i.number)
            .collect::<Vec<_>>()
    };
    assert!(same_code(app).await.contains(&"day-one".to_owned()));
    admin
        .add_member(&default.key().expect("k"), "founder", "owner")
        .await
        .expect("member");
    let founder = admin
        .connect_member("founder", &default.key().expect("k"))
        .await
        .expect("founder");
    assert!(same_code(founder).await.contains(&"day-one".to_owned()));
    assert!(same_code(common::tenant(pool, "100.")).await.is_empty());
    // The reserved keys are never handed out, whatever exists.
    let err = admin
        .create_reserved("too high", 100)
        .await
        .expect_err("outside the range");
    assert!(matches!(
        typed(&err),
        TenancyError::InvalidTenantChange { .. }
    ));
    let err = admin
        .create_reserved("system twin", 0)
        .await
        .expect_err("the system tenant");
    assert!(matches!(
        typed(&err),
        TenancyError::InvalidTenantChange { .. }
    ));
    assert_eq!(
        admin
            .create_reserved("Demo", 7)
            .await
            .expect("reserved")
            .data_key,
        "7."
    );
    assert_eq!(
        admin.create("Next", None).await.expect("create").data_key,
        "101."
    );
}

async fn concurrent_creates_get_distinct_keys_within_the_limit(pool: &DatabaseConnection) {
    let admin = admin_on(pool).await;
    let head = admin.create("Head office", None).await.expect("head");
    let limited = admin.clone().max_children(5);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let admin = limited.clone();
            let parent = head.key().expect("k");
            tokio::spawn(async move { admin.create(&format!("Shop {i}"), Some(&parent)).await })
        })
        .collect();
    let mut created = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(t) => created.push(t.data_key),
            Err(e) => {
                assert!(
                    matches!(typed(&e), TenancyError::MaxTenantExceeded { .. }),
                    "{e}"
                );
                refused += 1;
            }
        }
    }
    created.sort();
    assert_eq!(created, ["100.1.", "100.2.", "100.3.", "100.4.", "100.5."]);
    assert_eq!(refused, 3);
}

async fn a_move_carries_rows_bound_by_composite_foreign_keys(pool: &DatabaseConnection) {
    CreateTenantTables
        .up(&SchemaManager::new(pool))
        .await
        .expect("create the tenant tables");
    let ddl = [
        "CREATE TABLE account (id integer PRIMARY KEY, data_key varchar(255) NOT NULL, name varchar(50) NOT NULL)",
        "CREATE UNIQUE INDEX account_key_id ON account (data_key, id)",
        "CREATE TABLE entry (id integer PRIMARY KEY, data_key varchar(255) NOT NULL, account_id integer NOT NULL, \
         FOREIGN KEY (data_key, account_id) REFERENCES account (data_key, id) ON UPDATE CASCADE)",
    ];
    for s in ddl {
        pool.execute_unprepared(s).await.expect(s);
    }
    let registry = Registry::builder()
        .entity::<tenant::Entity>()
        .entity::<tenant_member::Entity>()
        .tenanted("account", "data_key")
        .tenanted("entry", "data_key")
        .reference("entry", &["account_id"], "account", &["id"])
        .build();
    let admin = TenantAdmin::new(AdminConnection::with_registry(
        pool.clone(),
        Arc::new(registry),
    ));
    let a = admin.create("A", None).await.expect("a");
    let b = admin.create("B", None).await.expect("b");
    let shop = admin
        .create("Shop", Some(&a.key().expect("k")))
        .await
        .expect("shop");
    pool.execute_unprepared(
        "INSERT INTO account (id, data_key, name) VALUES (1, '100.1.', 'till')",
    )
    .await
    .expect("account");
    pool.execute_unprepared("INSERT INTO entry (id, data_key, account_id) VALUES (1, '100.1.', 1)")
        .await
        .expect("entry");
    let moved = admin
        .move_subtree(&shop.key().expect("k"), Some(&b.key().expect("k")))
        .await
        .expect("the move re-keys the referenced table first");
    assert_eq!(moved.data_key, "101.1.");
    for table in ["account", "entry"] {
        let row = pool
            .query_one_raw(Statement::from_string(
                pool.get_database_backend(),
                format!("SELECT data_key FROM {table} WHERE id = 1"),
            ))
            .await
            .expect("read")
            .expect("row");
        assert_eq!(
            row.try_get::<String>("", "data_key").expect("key"),
            "101.1.",
            "{table}"
        );
    }
    // And a delete removes the referencing rows first.
    assert_eq!(
        admin
            .delete(&moved.key().expect("k"))
            .await
            .expect("delete"),
        1
    );
}

scenarios! {
    a_move_carries_rows_bound_by_composite_foreign_keys,
    concurrent_creates_get_distinct_keys_within_the_limit,
    create_derives_keys_and_rename_keeps_them,
    delete_removes_the_subtree_and_its_rows_from_every_tenanted_table,
    a_move_rekeys_three_levels_in_every_tenanted_table,
    refused_moves_change_nothing,
    a_failing_hook_leaves_no_trace,
    limits_refuse_with_max_tenant_exceeded_and_create_nothing,
    members_open_their_tenants_and_non_members_are_refused,
    the_admin_connection_sees_all_and_still_checks,
    single_tenant_mode_adopts_tenancy_without_code_changes,
}

#[test]
fn the_global_registry_knows_the_tenant_tables() {
    let r = Registry::global();
    assert!(r.is_tenanted("tenant") && r.is_tenanted("tenant_member"));
}

#[tokio::test]
async fn every_admin_statement_is_traced_with_the_admin_marker() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let pool = sea_orm::Database::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    let admin = admin_on(&pool).await;
    admin.create("Traced", None).await.expect("create");
    admin
        .connection()
        .execute_unprepared("DELETE FROM tenant_member")
        .await
        .expect("unprepared");
    let tenant_db = TenantConnection::new(pool.clone(), key("100."));
    tenant::Entity::find()
        .all(&tenant_db)
        .await
        .expect("tenant read");

    let text = captured.text();
    let admin_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("admin statement"))
        .collect();
    assert!(
        admin_lines.iter().all(|l| l.contains("admin=true")),
        "{text}"
    );
    assert!(
        admin_lines
            .iter()
            .any(|l| l.contains("INSERT INTO") && l.contains("tenant")),
        "{text}"
    );
    assert!(
        admin_lines
            .iter()
            .any(|l| l.contains("DELETE FROM tenant_member")),
        "{text}"
    );
    assert!(
        admin_lines
            .iter()
            .any(|l| l.contains("FOR UPDATE") || l.contains("SELECT")),
        "{text}"
    );
    // The tenant connection's statement carries no admin marker (it is not traced at INFO).
    assert!(
        !text
            .lines()
            .any(|l| l.contains("admin=true") && l.contains(r#"COLLATE BINARY >="#)),
        "{text}"
    );
}
