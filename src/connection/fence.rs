//! The fence a [`TenantRouter`](crate::shard::TenantRouter) puts around a tenant being
//! moved between shards.
//!
//! Each connection the router opens holds a lease on its tenant for as long as it (or a
//! clone, or a transaction of it) lives. A move first refuses new connections of every
//! tenant on the moved subtree's path, then waits for the leases of those tenants to be
//! dropped: the requests in flight finish their work, whole, on the old shard. Only then
//! does it copy. A connection is never cut off between two statements of one operation
//! (SeaORM's insert reads its row back, for instance), so a refusal always means that
//! nothing of the request ran on that connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::{DataKey, TenancyError};

#[derive(Debug, Default)]
struct State {
    /// Subtrees this router is moving: new connections of their path are refused
    /// (retryable), live ones finish their work.
    moving: Vec<DataKey>,
    /// Subtrees the catalog says another router is moving: new connections and the
    /// statements of live ones are refused.
    foreign: Vec<DataKey>,
    /// Live connections per tenant.
    live: HashMap<DataKey, usize>,
}

/// The fences of one router.
#[derive(Debug, Default)]
pub(crate) struct Fences {
    state: Mutex<State>,
    /// Whether `state.foreign` is non-empty: the per-statement check takes no lock
    /// while no other router is moving anything.
    any_foreign: AtomicBool,
    released: tokio::sync::Notify,
}

/// Two keys on one path: a statement of either can touch rows of the other.
fn related(a: &DataKey, b: &DataKey) -> bool {
    a.contains(b) || b.contains(a)
}

fn moving(tenant: &DataKey, k: &DataKey) -> TenancyError {
    TenancyError::TenantMoving {
        tenant: tenant.to_string(),
        reason: format!("the subtree `{k}` is being moved to another shard: retry shortly"),
    }
}

impl Fences {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A lease for a new connection of `tenant`; refused while its path is moving.
    pub(crate) fn lease(self: &Arc<Self>, tenant: &DataKey) -> Result<Lease, TenancyError> {
        let mut state = self.state();
        if let Some(k) = state
            .moving
            .iter()
            .chain(&state.foreign)
            .find(|k| related(k, tenant))
        {
            return Err(moving(tenant, k));
        }
        *state.live.entry(tenant.clone()).or_default() += 1;
        Ok(Lease {
            fences: self.clone(),
            tenant: tenant.clone(),
        })
    }

    /// Refuses new connections on `key`'s path, then waits until every live one has been
    /// dropped. After `timeout`, gives up: the path is open again and the error says so.
    #[cfg(feature = "sharding")]
    pub(crate) async fn close(
        &self,
        key: &DataKey,
        timeout: std::time::Duration,
    ) -> Result<(), TenancyError> {
        {
            let mut state = self.state();
            if !state.moving.contains(key) {
                state.moving.push(key.clone());
            }
        }
        let drained = tokio::time::timeout(timeout, async {
            loop {
                let released = self.released.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                let open = self
                    .state()
                    .live
                    .iter()
                    .any(|(t, n)| *n > 0 && related(t, key));
                if !open {
                    return;
                }
                released.await;
            }
        })
        .await;
        if drained.is_err() {
            // Only this router's hold goes: a move the catalog still records (a resume
            // that gave up) stays refused.
            self.state().moving.retain(|k| k != key);
            return Err(TenancyError::InvalidTenantChange {
                table: "tenant_shard_move".to_owned(),
                tenant: key.to_string(),
                reason: format!(
                    "connections of the subtree stayed open for {timeout:?}: the move did not start"
                ),
            });
        }
        Ok(())
    }

    /// The subtrees the catalog records as moving, read again: moves that another router
    /// finished or rolled back are let through, those it started are refused. (A move of
    /// this router records itself in the catalog before it closes the fence, and deletes
    /// the record last.)
    pub(crate) fn set_moving(&self, keys: Vec<DataKey>) {
        let mut state = self.state();
        // This router's own moves are in the catalog until they finish: one that is no
        // longer there was finished or rolled back by another router.
        state.moving.retain(|k| keys.contains(k));
        self.any_foreign.store(!keys.is_empty(), Ordering::Release);
        state.foreign = keys;
    }

    /// The move of `key` switched or was rolled back: its path works again.
    pub(crate) fn reopen(&self, key: &DataKey) {
        let mut state = self.state();
        state.moving.retain(|k| k != key);
        state.foreign.retain(|k| k != key);
        self.any_foreign
            .store(!state.foreign.is_empty(), Ordering::Release);
    }
}

/// A connection's hold on its tenant; dropped with the connection's last clone.
#[derive(Debug)]
pub(crate) struct Lease {
    fences: Arc<Fences>,
    tenant: DataKey,
}

impl Lease {
    /// Refuses a statement when the tenant's path is marked moving by another router
    /// (a move of this router waits for this connection instead).
    pub(crate) fn check(&self) -> Result<(), TenancyError> {
        if !self.fences.any_foreign.load(Ordering::Acquire) {
            return Ok(());
        }
        let state = self.fences.state();
        let foreign = state
            .foreign
            .iter()
            .find(|k| !state.moving.contains(k) && related(k, &self.tenant));
        match foreign {
            Some(k) => Err(moving(&self.tenant, k)),
            None => Ok(()),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        {
            let mut state = self.fences.state();
            if let Some(n) = state.live.get_mut(&self.tenant) {
                *n -= 1;
                if *n == 0 {
                    state.live.remove(&self.tenant);
                }
            }
        }
        self.fences.released.notify_waiters();
    }
}
