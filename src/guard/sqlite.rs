//! The SQLite interrupt (feature `sqlite`): a pool hook that hands each statement's
//! deadline to SQLite's progress handler, so that a statement past its timeout stops
//! inside SQLite instead of running on in the background.

use std::sync::Arc;

use sea_orm::ConnectOptions;

/// How many SQLite virtual-machine steps run between two looks at the clock.
const STEPS_BETWEEN_CHECKS: i32 = 1_000;

/// Makes SQLite pools opened with `options` stop a statement inside SQLite when it
/// passes its [statement timeout](super::Limits::statement_timeout): the statement fails
/// with [`TenancyError::StatementTimeout`](crate::TenancyError::StatementTimeout) and
/// its connection goes straight back to the pool.
///
/// It installs a `before_acquire` hook
/// ([`ConnectOptions::map_sqlx_sqlite_before_acquire`], replacing one you set) that
/// gives the connection a progress handler for the statement taking it. A connection
/// opened for the statement (not taken idle from the pool) does not pass through the
/// hook; set `min_connections` to the pool size to keep every statement covered. A
/// transaction's statements are covered too: the handler follows each of them. Other
/// backends ignore it.
///
/// ```
/// use sea_orm::{ConnectOptions, Database};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut options = ConnectOptions::new("sqlite::memory:");
/// options.max_connections(1).min_connections(1);
/// sea_orm_tenancy::guard::interrupt_at_deadline(&mut options);
/// let pool = Database::connect(options).await?;
/// # let _ = pool;
/// # Ok(())
/// # }
/// ```
pub fn interrupt_at_deadline(options: &mut ConnectOptions) -> &mut ConnectOptions {
    options.map_sqlx_sqlite_before_acquire(|conn, _meta| {
        Box::pin(async move {
            let deadline = super::DEADLINE.try_with(Arc::clone).ok();
            let mut handle = conn.lock_handle().await?;
            match deadline {
                Some(deadline) => {
                    handle.set_progress_handler(STEPS_BETWEEN_CHECKS, move || !deadline.passed());
                }
                None => handle.remove_progress_handler(),
            }
            Ok(true)
        })
    })
}
