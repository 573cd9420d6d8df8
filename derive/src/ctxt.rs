//! Collects every error found while parsing and validating, so that all of them are
//! reported in one compilation (after serde_derive's `Ctxt`).

use std::cell::Cell;
use std::fmt::Display;

use quote::ToTokens;

/// The errors found so far. Consumed by [`Ctxt::check`].
#[derive(Default)]
pub(crate) struct Ctxt {
    // A `Cell` rather than a `RefCell`: taking and putting back the vector cannot panic.
    errors: Cell<Vec<syn::Error>>,
}

impl Ctxt {
    /// No errors yet.
    pub(crate) fn new() -> Self {
        Ctxt::default()
    }

    /// Records an error spanned on the tokens of `obj` (from its first to its last token).
    pub(crate) fn error_spanned_by<A: ToTokens, T: Display>(&self, obj: A, msg: T) {
        self.syn_error(syn::Error::new_spanned(obj.into_token_stream(), msg));
    }

    /// Records an error from syn.
    pub(crate) fn syn_error(&self, err: syn::Error) {
        let mut errors = self.errors.take();
        errors.push(err);
        self.errors.set(errors);
    }

    /// How many errors were recorded so far.
    pub(crate) fn error_count(&self) -> usize {
        let errors = self.errors.take();
        let count = errors.len();
        self.errors.set(errors);
        count
    }

    /// All the errors recorded, combined into one, or `Ok` if there were none.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.into_inner().into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for err in errors {
            combined.combine(err);
        }
        Err(combined)
    }
}
