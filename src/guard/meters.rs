//! Per-tenant metrics through the `metrics` facade (feature `metrics`): handles made
//! once per account and kind, so that a statement only bumps them.

use std::time::Duration;

use metrics::{Counter, Histogram};
use sea_orm::DbErr;

use crate::rewrite::StatementKind;
use crate::{DataKey, TenancyError};

/// Why a statement failed, as the `error` label says.
const ERRORS: [&str; 4] = ["timeout", "busy", "refused", "database"];

#[derive(Debug)]
struct PerKind {
    statements: Counter,
    rows: Counter,
    errors: [Counter; ERRORS.len()],
    seconds: Histogram,
}

/// The meters of one account.
#[derive(Debug)]
pub(super) struct Meters {
    kinds: Vec<PerKind>,
    /// Statements refused at the cap, before any kind is known to count them under.
    busy: Counter,
    /// Statements the rewriter refused (their kind is not read).
    refused: Counter,
}

impl Meters {
    pub(super) fn new(key: &DataKey) -> Meters {
        let tenant = key.to_string();
        let kinds = StatementKind::ALL
            .iter()
            .map(|kind| {
                let labels = [
                    ("tenant", tenant.clone()),
                    ("kind", kind.as_str().to_owned()),
                ];
                PerKind {
                    statements: metrics::counter!("sea_orm_tenancy_statements_total", &labels),
                    rows: metrics::counter!("sea_orm_tenancy_rows_total", &labels),
                    errors: ERRORS.map(|e| {
                        metrics::counter!(
                            "sea_orm_tenancy_errors_total",
                            "tenant" => tenant.clone(),
                            "kind" => kind.as_str(),
                            "error" => e
                        )
                    }),
                    seconds: metrics::histogram!("sea_orm_tenancy_statement_seconds", &labels),
                }
            })
            .collect();
        let busy = metrics::counter!(
            "sea_orm_tenancy_errors_total",
            "tenant" => tenant.clone(),
            "kind" => "any",
            "error" => "busy"
        );
        let refused = metrics::counter!(
            "sea_orm_tenancy_errors_total",
            "tenant" => tenant,
            "kind" => "any",
            "error" => "refused"
        );
        Meters {
            kinds,
            busy,
            refused,
        }
    }

    pub(super) fn busy(&self) {
        self.busy.increment(1);
    }

    pub(super) fn refused(&self) {
        self.refused.increment(1);
    }

    pub(super) fn record(
        &self,
        kind: StatementKind,
        outcome: Result<u64, &DbErr>,
        elapsed: Duration,
    ) {
        let Some(m) = self.kinds.get(kind.index()) else {
            return;
        };
        m.statements.increment(1);
        m.seconds.record(elapsed.as_secs_f64());
        match outcome {
            Ok(rows) => m.rows.increment(rows),
            Err(err) => {
                let class = match TenancyError::from_db_err(err) {
                    Some(TenancyError::StatementTimeout { .. }) => 0,
                    Some(TenancyError::TenantBusy { .. }) => 1,
                    Some(_) => 2,
                    None => 3,
                };
                m.errors[class].increment(1);
            }
        }
    }
}
