//! A bounded cache of rewritten statement templates. The key is the backend, the match
//! mode, whether the statement is prepared, and the SQL text: never the tenant.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

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

/// The template cache of one [`Registry`](crate::Registry).
pub(crate) struct TemplateCache {
    /// `None` when the capacity is 0: nothing is kept.
    inner: Option<quick_cache::sync::Cache<Key, Arc<Template>>>,
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
        }
    }

    pub(crate) fn get(&self, key: KeyRef<'_>) -> Option<Arc<Template>> {
        self.inner.as_ref()?.get(&key)
    }

    pub(crate) fn insert(&self, key: KeyRef<'_>, template: Arc<Template>) {
        if let Some(inner) = &self.inner {
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
