//! [`TenantDirectory`]: slug → DataKey, loaded from a source and reloadable at run time.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::{DataKey, TenancyError};

/// Where a [`TenantDirectory`] loads its map from: a JSON file ([`JsonFile`]), the
/// lifecycle's `tenant` table ([`TenantTable`]), a fixed map ([`StaticMap`]), or a source
/// of your own.
///
/// `load` returns every `(slug, DataKey)` pair; the directory checks them (slugs are
/// DNS labels, lower-cased; no slug twice) before it swaps them in.
///
/// ```
/// use async_trait::async_trait;
/// use sea_orm_tenancy::{DataKey, TenancyError, web::{DirectorySource, TenantDirectory}};
///
/// #[derive(Debug)]
/// struct FromEnv;
///
/// #[async_trait]
/// impl DirectorySource for FromEnv {
///     fn name(&self) -> String {
///         "environment".into()
///     }
///     async fn load(&self) -> Result<Vec<(String, DataKey)>, TenancyError> {
///         Ok(vec![("acme".into(), DataKey::new("100.")?)])
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), TenancyError> {
/// let directory = TenantDirectory::load(FromEnv).await?;
/// assert_eq!(directory.lookup("ACME"), Some(DataKey::new("100.")?));
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait DirectorySource: fmt::Debug + Send + Sync + 'static {
    /// What the source reads, for error reports and traces: a path, a table.
    fn name(&self) -> String;

    /// Reads every `(slug, DataKey)` pair.
    async fn load(&self) -> Result<Vec<(String, DataKey)>, TenancyError>;
}

/// A fixed map, for tests and small deployments; [`TenantDirectory::reload`] keeps it.
///
/// ```
/// # use sea_orm_tenancy::{DataKey, web::{StaticMap, TenantDirectory}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sea_orm_tenancy::TenancyError> {
/// let map = StaticMap::new([("acme", DataKey::new("100.")?)]);
/// let directory = TenantDirectory::load(map).await?;
/// assert_eq!(directory.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StaticMap(Vec<(String, DataKey)>);

impl StaticMap {
    /// The map of these `(slug, DataKey)` pairs.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::StaticMap};
    /// let map = StaticMap::new([("acme", DataKey::new("100.")?), ("globex", DataKey::new("101.")?)]);
    /// # let _ = map;
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn new<S: Into<String>>(pairs: impl IntoIterator<Item = (S, DataKey)>) -> Self {
        StaticMap(pairs.into_iter().map(|(s, k)| (s.into(), k)).collect())
    }
}

#[async_trait]
impl DirectorySource for StaticMap {
    fn name(&self) -> String {
        "static map".into()
    }

    async fn load(&self) -> Result<Vec<(String, DataKey)>, TenancyError> {
        Ok(self.0.clone())
    }
}

/// A JSON file holding one object, slug → DataKey: `{"acme": "100.", "globex": "101."}`.
/// Read again on every [`TenantDirectory::reload`].
///
/// ```
/// # use sea_orm_tenancy::{DataKey, web::{JsonFile, TenantDirectory}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = std::env::temp_dir().join(format!("tenants-doc-{}.json", std::process::id()));
/// std::fs::write(&path, r#"{"acme": "100.", "globex": "101."}"#)?;
/// let directory = TenantDirectory::load(JsonFile::new(&path)).await?;
/// assert_eq!(directory.lookup("globex"), Some(DataKey::new("101.")?));
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct JsonFile(PathBuf);

impl JsonFile {
    /// The file at `path`.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::JsonFile;
    /// let source = JsonFile::new("/etc/myapp/tenants.json");
    /// # let _ = source;
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonFile(path.into())
    }
}

#[async_trait]
impl DirectorySource for JsonFile {
    fn name(&self) -> String {
        self.0.display().to_string()
    }

    async fn load(&self) -> Result<Vec<(String, DataKey)>, TenancyError> {
        let refuse = |reason: String| TenancyError::DirectoryNotLoaded {
            source_name: self.name(),
            reason,
        };
        let text = tokio::fs::read_to_string(&self.0)
            .await
            .map_err(|e| refuse(format!("cannot read the file: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| refuse(format!("not valid json: {e}")))?;
        let serde_json::Value::Object(object) = value else {
            return Err(refuse(
                "expected one json object of slug to data key".into(),
            ));
        };
        object
            .into_iter()
            .map(|(slug, key)| match key {
                serde_json::Value::String(key) => Ok((slug, DataKey::new(key)?)),
                other => Err(refuse(format!(
                    "the data key of `{slug}` is not a string: {other}"
                ))),
            })
            .collect()
    }
}

/// The lifecycle's `tenant` table, read through an
/// [`AdminConnection`](crate::AdminConnection): each tenant whose `name` is a valid slug
/// (a DNS label: `[a-z0-9-]`, 1 to 63 characters, any case) is served under that name,
/// lower-cased. Tenants with other names (`Acme EU`) and the system tenant `0.` are not
/// served. Two tenants with the same slug make the load fail: a slug never picks one of
/// two tenants.
///
/// ```
/// # use sea_orm_migration::{MigrationTrait, SchemaManager};
/// # use sea_orm_tenancy::{AdminConnection, DataKey, lifecycle::{CreateTenantTables, TenantAdmin}};
/// # use sea_orm_tenancy::web::{TenantDirectory, TenantTable};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// # CreateTenantTables.up(&SchemaManager::new(&pool)).await?;
/// let admin = AdminConnection::new(pool.clone());
/// TenantAdmin::new(admin.clone()).create("acme", None).await?;
/// let directory = TenantDirectory::load(TenantTable::new(admin)).await?;
/// assert_eq!(directory.lookup("acme"), Some(DataKey::new("100.")?));
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "lifecycle")]
#[derive(Debug, Clone)]
pub struct TenantTable(crate::AdminConnection);

#[cfg(feature = "lifecycle")]
impl TenantTable {
    /// The `tenant` table that `admin` reaches.
    ///
    /// ```
    /// # use sea_orm_tenancy::{AdminConnection, web::TenantTable};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let source = TenantTable::new(AdminConnection::new(pool));
    /// # let _ = source;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(admin: crate::AdminConnection) -> Self {
        TenantTable(admin)
    }
}

#[cfg(feature = "lifecycle")]
#[async_trait]
impl DirectorySource for TenantTable {
    fn name(&self) -> String {
        "tenant table".into()
    }

    async fn load(&self) -> Result<Vec<(String, DataKey)>, TenancyError> {
        use sea_orm::EntityTrait;

        use crate::lifecycle::tenant;

        let rows = tenant::Entity::find().all(&self.0).await.map_err(|e| {
            TenancyError::DirectoryNotLoaded {
                source_name: self.name(),
                reason: format!("cannot read the tenant table: {e}"),
            }
        })?;
        let system = DataKey::system();
        let mut pairs = Vec::with_capacity(rows.len());
        for row in rows {
            let key = DataKey::new(&row.data_key)?;
            if key == system || check_slug(&row.name).is_err() {
                tracing::debug!(
                    target: "sea_orm_tenancy::web",
                    tenant = %key,
                    "tenant not served: its name is not a slug"
                );
                continue;
            }
            pairs.push((row.name, key));
        }
        Ok(pairs)
    }
}

type Map = HashMap<String, DataKey>;

struct Inner {
    source: Box<dyn DirectorySource>,
    map: RwLock<Arc<Map>>,
    /// Serialises reloads, so that an older load never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
}

/// Maps a tenant's slug (a subdomain, a header's value) to its [`DataKey`], for the
/// [`TenancyLayer`](crate::web::TenancyLayer).
///
/// - Lookups are lock-free in effect: a read lock held for one hash lookup.
/// - [`reload`](Self::reload) reads the source again and swaps the whole map in one
///   step, without a restart; on unix [`reload_on_sighup`](Self::reload_on_sighup) does it
///   on `SIGHUP`.
/// - A load that fails (the source errs, a slug or DataKey is malformed, a slug appears
///   twice) keeps the map the directory had and returns the error, also traced at ERROR.
///
/// Cloning is cheap and every clone shares the map.
///
/// ```
/// # use sea_orm_tenancy::{DataKey, web::{StaticMap, TenantDirectory}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sea_orm_tenancy::TenancyError> {
/// let directory = TenantDirectory::load(StaticMap::new([("acme", DataKey::new("100.")?)])).await?;
/// assert_eq!(directory.lookup("acme"), Some(DataKey::new("100.")?));
/// assert_eq!(directory.lookup("globex"), None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TenantDirectory {
    inner: Arc<Inner>,
}

impl fmt::Debug for TenantDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantDirectory")
            .field("source", &self.inner.source)
            .field("tenants", &self.len())
            .finish()
    }
}

impl TenantDirectory {
    /// Loads the map from `source`; fails when that first load fails.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::{StaticMap, TenantDirectory}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let twice = StaticMap::new([
    ///     ("acme", DataKey::new("100.").unwrap()),
    ///     ("ACME", DataKey::new("101.").unwrap()),
    /// ]);
    /// let err = TenantDirectory::load(twice).await.unwrap_err();
    /// assert!(err.to_string().contains("slug `acme` appears twice"));
    /// # }
    /// ```
    pub async fn load(source: impl DirectorySource) -> Result<Self, TenancyError> {
        let source: Box<dyn DirectorySource> = Box::new(source);
        let map = read(source.as_ref()).await?;
        Ok(TenantDirectory {
            inner: Arc::new(Inner {
                source,
                map: RwLock::new(Arc::new(map)),
                reloading: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The DataKey served under `slug` (compared lower-cased), if any.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::{StaticMap, TenantDirectory}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sea_orm_tenancy::TenancyError> {
    /// let directory = TenantDirectory::load(StaticMap::new([("acme", DataKey::new("100.")?)])).await?;
    /// assert!(directory.lookup("Acme").is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn lookup(&self, slug: &str) -> Option<DataKey> {
        let map = self.snapshot();
        if slug.bytes().any(|b| b.is_ascii_uppercase()) {
            map.get(&slug.to_ascii_lowercase()).cloned()
        } else {
            map.get(slug).cloned()
        }
    }

    /// How many tenants the directory serves.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::{StaticMap, TenantDirectory}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sea_orm_tenancy::TenancyError> {
    /// let directory = TenantDirectory::load(StaticMap::new(Vec::<(String, DataKey)>::new())).await?;
    /// assert!(directory.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether the directory serves no tenant.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::{StaticMap, TenantDirectory}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sea_orm_tenancy::TenancyError> {
    /// let directory = TenantDirectory::load(StaticMap::new([("acme", DataKey::new("100.")?)])).await?;
    /// assert!(!directory.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the source again and swaps the new map in; returns how many tenants it
    /// serves. When the load fails, the old map stays and the error is returned (and
    /// traced at ERROR on target `sea_orm_tenancy::web`). Concurrent reloads run one
    /// after the other.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::{JsonFile, TenantDirectory}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let path = std::env::temp_dir().join(format!("tenants-reload-doc-{}.json", std::process::id()));
    /// std::fs::write(&path, r#"{"acme": "100."}"#)?;
    /// let directory = TenantDirectory::load(JsonFile::new(&path)).await?;
    ///
    /// std::fs::write(&path, r#"{"acme": "100.", "globex": "101."}"#)?;
    /// assert_eq!(directory.reload().await?, 2);
    ///
    /// std::fs::write(&path, "{ not json")?;
    /// assert!(directory.reload().await.is_err());
    /// assert_eq!(directory.lookup("globex"), Some(DataKey::new("101.")?)); // kept
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reload(&self) -> Result<usize, TenancyError> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        match read(self.inner.source.as_ref()).await {
            Ok(map) => {
                let n = map.len();
                *self.inner.map.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(map);
                tracing::info!(
                    target: "sea_orm_tenancy::web",
                    source = %self.inner.source.name(),
                    tenants = n,
                    "tenant directory reloaded"
                );
                Ok(n)
            }
            Err(e) => {
                tracing::error!(
                    target: "sea_orm_tenancy::web",
                    source = %self.inner.source.name(),
                    error = %e,
                    "tenant directory reload failed; the previous map stays"
                );
                Err(e)
            }
        }
    }

    /// On unix: starts a task that [reloads](Self::reload) the directory on each
    /// `SIGHUP` (`kill -HUP <pid>`), as long as the runtime runs; a failed reload is
    /// traced and keeps the old map. Call it inside a tokio runtime. Fails when the
    /// signal handler cannot be installed.
    ///
    /// ```no_run
    /// # use sea_orm_tenancy::{DataKey, web::{JsonFile, TenantDirectory}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let directory = TenantDirectory::load(JsonFile::new("/etc/myapp/tenants.json")).await?;
    /// let _reloader = directory.reload_on_sighup()?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(unix)]
    pub fn reload_on_sighup(&self) -> std::io::Result<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{SignalKind, signal};

        let mut hangups = signal(SignalKind::hangup())?;
        let directory = self.clone();
        Ok(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                // Traced inside; the old map stays on failure.
                let _ = directory.reload().await;
            }
        }))
    }

    fn snapshot(&self) -> Arc<Map> {
        self.inner
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Loads and checks a source's pairs into a map.
async fn read(source: &dyn DirectorySource) -> Result<Map, TenancyError> {
    let refuse = |reason: String| TenancyError::DirectoryNotLoaded {
        source_name: source.name(),
        reason,
    };
    let pairs = source.load().await.map_err(|e| match e {
        e @ TenancyError::DirectoryNotLoaded { .. } => e,
        other => refuse(other.to_string()),
    })?;
    let mut map = Map::with_capacity(pairs.len());
    for (slug, key) in pairs {
        check_slug(&slug).map_err(refuse)?;
        let slug = slug.to_ascii_lowercase();
        if map.contains_key(&slug) {
            return Err(refuse(format!("slug `{slug}` appears twice")));
        }
        map.insert(slug, key);
    }
    Ok(map)
}

/// A slug is one DNS label: `[A-Za-z0-9-]`, 1 to 63 characters, no `-` at either end.
pub(crate) fn check_slug(slug: &str) -> Result<(), String> {
    let shown: String = slug.chars().take(80).collect();
    if slug.is_empty() || slug.len() > 63 {
        return Err(format!("slug `{shown}` must be 1 to 63 characters"));
    }
    if !slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "slug `{shown}` may hold only letters, digits and `-`"
        ));
    }
    if slug.starts_with('-') || slug.ends_with('-') {
        return Err(format!("slug `{shown}` may not start or end with `-`"));
    }
    Ok(())
}
