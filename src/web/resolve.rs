//! How a request names its tenant: [`Subdomain`], [`Header`], or a [`ResolveTenant`] of
//! your own.

use std::fmt;

use async_trait::async_trait;
use axum::http::{HeaderName, header, request::Parts};

use super::TenantRejection;
use crate::DataKey;

/// What a resolver found in a request: a slug to look up in the
/// [`TenantDirectory`](super::TenantDirectory), or a DataKey it already trusts (from a
/// verified token's claim, say).
///
/// ```
/// # use sea_orm_tenancy::{DataKey, web::TenantRef};
/// let by_slug = TenantRef::Slug("acme".into());
/// let by_key = TenantRef::Key(DataKey::new("100.")?);
/// assert_ne!(by_slug, by_key);
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRef {
    /// A slug, looked up in the directory; unknown → 404.
    Slug(String),
    /// A DataKey, used as it is (it need not be in the directory).
    Key(DataKey),
}

/// Finds the tenant a request is for.
///
/// - `Ok(Some(_))`: the tenant, by slug or by key.
/// - `Ok(None)`: the request names no tenant: the [`TenancyLayer`](super::TenancyLayer)
///   answers 400 when a tenant is required, and passes the request on otherwise.
/// - `Err(rejection)`: answered as it is, for instance
///   [`TenantRejection::Unauthenticated`] (401) when a token is missing or invalid.
///
/// Implement it for a claim of a token that an authentication layer before ours has
/// verified and put in the request's extensions (AuthP's way), or for a session:
///
/// ```
/// use async_trait::async_trait;
/// use axum::http::request::Parts;
/// use sea_orm_tenancy::{DataKey, web::{ResolveTenant, TenantRef, TenantRejection}};
///
/// /// Put in the extensions by the authentication middleware once the token is verified.
/// #[derive(Clone)]
/// struct Claims {
///     data_key: String,
/// }
///
/// #[derive(Debug)]
/// struct FromClaims;
///
/// #[async_trait]
/// impl ResolveTenant for FromClaims {
///     async fn resolve(&self, parts: &Parts) -> Result<Option<TenantRef>, TenantRejection> {
///         let claims = parts.extensions.get::<Claims>().ok_or(TenantRejection::Unauthenticated)?;
///         let key = DataKey::new(&claims.data_key).map_err(|_| TenantRejection::Unauthenticated)?;
///         Ok(Some(TenantRef::Key(key)))
///     }
/// }
/// ```
#[async_trait]
pub trait ResolveTenant: fmt::Debug + Send + Sync + 'static {
    /// The tenant `parts` names, if any.
    async fn resolve(&self, parts: &Parts) -> Result<Option<TenantRef>, TenantRejection>;
}

/// The tenant is the request host's first label under one of the configured base
/// domains: `acme.example.com` → slug `acme` under `example.com`, and `acme.localhost` →
/// `acme` under `localhost` for development.
///
/// - The host comes from the `Host` header, or from the URI's authority (HTTP/2); the
///   port and a trailing `.` are dropped and case is ignored.
/// - The apex (`example.com`) and the listed development hosts (`127.0.0.1`) map to the
///   [apex tenant](Self::apex_tenant) when one is set, and to no tenant otherwise (400
///   where a tenant is required).
/// - A host under no base domain, or two labels deep (`a.b.example.com`), is an unknown
///   tenant: 404. So is a slug the directory does not hold.
/// - A request without a host names no tenant.
///
/// ```
/// # use axum::http::Request;
/// # use sea_orm_tenancy::web::{ResolveTenant, Subdomain, TenantRef, TenantRejection};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let subdomain = Subdomain::new(["example.com", "localhost"]).dev_host("127.0.0.1");
/// let host = |h: &str| Request::get("/").header("host", h).body(()).unwrap().into_parts().0;
/// let found = subdomain.resolve(&host("Acme.Example.com:8080")).await;
/// assert_eq!(found, Ok(Some(TenantRef::Slug("acme".into()))));
/// assert_eq!(subdomain.resolve(&host("127.0.0.1:3000")).await, Ok(None));
/// assert_eq!(subdomain.resolve(&host("evil.test")).await, Err(TenantRejection::UnknownTenant));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Subdomain {
    base_domains: Vec<String>,
    dev_hosts: Vec<String>,
    apex: Option<TenantRef>,
}

impl Subdomain {
    /// Subdomains of these base domains (`example.com`, `localhost`).
    ///
    /// ```
    /// # use sea_orm_tenancy::web::Subdomain;
    /// let subdomain = Subdomain::new(["example.com"]);
    /// # let _ = subdomain;
    /// ```
    pub fn new<S: AsRef<str>>(base_domains: impl IntoIterator<Item = S>) -> Self {
        Subdomain {
            base_domains: base_domains
                .into_iter()
                .map(|d| normalise_host(d.as_ref()).to_ascii_lowercase())
                .collect(),
            dev_hosts: Vec::new(),
            apex: None,
        }
    }

    /// A development host (`127.0.0.1`, `localhost` when it is not a base domain) that
    /// maps like the apex.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::Subdomain;
    /// let subdomain = Subdomain::new(["example.com"]).dev_host("127.0.0.1").dev_host("[::1]");
    /// # let _ = subdomain;
    /// ```
    pub fn dev_host(mut self, host: impl AsRef<str>) -> Self {
        self.dev_hosts
            .push(normalise_host(host.as_ref()).to_ascii_lowercase());
        self
    }

    /// The tenant the apex and the development hosts map to (a landing tenant, or the
    /// default tenant of a single-tenant deployment). Without it they map to none.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, web::{Subdomain, TenantRef}};
    /// let subdomain = Subdomain::new(["example.com"]).apex_tenant(TenantRef::Key(DataKey::default_tenant()));
    /// # let _ = subdomain;
    /// ```
    pub fn apex_tenant(mut self, tenant: TenantRef) -> Self {
        self.apex = Some(tenant);
        self
    }

    fn host(parts: &Parts) -> Option<&str> {
        match parts.headers.get(header::HOST) {
            Some(value) => value.to_str().ok(),
            None => parts.uri.authority().map(|a| a.as_str()),
        }
    }
}

/// Lower-case is left to the caller; drops `user@`, the port and a trailing dot.
fn normalise_host(host: &str) -> &str {
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        // An IPv6 literal: keep the brackets, drop the port.
        host.find(']').map_or(host, |end| &host[..=end])
    } else {
        host.split_once(':').map_or(host, |(h, _)| h)
    };
    host.strip_suffix('.').unwrap_or(host)
}

#[async_trait]
impl ResolveTenant for Subdomain {
    async fn resolve(&self, parts: &Parts) -> Result<Option<TenantRef>, TenantRejection> {
        let Some(raw) = Self::host(parts) else {
            return Ok(None);
        };
        let host = normalise_host(raw).to_ascii_lowercase();
        if self.dev_hosts.iter().any(|d| d.eq_ignore_ascii_case(&host))
            || self
                .base_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&host))
        {
            return Ok(self.apex.clone());
        }
        for base in &self.base_domains {
            let Some(rest) = host.strip_suffix(base.as_str()) else {
                continue;
            };
            let Some(label) = rest.strip_suffix('.') else {
                continue;
            };
            if label.is_empty() || label.contains('.') {
                return Err(TenantRejection::UnknownTenant);
            }
            return Ok(Some(TenantRef::Slug(label.to_owned())));
        }
        Err(TenantRejection::UnknownTenant)
    }
}

/// The tenant's slug is the value of a header (`X-Tenant: acme`), for services behind a
/// gateway that has already authenticated the caller. A missing header names no tenant;
/// a value that is not visible ASCII is an unknown tenant.
///
/// ```
/// # use axum::http::Request;
/// # use sea_orm_tenancy::web::{Header, ResolveTenant, TenantRef};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let header = Header::new(axum::http::HeaderName::from_static("x-tenant"));
/// let parts = Request::get("/").header("X-Tenant", "acme").body(()).unwrap().into_parts().0;
/// assert_eq!(header.resolve(&parts).await, Ok(Some(TenantRef::Slug("acme".into()))));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Header(HeaderName);

impl Header {
    /// The header `name`.
    ///
    /// ```
    /// # use axum::http::HeaderName;
    /// # use sea_orm_tenancy::web::Header;
    /// let header = Header::new(HeaderName::from_static("x-tenant"));
    /// # let _ = header;
    /// ```
    pub fn new(name: HeaderName) -> Self {
        Header(name)
    }
}

#[async_trait]
impl ResolveTenant for Header {
    async fn resolve(&self, parts: &Parts) -> Result<Option<TenantRef>, TenantRejection> {
        match parts.headers.get(&self.0) {
            None => Ok(None),
            Some(value) => match value.to_str() {
                Ok(slug) => Ok(Some(TenantRef::Slug(slug.trim().to_owned()))),
                Err(_) => Err(TenantRejection::UnknownTenant),
            },
        }
    }
}
