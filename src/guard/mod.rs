//! Per-tenant guardrails: a statement timeout, a cap on the statements a tenant has in
//! flight, and per-tenant metrics, so that one noisy tenant cannot slow the others down.
//!
//! Build one [`Guardrails`] for the application and hand it to every connection
//! ([`TenantConnection::with_guardrails`](crate::TenantConnection::with_guardrails), the
//! web layer's and the router's `with_guardrails`). Its connections share the caps: the
//! limit holds across every connection of a tenant, however many requests opened one.
//!
//! - **Statement timeout.** A statement that runs longer is cut and fails with
//!   [`TenancyError::StatementTimeout`], naming the tenant and the tables; the connection
//!   stays usable.
//!   - PostgreSQL: a transaction-local `statement_timeout`, set when a
//!     [`TenantTransaction`](crate::TenantTransaction) opens (with the row-level security
//!     setting, in the same round trip). A statement outside a transaction runs in a
//!     transaction of its own: `BEGIN`, the setting, the statement, `COMMIT`.
//!   - MariaDB: `SET STATEMENT max_statement_time=… FOR` before each statement (no extra
//!     round trip).
//!   - SQLite: a deadline kept by the client. The statement is interrupted inside SQLite
//!     when the pool was opened with [`interrupt_at_deadline`] (feature `sqlite`);
//!     without it, SQLite finishes the statement in the background and the pool holds
//!     that connection back until then.
//! - **Concurrency cap.** At most `max_in_flight` statements of a tenant (or of its
//!   subtree, with [`GuardrailsBuilder::cap_per_subtree`]) run at once. The next ones
//!   wait their turn in order, up to `queue_timeout`, then fail with
//!   [`TenancyError::TenantBusy`], which [is retryable](TenancyError::is_retryable). A
//!   statement waits before it takes a connection from the pool, so a capped tenant
//!   leaves the rest of the pool to the others.
//! - **Observability.** Every statement of a tenant connection runs in a DEBUG span
//!   `tenant_statement` (target `sea_orm_tenancy`) with the fields `tenant`, `kind`
//!   (`select`, `insert`, `update`, `delete`, …) and `tables`, whether or not guardrails
//!   are set. With the `metrics` feature and [`GuardrailsBuilder::metrics`], the
//!   [`metrics`](https://docs.rs/metrics) facade gets, per tenant and kind:
//!   `sea_orm_tenancy_statements_total`, `sea_orm_tenancy_rows_total`,
//!   `sea_orm_tenancy_errors_total` (with an `error` label: `timeout`, `busy`,
//!   `refused`, `database`) and the histogram `sea_orm_tenancy_statement_seconds`.
//!
//! Limits can differ per subtree ([`GuardrailsBuilder::subtree`]): the deepest subtree
//! that contains the tenant gives its limits, the defaults fill in the rest.
//!
//! ```
//! use std::time::Duration;
//! use sea_orm_tenancy::{DataKey, TenantConnection, guard::{Guardrails, Limits}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let guardrails = Guardrails::builder()
//!     .defaults(Limits::new().statement_timeout(Duration::from_secs(5)).max_in_flight(8))
//!     // A big customer gets more room.
//!     .subtree(DataKey::new("7.")?, Limits::new().max_in_flight(32))
//!     .build()?;
//! let pool = sea_orm::Database::connect("sqlite::memory:").await?;
//! let db = TenantConnection::new(pool, DataKey::new("7.2.")?).with_guardrails(&guardrails);
//! assert_eq!(db.limits().max_in_flight, Some(32));
//! assert_eq!(db.limits().statement_timeout, Some(Duration::from_secs(5)));
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "metrics")]
mod meters;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sea_orm::DbErr;
use tokio::sync::{Semaphore, SemaphorePermit, TryAcquireError};

#[cfg(feature = "sqlite")]
pub use sqlite::interrupt_at_deadline;

use crate::rewrite::StatementKind;
use crate::{DataKey, TenancyError};

/// How long a statement waits for its turn under a cap, unless set.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest statement timeout: PostgreSQL's `statement_timeout` holds at most
/// `i32::MAX` milliseconds (24.8 days).
const MAX_STATEMENT_TIMEOUT: Duration = Duration::from_secs(24 * 24 * 3600);

/// The limits of one tenant. Each is off unless set; [`Limits::new`] sets none.
///
/// ```
/// use std::time::Duration;
/// use sea_orm_tenancy::guard::Limits;
///
/// let limits = Limits::new().statement_timeout(Duration::from_millis(500)).max_in_flight(4);
/// assert_eq!(limits.max_in_flight, Some(4));
/// assert_eq!(limits.queue_timeout, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Limits {
    /// A statement running longer is cut.
    pub statement_timeout: Option<Duration>,
    /// At most this many statements of the tenant (or subtree) run at once.
    pub max_in_flight: Option<u32>,
    /// How long a statement waits for its turn under the cap
    /// ([`DEFAULT_QUEUE_TIMEOUT`] when unset).
    pub queue_timeout: Option<Duration>,
}

impl Limits {
    /// No limits.
    ///
    /// ```
    /// # use sea_orm_tenancy::guard::Limits;
    /// assert_eq!(Limits::new(), Limits::default());
    /// ```
    pub const fn new() -> Self {
        Limits {
            statement_timeout: None,
            max_in_flight: None,
            queue_timeout: None,
        }
    }

    /// Cuts statements that run longer than `timeout`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sea_orm_tenancy::guard::Limits;
    /// let limits = Limits::new().statement_timeout(Duration::from_secs(2));
    /// assert_eq!(limits.statement_timeout, Some(Duration::from_secs(2)));
    /// ```
    pub const fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// Lets at most `n` statements run at once.
    ///
    /// ```
    /// # use sea_orm_tenancy::guard::Limits;
    /// assert_eq!(Limits::new().max_in_flight(3).max_in_flight, Some(3));
    /// ```
    pub const fn max_in_flight(mut self, n: u32) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// How long a statement waits for its turn under the cap.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sea_orm_tenancy::guard::Limits;
    /// let limits = Limits::new().queue_timeout(Duration::from_millis(250));
    /// assert_eq!(limits.queue_timeout, Some(Duration::from_millis(250)));
    /// ```
    pub const fn queue_timeout(mut self, wait: Duration) -> Self {
        self.queue_timeout = Some(wait);
        self
    }

    /// These limits, with `base` filling in what they leave unset.
    fn over(self, base: Limits) -> Limits {
        Limits {
            statement_timeout: self.statement_timeout.or(base.statement_timeout),
            max_in_flight: self.max_in_flight.or(base.max_in_flight),
            queue_timeout: self.queue_timeout.or(base.queue_timeout),
        }
    }

    fn validate(&self, whose: &str) -> Result<(), TenancyError> {
        let invalid = |what: &str| {
            Err(TenancyError::InvalidGuardrails {
                reason: format!("{whose}: {what}"),
            })
        };
        if self.statement_timeout.is_some_and(|t| t.is_zero()) {
            return invalid("a statement timeout of zero would cut every statement");
        }
        if self
            .statement_timeout
            .is_some_and(|t| t > MAX_STATEMENT_TIMEOUT)
        {
            return invalid(
                "a statement timeout over 24 days is more than postgresql's statement_timeout holds",
            );
        }
        if self.max_in_flight == Some(0) {
            return invalid("max_in_flight of zero would refuse every statement");
        }
        Ok(())
    }
}

/// Per-tenant guardrails, shared by every connection given them. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use sea_orm_tenancy::guard::{Guardrails, Limits};
///
/// let guardrails = Guardrails::builder()
///     .defaults(Limits::new().max_in_flight(8).queue_timeout(Duration::from_millis(500)))
///     .build()?;
/// assert_eq!(guardrails.in_flight(&sea_orm_tenancy::DataKey::new("1.")?), 0);
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Guardrails {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    defaults: Limits,
    /// Deepest first: the first that contains a tenant gives its limits.
    subtrees: Vec<(DataKey, Limits)>,
    cap_depth: Option<usize>,
    pool_timeout: Option<Duration>,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    metrics: bool,
    /// The live accounts, by key. An account lives while a connection holds it.
    accounts: Mutex<Accounts>,
}

#[derive(Debug, Default)]
struct Accounts {
    live: HashMap<DataKey, Weak<Account>>,
    /// Dead entries are swept when the map grows past this.
    sweep_at: usize,
}

/// What the connections of one tenant (or subtree) share: its cap, its meters.
#[derive(Debug)]
pub(crate) struct Account {
    key: DataKey,
    cap: Option<Cap>,
    #[cfg(feature = "metrics")]
    meters: Option<meters::Meters>,
}

#[derive(Debug)]
struct Cap {
    turns: Semaphore,
    limit: u32,
    wait: Duration,
}

/// Builds [`Guardrails`].
///
/// ```
/// use std::time::Duration;
/// use sea_orm_tenancy::{DataKey, guard::{Guardrails, Limits}};
///
/// let guardrails = Guardrails::builder()
///     .defaults(Limits::new().statement_timeout(Duration::from_secs(10)))
///     .subtree(DataKey::new("3.")?, Limits::new().statement_timeout(Duration::from_secs(1)))
///     .cap_per_subtree(1)
///     .build()?;
/// # let _ = guardrails;
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct GuardrailsBuilder {
    defaults: Limits,
    subtrees: Vec<(DataKey, Limits)>,
    cap_depth: Option<usize>,
    pool_timeout: Option<Duration>,
    metrics: bool,
}

impl Guardrails {
    /// A builder with no limits.
    ///
    /// ```
    /// # use sea_orm_tenancy::guard::Guardrails;
    /// let none = Guardrails::builder().build()?;
    /// # let _ = none;
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn builder() -> GuardrailsBuilder {
        GuardrailsBuilder::default()
    }

    /// The limits a tenant gets: the deepest [subtree](GuardrailsBuilder::subtree) that
    /// contains it, then the defaults.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, guard::{Guardrails, Limits}};
    /// let guardrails = Guardrails::builder()
    ///     .defaults(Limits::new().max_in_flight(4))
    ///     .subtree(DataKey::new("2.")?, Limits::new().max_in_flight(16))
    ///     .build()?;
    /// assert_eq!(guardrails.limits(&DataKey::new("2.5.")?).max_in_flight, Some(16));
    /// assert_eq!(guardrails.limits(&DataKey::new("3.")?).max_in_flight, Some(4));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn limits(&self, tenant: &DataKey) -> Limits {
        let shared = &self.shared;
        shared
            .subtrees
            .iter()
            .find(|(root, _)| root.contains(tenant))
            .map_or(shared.defaults, |(_, l)| l.over(shared.defaults))
    }

    /// How many statements of `tenant`'s account (the tenant, or its subtree root with
    /// [`cap_per_subtree`](GuardrailsBuilder::cap_per_subtree)) are running now under
    /// its cap; 0 without a cap.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, guard::{Guardrails, Limits}};
    /// let guardrails = Guardrails::builder().defaults(Limits::new().max_in_flight(2)).build()?;
    /// assert_eq!(guardrails.in_flight(&DataKey::new("1.")?), 0);
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn in_flight(&self, tenant: &DataKey) -> u32 {
        let key = self.account_key(tenant);
        let accounts = self
            .shared
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        accounts
            .live
            .get(&key)
            .and_then(Weak::upgrade)
            .and_then(|a| {
                a.cap.as_ref().map(|c| {
                    let free = u32::try_from(c.turns.available_permits()).unwrap_or(u32::MAX);
                    c.limit.saturating_sub(free)
                })
            })
            .unwrap_or(0)
    }

    /// The key whose account a tenant's statements count against.
    fn account_key(&self, tenant: &DataKey) -> DataKey {
        let mut key = tenant.clone();
        if let Some(depth) = self.shared.cap_depth {
            while key.depth() > depth {
                match key.parent() {
                    Some(parent) => key = parent,
                    None => break,
                }
            }
        }
        key
    }

    /// The guard of a connection of `tenant`: its limits, and its account (shared with
    /// every other live connection of the same account).
    pub(crate) fn guard(&self, tenant: &DataKey) -> Guard {
        let limits = self.limits(tenant);
        let key = self.account_key(tenant);
        // The account's cap and meters follow the limits of the account's own key, so
        // that every connection sharing it agrees on them.
        let account_limits = self.limits(&key);
        let mut accounts = self
            .shared
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let account = match accounts.live.get(&key).and_then(Weak::upgrade) {
            Some(account) => account,
            None => {
                let account = Arc::new(Account {
                    cap: account_limits.max_in_flight.map(|limit| Cap {
                        turns: Semaphore::new(limit as usize),
                        limit,
                        wait: account_limits
                            .queue_timeout
                            .unwrap_or(DEFAULT_QUEUE_TIMEOUT),
                    }),
                    #[cfg(feature = "metrics")]
                    meters: self.shared.metrics.then(|| meters::Meters::new(&key)),
                    key: key.clone(),
                });
                accounts.live.insert(key, Arc::downgrade(&account));
                if accounts.live.len() > accounts.sweep_at {
                    accounts.live.retain(|_, a| a.strong_count() > 0);
                    accounts.sweep_at = (accounts.live.len() * 2).max(64);
                }
                account
            }
        };
        Guard {
            limits,
            set_by_pool: limits.statement_timeout.is_some()
                && limits.statement_timeout == self.shared.pool_timeout,
            account,
        }
    }
}

impl GuardrailsBuilder {
    /// The limits of every tenant, unless a [subtree](Self::subtree) says otherwise.
    ///
    /// ```
    /// # use sea_orm_tenancy::guard::{Guardrails, Limits};
    /// let g = Guardrails::builder().defaults(Limits::new().max_in_flight(8)).build()?;
    /// # let _ = g;
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn defaults(mut self, limits: Limits) -> Self {
        self.defaults = limits;
        self
    }

    /// Limits for the tenant `root` and its subtree; what they leave unset comes from
    /// the [defaults](Self::defaults). The deepest subtree containing a tenant wins.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, guard::{Guardrails, Limits}};
    /// let g = Guardrails::builder()
    ///     .subtree(DataKey::new("9.")?, Limits::new().max_in_flight(1))
    ///     .build()?;
    /// assert_eq!(g.limits(&DataKey::new("9.1.")?).max_in_flight, Some(1));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn subtree(mut self, root: DataKey, limits: Limits) -> Self {
        self.subtrees.retain(|(k, _)| *k != root);
        self.subtrees.push((root, limits));
        self
    }

    /// Counts statements against the tenant's ancestor at `depth` (1 for the top-level
    /// tenant) rather than the tenant itself: all the branches of a customer then share
    /// one cap (and one set of metrics). Tenants at or above `depth` count as
    /// themselves. The shared cap and its wait are the ancestor's limits; each tenant
    /// keeps its own statement timeout.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, guard::{Guardrails, Limits}};
    /// let g = Guardrails::builder()
    ///     .defaults(Limits::new().max_in_flight(4))
    ///     .cap_per_subtree(1)
    ///     .build()?;
    /// # let _ = g;
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn cap_per_subtree(mut self, depth: usize) -> Self {
        self.cap_depth = Some(depth);
        self
    }

    /// Declares the statement timeout every session of the pool already has, set when
    /// the pool opens them. A tenant whose timeout is this one then needs nothing per
    /// statement; only tenants with another timeout pay for theirs. SQLite ignores it.
    ///
    /// - PostgreSQL: SeaORM's
    ///   [`ConnectOptions::statement_timeout`](sea_orm::ConnectOptions::statement_timeout),
    ///   or the role's or database's `statement_timeout`. It saves the transaction of
    ///   its own that a statement outside a transaction otherwise runs in (three round
    ///   trips), and the setting when a transaction opens.
    /// - MariaDB: the session's `max_statement_time` (the account's
    ///   `MAX_STATEMENT_TIME`, or a `SET SESSION` in the pool's `after_connect`). It
    ///   saves the `SET STATEMENT … FOR` prefix, which the server parses and applies on
    ///   every statement.
    ///
    /// Declare only what the pool really sets: the guardrails do not check it. A
    /// statement cut by the pool's timeout is still reported as
    /// [`TenancyError::StatementTimeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sea_orm_tenancy::guard::{Guardrails, Limits};
    /// let mut options = sea_orm::ConnectOptions::new("postgres://app@db/app");
    /// options.statement_timeout(Duration::from_secs(5));
    /// let guardrails = Guardrails::builder()
    ///     .defaults(Limits::new().statement_timeout(Duration::from_secs(5)))
    ///     .pool_statement_timeout(Duration::from_secs(5))
    ///     .build()?;
    /// # let _ = guardrails;
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn pool_statement_timeout(mut self, timeout: Duration) -> Self {
        self.pool_timeout = Some(timeout);
        self
    }

    /// Reports per-tenant metrics through the [`metrics`](https://docs.rs/metrics)
    /// facade (see the [module docs](crate::guard)).
    ///
    /// ```
    /// # use sea_orm_tenancy::guard::Guardrails;
    /// let g = Guardrails::builder().metrics().build()?;
    /// # let _ = g;
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self) -> Self {
        self.metrics = true;
        self
    }

    /// The guardrails, or [`TenancyError::InvalidGuardrails`] for a zero timeout, a
    /// timeout over 24 days, a zero cap or a cap depth of zero.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sea_orm_tenancy::{TenancyError, guard::{Guardrails, Limits}};
    /// let zero = Guardrails::builder().defaults(Limits::new().max_in_flight(0)).build();
    /// assert!(matches!(zero, Err(TenancyError::InvalidGuardrails { .. })));
    /// ```
    pub fn build(self) -> Result<Guardrails, TenancyError> {
        self.defaults.validate("the defaults")?;
        for (root, limits) in &self.subtrees {
            limits.validate(&format!("the limits of subtree `{root}`"))?;
        }
        if self.cap_depth == Some(0) {
            return Err(TenancyError::InvalidGuardrails {
                reason: "cap_per_subtree(0): the shallowest tenant is at depth 1".to_owned(),
            });
        }
        let mut subtrees = self.subtrees;
        subtrees.sort_by_key(|(k, _)| std::cmp::Reverse(k.depth()));
        Ok(Guardrails {
            shared: Arc::new(Shared {
                defaults: self.defaults,
                subtrees,
                cap_depth: self.cap_depth,
                pool_timeout: self.pool_timeout,
                metrics: self.metrics,
                accounts: Mutex::new(Accounts::default()),
            }),
        })
    }
}

/// What one connection enforces: its statement timeout, and its account's cap.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub(crate) limits: Limits,
    /// The statement timeout is the one the pool sets on its sessions
    /// ([`GuardrailsBuilder::pool_statement_timeout`]): nothing to set per statement or
    /// transaction.
    pub(crate) set_by_pool: bool,
    account: Arc<Account>,
}

impl Guard {
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.limits.statement_timeout
    }

    /// A turn under the account's cap: at once if one is free, else after waiting in
    /// line up to the cap's wait; [`TenancyError::TenantBusy`] after that.
    pub(crate) async fn admit(&self) -> Result<Option<SemaphorePermit<'_>>, DbErr> {
        let Some(cap) = &self.account.cap else {
            return Ok(None);
        };
        match cap.turns.try_acquire() {
            Ok(permit) => return Ok(Some(permit)),
            Err(TryAcquireError::NoPermits) => {}
            Err(TryAcquireError::Closed) => return Err(self.busy(cap, Duration::ZERO)),
        }
        let started = Instant::now();
        match tokio::time::timeout(cap.wait, cap.turns.acquire()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(self.busy(cap, started.elapsed())),
        }
    }

    fn busy(&self, cap: &Cap, waited: Duration) -> DbErr {
        // Counted here, under kind `any`: a statement refused at the cap may not have
        // been read yet.
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.account.meters {
            m.busy();
        }
        TenancyError::TenantBusy {
            tenant: self.account.key.to_string(),
            limit: cap.limit,
            waited,
        }
        .into()
    }

    /// Counts a statement the rewriter refused, under kind `any`.
    pub(crate) fn refused(&self) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.account.meters {
            m.refused();
        }
    }

    /// Counts a statement that ran (or failed) in the account's metrics.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn record(
        &self,
        kind: Option<StatementKind>,
        outcome: Result<u64, &DbErr>,
        elapsed: Duration,
    ) {
        #[cfg(feature = "metrics")]
        if let (Some(m), Some(kind)) = (&self.account.meters, kind) {
            let refused_at_cap = outcome.is_err_and(|e| {
                matches!(
                    TenancyError::from_db_err(e),
                    Some(TenancyError::TenantBusy { .. })
                )
            });
            if !refused_at_cap {
                m.record(kind, outcome, elapsed);
            }
        }
    }
}

/// The timeout error for a statement of `tenant` on `tables`.
pub(crate) fn timed_out(tenant: &DataKey, tables: &str, timeout: Duration) -> DbErr {
    let tables = if tables.is_empty() {
        "no table".to_owned()
    } else {
        tables
            .split(',')
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    TenancyError::StatementTimeout {
        tenant: tenant.to_string(),
        tables,
        timeout,
    }
    .into()
}

/// When the statement running on a connection must stop: read by the SQLite progress
/// handler that [`interrupt_at_deadline`]'s hook gives the connection as it is taken from
/// the pool. A statement outside a transaction has one of its own; a transaction has one
/// for its connection, set before each of its statements and cleared after.
#[derive(Debug)]
pub(crate) struct Deadline {
    /// Nanoseconds since [`epoch`]; `u64::MAX` when nothing runs.
    at: std::sync::atomic::AtomicU64,
}

/// The instant deadlines count from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX - 1)
}

impl Deadline {
    /// A deadline with nothing running.
    pub(crate) fn cleared() -> Arc<Deadline> {
        Arc::new(Deadline {
            at: std::sync::atomic::AtomicU64::new(u64::MAX),
        })
    }

    /// A deadline `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Arc<Deadline> {
        let deadline = Deadline::cleared();
        deadline.set(timeout);
        deadline
    }

    /// The running statement must stop `timeout` from now.
    pub(crate) fn set(&self, timeout: Duration) {
        let at = Instant::now()
            .checked_add(timeout)
            .map_or(u64::MAX - 1, since_epoch);
        self.at.store(at, std::sync::atomic::Ordering::Release);
    }

    /// Nothing runs.
    pub(crate) fn clear(&self) {
        self.at
            .store(u64::MAX, std::sync::atomic::Ordering::Release);
    }

    /// Whether the running statement is past its deadline.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn passed(&self) -> bool {
        since_epoch(Instant::now()) >= self.at.load(std::sync::atomic::Ordering::Acquire)
    }
}

tokio::task_local! {
    /// The deadline of the statement (or transaction) taking a connection from the pool
    /// now, for [`interrupt_at_deadline`]'s hook.
    pub(crate) static DEADLINE: Arc<Deadline>;
}

#[cfg(test)]
mod tests {
    use super::{Guardrails, Limits};
    use crate::DataKey;

    fn key(k: &str) -> DataKey {
        DataKey::new(k).expect("key")
    }

    #[test]
    fn connections_of_one_account_share_it_and_dead_accounts_are_swept() {
        let guardrails = Guardrails::builder()
            .defaults(Limits::new().max_in_flight(2))
            .cap_per_subtree(1)
            .build()
            .expect("guardrails");
        let a = guardrails.guard(&key("1.4."));
        let b = guardrails.guard(&key("1.5.2."));
        assert!(std::sync::Arc::ptr_eq(&a.account, &b.account));
        assert_eq!(a.account.key, key("1."));
        let other = guardrails.guard(&key("2."));
        assert!(!std::sync::Arc::ptr_eq(&a.account, &other.account));
        drop((a, b, other));
        for n in 0..1_000 {
            drop(guardrails.guard(&key(&format!("{n}."))));
        }
        let live = guardrails.shared.accounts.lock().expect("lock").live.len();
        assert!(live <= 128, "{live} accounts kept for no connection");
    }

    #[test]
    fn limits_no_backend_can_hold_are_refused_when_built() {
        use crate::TenancyError;
        let month = std::time::Duration::from_secs(30 * 24 * 3600);
        let refused = Guardrails::builder()
            .subtree(key("3."), Limits::new().statement_timeout(month))
            .build();
        assert!(
            matches!(&refused, Err(TenancyError::InvalidGuardrails { reason }) if reason.contains("subtree `3.`") && reason.contains("24 days")),
            "{refused:?}"
        );
        assert!(Guardrails::builder().cap_per_subtree(0).build().is_err());
        assert!(
            Guardrails::builder()
                .defaults(Limits::new().statement_timeout(std::time::Duration::ZERO))
                .build()
                .is_err()
        );
    }

    #[test]
    fn subtree_limits_fill_in_from_the_defaults() {
        let guardrails = Guardrails::builder()
            .defaults(
                Limits::new()
                    .max_in_flight(4)
                    .statement_timeout(std::time::Duration::from_secs(9)),
            )
            .subtree(key("1."), Limits::new().max_in_flight(8))
            .subtree(key("1.4."), Limits::new().max_in_flight(1))
            .build()
            .expect("guardrails");
        let deep = guardrails.limits(&key("1.4.7."));
        assert_eq!(deep.max_in_flight, Some(1));
        assert_eq!(
            deep.statement_timeout,
            Some(std::time::Duration::from_secs(9))
        );
        assert_eq!(guardrails.limits(&key("1.5.")).max_in_flight, Some(8));
        assert_eq!(guardrails.limits(&key("10.")).max_in_flight, Some(4));
    }
}
