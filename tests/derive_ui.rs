//! Compile-time tests of `#[derive(Tenancy)]`: misuse is reported with spans on the
//! tokens at fault, every mistake at once, and correct uses compile and say what they mean.
//!
//! Run: cargo test --test derive_ui
//! Re-bless the expected errors: TRYBUILD=overwrite cargo test --test derive_ui

#[test]
fn derive_misuse_is_reported_with_spans() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

/// Misuse of the connection API that must not compile: nothing turns a tenant
/// connection into an admin one.
#[test]
fn a_tenant_connection_cannot_become_an_admin_connection() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/api/*.rs");
}
