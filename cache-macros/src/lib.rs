//! Procedural macros of `cache-aside`: `#[cached]`, `#[cache_put]` and `#[invalidate]`.
//!
//! Depend on `cache-aside` and use them as `cache_aside::cached` and so on; the documentation
//! lives there. This crate only turns the attributes into calls on `cache_aside::__private`.

mod attr;
mod errors;
mod expand;
mod item;
mod template;
mod ttl;

use proc_macro::TokenStream;

use crate::attr::Kind;

/// (Implemented in the `cache-macros` crate; use it as `cache_aside::cached`.)
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Cached, args.into(), item.into()).into()
}

/// (Implemented in the `cache-macros` crate; use it as `cache_aside::cache_put`.)
#[proc_macro_attribute]
pub fn cache_put(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::CachePut, args.into(), item.into()).into()
}

/// (Implemented in the `cache-macros` crate; use it as `cache_aside::invalidate`.)
#[proc_macro_attribute]
pub fn invalidate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Invalidate, args.into(), item.into()).into()
}
