//! Procedural macros of `cache-aside`: `#[cached]`, `#[cache_put]` and `#[invalidate]`.
//!
//! Depend on `cache-aside` and use them as `cache_aside::cached` and so on; the documentation
//! lives there. This crate only turns the attributes into calls on `cache_aside::__private`.
//!
//! Each attribute goes through one pipeline: `attr.rs` parses the arguments as written,
//! `ast.rs` types them (and the function, `ast/function.rs`) into a model, `check.rs` holds
//! every rule and reports every error into one context (`errors.rs`), and `expand.rs`
//! generates code from a model that passed. `template.rs` and `ttl.rs` read the small
//! languages of key templates and durations.

mod ast;
mod attr;
mod check;
mod errors;
mod expand;
mod template;
mod ttl;

use proc_macro::TokenStream;
use quote::quote;

use crate::ast::{Attribute, Function, Kind};
use crate::attr::Args;
use crate::errors::Errors;

/// (Implemented in the `cache-macros` crate; use it as `cache_aside::cached`.)
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Cached, args.into(), item.into()).into()
}

/// (Implemented in the `cache-macros` crate; use it as `cache_aside::cache_put`.)
#[proc_macro_attribute]
pub fn cache_put(args: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::CachePut, args.into(), item.into()).into()
}

/// (Implemented in the `cache-macros` crate; use it as `cache_aside::invalidate`.)
#[proc_macro_attribute]
pub fn invalidate(args: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Invalidate, args.into(), item.into()).into()
}

/// Parse, model, check, expand. On any error the item is emitted unchanged beside the
/// errors, so that the rest of the crate (and an IDE) still sees the function.
fn run(
    kind: Kind,
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let function = match syn::parse2(item.clone()) {
        Ok(function) => Function::new(function),
        Err(error) => {
            let error = check::not_a_function(kind, &item, error).to_compile_error();
            return quote!(#error #item);
        }
    };
    let mut errors = Errors::default();
    let attribute = Attribute::new(kind, Args::parse(args, &mut errors));
    check::check(&attribute, &function, &mut errors);
    if errors.is_empty() {
        expand::expand(&attribute, &function)
    } else {
        let errors = errors.into_compile_errors();
        let item = &function.item;
        quote!(#errors #item)
    }
}
