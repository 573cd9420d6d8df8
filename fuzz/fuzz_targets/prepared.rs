//! `prepared`: byte 0 chooses the backend (`b & 3`, mod 3: PostgreSQL, MySQL, SQLite),
//! the mode (`b & 4`: exact), the tenant (`(b >> 3) & 3` of `KEYS`), the style of the bound
//! values (`(b >> 5) & 3`: strings inside the tenant, the tenant's key, integers, NULLs
//! and foreign strings) and `rewrite_unprepared` instead of `rewrite` (`b & 0x80`); the
//! rest is the SQL. Each accepted output must not panic, must re-parse, and must pass
//! the checker of `src/lib.rs` (see its doc comment), for the tenant and for a second
//! tenant served from the template cache.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sea_orm_tenancy_fuzz::run_prepared(data));
