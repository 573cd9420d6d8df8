//! The web layer (feature `axum`): each request's tenant, resolved from its subdomain, a
//! header or your own resolver, and a ready [`TenantConnection`](crate::TenantConnection)
//! handed to the handler.
//!
//! - [`TenancyLayer`]: a tower layer; put it on an axum `Router`.
//! - Strategies: [`Subdomain`] (`acme.example.com`, with the apex and development hosts
//!   mapped to a default tenant or to none), [`Header`], or a [`ResolveTenant`] of your
//!   own (a verified token's claim, a session).
//! - [`TenantDirectory`]: slug → DataKey, from the lifecycle's `tenant` table
//!   ([`TenantTable`]), a JSON file ([`JsonFile`]) or your [`DirectorySource`];
//!   [reloadable](TenantDirectory::reload) at run time, on `SIGHUP` too.
//! - Extractors: `TenantConnection`, `Option<TenantConnection>`, [`CurrentTenant`].
//! - Outcomes ([`TenantRejection`]): unknown tenant → 404, no tenant → 400, a resolver's
//!   refusal → 401, and `InvalidTenantAccess` in a handler (through `?`) → 403, each with
//!   a small JSON body and no internal detail.
//! - Tracing: a span `tenant_request` per request, with the tenant.
//!
//! ```
//! use axum::{Json, Router, body::Body, http::Request, routing::get};
//! use sea_orm_tenancy::{DataKey, TenantConnection};
//! use sea_orm_tenancy::web::{StaticMap, Subdomain, TenancyLayer, TenantDirectory, TenantRejection};
//! use tower_service::Service;
//!
//! async fn whose(db: TenantConnection) -> Result<Json<String>, TenantRejection> {
//!     Ok(Json(db.key().to_string()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sea_orm::Database::connect("sqlite::memory:").await?;
//! let directory = TenantDirectory::load(StaticMap::new([("acme", DataKey::new("100.")?)])).await?;
//! let mut app = Router::new()
//!     .route("/whose", get(whose))
//!     .layer(TenancyLayer::new(pool, Subdomain::new(["example.com"])).with_directory(directory));
//!
//! let ask = |host: &str| Request::get("/whose").header("host", host).body(Body::empty()).unwrap();
//! assert_eq!(app.call(ask("acme.example.com")).await?.status(), 200);
//! assert_eq!(app.call(ask("initech.example.com")).await?.status(), 404);
//! assert_eq!(app.call(ask("example.com")).await?.status(), 400);
//! # Ok(())
//! # }
//! ```
//!
//! `examples/saas.rs` is a whole service: invoices for two tenants reachable as
//! `acme.localhost:3000` and `globex.localhost:3000`.

mod directory;
mod extract;
mod layer;
mod rejection;
mod resolve;

#[cfg(feature = "lifecycle")]
pub use directory::TenantTable;
pub use directory::{DirectorySource, JsonFile, StaticMap, TenantDirectory};
pub use layer::{CurrentTenant, TenancyLayer, TenancyService};
pub use rejection::TenantRejection;
pub use resolve::{Header, ResolveTenant, Subdomain, TenantRef};
