//! Compile-time tests of `#[derive(Tenancy)]`: misuse is reported with spans on the
//! tokens at fault, every mistake at once, and correct uses compile and say what they mean.
//! And of the connection API: a tenant connection cannot become an admin one.
//!
//! Run: cargo test --test derive_ui
//! Re-bless the expected errors: TRYBUILD=overwrite cargo test --test derive_ui

#[test]
fn misuse_of_the_derive_and_of_the_connection_api_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
    // Misuse of the connection API that must not compile: nothing turns a tenant
    // connection into an admin one. In the same project, so that it builds once.
    t.compile_fail("tests/ui/api/*.rs");
}
