//! [`TenancyLayer`]: resolves each request's tenant and hands the handler a ready
//! [`TenantConnection`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use sea_orm::{DatabaseConnection, DbBackend};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use super::{ResolveTenant, TenantDirectory, TenantRef, TenantRejection};
use crate::guard::Guardrails;
use crate::{DataKey, MatchMode, Registry, TenancyError, TenantConnection};

/// The tenant of the current request, in the request's extensions and as an extractor.
///
/// ```
/// use sea_orm_tenancy::web::CurrentTenant;
///
/// async fn whoami(tenant: CurrentTenant) -> String {
///     format!("{} ({})", tenant.slug().unwrap_or("-"), tenant.key())
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(whoami));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentTenant {
    key: DataKey,
    slug: Option<String>,
}

impl CurrentTenant {
    /// The tenant's DataKey.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::CurrentTenant;
    /// fn key_of(tenant: &CurrentTenant) -> &str {
    ///     tenant.key().as_str()
    /// }
    /// ```
    pub fn key(&self) -> &DataKey {
        &self.key
    }

    /// The slug it was found by (subdomain, header), or `None` when the resolver gave a
    /// DataKey.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::CurrentTenant;
    /// fn slug_of(tenant: &CurrentTenant) -> &str {
    ///     tenant.slug().unwrap_or("(by key)")
    /// }
    /// ```
    pub fn slug(&self) -> Option<&str> {
        self.slug.as_deref()
    }
}

/// Put in every request the layer has seen, so that an extractor can tell "no tenant"
/// (an optional layer) from "no layer" (a programming error).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerRan;

#[derive(Clone)]
struct Shared {
    pool: DatabaseConnection,
    resolver: Arc<dyn ResolveTenant>,
    directory: Option<TenantDirectory>,
    registry: Arc<Registry>,
    mode: MatchMode,
    rls: bool,
    guardrails: Option<Guardrails>,
    required: bool,
}

/// A tower [`Layer`] that resolves the tenant of each request and puts a ready
/// [`TenantConnection`] (and a [`CurrentTenant`]) into its extensions; handlers take
/// them as extractors.
///
/// For each request:
/// 1. the [resolver](ResolveTenant) ([`Subdomain`](super::Subdomain),
///    [`Header`](super::Header) or yours) finds a slug or a DataKey;
/// 2. a slug is looked up in the [`TenantDirectory`]: unknown → 404;
/// 3. no tenant → 400 when [required](Self::optional) (the default), else the request
///    goes on without one;
/// 4. the handler runs with the connection in its extensions, inside
///    [`context::with_tenant`](crate::context::with_tenant), and inside a tracing span
///    `tenant_request` (target `sea_orm_tenancy::web`) with the fields `method`, `path`,
///    `tenant` and `slug`.
///
/// Each refusal is a [`TenantRejection`]: a status and a small JSON body.
///
/// ```no_run
/// use axum::{Json, Router, routing::get};
/// use sea_orm::EntityTrait;
/// use sea_orm_tenancy::TenantConnection;
/// use sea_orm_tenancy::web::{JsonFile, Subdomain, TenancyLayer, TenantDirectory, TenantRejection};
///
/// # mod invoice {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel, sea_orm_tenancy::Tenancy, serde::Serialize)]
/// #     #[sea_orm(table_name = "layer_doc_invoice")]
/// #     #[tenanted]
/// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub data_key: String }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// async fn invoices(db: TenantConnection) -> Result<Json<Vec<invoice::Model>>, TenantRejection> {
///     Ok(Json(invoice::Entity::find().all(&db).await?))
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sea_orm::Database::connect("sqlite://app.db?mode=rwc").await?;
/// let directory = TenantDirectory::load(JsonFile::new("tenants.json")).await?;
/// let app = Router::new().route("/invoices", get(invoices)).layer(
///     TenancyLayer::new(pool, Subdomain::new(["example.com", "localhost"])).with_directory(directory),
/// );
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TenancyLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TenancyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenancyLayer")
            .field("resolver", &self.shared.resolver)
            .field("directory", &self.shared.directory)
            .field("mode", &self.shared.mode)
            .field("row_level_security", &self.shared.rls)
            .field("required", &self.shared.required)
            .finish_non_exhaustive()
    }
}

impl TenancyLayer {
    /// Connections on `pool`, tenants found by `resolver`; with the global registry, in
    /// [`MatchMode::Prefix`], a tenant required, and no directory (add one with
    /// [`with_directory`](Self::with_directory) unless the resolver only gives DataKeys).
    ///
    /// ```
    /// # use sea_orm_tenancy::web::{Subdomain, TenancyLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let layer = TenancyLayer::new(pool, Subdomain::new(["example.com"]));
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: DatabaseConnection, resolver: impl ResolveTenant) -> Self {
        TenancyLayer {
            shared: Arc::new(Shared {
                pool,
                resolver: Arc::new(resolver),
                directory: None,
                registry: Registry::global(),
                mode: MatchMode::Prefix,
                rls: false,
                guardrails: None,
                required: true,
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = Arc::unwrap_or_clone(self.shared);
        f(&mut shared);
        TenancyLayer {
            shared: Arc::new(shared),
        }
    }

    /// Looks slugs up in `directory`.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::{StaticMap, Subdomain, TenancyLayer, TenantDirectory}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let directory = TenantDirectory::load(StaticMap::new([("acme", DataKey::new("100.")?)])).await?;
    /// let layer = TenancyLayer::new(pool, Subdomain::new(["example.com"])).with_directory(directory);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_directory(self, directory: TenantDirectory) -> Self {
        self.edit(|s| s.directory = Some(directory))
    }

    /// Connections check statements against `registry` instead of the global one.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use sea_orm_tenancy::{Registry, web::{Subdomain, TenancyLayer}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let registry = Arc::new(Registry::builder_with_derived().build());
    /// let layer = TenancyLayer::new(pool, Subdomain::new(["example.com"])).with_registry(registry);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_registry(self, registry: Arc<Registry>) -> Self {
        self.edit(|s| s.registry = registry)
    }

    /// Connections in `mode` ([`MatchMode::Exact`]: a tenant does not see its
    /// sub-tenants' rows).
    ///
    /// ```
    /// # use sea_orm_tenancy::{MatchMode, web::{Subdomain, TenancyLayer}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let layer = TenancyLayer::new(pool, Subdomain::new(["example.com"])).with_mode(MatchMode::Exact);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_mode(self, mode: MatchMode) -> Self {
        self.edit(|s| s.mode = mode)
    }

    /// Connections under `guardrails` ([`TenantConnection::with_guardrails`]): each
    /// tenant's statement timeout and cap, shared by all its requests.
    ///
    /// ```
    /// # use sea_orm_tenancy::{guard::{Guardrails, Limits}, web::{Subdomain, TenancyLayer}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let guardrails = Guardrails::builder().defaults(Limits::new().max_in_flight(8)).build()?;
    /// let layer = TenancyLayer::new(pool, Subdomain::new(["example.com"])).with_guardrails(guardrails);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_guardrails(self, guardrails: Guardrails) -> Self {
        self.edit(|s| s.guardrails = Some(guardrails))
    }

    /// Connections in [row-level security mode](TenantConnection::with_row_level_security)
    /// (PostgreSQL); fails on other backends.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::{Subdomain, TenancyLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sqlite = sea_orm::Database::connect("sqlite::memory:").await?;
    /// assert!(TenancyLayer::new(sqlite, Subdomain::new(["example.com"])).with_row_level_security().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_row_level_security(self) -> Result<Self, TenancyError> {
        if self.shared.pool.get_database_backend() != DbBackend::Postgres {
            return Err(TenancyError::UnsupportedStatement {
                tenant: "(none: web layer)".to_owned(),
                reason: "row-level security mode is postgresql only".to_owned(),
            });
        }
        Ok(self.edit(|s| s.rls = true))
    }

    /// Lets requests that name no tenant through, without a connection (a public page, a
    /// health check); a handler that extracts [`TenantConnection`] still answers 400.
    /// An unknown tenant is 404 either way.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::{Subdomain, TenancyLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
    /// let layer = TenancyLayer::new(pool, Subdomain::new(["example.com"])).optional();
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn optional(self) -> Self {
        self.edit(|s| s.required = false)
    }
}

impl<S> Layer<S> for TenancyLayer {
    type Service = TenancyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TenancyService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of a [`TenancyLayer`]; see there.
///
/// ```
/// # use sea_orm_tenancy::web::{Subdomain, TenancyLayer, TenancyService};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sea_orm::Database::connect("sqlite::memory:").await?;
/// use tower_layer::Layer;
/// let service: TenancyService<()> = TenancyLayer::new(pool, Subdomain::new(["example.com"])).layer(());
/// # let _ = service;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TenancyService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for TenancyService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenancyService").finish_non_exhaustive()
    }
}

impl<S> Service<Request> for TenancyService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request; a fresh clone stays.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let shared = self.shared.clone();
        let (mut parts, body) = request.into_parts();
        let span = tracing::info_span!(
            target: "sea_orm_tenancy::web",
            "tenant_request",
            method = %parts.method,
            path = %parts.uri.path(),
            tenant = tracing::field::Empty,
            slug = tracing::field::Empty,
        );
        let future = async move {
            parts.extensions.insert(LayerRan);
            match shared.tenant_of(&parts).await {
                Ok(Some(tenant)) => {
                    let span = tracing::Span::current();
                    span.record("tenant", tracing::field::display(&tenant.key));
                    if let Some(slug) = &tenant.slug {
                        span.record("slug", tracing::field::display(slug));
                    }
                    let key = tenant.key.clone();
                    parts.extensions.insert(TenantConnection::scoped(
                        shared.pool.clone(),
                        key.clone(),
                        shared.mode,
                        shared.registry.clone(),
                        shared.rls,
                        shared.guardrails.as_ref(),
                    ));
                    parts.extensions.insert(tenant);
                    let request = Request::from_parts(parts, body);
                    crate::context::with_tenant(key, call_inner(inner, request)).await
                }
                Ok(None) if !shared.required => {
                    call_inner(inner, Request::from_parts(parts, body)).await
                }
                Ok(None) => Ok(refuse(TenantRejection::MissingTenant)),
                Err(rejection) => Ok(refuse(rejection)),
            }
        };
        Box::pin(future.instrument(span))
    }
}

async fn call_inner<S>(mut inner: S, request: Request) -> Result<Response, S::Error>
where
    S: Service<Request, Response = Response>,
{
    inner.call(request).await
}

fn refuse(rejection: TenantRejection) -> Response {
    tracing::debug!(
        target: "sea_orm_tenancy::web",
        status = rejection.status().as_u16(),
        "request refused: {}",
        rejection.code()
    );
    rejection.into_response()
}

impl Shared {
    async fn tenant_of(
        &self,
        parts: &axum::http::request::Parts,
    ) -> Result<Option<CurrentTenant>, TenantRejection> {
        match self.resolver.resolve(parts).await? {
            None => Ok(None),
            Some(TenantRef::Key(key)) => Ok(Some(CurrentTenant { key, slug: None })),
            Some(TenantRef::Slug(slug)) => {
                let Some(directory) = &self.directory else {
                    tracing::error!(
                        target: "sea_orm_tenancy::web",
                        "the resolver gave a slug but the tenancy layer has no directory: \
                         add one with TenancyLayer::with_directory"
                    );
                    return Err(TenantRejection::Internal);
                };
                match directory.lookup(&slug) {
                    Some(key) => Ok(Some(CurrentTenant {
                        key,
                        slug: Some(slug.to_ascii_lowercase()),
                    })),
                    None => Err(TenantRejection::UnknownTenant),
                }
            }
        }
    }
}
