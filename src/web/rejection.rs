//! [`TenantRejection`]: what the web layer answers, with a small JSON body and no internal
//! detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;

use crate::TenancyError;

/// A refusal of the web layer, or of a handler that returns
/// `Result<_, TenantRejection>` and lets `?` convert its `DbErr`.
///
/// The response is the status and a JSON body `{"error": code, "message": text}`; the
/// text is fixed per variant and never names a table, a DataKey or another tenant. What
/// went wrong inside is traced (ERROR for [`Internal`](Self::Internal), DEBUG otherwise)
/// on target `sea_orm_tenancy::web`, not sent.
///
/// | variant | status | `error` |
/// |---|---|---|
/// | [`UnknownTenant`](Self::UnknownTenant) | 404 | `unknown_tenant` |
/// | [`MissingTenant`](Self::MissingTenant) | 400 | `missing_tenant` |
/// | [`Unauthenticated`](Self::Unauthenticated) | 401 | `unauthenticated` |
/// | [`Forbidden`](Self::Forbidden) | 403 | `forbidden` |
/// | [`NotFound`](Self::NotFound) | 404 | `not_found` |
/// | [`Conflict`](Self::Conflict) | 409 | `conflict` |
/// | [`Busy`](Self::Busy) | 503 | `busy` |
/// | [`TimedOut`](Self::TimedOut) | 503 | `timed_out` |
/// | [`Internal`](Self::Internal) | 500 | `internal` |
///
/// ```
/// use axum::{http::StatusCode, response::IntoResponse};
/// use sea_orm::DbErr;
/// use sea_orm_tenancy::{TenancyError, web::TenantRejection};
///
/// let refused: DbErr = TenancyError::InvalidTenantAccess {
///     table: "invoice".into(),
///     tenant: "100.".into(),
///     reason: "the row's data key is another tenant's".into(),
/// }
/// .into();
/// let rejection = TenantRejection::from(refused);
/// assert_eq!(rejection, TenantRejection::Forbidden);
/// assert_eq!(rejection.into_response().status(), StatusCode::FORBIDDEN);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TenantRejection {
    /// The request names a tenant that is not served here (an unknown subdomain or slug).
    UnknownTenant,
    /// The request names no tenant where one is required.
    MissingTenant,
    /// A resolver needs credentials that the request lacks or that are invalid.
    Unauthenticated,
    /// The handler tried to read, write or move rows outside the request's tenant
    /// ([`TenancyError::InvalidTenantAccess`], or a malformed DataKey in its data).
    Forbidden,
    /// The record is not there, or not the tenant's ([`DbErr::RecordNotFound`],
    /// [`DbErr::RecordNotUpdated`], [`TenancyError::TenantNotFound`]).
    NotFound,
    /// The change broke a unique or foreign-key constraint
    /// ([`TenancyError::ConstraintViolation`]).
    Conflict,
    /// The tenant has its limit of statements in flight, or is being moved between
    /// shards ([`TenancyError::TenantBusy`], [`TenancyError::TenantMoving`]): retry later.
    Busy,
    /// A statement ran past the tenant's statement timeout
    /// ([`TenancyError::StatementTimeout`]).
    TimedOut,
    /// Anything else: the cause is traced at ERROR, the client sees only `internal`.
    Internal,
}

impl TenantRejection {
    /// The HTTP status.
    ///
    /// ```
    /// # use axum::http::StatusCode;
    /// # use sea_orm_tenancy::web::TenantRejection;
    /// assert_eq!(TenantRejection::UnknownTenant.status(), StatusCode::NOT_FOUND);
    /// ```
    pub fn status(self) -> StatusCode {
        match self {
            TenantRejection::UnknownTenant | TenantRejection::NotFound => StatusCode::NOT_FOUND,
            TenantRejection::MissingTenant => StatusCode::BAD_REQUEST,
            TenantRejection::Unauthenticated => StatusCode::UNAUTHORIZED,
            TenantRejection::Forbidden => StatusCode::FORBIDDEN,
            TenantRejection::Conflict => StatusCode::CONFLICT,
            TenantRejection::Busy | TenantRejection::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            TenantRejection::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body's `error` code.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::TenantRejection;
    /// assert_eq!(TenantRejection::Forbidden.code(), "forbidden");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            TenantRejection::UnknownTenant => "unknown_tenant",
            TenantRejection::MissingTenant => "missing_tenant",
            TenantRejection::Unauthenticated => "unauthenticated",
            TenantRejection::Forbidden => "forbidden",
            TenantRejection::NotFound => "not_found",
            TenantRejection::Conflict => "conflict",
            TenantRejection::Busy => "busy",
            TenantRejection::TimedOut => "timed_out",
            TenantRejection::Internal => "internal",
        }
    }

    /// The body's `message`: fixed text, no detail.
    ///
    /// ```
    /// # use sea_orm_tenancy::web::TenantRejection;
    /// assert_eq!(TenantRejection::UnknownTenant.message(), "no tenant is served at this address");
    /// ```
    pub fn message(self) -> &'static str {
        match self {
            TenantRejection::UnknownTenant => "no tenant is served at this address",
            TenantRejection::MissingTenant => "the request names no tenant",
            TenantRejection::Unauthenticated => "authentication is required",
            TenantRejection::Forbidden => "the request reaches outside its tenant",
            TenantRejection::NotFound => "not found",
            TenantRejection::Conflict => "the change conflicts with existing data",
            TenantRejection::Busy => "the tenant is busy; retry later",
            TenantRejection::TimedOut => "the request took too long",
            TenantRejection::Internal => "internal error",
        }
    }
}

impl std::fmt::Display for TenantRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message(), self.status())
    }
}

impl std::error::Error for TenantRejection {}

impl IntoResponse for TenantRejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code(), "message": self.message() });
        (self.status(), Json(body)).into_response()
    }
}

impl From<TenancyError> for TenantRejection {
    fn from(err: TenancyError) -> Self {
        let rejection = match &err {
            TenancyError::InvalidTenantAccess { .. } | TenancyError::InvalidDataKey { .. } => {
                TenantRejection::Forbidden
            }
            TenancyError::TenantNotFound { .. } => TenantRejection::NotFound,
            TenancyError::ConstraintViolation { .. } => TenantRejection::Conflict,
            TenancyError::TenantBusy { .. } | TenancyError::TenantMoving { .. } => {
                TenantRejection::Busy
            }
            TenancyError::StatementTimeout { .. } => TenantRejection::TimedOut,
            _ => TenantRejection::Internal,
        };
        trace(rejection, &err);
        rejection
    }
}

impl From<DbErr> for TenantRejection {
    fn from(err: DbErr) -> Self {
        if let Some(tenancy) = TenancyError::from_db_err(&err) {
            return tenancy.clone().into();
        }
        let rejection = match err {
            DbErr::RecordNotFound(_) | DbErr::RecordNotUpdated => TenantRejection::NotFound,
            _ => TenantRejection::Internal,
        };
        trace(rejection, &err);
        rejection
    }
}

fn trace(rejection: TenantRejection, cause: &dyn std::fmt::Display) {
    if rejection == TenantRejection::Internal {
        tracing::error!(target: "sea_orm_tenancy::web", error = %cause, "request failed");
    } else {
        tracing::debug!(
            target: "sea_orm_tenancy::web",
            status = rejection.status().as_u16(),
            error = %cause,
            "request refused"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::StatusCode;
    use sea_orm::DbErr;

    use super::TenantRejection;
    use crate::TenancyError;

    #[test]
    fn guardrail_refusals_answer_503_without_detail() {
        let busy: DbErr = TenancyError::TenantBusy {
            tenant: "1.".into(),
            limit: 4,
            waited: Duration::from_secs(1),
        }
        .into();
        let busy = TenantRejection::from(busy);
        assert_eq!(
            (busy, busy.status(), busy.code()),
            (
                TenantRejection::Busy,
                StatusCode::SERVICE_UNAVAILABLE,
                "busy"
            )
        );
        let slow: DbErr = TenancyError::StatementTimeout {
            tenant: "1.".into(),
            tables: "`invoice`".into(),
            timeout: Duration::from_secs(5),
        }
        .into();
        let slow = TenantRejection::from(slow);
        assert_eq!(
            (slow, slow.status(), slow.code()),
            (
                TenantRejection::TimedOut,
                StatusCode::SERVICE_UNAVAILABLE,
                "timed_out"
            )
        );
        assert!(!slow.message().contains("invoice") && !slow.message().contains("1."));
    }
}
