//! Parsing: the arguments of `#[cached(...)]`, `#[cache_put(...)]` and `#[invalidate(...)]`
//! as written, `name = value` pairs with their spans. What they mean is `ast.rs`'s to say.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, Ident, Token};

use crate::errors::Errors;

/// One `name = value` argument, as written.
pub(crate) struct Arg {
    pub(crate) name: Ident,
    pub(crate) value: Expr,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `parse_any` also takes keywords, for `crate = "..."`.
        let name = Ident::parse_any(input).map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected `name = value` arguments, such as key = \"user:{id}\", ttl = 60",
            )
        })?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format_args!("expected `{name} = ...`: every argument has a value"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Arg { name, value })
    }
}

/// The arguments of one attribute, in the order written.
pub(crate) struct Args {
    pub(crate) list: Vec<Arg>,
    /// Whether a syntax error stopped parsing: the arguments after it are unknown.
    pub(crate) truncated: bool,
}

impl Args {
    /// Parses `tokens`, keeping the arguments before a syntax error, which goes to `errors`.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
        let mut list = Vec::new();
        let parsed = (|input: ParseStream| {
            while !input.is_empty() {
                list.push(input.parse::<Arg>()?);
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
            Ok(())
        })
        .parse2(tokens);
        let truncated = parsed.is_err();
        if let Err(error) = parsed {
            errors.push(error);
        }
        Args { list, truncated }
    }
}
