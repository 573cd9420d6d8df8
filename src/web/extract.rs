//! Extractors: [`TenantConnection`] and [`CurrentTenant`] in a handler's arguments.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use super::layer::LayerRan;
use super::{CurrentTenant, TenantRejection};
use crate::TenantConnection;

/// Takes the extension `T` the [`TenancyLayer`](super::TenancyLayer) put in: 400 when the
/// layer ran and found no tenant (an [optional](super::TenancyLayer::optional) layer),
/// 500 (traced at ERROR) when the route has no layer at all.
fn required<T: Clone + Send + Sync + 'static>(parts: &Parts) -> Result<T, TenantRejection> {
    if let Some(found) = parts.extensions.get::<T>() {
        return Ok(found.clone());
    }
    if parts.extensions.get::<LayerRan>().is_some() {
        return Err(TenantRejection::MissingTenant);
    }
    tracing::error!(
        target: "sea_orm_tenancy::web",
        path = %parts.uri.path(),
        "a handler asked for the tenant but the route has no TenancyLayer"
    );
    Err(TenantRejection::Internal)
}

/// `FromRequestParts` (required, see [`required`]) and `OptionalFromRequestParts` (`None`
/// when an optional layer found no tenant) for an extension the layer puts in.
macro_rules! extension_extractor {
    ($(#[$doc:meta])* $ty:ty) => {
        $(#[$doc])*
        impl<S: Send + Sync> FromRequestParts<S> for $ty {
            type Rejection = TenantRejection;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Self, Self::Rejection> {
                required::<$ty>(parts)
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $ty {
            type Rejection = TenantRejection;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                Ok(parts.extensions.get::<$ty>().cloned())
            }
        }
    };
}

extension_extractor!(
    /// The request's tenant connection, made by the [`TenancyLayer`](super::TenancyLayer).
    ///
    /// ```
    /// use axum::Json;
    /// use sea_orm_tenancy::{TenantConnection, web::TenantRejection};
    ///
    /// async fn tenant_key(db: TenantConnection) -> Result<Json<String>, TenantRejection> {
    ///     Ok(Json(db.key().to_string()))
    /// }
    /// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(tenant_key));
    /// ```
    TenantConnection
);

extension_extractor!(
    /// The request's [`CurrentTenant`].
    CurrentTenant
);
