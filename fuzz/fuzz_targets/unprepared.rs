//! `unprepared`: the input is SQL text, given to `rewrite_unprepared` on PostgreSQL,
//! MySQL and SQLite (prefix mode) for two tenants, the second served from the template
//! cache. Each accepted output must not panic, must re-parse, and must pass the checker
//! of `src/lib.rs` (see its doc comment).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sea_orm_tenancy_fuzz::run_unprepared(data));
