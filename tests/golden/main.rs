//! Golden rewrite tests: input SQL → expected SQL, per backend, in the style of
//! sqlparser's `verified_stmt`. Pure: no database.
//!
//! Run: `cargo test --test golden`

mod citus;
mod mysql;
mod postgres;
mod shared;
mod sqlite;
mod support;
