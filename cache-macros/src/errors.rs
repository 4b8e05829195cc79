//! The context that collects every error of one attribute, so that a single compile shows
//! them all, in the order of the source.

use proc_macro2::TokenStream;
use std::fmt::Display;

#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    pub(crate) fn at<T: quote::ToTokens>(&mut self, tokens: T, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors as `compile_error!`s, by where they start in the source. The sort is
    /// stable, so errors at one token keep the order in which they were found (as do all of
    /// them where a span does not know its line: `proc_macro2`'s `span-locations` needs
    /// Rust 1.88 inside a proc macro, the workspace's `rust-version`).
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        let mut errors = self.0;
        errors.sort_by_key(|error| {
            let start = error.span().start();
            (start.line, start.column)
        });
        errors.iter().map(syn::Error::to_compile_error).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_out_in_source_order() {
        let tokens: TokenStream = "first second\nthird".parse().unwrap();
        let idents: Vec<_> = tokens.into_iter().collect();
        let mut errors = Errors::default();
        for (at, message) in [
            (2, "third"),
            (0, "first"),
            (1, "second"),
            (0, "first again"),
        ] {
            errors.at(&idents[at], message);
        }
        let messages: Vec<String> = syn::parse2::<syn::File>(errors.into_compile_errors())
            .unwrap()
            .items
            .into_iter()
            .map(|item| {
                let syn::Item::Macro(call) = item else {
                    panic!("a compile_error! call");
                };
                call.mac.parse_body::<syn::LitStr>().unwrap().value()
            })
            .collect();
        assert_eq!(messages, ["first", "first again", "second", "third"]);
    }
}
