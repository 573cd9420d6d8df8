//! Concurrency: 1,000 tokio tasks of 50 tenants on one pool, and not one foreign row.
//!
//! Each backend's test seeds (through the raw pool) three invoices and a customer for each
//! of 50 tenants in three levels, `1.`..`10.`, their children `N.1.` and `N.11.`, and the
//! grandchildren `N.1.1.` and `N.1.10.`: parents see their children, siblings never see
//! each other, and at every level a key's text starts with another's (`1.` and `10.`,
//! `1.1.` and `1.11.`, `1.1.1.` and `1.1.10.`). Some anchor invoices point at another
//! tenant's customer. Then 1,000 tasks, 20 per tenant, run at once on ONE pool, each
//! through its own `TenantConnection`, in an order drawn from a seeded generator:
//!
//! - reads: `find().all()`, `find_also_related`, `.stream()`, `count()`, raw SQL
//!   selects and a raw join, customers;
//! - writes: inserts (DataKey filled in, or set to a descendant), updates, moves into a
//!   descendant, deletes, through the ORM, prepared raw SQL and `execute_unprepared`;
//! - transactions: `begin()` with commit and rollback, `transaction(...)` closures
//!   returning `Ok` and `Err`, savepoints released and rolled back;
//! - attacks on other tenants' rows (ancestors', siblings', and those whose key shares
//!   the tenant's text): updates, deletes, upserts, forged DataKeys, moving an own row
//!   out; all must change nothing;
//! - cancellation, about 470 tasks of the 1,000: tasks aborted (`JoinHandle::abort`)
//!   while parked in an open transaction with writes (`begin()`, or inside
//!   `transaction(...)`, with a savepoint open), futures holding such a transaction
//!   dropped in the middle of a task that then goes on, timers (0 to 15 ms) over the
//!   second half of a task or over a transaction already begun, and aborts after a
//!   random delay. A timer or a delayed abort strikes at the task's next checkpoint:
//!   before any statement, savepoint end or `COMMIT`; so inside open transactions,
//!   inside `transaction(...)` closures and savepoints, between autocommit statements,
//!   never inside one statement.
//!
//! What it proves:
//!
//! 1. Every row any task reads (through its tenant connection or its transaction) is in
//!    that task's tenant subtree (byte prefix of dot-terminated keys, an oracle that does
//!    not use the crate), is a seeded row unchanged or a row in a state its writer wrote;
//!    every seeded row of the subtree is there, and so is each of the task's own
//!    committed rows, in its last state; its deleted and rolled-back rows are not; counts
//!    of seeded rows are exact; a related customer is there exactly when it is in the
//!    subtree.
//! 2. Every attack changes nothing: 0 rows affected, `RecordNotUpdated`,
//!    `RecordNotInserted`, or `InvalidTenantAccess`.
//! 3. At the end, read through the raw pool: every seeded row is unchanged; every other
//!    row was written by a task whose tenant may write its DataKey, and is in a state that
//!    the task's committed writes leave; every committed write is there; a transaction
//!    cancelled before its commit was sent left nothing. Per tenant (and table), the rows
//!    are exactly those of the ledger of committed writes. Every task ends (within 240 s)
//!    and every pooled connection goes back to the pool.
//!
//! Why checkpoints: with sea-orm 2.0.4 / sqlx 0.9.0 on PostgreSQL, a savepoint's
//! `commit()` (`RELEASE SAVEPOINT`) cancelled in flight loses its pool connection for
//! good (then `pool.close()`, the harness' clean-up, waits forever); a plain sea-orm
//! loop without this crate shows it. `TENANCY_CANCEL_ANYWHERE=1` makes the timers and
//! aborts strike wherever a task is, inside statements and `COMMIT`s too: the ledger then
//! allows the outcomes a cancellation leaves unknown (counted: how many landed), and on
//! PostgreSQL the run ends with "pooled connections never came back" and hangs.
//!
//! The harness (`tests/common/mod.rs`) gives each test a fresh, seeded database: on SQLite
//! a one-connection pool, on PostgreSQL and MariaDB a pool of 4. Run:
//!
//!     DATABASE_URL_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!     DATABASE_URL_MYSQL=mysql://root@127.0.0.1:3306/test \
//!     TENANCY_REQUIRE_SERVERS=1 \
//!     cargo test --test concurrency
//!
//! Add `-- --nocapture` for the counts and the wall time of each backend.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, NotSet, PaginatorTrait, QueryFilter, QueryOrder, Set, Statement, StreamTrait,
    TransactionError, TransactionTrait, Unchanged, Value,
};
use sea_orm_tenancy::{TenantConnection, TenantTransaction};
use tokio::sync::oneshot;

use common::entities::{customer, invoice};
use common::{all_customers, all_invoices, assert_invalid_tenant_access, placeholder, tenant};

/// How many tasks run at once, all on one pool.
const TASKS: usize = 1_000;

/// What a `transaction(...)` closure returns to be rolled back.
const ON_PURPOSE: &str = "rolled back on purpose";

// ---------------------------------------------------------------------------------------
// Tenants, and the oracle of who sees what
// ---------------------------------------------------------------------------------------

/// 50 tenants in three levels; at every level one key's text starts with another's.
fn tenant_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for top in 1..=10 {
        keys.push(format!("{top}."));
        keys.push(format!("{top}.1."));
        keys.push(format!("{top}.11."));
        keys.push(format!("{top}.1.1."));
        keys.push(format!("{top}.1.10."));
    }
    keys
}

/// Whether a row with DataKey `data_key` is in the subtree of tenant `tenant_key`: the
/// keys are dot-terminated segments, so the subtree is exactly the byte prefix. An oracle
/// of its own, not the crate's `DataKey::matches`.
fn within(data_key: &str, tenant_key: &str) -> bool {
    data_key.starts_with(tenant_key)
}

/// `1.4.` → `1.`; `1.` → ``.
fn parent(key: &str) -> &str {
    let body = &key[..key.len() - 1];
    &key[..body.rfind('.').map_or(0, |i| i + 1)]
}

/// Seeded randomness (splitmix64): the same task always draws the same plan and steps.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------
// The world: the seeded rows, the ledger of writes, the counters
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Table {
    Invoice,
    Customer,
}

/// What a write leaves in a row: its DataKey and amount (customers: amount 0).
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    data_key: String,
    amount: i32,
}

/// One row a task wrote, by its unique number (invoices) or name (customers).
#[derive(Debug)]
struct Entry {
    table: Table,
    task: usize,
    tenant: usize,
    /// Known once a commit made the row certain.
    id: Option<i32>,
    /// Every state the writer ever sent: all another task may ever read.
    ever: Vec<State>,
    /// The states the row may be in now (`None`: no row). One element, unless a
    /// cancellation left the outcome of a write unknown.
    possible: Vec<Option<State>>,
}

#[derive(Debug, Default)]
struct Ledger {
    rows: HashMap<String, Entry>,
}

impl Ledger {
    fn entry(&mut self, number: &str) -> &mut Entry {
        self.rows
            .get_mut(number)
            .unwrap_or_else(|| panic!("{number} is not in the ledger"))
    }

    /// A write of `after` may land from now on.
    fn unsettle(&mut self, number: &str, after: Option<State>) {
        let entry = self.entry(number);
        if !entry.possible.contains(&after) {
            entry.possible.push(after);
        }
    }

    /// The write of `after` landed.
    fn settle(&mut self, number: &str, after: Option<State>, id: Option<i32>) {
        let entry = self.entry(number);
        entry.possible = vec![after];
        if id.is_some() {
            entry.id = id;
        }
    }
}

#[derive(Debug, Default)]
struct Stats {
    reads: AtomicUsize,
    rows_checked: AtomicUsize,
    writes: AtomicUsize,
    attacks: AtomicUsize,
    refusals: AtomicUsize,
    commits: AtomicUsize,
    rollbacks: AtomicUsize,
    closures: AtomicUsize,
    savepoints: AtomicUsize,
    dropped_txns: AtomicUsize,
    timeouts: AtomicUsize,
    cancelled_mid_flight: AtomicUsize,
    unknown_outcomes: AtomicUsize,
}

fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn count(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::Relaxed)
}

struct World {
    backend: DbBackend,
    keys: Vec<String>,
    /// Every invoice and customer before the tasks start (ours and the harness' seed),
    /// by id. No task may change them: the tenants' own ones are never written by plan.
    anchors: BTreeMap<i32, invoice::Model>,
    anchor_customers: BTreeMap<i32, customer::Model>,
    /// Per tenant: its anchor customer.
    own_customer: Vec<i32>,
    /// Per tenant: the tenants of its subtree (itself included).
    subtree: Vec<Vec<usize>>,
    /// Per tenant: DataKeys it may not write (every other tenant outside its subtree, and
    /// the harness' `A.`), the closest kin first.
    foreign_keys: Vec<Vec<String>>,
    kin_keys: Vec<Vec<String>>,
    /// Per tenant: ids of the anchor invoices and customers outside its subtree, and of
    /// those of its kin (ancestors, siblings, keys sharing its text).
    foreign_anchors: Vec<Vec<i32>>,
    kin_anchors: Vec<Vec<i32>>,
    foreign_customers: Vec<Vec<i32>>,
    ledger: Mutex<Ledger>,
    stats: Stats,
}

impl World {
    async fn seed(pool: &DatabaseConnection) -> World {
        let backend = pool.get_database_backend();
        let keys = tenant_keys();
        assert_eq!(keys.len(), 50);
        customer::Entity::insert_many(keys.iter().map(|k| customer::ActiveModel {
            tenant_key: Set(k.clone()),
            name: Set(format!("an-{k}")),
            ..Default::default()
        }))
        .exec(pool)
        .await
        .expect("seed the anchor customers");
        let customers = all_customers(pool).await;
        let customer_of = |k: &str| {
            customers
                .iter()
                .find(|c| c.name == format!("an-{k}"))
                .map(|c| c.id)
                .expect("anchor customer")
        };
        let kin = |t: usize| -> Vec<usize> {
            let me = &keys[t];
            (0..keys.len())
                .filter(|&u| {
                    let other = &keys[u];
                    !within(other, me)
                        && (within(me, other)
                            || parent(other) == parent(me)
                            || other.starts_with(&me[..me.len() - 1])
                            || me.starts_with(&other[..other.len() - 1]))
                })
                .collect()
        };
        let mut rng = Rng::new(0xA5C0_0001);
        let mut invoices = Vec::new();
        for (t, k) in keys.iter().enumerate() {
            let kin = kin(t);
            let foreign = &keys[kin[rng.below(kin.len())]];
            let parent_customer = (!parent(k).is_empty()).then(|| customer_of(parent(k)));
            // Its own customer; a kin's customer (hidden from it); its parent's customer
            // (hidden from it, visible to the parent).
            for (n, customer_id) in [
                Some(customer_of(k)),
                Some(customer_of(foreign)),
                parent_customer,
            ]
            .into_iter()
            .enumerate()
            {
                invoices.push(invoice::ActiveModel {
                    data_key: Set(k.clone()),
                    number: Set(format!("an-{k}-{n}")),
                    amount: Set(i32::try_from(100 * t + n).expect("small")),
                    customer_id: Set(customer_id),
                    ..Default::default()
                });
            }
        }
        invoice::Entity::insert_many(invoices)
            .exec(pool)
            .await
            .expect("seed the anchor invoices");

        let anchors: BTreeMap<i32, invoice::Model> = all_invoices(pool)
            .await
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        let anchor_customers: BTreeMap<i32, customer::Model> = all_customers(pool)
            .await
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let own_customer = keys.iter().map(|k| customer_of(k)).collect();
        let subtree = (0..keys.len())
            .map(|t| {
                (0..keys.len())
                    .filter(|&u| within(&keys[u], &keys[t]))
                    .collect()
            })
            .collect();
        let mut foreign_keys = Vec::new();
        let mut kin_keys = Vec::new();
        let mut foreign_anchors = Vec::new();
        let mut kin_anchors = Vec::new();
        let mut foreign_customers = Vec::new();
        for (t, me) in keys.iter().enumerate() {
            let kin_of_t: Vec<String> = kin(t).into_iter().map(|u| keys[u].clone()).collect();
            let mut foreign: Vec<String> =
                keys.iter().filter(|k| !within(k, me)).cloned().collect();
            foreign.push("A.".to_owned());
            foreign_anchors.push(
                anchors
                    .values()
                    .filter(|i| !within(&i.data_key, me))
                    .map(|i| i.id)
                    .collect(),
            );
            kin_anchors.push(
                anchors
                    .values()
                    .filter(|i| kin_of_t.contains(&i.data_key))
                    .map(|i| i.id)
                    .collect(),
            );
            foreign_customers.push(
                anchor_customers
                    .values()
                    .filter(|c| !within(&c.tenant_key, me))
                    .map(|c| c.id)
                    .collect(),
            );
            foreign_keys.push(foreign);
            kin_keys.push(kin_of_t);
        }
        World {
            backend,
            keys,
            anchors,
            anchor_customers,
            own_customer,
            subtree,
            foreign_keys,
            kin_keys,
            foreign_anchors,
            kin_anchors,
            foreign_customers,
            ledger: Mutex::new(Ledger::default()),
            stats: Stats::default(),
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The anchor customer `id`, if tenant `key` may see it.
    fn visible_customer(&self, id: Option<i32>, key: &str) -> Option<&customer::Model> {
        let customer = self.anchor_customers.get(&id?)?;
        within(&customer.tenant_key, key).then_some(customer)
    }
}

// ---------------------------------------------------------------------------------------
// An actor: one task's tenant, its view of its own rows, its bookkeeping
// ---------------------------------------------------------------------------------------

/// A row the task wrote, as the task knows it: `state: None` means it must not be there
/// (deleted, or inserted by a transaction that rolled back).
#[derive(Debug, Clone)]
struct Own {
    number: String,
    table: Table,
    id: Option<i32>,
    customer_id: Option<i32>,
    state: Option<State>,
}

#[derive(Debug)]
struct Change {
    number: String,
    table: Table,
    id: Option<i32>,
    after: Option<State>,
    inserted: bool,
}

/// An open transaction: what `own` was before it, what it wrote, whether its commit may
/// have been sent, and the savepoints in it.
#[derive(Debug)]
struct Txn {
    snapshot: Vec<Own>,
    changes: Vec<Change>,
    committing: bool,
    savepoints: Vec<(Vec<Own>, usize)>,
}

#[derive(Debug)]
struct ActorState {
    rng: Rng,
    counter: u32,
    own: Vec<Own>,
    /// An autocommit write sent and not yet answered.
    inflight: Option<String>,
    txn: Option<Txn>,
    /// When and how to signal a stop at a checkpoint.
    stop: Option<(tokio::time::Instant, oneshot::Sender<()>)>,
    /// The last steps it started and finished, to name a task that hangs.
    trail: std::collections::VecDeque<String>,
}

impl ActorState {
    fn put_own(&mut self, own: Own) {
        match self.own.iter_mut().find(|o| o.number == own.number) {
            Some(slot) => *slot = own,
            None => self.own.push(own),
        }
    }
}

/// The last state and the id of each row a transaction wrote.
fn net_changes(changes: &[Change]) -> BTreeMap<String, (Option<State>, Option<i32>)> {
    let mut net: BTreeMap<String, (Option<State>, Option<i32>)> = BTreeMap::new();
    for c in changes {
        let slot = net.entry(c.number.clone()).or_insert((None, None));
        slot.0 = c.after.clone();
        slot.1 = c.id.or(slot.1);
    }
    net
}

/// What a read asked for, so that completeness is checked on the rows it must return.
#[derive(Debug, Clone, Copy)]
enum Filter {
    All,
    AmountAtLeast(i32),
    CustomerVisible,
}

#[derive(Clone)]
struct Actor {
    world: Arc<World>,
    task: usize,
    tenant: usize,
    key: String,
    st: Arc<Mutex<ActorState>>,
}

impl Actor {
    fn new(world: Arc<World>, task: usize, rng: Rng) -> Actor {
        let tenant = task % world.keys.len();
        Actor {
            key: world.keys[tenant].clone(),
            world,
            task,
            tenant,
            st: Arc::new(Mutex::new(ActorState {
                rng,
                counter: 0,
                own: Vec::new(),
                inflight: None,
                txn: None,
                stop: None,
                trail: std::collections::VecDeque::new(),
            })),
        }
    }

    fn st(&self) -> MutexGuard<'_, ActorState> {
        self.st.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stats(&self) -> &Stats {
        &self.world.stats
    }

    fn who(&self) -> String {
        format!("task {} (tenant {})", self.task, self.key)
    }

    fn roll(&self, n: usize) -> usize {
        self.st().rng.below(n)
    }

    fn pick<T: Clone>(&self, items: &[T]) -> T {
        items[self.roll(items.len())].clone()
    }

    fn fresh(&self) -> u32 {
        let mut st = self.st();
        st.counter += 1;
        st.counter
    }

    /// A number (or name) used once in the whole run.
    fn number(&self, prefix: &str) -> String {
        format!("{prefix}{}-{}", self.task, self.fresh())
    }

    /// An amount used once in the whole run; attacks use its negation.
    fn amount(&self) -> i32 {
        i32::try_from(self.task * 10_000).expect("small")
            + i32::try_from(self.fresh()).expect("small")
    }

    fn ok<T>(&self, what: &str, result: Result<T, DbErr>) -> T {
        self.at(format!("done {what}"));
        result.unwrap_or_else(|e| panic!("{}: {what}: {e}", self.who()))
    }

    /// Notes a step on the trail.
    fn at(&self, step: String) {
        let mut st = self.st();
        if st.trail.len() == 12 {
            st.trail.pop_front();
        }
        st.trail.push_back(step);
    }

    /// Where the task is: its trail, its write in flight, its open transaction.
    fn whereabouts(&self) -> String {
        let st = self.st();
        format!(
            "{}: trail {:?}, in flight {:?}, transaction {:?}",
            self.who(),
            st.trail,
            st.inflight,
            st.txn
                .as_ref()
                .map(|t| (t.committing, t.changes.len(), t.savepoints.len()))
        )
    }

    /// The tenant's own key or one of its descendants'.
    fn descendant_key(&self) -> String {
        let t = self.pick(&self.world.subtree[self.tenant]);
        self.world.keys[t].clone()
    }

    /// A DataKey the tenant may not write: half the time a kin's.
    fn foreign_key(&self) -> String {
        if self.roll(2) == 0 {
            self.pick(&self.world.kin_keys[self.tenant])
        } else {
            self.pick(&self.world.foreign_keys[self.tenant])
        }
    }

    /// An anchor invoice outside the subtree: half the time a kin's.
    fn foreign_anchor(&self) -> invoice::Model {
        let id = if self.roll(2) == 0 {
            self.pick(&self.world.kin_anchors[self.tenant])
        } else {
            self.pick(&self.world.foreign_anchors[self.tenant])
        };
        self.world.anchors[&id].clone()
    }

    /// One of the task's own invoices that is certainly there, with its id.
    fn own_invoice(&self) -> Option<Own> {
        let st = &mut *self.st();
        let candidates: Vec<&Own> = st
            .own
            .iter()
            .filter(|o| o.table == Table::Invoice && o.state.is_some() && o.id.is_some())
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = st.rng.below(candidates.len());
        Some(candidates[i].clone())
    }

    fn sql(&self, template: &str) -> String {
        // `{1}`, `{2}`, ... → the backend's placeholders.
        let mut sql = template.to_owned();
        for n in 1..=3 {
            sql = sql.replace(&format!("{{{n}}}"), &placeholder(self.world.backend, n));
        }
        sql
    }

    fn stmt(&self, template: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.world.backend, self.sql(template), values)
    }

    // -- bookkeeping ---------------------------------------------------------------------

    /// Before an insert is sent: the row is registered, absent until it lands.
    fn before_insert(&self, table: Table, number: &str, state: &State) {
        let previous = self.world.ledger().rows.insert(
            number.to_owned(),
            Entry {
                table,
                task: self.task,
                tenant: self.tenant,
                id: None,
                ever: vec![state.clone()],
                possible: vec![None],
            },
        );
        assert!(previous.is_none(), "{number} used twice");
        self.before_send(number, Some(state.clone()));
    }

    /// Before an update or delete of an own row is sent.
    fn before_change(&self, number: &str, after: Option<State>) {
        if let Some(state) = &after {
            self.world.ledger().entry(number).ever.push(state.clone());
        }
        self.before_send(number, after);
    }

    /// Outside a transaction, the write may land from now on.
    fn before_send(&self, number: &str, after: Option<State>) {
        let mut st = self.st();
        if st.txn.is_none() {
            self.world.ledger().unsettle(number, after);
            st.inflight = Some(number.to_owned());
        }
    }

    /// After the database answered a write: outside a transaction it landed; inside, it
    /// lands with the commit.
    fn after_write(&self, own: Own, inserted: bool) {
        bump(&self.stats().writes);
        let mut st = self.st();
        if let Some(txn) = st.txn.as_mut() {
            txn.changes.push(Change {
                number: own.number.clone(),
                table: own.table,
                id: own.id,
                after: own.state.clone(),
                inserted,
            });
        } else {
            self.world
                .ledger()
                .settle(&own.number, own.state.clone(), own.id);
            st.inflight = None;
        }
        st.put_own(own);
    }

    /// The id of a row inserted by raw SQL, found after the insert.
    fn learn_id(&self, number: &str, id: i32) {
        let mut st = self.st();
        if let Some(own) = st.own.iter_mut().find(|o| o.number == number) {
            own.id = Some(id);
        }
        match st.txn.as_mut() {
            Some(txn) => {
                for c in txn.changes.iter_mut().filter(|c| c.number == number) {
                    c.id = Some(id);
                }
            }
            None => {
                let mut ledger = self.world.ledger();
                let entry = ledger.entry(number);
                if entry.possible.len() == 1 {
                    entry.id = Some(id);
                }
            }
        }
    }

    fn begin_txn(&self) {
        let mut st = self.st();
        assert!(st.txn.is_none(), "{}: nested begin_txn", self.who());
        let snapshot = st.own.clone();
        st.txn = Some(Txn {
            snapshot,
            changes: Vec::new(),
            committing: false,
            savepoints: Vec::new(),
        });
    }

    /// Right before the commit is sent: from now on its writes may land.
    fn before_commit(&self) {
        let mut st = self.st();
        let txn = st.txn.as_mut().expect("in a transaction");
        txn.committing = true;
        let mut ledger = self.world.ledger();
        for (number, (after, _)) in net_changes(&txn.changes) {
            ledger.unsettle(&number, after);
        }
    }

    fn after_commit(&self) {
        let mut st = self.st();
        let txn = st.txn.take().expect("in a transaction");
        let mut ledger = self.world.ledger();
        for (number, (after, id)) in net_changes(&txn.changes) {
            ledger.settle(&number, after, id);
        }
        bump(&self.stats().commits);
    }

    /// The transaction's writes never happened; its inserts must not be seen.
    fn after_rollback(&self) {
        let st = &mut *self.st();
        let txn = st.txn.take().expect("in a transaction");
        st.own = txn.snapshot;
        for c in txn.changes.iter().filter(|c| c.inserted) {
            st.put_own(Own {
                number: c.number.clone(),
                table: c.table,
                id: c.id,
                customer_id: None,
                state: None,
            });
        }
        bump(&self.stats().rollbacks);
    }

    fn begin_savepoint(&self) {
        let st = &mut *self.st();
        let txn = st.txn.as_mut().expect("in a transaction");
        txn.savepoints.push((st.own.clone(), txn.changes.len()));
        bump(&self.stats().savepoints);
    }

    fn release_savepoint(&self) {
        let mut st = self.st();
        let txn = st.txn.as_mut().expect("in a transaction");
        txn.savepoints.pop().expect("in a savepoint");
    }

    fn rollback_savepoint(&self) {
        let st = &mut *self.st();
        let txn = st.txn.as_mut().expect("in a transaction");
        let (own, len) = txn.savepoints.pop().expect("in a savepoint");
        let undone = txn.changes.split_off(len);
        st.own = own;
        for c in undone.iter().filter(|c| c.inserted) {
            st.put_own(Own {
                number: c.number.clone(),
                table: c.table,
                id: c.id,
                customer_id: None,
                state: None,
            });
        }
    }

    /// After a future of this actor was dropped (timeout, drop, abort): a transaction
    /// whose commit was not sent certainly rolled back; what was in flight is unknown,
    /// and the task stops relying on it. Whether something was in flight.
    fn recover(&self) -> bool {
        let st = &mut *self.st();
        let mut mid_flight = false;
        if let Some(number) = st.inflight.take() {
            st.own.retain(|o| o.number != number);
            bump(&self.stats().unknown_outcomes);
            mid_flight = true;
        }
        if let Some(txn) = st.txn.take() {
            mid_flight = true;
            st.own = txn.snapshot;
            if txn.committing {
                let net = net_changes(&txn.changes);
                st.own.retain(|o| !net.contains_key(&o.number));
                for _ in &net {
                    bump(&self.stats().unknown_outcomes);
                }
            } else {
                for c in txn.changes.iter().filter(|c| c.inserted) {
                    st.put_own(Own {
                        number: c.number.clone(),
                        table: c.table,
                        id: c.id,
                        customer_id: None,
                        state: None,
                    });
                }
            }
        }
        mid_flight
    }

    // -- checks --------------------------------------------------------------------------

    fn admits(&self, filter: Filter, amount: i32, customer_id: Option<i32>) -> bool {
        match filter {
            Filter::All => true,
            Filter::AmountAtLeast(min) => amount >= min,
            Filter::CustomerVisible => self
                .world
                .visible_customer(customer_id, &self.key)
                .is_some(),
        }
    }

    /// Invoices a read returned: all within the tenant, each seeded row unchanged, each
    /// other row in a state its writer wrote; all seeded rows of the subtree and all own
    /// rows there (in their last state), own deleted or rolled-back rows absent.
    fn check_invoices(&self, what: &str, rows: &[invoice::Model], filter: Filter) {
        let who = self.who();
        let st = self.st();
        let ledger = self.world.ledger();
        let mut ids = BTreeSet::new();
        for row in rows {
            assert!(
                within(&row.data_key, &self.key),
                "{who}: {what} returned a FOREIGN row: {row:?}"
            );
            assert!(ids.insert(row.id), "{who}: {what} returned {row:?} twice");
            assert!(
                self.admits(filter, row.amount, row.customer_id),
                "{who}: {what} returned {row:?}, which its filter {filter:?} excludes"
            );
            if let Some(anchor) = self.world.anchors.get(&row.id) {
                assert_eq!(row, anchor, "{who}: {what}: a seeded row changed");
                continue;
            }
            let entry = ledger
                .rows
                .get(&row.number)
                .unwrap_or_else(|| panic!("{who}: {what} returned {row:?}, which no task wrote"));
            assert_eq!(entry.table, Table::Invoice, "{who}: {what}: {row:?}");
            let seen = State {
                data_key: row.data_key.clone(),
                amount: row.amount,
            };
            assert!(
                entry.ever.contains(&seen),
                "{who}: {what} returned {row:?}, a state its writer (task {}) never wrote",
                entry.task
            );
            if let Some(id) = entry.id {
                assert_eq!(row.id, id, "{who}: {what}: {row:?} changed its id");
            }
        }
        for anchor in self.world.anchors.values() {
            if within(&anchor.data_key, &self.key)
                && self.admits(filter, anchor.amount, anchor.customer_id)
            {
                assert!(
                    ids.contains(&anchor.id),
                    "{who}: {what} misses the seeded row {anchor:?}"
                );
            }
        }
        for own in st.own.iter().filter(|o| o.table == Table::Invoice) {
            let found = rows.iter().find(|r| r.number == own.number);
            match &own.state {
                Some(s) if self.admits(filter, s.amount, own.customer_id) => {
                    let found = found.unwrap_or_else(|| {
                        panic!("{who}: {what} misses its own committed row {own:?}")
                    });
                    assert_eq!(
                        (found.data_key.as_str(), found.amount),
                        (s.data_key.as_str(), s.amount),
                        "{who}: {what}: its own row {} is not as it left it",
                        own.number
                    );
                }
                Some(_) => {}
                None => assert!(
                    found.is_none(),
                    "{who}: {what} returned its deleted or rolled-back row {found:?}"
                ),
            }
        }
        bump(&self.stats().reads);
        self.stats()
            .rows_checked
            .fetch_add(rows.len(), Ordering::Relaxed);
    }

    fn check_customers(&self, what: &str, rows: &[customer::Model]) {
        let who = self.who();
        let st = self.st();
        let ledger = self.world.ledger();
        let mut ids = BTreeSet::new();
        for row in rows {
            assert!(
                within(&row.tenant_key, &self.key),
                "{who}: {what} returned a FOREIGN customer: {row:?}"
            );
            assert!(ids.insert(row.id), "{who}: {what} returned {row:?} twice");
            if let Some(anchor) = self.world.anchor_customers.get(&row.id) {
                assert_eq!(row, anchor, "{who}: {what}: a seeded customer changed");
                continue;
            }
            let entry = ledger
                .rows
                .get(&row.name)
                .unwrap_or_else(|| panic!("{who}: {what} returned {row:?}, which no task wrote"));
            assert_eq!(entry.table, Table::Customer, "{who}: {what}: {row:?}");
            let seen = State {
                data_key: row.tenant_key.clone(),
                amount: 0,
            };
            assert!(
                entry.ever.contains(&seen),
                "{who}: {what} returned {row:?}, a state its writer (task {}) never wrote",
                entry.task
            );
        }
        for anchor in self.world.anchor_customers.values() {
            if within(&anchor.tenant_key, &self.key) {
                assert!(
                    ids.contains(&anchor.id),
                    "{who}: {what} misses the seeded customer {anchor:?}"
                );
            }
        }
        for own in st.own.iter().filter(|o| o.table == Table::Customer) {
            let found = rows.iter().find(|r| r.name == own.number);
            match &own.state {
                Some(s) => {
                    let found = found.unwrap_or_else(|| {
                        panic!("{who}: {what} misses its own committed customer {own:?}")
                    });
                    assert_eq!(found.tenant_key, s.data_key, "{who}: {what}: {found:?}");
                }
                None => assert!(
                    found.is_none(),
                    "{who}: {what} returned its rolled-back customer {found:?}"
                ),
            }
        }
        bump(&self.stats().reads);
        self.stats()
            .rows_checked
            .fetch_add(rows.len(), Ordering::Relaxed);
    }

    // -- reads ---------------------------------------------------------------------------

    async fn read<C: ConnectionTrait + StreamTrait>(&self, c: &C) {
        let threshold = i32::try_from(self.roll(TASKS) * 10_000).expect("small");
        let variant = self.roll(8);
        self.at(format!("read {variant}"));
        match variant {
            0 | 1 => self.read_all(c).await,
            2 => {
                let pairs = self.ok(
                    "find_also_related",
                    invoice::Entity::find()
                        .find_also_related(customer::Entity)
                        .order_by_asc(invoice::Column::Id)
                        .all(c)
                        .await,
                );
                let rows: Vec<invoice::Model> = pairs.iter().map(|(i, _)| i.clone()).collect();
                self.check_invoices("find_also_related", &rows, Filter::All);
                for (i, related) in &pairs {
                    assert_eq!(
                        related.as_ref(),
                        self.world.visible_customer(i.customer_id, &self.key),
                        "{}: find_also_related joined {i:?} to the wrong customer",
                        self.who()
                    );
                }
            }
            3 => {
                let rows = self.ok(
                    "raw select",
                    invoice::Entity::find()
                        .from_raw_sql(self.stmt(
                            "SELECT id, data_key, number, amount, customer_id FROM invoice \
                             WHERE amount >= {1} ORDER BY id",
                            vec![threshold.into()],
                        ))
                        .all(c)
                        .await,
                );
                self.check_invoices("raw select", &rows, Filter::AmountAtLeast(threshold));
            }
            4 => {
                let stream = self.ok(
                    "stream",
                    invoice::Entity::find()
                        .filter(invoice::Column::Amount.gte(threshold))
                        .order_by_asc(invoice::Column::Id)
                        .stream(c)
                        .await,
                );
                let rows: Vec<invoice::Model> = self.ok("stream rows", stream.try_collect().await);
                self.check_invoices("stream", &rows, Filter::AmountAtLeast(threshold));
            }
            5 => {
                // Seeded rows never change: their counts are exact.
                let invoices = self.ok(
                    "count invoices",
                    invoice::Entity::find()
                        .filter(invoice::Column::Number.starts_with("an-"))
                        .count(c)
                        .await,
                );
                let expected = self
                    .world
                    .anchors
                    .values()
                    .filter(|i| i.number.starts_with("an-") && within(&i.data_key, &self.key))
                    .count();
                assert_eq!(
                    invoices,
                    expected as u64,
                    "{}: count of seeded invoices",
                    self.who()
                );
                let customers = self.ok(
                    "count customers",
                    customer::Entity::find()
                        .filter(customer::Column::Name.starts_with("an-"))
                        .count(c)
                        .await,
                );
                let expected = self
                    .world
                    .anchor_customers
                    .values()
                    .filter(|x| x.name.starts_with("an-") && within(&x.tenant_key, &self.key))
                    .count();
                assert_eq!(
                    customers,
                    expected as u64,
                    "{}: count of seeded customers",
                    self.who()
                );
                bump(&self.stats().reads);
            }
            6 => self.read_customers(c).await,
            _ => {
                let rows = self.ok(
                    "raw join",
                    invoice::Entity::find()
                        .from_raw_sql(self.stmt(
                            "SELECT i.id, i.data_key, i.number, i.amount, i.customer_id \
                             FROM invoice i INNER JOIN customer c ON c.id = i.customer_id \
                             ORDER BY i.id",
                            vec![],
                        ))
                        .all(c)
                        .await,
                );
                self.check_invoices("raw join", &rows, Filter::CustomerVisible);
            }
        }
    }

    async fn read_all<C: ConnectionTrait>(&self, c: &C) {
        let rows = self.ok(
            "find all",
            invoice::Entity::find()
                .order_by_asc(invoice::Column::Id)
                .all(c)
                .await,
        );
        self.check_invoices("find().all()", &rows, Filter::All);
    }

    async fn read_customers<C: ConnectionTrait>(&self, c: &C) {
        let rows = self.ok(
            "customers",
            customer::Entity::find()
                .order_by_asc(customer::Column::Id)
                .all(c)
                .await,
        );
        self.check_customers("customers", &rows);
    }

    /// Everything, at the end of a task and after a cancellation.
    async fn verify<C: ConnectionTrait>(&self, c: &C) {
        self.read_all(c).await;
        self.read_customers(c).await;
    }

    // -- own writes ----------------------------------------------------------------------

    async fn find_inserted<C: ConnectionTrait>(&self, c: &C, number: &str, data_key: &str) {
        let found = self
            .ok(
                "find the inserted row",
                invoice::Entity::find()
                    .filter(invoice::Column::Number.eq(number))
                    .one(c)
                    .await,
            )
            .unwrap_or_else(|| panic!("{}: its insert of {number} is not there", self.who()));
        assert_eq!(found.data_key, data_key, "{}: {found:?}", self.who());
        self.learn_id(number, found.id);
    }

    async fn insert<C: ConnectionTrait>(&self, c: &C) {
        let number = self.number("w");
        let amount = self.amount();
        let variant = self.roll(6);
        self.at(format!("insert {variant}"));
        match variant {
            0..=2 => {
                // The ORM; the DataKey filled in, or set to a descendant's.
                let explicit = self.roll(2) == 0;
                let data_key = if explicit {
                    self.descendant_key()
                } else {
                    self.key.clone()
                };
                let customer_id = (self.roll(2) == 0).then(|| self.world.own_customer[self.tenant]);
                let state = State {
                    data_key: data_key.clone(),
                    amount,
                };
                self.before_insert(Table::Invoice, &number, &state);
                let model = invoice::ActiveModel {
                    data_key: if explicit {
                        Set(data_key.clone())
                    } else {
                        NotSet
                    },
                    number: Set(number.clone()),
                    amount: Set(amount),
                    customer_id: Set(customer_id),
                    ..Default::default()
                }
                .insert(c)
                .await;
                let model = self.ok("insert", model);
                assert_eq!(
                    (model.data_key.as_str(), model.number.as_str(), model.amount),
                    (data_key.as_str(), number.as_str(), amount),
                    "{}: insert",
                    self.who()
                );
                self.after_write(
                    Own {
                        number,
                        table: Table::Invoice,
                        id: Some(model.id),
                        customer_id,
                        state: Some(state),
                    },
                    true,
                );
            }
            3 => {
                // Prepared raw SQL without the DataKey: filled in.
                let customer_id = (self.roll(2) == 0).then(|| self.world.own_customer[self.tenant]);
                let state = State {
                    data_key: self.key.clone(),
                    amount,
                };
                self.before_insert(Table::Invoice, &number, &state);
                let res = c
                    .execute_raw(self.stmt(
                        "INSERT INTO invoice (number, amount, customer_id) VALUES ({1}, {2}, {3})",
                        vec![number.clone().into(), amount.into(), customer_id.into()],
                    ))
                    .await;
                assert_eq!(self.ok("raw insert", res).rows_affected(), 1);
                self.after_write(
                    Own {
                        number: number.clone(),
                        table: Table::Invoice,
                        id: None,
                        customer_id,
                        state: Some(state),
                    },
                    true,
                );
                self.find_inserted(c, &number, &self.key).await;
            }
            4 => {
                // Unprepared SQL with a descendant's DataKey as a literal.
                let data_key = self.descendant_key();
                let state = State {
                    data_key: data_key.clone(),
                    amount,
                };
                self.before_insert(Table::Invoice, &number, &state);
                let res = c
                    .execute_unprepared(&format!(
                        "INSERT INTO invoice (number, amount, data_key) \
                         VALUES ('{number}', {amount}, '{data_key}')"
                    ))
                    .await;
                assert_eq!(self.ok("unprepared insert", res).rows_affected(), 1);
                self.after_write(
                    Own {
                        number: number.clone(),
                        table: Table::Invoice,
                        id: None,
                        customer_id: None,
                        state: Some(state),
                    },
                    true,
                );
                self.find_inserted(c, &number, &data_key).await;
            }
            _ => {
                // A customer: the DataKey column is `tenant_key`.
                let name = self.number("wc");
                let state = State {
                    data_key: self.key.clone(),
                    amount: 0,
                };
                self.before_insert(Table::Customer, &name, &state);
                let model = customer::ActiveModel {
                    name: Set(name.clone()),
                    ..Default::default()
                }
                .insert(c)
                .await;
                let model = self.ok("insert customer", model);
                assert_eq!(model.tenant_key, self.key, "{}: {model:?}", self.who());
                self.after_write(
                    Own {
                        number: name,
                        table: Table::Customer,
                        id: Some(model.id),
                        customer_id: None,
                        state: Some(state),
                    },
                    true,
                );
            }
        }
    }

    async fn update<C: ConnectionTrait>(&self, c: &C) {
        let Some(row) = self.own_invoice() else {
            return self.insert(c).await;
        };
        let id = row.id.expect("own_invoice has an id");
        let before = row.state.clone().expect("own_invoice is there");
        let amount = self.amount();
        let variant = self.roll(4);
        self.at(format!("update {variant}"));
        let data_key = if variant == 2 {
            self.descendant_key()
        } else {
            before.data_key.clone()
        };
        let after = State {
            data_key: data_key.clone(),
            amount,
        };
        self.before_change(&row.number, Some(after.clone()));
        match variant {
            0 => {
                let model = invoice::ActiveModel {
                    id: Unchanged(id),
                    amount: Set(amount),
                    ..Default::default()
                }
                .update(c)
                .await;
                let model = self.ok("update", model);
                assert_eq!(
                    (model.number.as_str(), model.data_key.as_str(), model.amount),
                    (row.number.as_str(), data_key.as_str(), amount),
                    "{}: update",
                    self.who()
                );
            }
            1 => {
                let res = c
                    .execute_raw(self.stmt(
                        "UPDATE invoice SET amount = {1} WHERE id = {2}",
                        vec![amount.into(), id.into()],
                    ))
                    .await;
                assert_eq!(
                    self.ok("raw update", res).rows_affected(),
                    1,
                    "{}",
                    self.who()
                );
            }
            2 => {
                // Moved within the subtree (to a descendant, or back up to itself).
                let res = invoice::Entity::update_many()
                    .col_expr(invoice::Column::DataKey, Expr::value(data_key.clone()))
                    .col_expr(invoice::Column::Amount, Expr::value(amount))
                    .filter(invoice::Column::Id.eq(id))
                    .exec(c)
                    .await;
                assert_eq!(self.ok("move", res).rows_affected, 1, "{}", self.who());
            }
            _ => {
                let res = c
                    .execute_unprepared(&format!(
                        "UPDATE invoice SET amount = {amount} WHERE id = {id}"
                    ))
                    .await;
                assert_eq!(
                    self.ok("unprepared update", res).rows_affected(),
                    1,
                    "{}",
                    self.who()
                );
            }
        }
        self.after_write(
            Own {
                state: Some(after),
                ..row
            },
            false,
        );
    }

    async fn delete<C: ConnectionTrait>(&self, c: &C) {
        let Some(row) = self.own_invoice() else {
            return self.insert(c).await;
        };
        let id = row.id.expect("own_invoice has an id");
        self.before_change(&row.number, None);
        let variant = self.roll(3);
        self.at(format!("delete {variant}"));
        let affected = match variant {
            0 => {
                self.ok(
                    "delete_by_id",
                    invoice::Entity::delete_by_id(id).exec(c).await,
                )
                .rows_affected
            }
            1 => self
                .ok(
                    "unprepared delete",
                    c.execute_unprepared(&format!("DELETE FROM invoice WHERE id = {id}"))
                        .await,
                )
                .rows_affected(),
            _ => {
                self.ok(
                    "delete_many",
                    invoice::Entity::delete_many()
                        .filter(invoice::Column::Id.eq(id))
                        .filter(invoice::Column::Number.eq(row.number.clone()))
                        .exec(c)
                        .await,
                )
                .rows_affected
            }
        };
        assert_eq!(
            affected,
            1,
            "{}: delete of its own {}",
            self.who(),
            row.number
        );
        self.after_write(Own { state: None, ..row }, false);
    }

    // -- attacks -------------------------------------------------------------------------

    fn refused(&self, what: &str, result: Result<impl std::fmt::Debug, DbErr>) {
        match result {
            Err(e) => {
                assert_invalid_tenant_access(&e);
                bump(&self.stats().refusals);
            }
            Ok(v) => panic!("{}: {what} was not refused: {v:?}", self.who()),
        }
    }

    fn nothing(&self, what: &str, affected: u64) {
        assert_eq!(
            affected,
            0,
            "{}: {what} touched another tenant's row",
            self.who()
        );
    }

    /// Try to read, change or take another tenant's rows, or to give an own row away.
    /// Inside a transaction only anchors are targeted, once (row locks on MariaDB).
    async fn attack<C: ConnectionTrait>(&self, c: &C, autocommit: bool) {
        bump(&self.stats().attacks);
        let target = self.foreign_anchor();
        let id = target.id;
        let mark = -self.amount();
        let foreign_key = self.foreign_key();
        let forged = self.number("x");
        let variant = self.roll(if autocommit { 13 } else { 11 });
        self.at(format!("attack {variant}"));
        match variant {
            0 => {
                let res = invoice::ActiveModel {
                    id: Unchanged(id),
                    amount: Set(mark),
                    ..Default::default()
                }
                .update(c)
                .await;
                assert_eq!(
                    res,
                    Err(DbErr::RecordNotUpdated),
                    "{}: update of {target:?}",
                    self.who()
                );
            }
            1 => {
                let res = invoice::Entity::update_many()
                    .col_expr(invoice::Column::Amount, Expr::value(mark))
                    .filter(invoice::Column::Id.eq(id))
                    .exec(c)
                    .await;
                self.nothing("update_many", self.ok("update_many", res).rows_affected);
            }
            2 => {
                let res = invoice::Entity::delete_by_id(id).exec(c).await;
                self.nothing("delete_by_id", self.ok("delete_by_id", res).rows_affected);
            }
            3 => {
                let res = c
                    .execute_raw(self.stmt(
                        "UPDATE invoice SET amount = {1} WHERE id = {2}",
                        vec![mark.into(), id.into()],
                    ))
                    .await;
                self.nothing("raw update", self.ok("raw update", res).rows_affected());
            }
            4 => {
                let res = c
                    .execute_unprepared(&format!("DELETE FROM invoice WHERE id = {id}"))
                    .await;
                self.nothing(
                    "unprepared delete",
                    self.ok("unprepared delete", res).rows_affected(),
                );
            }
            5 => {
                let found = self.ok("find_by_id", invoice::Entity::find_by_id(id).one(c).await);
                assert_eq!(found, None, "{}: find_by_id of {target:?}", self.who());
                let found = self.ok(
                    "raw select by id",
                    invoice::Entity::find()
                        .from_raw_sql(self.stmt(
                            "SELECT * FROM invoice WHERE id = {1} OR number = {2}",
                            vec![id.into(), target.number.clone().into()],
                        ))
                        .all(c)
                        .await,
                );
                assert_eq!(found, [], "{}: raw select of {target:?}", self.who());
            }
            6 => {
                let res = invoice::ActiveModel {
                    data_key: Set(foreign_key),
                    number: Set(forged),
                    amount: Set(mark),
                    ..Default::default()
                }
                .insert(c)
                .await;
                self.refused("forged insert", res);
            }
            7 => {
                let res = c
                    .execute_raw(self.stmt(
                        "INSERT INTO invoice (number, amount, data_key) VALUES ({1}, {2}, {3})",
                        vec![forged.into(), mark.into(), foreign_key.into()],
                    ))
                    .await;
                self.refused("forged raw insert", res);
            }
            8 => {
                let res = c
                    .execute_unprepared(&format!(
                        "INSERT INTO invoice (number, amount, data_key) \
                         VALUES ('{forged}', {mark}, '{foreign_key}')"
                    ))
                    .await;
                self.refused("forged unprepared insert", res);
            }
            9 | 10 => {
                // Give an own row away.
                let Some(own) = self.own_invoice() else {
                    let res = customer::ActiveModel {
                        tenant_key: Set(foreign_key),
                        name: Set(forged),
                        ..Default::default()
                    }
                    .insert(c)
                    .await;
                    return self.refused("forged customer", res);
                };
                let own_id = own.id.expect("own_invoice has an id");
                if variant == 9 {
                    let res = invoice::ActiveModel {
                        id: Unchanged(own_id),
                        data_key: Set(foreign_key),
                        ..Default::default()
                    }
                    .update(c)
                    .await;
                    self.refused("moving an own row out", res);
                } else {
                    let res = c
                        .execute_raw(self.stmt(
                            "UPDATE invoice SET data_key = {1} WHERE id = {2}",
                            vec![foreign_key.into(), own_id.into()],
                        ))
                        .await;
                    self.refused("moving an own row out by raw SQL", res);
                }
                let now = self
                    .ok("find own", invoice::Entity::find_by_id(own_id).one(c).await)
                    .unwrap_or_else(|| panic!("{}: its row {own:?} is gone", self.who()));
                let state = own.state.expect("own_invoice is there");
                assert_eq!(
                    (now.data_key, now.amount),
                    (state.data_key, state.amount),
                    "{}: a refused move changed its row",
                    self.who()
                );
            }
            11 => {
                // An upsert over another tenant's primary key, and a customer.
                let res = invoice::Entity::insert(invoice::ActiveModel {
                    id: Set(id),
                    number: Set(forged),
                    amount: Set(mark),
                    ..Default::default()
                })
                .on_conflict(
                    OnConflict::column(invoice::Column::Id)
                        .update_columns([
                            invoice::Column::Number,
                            invoice::Column::Amount,
                            invoice::Column::DataKey,
                        ])
                        .to_owned(),
                )
                .exec(c)
                .await;
                assert!(
                    matches!(res, Err(DbErr::RecordNotInserted)),
                    "{}: upsert over {target:?}: {res:?}",
                    self.who()
                );
                let customer = self.pick(&self.world.foreign_customers[self.tenant]);
                let res = customer::Entity::update_many()
                    .col_expr(customer::Column::Name, Expr::value("stolen"))
                    .filter(customer::Column::Id.eq(customer))
                    .exec(c)
                    .await;
                self.nothing(
                    "customer update",
                    self.ok("customer update", res).rows_affected,
                );
                let res = customer::Entity::delete_by_id(customer).exec(c).await;
                self.nothing(
                    "customer delete",
                    self.ok("customer delete", res).rows_affected,
                );
            }
            _ => {
                // A row another tenant's task committed, if one is known.
                let victim = {
                    let ledger = self.world.ledger();
                    let victims: Vec<i32> = ledger
                        .rows
                        .values()
                        .filter(|e| {
                            e.table == Table::Invoice
                                && e.possible.len() == 1
                                && e.ever.iter().all(|s| !within(&s.data_key, &self.key))
                        })
                        .filter_map(|e| e.id)
                        .take(64)
                        .collect();
                    (!victims.is_empty()).then(|| victims[self.roll(victims.len())])
                };
                let victim = victim.unwrap_or(id);
                let res = invoice::Entity::update_many()
                    .col_expr(invoice::Column::Amount, Expr::value(mark))
                    .filter(invoice::Column::Id.eq(victim))
                    .exec(c)
                    .await;
                self.nothing(
                    "update of a task's row",
                    self.ok("update", res).rows_affected,
                );
                let res = invoice::Entity::delete_by_id(victim).exec(c).await;
                self.nothing(
                    "delete of a task's row",
                    self.ok("delete", res).rows_affected,
                );
            }
        }
    }

    // -- cancellation --------------------------------------------------------------------

    /// Asks to be stopped at the first checkpoint `after` from now; `signal` says so.
    fn arm(&self, after: Duration, signal: oneshot::Sender<()>) {
        self.st().stop = Some((tokio::time::Instant::now() + after, signal));
    }

    fn disarm(&self) {
        self.st().stop = None;
    }

    /// A point between two statements. Once the armed time has passed, the task signals
    /// and waits here forever, until its future is dropped or its task aborted: in the
    /// middle of a transaction, or between autocommit statements, but never inside a
    /// statement (see the module doc).
    async fn checkpoint(&self) {
        let signal = {
            let mut st = self.st();
            match &st.stop {
                Some((at, _)) if tokio::time::Instant::now() >= *at => st.stop.take(),
                _ => None,
            }
        };
        if let Some((_, signal)) = signal {
            self.at("stopped at a checkpoint".to_owned());
            let _ = signal.send(());
            std::future::pending::<()>().await;
        }
    }

    /// Runs `work` until it ends or is cancelled `limit` from now: at its next checkpoint
    /// by dropping it (or, under `TENANCY_CANCEL_ANYWHERE=1`, by `tokio::time::timeout`
    /// wherever it is). Then forgets what the cancellation made unknown.
    async fn cancel_after(&self, limit: Duration, work: impl Future<Output = ()>) {
        let cancelled = if cancel_anywhere() {
            tokio::time::timeout(limit, work).await.is_err()
        } else {
            let (signal, stopped) = oneshot::channel();
            self.arm(limit, signal);
            let cancelled = tokio::select! {
                biased;
                Ok(()) = stopped => true,
                () = work => false,
            };
            self.disarm();
            cancelled
        };
        if cancelled {
            bump(&self.stats().timeouts);
            if self.recover() {
                bump(&self.stats().cancelled_mid_flight);
            }
        }
    }

    // -- transactions --------------------------------------------------------------------

    async fn begin(&self, conn: &TenantConnection) -> TenantTransaction {
        self.checkpoint().await;
        self.at("begin".to_owned());
        self.begin_txn();
        self.ok("begin", conn.begin().await)
    }

    /// A transaction's steps: reads, writes, at most one attack, savepoints.
    async fn steps(&self, txn: &TenantTransaction, n: usize) {
        let mut attacked = false;
        for _ in 0..n {
            self.checkpoint().await;
            match self.roll(10) {
                0..=2 => self.read(txn).await,
                3..=4 => self.insert(txn).await,
                5 => self.update(txn).await,
                6 => self.delete(txn).await,
                7 if !attacked => {
                    attacked = true;
                    self.attack(txn, false).await;
                }
                8 | 9 => self.savepoint(txn).await,
                _ => self.insert(txn).await,
            }
        }
        self.checkpoint().await;
    }

    /// A savepoint's steps: reads and writes; then released or rolled back to.
    async fn savepoint(&self, txn: &TenantTransaction) {
        self.at("savepoint".to_owned());
        let inner = self.ok("savepoint", txn.begin().await);
        self.begin_savepoint();
        for _ in 0..1 + self.roll(3) {
            self.checkpoint().await;
            match self.roll(6) {
                0 | 1 => self.read(&inner).await,
                2 | 3 => self.insert(&inner).await,
                4 => self.update(&inner).await,
                _ => self.delete(&inner).await,
            }
        }
        self.checkpoint().await;
        if self.roll(2) == 0 {
            self.ok("release savepoint", inner.commit().await);
            self.release_savepoint();
        } else {
            self.ok("roll back to savepoint", inner.rollback().await);
            self.rollback_savepoint();
        }
    }

    /// `begin()` + commit or rollback, or `transaction(...)` returning `Ok` or `Err`.
    async fn transaction(&self, conn: &TenantConnection) {
        let n = 1 + self.roll(4);
        let variant = self.roll(5);
        self.at(format!("transaction {variant}"));
        match variant {
            0 => self.commit(conn, n).await,
            1 => {
                let txn = self.begin(conn).await;
                self.steps(&txn, n).await;
                self.ok("rollback", txn.rollback().await);
                self.after_rollback();
                self.read_all(conn).await;
            }
            variant => {
                let commit = variant != 4;
                self.checkpoint().await;
                self.begin_txn();
                let me = self.clone();
                let result = conn
                    .transaction::<_, (), DbErr>(move |txn| {
                        Box::pin(async move {
                            me.steps(txn, n).await;
                            if commit {
                                me.before_commit();
                                Ok(())
                            } else {
                                Err(DbErr::Custom(ON_PURPOSE.to_owned()))
                            }
                        })
                    })
                    .await;
                match result {
                    Ok(()) if commit => self.after_commit(),
                    Err(TransactionError::Transaction(DbErr::Custom(m)))
                        if !commit && m == ON_PURPOSE =>
                    {
                        self.after_rollback();
                        self.read_all(conn).await;
                    }
                    other => panic!("{}: transaction closure: {other:?}", self.who()),
                }
                bump(&self.stats().closures);
            }
        }
    }

    /// `begin()`, `n` steps, commit.
    async fn commit(&self, conn: &TenantConnection, n: usize) {
        let txn = self.begin(conn).await;
        self.steps(&txn, n).await;
        self.before_commit();
        self.ok("commit", txn.commit().await);
        self.after_commit();
    }

    /// The writes of a transaction that will never commit; sometimes a savepoint with an
    /// insert, returned open, for the caller to hold while it waits to be cancelled.
    async fn doomed_writes(&self, txn: &TenantTransaction) -> Option<TenantTransaction> {
        self.insert(txn).await;
        self.update(txn).await;
        if self.roll(2) == 0 {
            self.delete(txn).await;
        }
        if self.roll(2) == 0 {
            let inner = self.ok("savepoint", txn.begin().await);
            self.begin_savepoint();
            self.insert(&inner).await;
            return Some(inner);
        }
        None
    }

    /// Parks in an open transaction with writes, says so, and waits to be aborted.
    async fn park(&self, conn: &TenantConnection, closure: bool, ready: oneshot::Sender<()>) {
        if closure {
            self.begin_txn();
            let me = self.clone();
            let _ = conn
                .transaction::<_, (), DbErr>(move |txn| {
                    Box::pin(async move {
                        me.insert(txn).await;
                        me.update(txn).await;
                        let _ = ready.send(());
                        std::future::pending::<()>().await;
                        Ok(())
                    })
                })
                .await;
        } else {
            let txn = self.begin(conn).await;
            let savepoint = self.doomed_writes(&txn).await;
            let _ = ready.send(());
            std::future::pending::<()>().await;
            drop((savepoint, txn));
        }
        panic!("{}: a parked task is aborted, never woken", self.who());
    }

    /// Drops a future that holds an open transaction with writes, then checks that the
    /// writes are gone.
    async fn drop_open_txn(&self, conn: &TenantConnection) {
        let (tx, rx) = oneshot::channel::<()>();
        let work = async {
            let txn = self.begin(conn).await;
            let savepoint = self.doomed_writes(&txn).await;
            let _ = tx.send(());
            std::future::pending::<()>().await;
            drop((savepoint, txn));
        };
        tokio::select! {
            biased;
            _ = rx => {}
            () = work => unreachable!("pending never ends"),
        }
        // `work` and the transaction in it are gone; the commit was never sent.
        assert!(
            self.recover(),
            "{}: the dropped transaction was open",
            self.who()
        );
        bump(&self.stats().dropped_txns);
        self.verify(conn).await;
    }

    // -- a task --------------------------------------------------------------------------

    async fn ops(&self, conn: &TenantConnection, n: usize) {
        for _ in 0..n {
            self.checkpoint().await;
            match self.roll(20) {
                0..=5 => self.read(conn).await,
                6..=9 => self.insert(conn).await,
                10 | 11 => self.update(conn).await,
                12 => self.delete(conn).await,
                13..=15 => self.attack(conn, true).await,
                _ => self.transaction(conn).await,
            }
        }
    }

    async fn run(self, conn: TenantConnection, plan: Plan, ready: oneshot::Sender<()>) {
        let head = 1 + self.roll(3);
        let tail = 1 + self.roll(3);
        self.ops(&conn, head).await;
        match plan {
            Plan::Complete => self.ops(&conn, tail).await,
            Plan::TimedTail(limit) => self.cancel_after(limit, self.ops(&conn, tail)).await,
            Plan::TimedTxn(limit) => {
                // Begun before the clock starts: the transaction holds its connection
                // while the time runs, so the cancellation finds it mid-transaction.
                let n = 1 + self.roll(4);
                let txn = self.begin(&conn).await;
                let me = &self;
                let work = async move {
                    me.steps(&txn, n).await;
                    me.before_commit();
                    me.ok("commit", txn.commit().await);
                    me.after_commit();
                };
                self.cancel_after(limit, work).await;
                self.ops(&conn, tail).await;
            }
            Plan::Park { closure } => return self.park(&conn, closure, ready).await,
            Plan::DropTxn => {
                self.drop_open_txn(&conn).await;
                self.ops(&conn, tail).await;
            }
            Plan::Abort(after) => {
                if cancel_anywhere() {
                    // The aborter waits `after`, then aborts wherever the task is.
                    let _ = ready.send(());
                } else {
                    // The task tells the aborter when it reaches a checkpoint.
                    self.arm(after, ready);
                }
                self.ops(&conn, tail).await;
                self.disarm();
            }
        }
        self.verify(&conn).await;
    }
}

/// `TENANCY_CANCEL_ANYWHERE=1`: timers and aborts strike wherever a task is, inside a
/// statement or a `COMMIT` too. Not deterministic, because of sqlx (see the module doc).
fn cancel_anywhere() -> bool {
    std::env::var("TENANCY_CANCEL_ANYWHERE").is_ok_and(|v| v == "1")
}

/// How a task ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Runs to the end.
    Complete,
    /// Its second half is cancelled at the first checkpoint after this long.
    TimedTail(Duration),
    /// A transaction, once begun, is cancelled at its first checkpoint after this long
    /// (between statements, before its `COMMIT`); the task goes on.
    TimedTxn(Duration),
    /// Parks in an open transaction (`begin()` or inside `transaction(...)`) and is
    /// aborted there.
    Park { closure: bool },
    /// Drops a future holding an open transaction, checks, and goes on.
    DropTxn,
    /// Aborted (`JoinHandle::abort`) at the first checkpoint this long after its first
    /// half.
    Abort(Duration),
}

impl Plan {
    fn draw(rng: &mut Rng) -> Plan {
        let micros = |rng: &mut Rng, max: usize| Duration::from_micros(rng.below(max) as u64);
        match rng.below(100) {
            0..=51 => Plan::Complete,
            52..=59 => Plan::TimedTxn(micros(rng, 6_000)),
            60..=71 => Plan::TimedTail(micros(rng, 15_000)),
            72..=81 => Plan::Park {
                closure: rng.below(2) == 0,
            },
            82..=91 => Plan::DropTxn,
            _ => Plan::Abort(micros(rng, 15_000)),
        }
    }
}

/// Waits up to 10 s for every pooled connection to be back and idle: (pool size, how
/// many are still out). A connection that never comes back makes `pool.close()` (the
/// harness' clean-up) wait forever.
async fn connections_out(pool: &DatabaseConnection) -> (u32, u32) {
    let mut out = (0, 0);
    for _ in 0..1_000 {
        let (size, idle) = match pool.get_database_backend() {
            DbBackend::Postgres => {
                let p = pool.get_postgres_connection_pool();
                (p.size(), p.num_idle())
            }
            DbBackend::MySql => {
                let p = pool.get_mysql_connection_pool();
                (p.size(), p.num_idle())
            }
            _ => {
                let p = pool.get_sqlite_connection_pool();
                (p.size(), p.num_idle())
            }
        };
        out = (
            size,
            size.saturating_sub(u32::try_from(idle).unwrap_or(u32::MAX)),
        );
        if out.1 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    out
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast::<&str>()
            .map_or_else(|_| "(not a string)".to_owned(), |s| (*s).to_owned()),
    }
}

// ---------------------------------------------------------------------------------------
// The end: every row in the database, through the raw pool
// ---------------------------------------------------------------------------------------

type Rows = BTreeMap<(Table, String), BTreeSet<String>>;

fn add(rows: &mut Rows, table: Table, data_key: &str, number: &str) {
    rows.entry((table, data_key.to_owned()))
        .or_default()
        .insert(number.to_owned());
}

/// Every row a task wrote: was written by a tenant allowed to write its DataKey, is in
/// a state its writer's committed writes leave, and its id is the one it was given.
fn check_written(world: &World, ledger: &Ledger, table: Table, number: &str, id: i32, now: State) {
    let entry = ledger.rows.get(number).unwrap_or_else(|| {
        panic!("{table:?} {number} ({now:?}) was written by no task: a forged write got through")
    });
    assert_eq!(entry.table, table, "{number}");
    let writer = &world.keys[entry.tenant];
    assert!(
        within(&now.data_key, writer),
        "{table:?} {number} has DataKey {}, which its writer (task {}, tenant {writer}) may not write",
        now.data_key,
        entry.task
    );
    assert!(
        entry.possible.contains(&Some(now.clone())),
        "{table:?} {number} is {now:?}, which no committed write of task {} (tenant {writer}) \
         leaves ({:?}): another tenant changed it, or a rolled-back write stayed",
        entry.task,
        entry.possible
    );
    if let Some(known) = entry.id {
        assert_eq!(id, known, "{table:?} {number} changed its id");
    }
}

/// How many writes a cancellation left with an unknown outcome, and how many of those
/// landed all the same.
fn final_check(
    world: &World,
    invoices: &[invoice::Model],
    customers: &[customer::Model],
) -> (usize, usize) {
    let ledger = world.ledger();
    for anchor in world.anchors.values() {
        assert_eq!(
            invoices.iter().find(|r| r.id == anchor.id),
            Some(anchor),
            "the seeded invoice {} of {} was changed or deleted",
            anchor.number,
            anchor.data_key
        );
    }
    for anchor in world.anchor_customers.values() {
        assert_eq!(
            customers.iter().find(|r| r.id == anchor.id),
            Some(anchor),
            "the seeded customer {} of {} was changed or deleted",
            anchor.name,
            anchor.tenant_key
        );
    }
    let mut actual = Rows::new();
    for row in invoices {
        add(&mut actual, Table::Invoice, &row.data_key, &row.number);
        if !world.anchors.contains_key(&row.id) {
            let now = State {
                data_key: row.data_key.clone(),
                amount: row.amount,
            };
            check_written(world, &ledger, Table::Invoice, &row.number, row.id, now);
        }
    }
    for row in customers {
        add(&mut actual, Table::Customer, &row.tenant_key, &row.name);
        if !world.anchor_customers.contains_key(&row.id) {
            let now = State {
                data_key: row.tenant_key.clone(),
                amount: 0,
            };
            check_written(world, &ledger, Table::Customer, &row.name, row.id, now);
        }
    }
    let total: usize = actual.values().map(BTreeSet::len).sum();
    assert_eq!(
        total,
        invoices.len() + customers.len(),
        "a number or a name appears twice"
    );

    // Per tenant (and table): the rows are what the ledger says. `certain`: seeded, or
    // committed by a task; `maybe`: a write whose outcome a cancellation left unknown.
    let mut certain = Rows::new();
    let mut maybe = Rows::new();
    for a in world.anchors.values() {
        add(&mut certain, Table::Invoice, &a.data_key, &a.number);
    }
    for a in world.anchor_customers.values() {
        add(&mut certain, Table::Customer, &a.tenant_key, &a.name);
    }
    let now: HashMap<(Table, &str), State> = invoices
        .iter()
        .map(|r| {
            let state = State {
                data_key: r.data_key.clone(),
                amount: r.amount,
            };
            ((Table::Invoice, r.number.as_str()), state)
        })
        .chain(customers.iter().map(|r| {
            let state = State {
                data_key: r.tenant_key.clone(),
                amount: 0,
            };
            ((Table::Customer, r.name.as_str()), state)
        }))
        .collect();
    let (mut unknown, mut landed) = (0, 0);
    for (number, entry) in &ledger.rows {
        match entry.possible.as_slice() {
            [None] => {}
            [Some(s)] => add(&mut certain, entry.table, &s.data_key, number),
            possible => {
                unknown += 1;
                if now.get(&(entry.table, number.as_str())) != possible[0].as_ref() {
                    landed += 1;
                }
                for s in possible.iter().flatten() {
                    add(&mut maybe, entry.table, &s.data_key, number);
                }
            }
        }
    }
    let empty = BTreeSet::new();
    let keys: BTreeSet<&(Table, String)> = actual.keys().chain(certain.keys()).collect();
    for key in keys {
        let actual = actual.get(key).unwrap_or(&empty);
        let certain = certain.get(key).unwrap_or(&empty);
        let maybe = maybe.get(key).unwrap_or(&empty);
        let missing: Vec<_> = certain.difference(actual).collect();
        assert!(
            missing.is_empty(),
            "{key:?}: committed rows are missing: {missing:?}"
        );
        let extra: Vec<_> = actual
            .iter()
            .filter(|n| !certain.contains(*n) && !maybe.contains(*n))
            .collect();
        assert!(
            extra.is_empty(),
            "{key:?}: rows that no committed write put there: {extra:?}"
        );
    }
    // Every tenant ends with rows its tasks committed: the checks above are not vacuous.
    for (t, k) in world.keys.iter().enumerate() {
        let committed = ledger
            .rows
            .values()
            .filter(|e| e.tenant == t && e.possible.len() == 1 && e.possible[0].is_some())
            .count();
        assert!(committed > 0, "tenant {k} committed nothing");
    }
    (unknown, landed)
}

// ---------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------

async fn thousand_tasks_of_fifty_tenants_never_see_or_touch_a_foreign_row(
    pool: &DatabaseConnection,
) {
    let started = Instant::now();
    // The oracle itself, spelled out once.
    assert!(within("1.1.10.", "1.") && within("1.1.10.", "1.1."));
    assert!(!within("10.", "1.") && !within("1.11.", "1.1.") && !within("1.1.10.", "1.1.1."));
    assert!(!within("1.", "1.1.") && !within("1.11.", "1.1."));

    let world = Arc::new(World::seed(pool).await);
    let mut tasks = Vec::with_capacity(TASKS);
    let mut planned: BTreeMap<&str, usize> = BTreeMap::new();
    for task in 0..TASKS {
        let mut rng = Rng::new(task as u64);
        let plan = Plan::draw(&mut rng);
        let label = match plan {
            Plan::Complete => "complete",
            Plan::TimedTail(_) => "timed",
            Plan::TimedTxn(_) => "timed transaction",
            Plan::Park { .. } => "parked",
            Plan::DropTxn => "dropped",
            Plan::Abort(_) => "aborted",
        };
        *planned.entry(label).or_default() += 1;
        let actor = Actor::new(world.clone(), task, rng);
        let conn = tenant(pool, &actor.key);
        let (ready, ready_rx) = oneshot::channel();
        let handle = tokio::spawn(actor.clone().run(conn, plan, ready));
        let abort = handle.abort_handle();
        match plan {
            Plan::Park { .. } => {
                tokio::spawn(async move {
                    if ready_rx.await.is_ok() {
                        abort.abort();
                    }
                });
            }
            Plan::Abort(after) => {
                // By default the task signals from a checkpoint (`arm`) and is aborted
                // there; under TENANCY_CANCEL_ANYWHERE=1 it signals after its first half
                // and is aborted `after` later, wherever it is.
                let anywhere = cancel_anywhere();
                tokio::spawn(async move {
                    if ready_rx.await.is_ok() {
                        if anywhere {
                            tokio::time::sleep(after).await;
                        }
                        abort.abort();
                    }
                });
            }
            _ => {}
        }
        tasks.push((task, plan, actor, handle));
    }

    let mut failures = Vec::new();
    let mut parked_aborted = 0;
    let mut aborted = 0;
    // A task that never ends is a failure too, with where it stopped.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let mut hung = Vec::new();
    for (task, plan, actor, mut handle) in tasks {
        let Ok(joined) = tokio::time::timeout_at(deadline, &mut handle).await else {
            hung.push(format!("{plan:?} {}", actor.whereabouts()));
            handle.abort();
            continue;
        };
        match (joined, plan) {
            (Ok(()), Plan::Park { .. }) => {
                failures.push(format!("task {task}: parked, not aborted"))
            }
            (Ok(()), _) => {}
            (Err(e), Plan::Park { .. }) if e.is_cancelled() => {
                parked_aborted += 1;
                assert!(actor.recover(), "task {task} was parked in a transaction");
                bump(&world.stats.cancelled_mid_flight);
            }
            (Err(e), Plan::Abort(_)) if e.is_cancelled() => {
                aborted += 1;
                if actor.recover() {
                    bump(&world.stats.cancelled_mid_flight);
                }
            }
            (Err(e), _) if e.is_cancelled() => failures.push(format!("task {task}: cancelled")),
            (Err(e), _) => failures.push(format!("task {task}: {}", panic_message(e.into_panic()))),
        }
    }
    assert!(
        hung.is_empty(),
        "{} of {TASKS} tasks never ended:\n{}",
        hung.len(),
        hung.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} of {TASKS} tasks failed; the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    let invoices = all_invoices(pool).await;
    let customers = all_customers(pool).await;
    let (unknown, landed) = final_check(&world, &invoices, &customers);
    if !cancel_anywhere() {
        // Cancelled only between statements: every outcome is known, and every tenant's
        // rows are exactly what the ledger says.
        assert_eq!(unknown, 0, "writes of unknown outcome");
    }

    // Every connection went back to the pool, or the harness' `pool.close()` would hang.
    let (size, out) = connections_out(pool).await;
    if out > 0 {
        // Straight to stderr: the clean-up that follows a failure hangs on the same.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "{:?}: {out} of {size} pooled connections never came back; \
                 pool.close() will hang\n",
                world.backend
            )
            .as_bytes(),
        );
        assert!(
            cancel_anywhere(),
            "{out} of {size} pooled connections never came back"
        );
    }

    // Not vacuous: the work the plans call for happened.
    let s = &world.stats;
    assert_eq!(
        parked_aborted, planned["parked"],
        "every parked task was aborted"
    );
    assert_eq!(
        count(&s.dropped_txns),
        planned["dropped"],
        "every dropped transaction"
    );
    assert!(count(&s.reads) >= 2 * TASKS, "reads: {}", count(&s.reads));
    assert!(
        count(&s.rows_checked) >= 50 * TASKS,
        "rows read: {}",
        count(&s.rows_checked)
    );
    assert!(
        count(&s.attacks) >= TASKS / 2,
        "attacks: {}",
        count(&s.attacks)
    );
    assert!(
        count(&s.refusals) >= TASKS / 10,
        "refusals: {}",
        count(&s.refusals)
    );
    assert!(
        count(&s.commits) >= TASKS / 10,
        "commits: {}",
        count(&s.commits)
    );
    assert!(
        count(&s.rollbacks) >= TASKS / 20,
        "rollbacks: {}",
        count(&s.rollbacks)
    );
    assert!(
        count(&s.closures) >= TASKS / 20,
        "closures: {}",
        count(&s.closures)
    );
    assert!(
        count(&s.savepoints) >= TASKS / 20,
        "savepoints: {}",
        count(&s.savepoints)
    );

    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "{:?}: {TASKS} tasks of {} tenants, plans {planned:?}, in {:.1?}: {} reads \
             checking {} rows, {} writes, {} attacks ({} refused by the rewriter), {} commits, \
             {} rollbacks, {} closures, {} savepoints, {} dropped transactions, {} parked \
             and {} other tasks aborted, {} timeouts, {} cancelled mid-flight, {} writes \
             of unknown outcome ({} landed); {} invoices and {} customers at the end\n",
            world.backend,
            world.keys.len(),
            started.elapsed(),
            count(&s.reads),
            count(&s.rows_checked),
            count(&s.writes),
            count(&s.attacks),
            count(&s.refusals),
            count(&s.commits),
            count(&s.rollbacks),
            count(&s.closures),
            count(&s.savepoints),
            count(&s.dropped_txns),
            parked_aborted,
            aborted,
            count(&s.timeouts),
            count(&s.cancelled_mid_flight),
            unknown,
            landed,
            invoices.len(),
            customers.len(),
        )
        .as_bytes(),
    );
}

macro_rules! backends {
    ($($module:ident: $backend:ident),+ $(,)?) => {
        $(
            mod $module {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn thousand_tasks_of_fifty_tenants_never_see_or_touch_a_foreign_row() {
                    crate::common::run(
                        crate::common::Backend::$backend,
                        "thousand_tasks_of_fifty_tenants",
                        crate::thousand_tasks_of_fifty_tenants_never_see_or_touch_a_foreign_row,
                    )
                    .await;
                }
            }
        )+
    };
}

backends! {
    sqlite: Sqlite,
    postgres: Postgres,
    mysql: MySql,
}
