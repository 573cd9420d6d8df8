//! A bounded cache of rewritten statement templates. The key is the backend, the match
//! mode, whether the statement is prepared, and the SQL text: never the tenant.
//!
//! Two levels. The shared cache of the registry (`quick_cache`, sharded) holds up to its
//! capacity. In front of it each thread keeps private copies of the templates it used
//! last (at most [`FRONT_CAPACITY`] per thread, dropped all at once when full): a hit
//! there writes to no memory another thread reads, so threads running the same
//! statement do not contend for a shard's lock or a template's reference count. The
//! front holds templates only, which carry no tenant.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Equivalent;

use super::params::Template;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) flavour: u8,
    pub(crate) sql: String,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.flavour.hash(state);
        self.sql.as_str().hash(state);
    }
}

/// The borrowed form of [`Key`], for lookups that allocate nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    pub(crate) flavour: u8,
    pub(crate) sql: &'a str,
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.flavour.hash(state);
        self.sql.hash(state);
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.flavour == key.flavour && self.sql == key.sql
    }
}

/// How many templates each thread keeps in front of the shared cache.
pub(crate) const FRONT_CAPACITY: usize = 64;

/// A key of the per-thread front: the cache's key, and which registry's cache.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FrontKey {
    cache: u64,
    key: Key,
}

#[derive(Debug, Clone, Copy, Hash)]
struct FrontKeyRef<'a> {
    cache: u64,
    key: KeyRef<'a>,
}

impl hashbrown::Equivalent<FrontKey> for FrontKeyRef<'_> {
    fn equivalent(&self, other: &FrontKey) -> bool {
        self.cache == other.cache
            && self.key.flavour == other.key.flavour
            && self.key.sql == other.key.sql
    }
}

// `FrontKey` and `FrontKeyRef` must hash alike: both hash `cache`, then the key, whose
// two forms hash alike (`Key` hashes `sql.as_str()`).

thread_local! {
    /// This thread's private copies of the templates it used last, of every registry.
    static FRONT: RefCell<hashbrown::HashMap<FrontKey, Arc<Template>>> =
        RefCell::new(hashbrown::HashMap::new());
}

/// Tells the caches of different registries apart in the per-thread front.
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// The template cache of one [`Registry`](crate::Registry).
pub(crate) struct TemplateCache {
    /// `None` when the capacity is 0: nothing is kept.
    inner: Option<quick_cache::sync::Cache<Key, Arc<Template>>>,
    /// This cache's name in the per-thread fronts.
    id: u64,
}

impl std::fmt::Debug for TemplateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateCache")
            .field("len", &self.len())
            .finish()
    }
}

impl TemplateCache {
    pub(crate) fn new(capacity: usize) -> Self {
        TemplateCache {
            inner: (capacity > 0).then(|| quick_cache::sync::Cache::new(capacity)),
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub(crate) fn get(&self, key: KeyRef<'_>) -> Option<Arc<Template>> {
        let shared = self.inner.as_ref()?;
        let front_key = FrontKeyRef {
            cache: self.id,
            key,
        };
        if let Some(t) = FRONT.with(|f| f.borrow().get(&front_key).cloned()) {
            return Some(t);
        }
        let t = shared.get(&key)?;
        self.remember(key, &t);
        Some(t)
    }

    /// Keeps a private copy of `template` in this thread's front.
    fn remember(&self, key: KeyRef<'_>, template: &Template) {
        let private = Arc::new(template.clone());
        FRONT.with(|f| {
            let mut front = f.borrow_mut();
            if front.len() >= FRONT_CAPACITY {
                front.clear();
            }
            front.insert(
                FrontKey {
                    cache: self.id,
                    key: Key {
                        flavour: key.flavour,
                        sql: key.sql.to_owned(),
                    },
                },
                private,
            );
        });
    }

    pub(crate) fn insert(&self, key: KeyRef<'_>, template: Arc<Template>) {
        if let Some(inner) = &self.inner {
            self.remember(key, &template);
            inner.insert(
                Key {
                    flavour: key.flavour,
                    sql: key.sql.to_owned(),
                },
                template,
            );
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, quick_cache::sync::Cache::len)
    }
}
