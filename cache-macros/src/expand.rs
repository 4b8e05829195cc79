//! The expansion: the function is emitted again with its body wrapped in place, as
//! `#[tracing::instrument]` does, so that methods, generics and `impl Trait` parameters keep
//! working. On any error the function is emitted unchanged beside the errors.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, Type};

use crate::attr::{Args, Kind, Target, Ttl};
use crate::errors::Errors;
use crate::item::{self, Params, Returns};
use crate::template::{Template, Values};

pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = not_a_function(kind, &item, error).to_compile_error();
            return quote!(#error #item);
        }
    };
    let mut errors = Errors::default();
    let args = Args::parse(kind, args, &mut errors);
    item::check(kind, &function, &mut errors);
    let expanded = match kind {
        Kind::Cached => cached(&function, &args, &mut errors),
        Kind::CachePut => cache_put(&function, &args, &mut errors),
        Kind::Invalidate => invalidate(&function, &args, &mut errors),
    };
    if errors.is_empty() {
        expanded
    } else {
        let errors = errors.into_compile_errors();
        quote!(#errors #function)
    }
}

/// The error for an item that is not a function with a body.
fn not_a_function(kind: Kind, item: &TokenStream, error: syn::Error) -> syn::Error {
    let name = kind.name();
    if let Ok(declaration) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        return syn::Error::new_spanned(
            &declaration.sig,
            format_args!(
                "#[{name}] needs the function's body: put it on the method in the `impl` \
                 block, not on the trait's declaration"
            ),
        );
    }
    if syn::parse2::<syn::Item>(item.clone()).is_ok() {
        return syn::Error::new_spanned(item, format_args!("#[{name}] goes on an `async fn`"));
    }
    error
}

/// The return kind, as a statement binding it and the expression that checks it.
struct Shape {
    binding: TokenStream,
    checked: TokenStream,
}

/// What every expansion shares: the paths, the site, and the body as a future.
struct Frame<'a> {
    function: &'a ItemFn,
    private: TokenStream,
    params: Params,
    return_type: Type,
    returns: Returns,
}

impl<'a> Frame<'a> {
    fn new(function: &'a ItemFn, args: &Args) -> Self {
        let krate = args
            .krate
            .as_ref()
            .map_or_else(|| quote!(::cache_aside), ToTokens::to_token_stream);
        let return_type = item::return_type(function);
        Frame {
            function,
            private: quote!(#krate::__private),
            params: Params::of(function),
            returns: item::returns(&return_type),
            return_type,
        }
    }

    /// `let site = &SITE;` for the `static` that holds the function's statistics and
    /// in-flight loads. The static lives in a block of its own, so the body cannot see it.
    fn site(&self) -> TokenStream {
        let private = &self.private;
        let site = local("site");
        let name = LitStr::new(
            &self.function.sig.ident.to_string(),
            self.function.sig.ident.span(),
        );
        quote! {
            let #site: &'static #private::Site = {
                static SITE: #private::Site = #private::Site::new(
                    ::core::concat!(::core::module_path!(), "::", #name)
                );
                &SITE
            };
        }
    }

    /// The original body as a future of the return type: a statement to put first in the
    /// function, and the future's expression.
    ///
    /// The body is an async block of its own, so that a `return` in it ends the body, not
    /// the wrapper; it is not `move`, so it borrows the parameters like the original body
    /// did. A never-taken `return` of a value of the return type (as
    /// `#[tracing::instrument]` does) makes that type the block's expected type, so the
    /// body's `?`, `return` and tail coerce to it as in the original function. The value
    /// comes from a closure declared outside the block, where items that the body declares
    /// (`use`, `struct`) cannot change what the return type names. The body's statements
    /// are spliced into the block (a one-expression body in braces of its own would trip
    /// `unused_braces`), and the block takes the body's braces' span, so its tail drops its
    /// temporaries by the rules of the user's edition.
    fn body(&self) -> (TokenStream, TokenStream) {
        let block = &self.function.block;
        if item::mentions_impl_trait(&self.return_type) {
            return (TokenStream::new(), quote!(async #block));
        }
        let return_type = &self.return_type;
        let fake = local("fake_return");
        let setup = quote! {
            #[allow(unknown_lints, clippy::empty_loop, clippy::diverging_sub_expression)]
            let #fake = || -> #return_type { loop {} };
        };
        let stmts = &block.stmts;
        let mut braces = proc_macro2::Group::new(
            proc_macro2::Delimiter::Brace,
            quote! {
                #[allow(unknown_lints, unreachable_code, clippy::needless_return)]
                if false {
                    return #fake();
                }
                #(#stmts)*
            },
        );
        braces.set_span(block.brace_token.span.join());
        (setup, quote!(async #braces))
    }

    /// The function again, with `body` for a body.
    fn emit(&self, body: TokenStream) -> TokenStream {
        let ItemFn {
            attrs, vis, sig, ..
        } = self.function;
        // syn files the body's inner attributes (`#![allow(..)]`) with the outer ones.
        let (outer, inner): (Vec<_>, Vec<_>) = attrs
            .iter()
            .partition(|attr| matches!(attr.style, syn::AttrStyle::Outer));
        // The new body's braces keep the original's span, so that lints which look at the
        // body (such as clippy's `missing_errors_doc`) still see user code.
        let mut braces =
            proc_macro2::Group::new(proc_macro2::Delimiter::Brace, quote!(#(#inner)* #body));
        braces.set_span(self.function.block.brace_token.span.join());
        quote! {
            #(#outer)*
            #vis #sig #braces
        }
    }

    fn cache(&self, args: &Args) -> TokenStream {
        let private = &self.private;
        match &args.cache {
            Some(cache) => quote_spanned!(cache.span()=> &(#cache)),
            None => quote!(#private::global()),
        }
    }

    /// The `Shape` value for the return type, checked to be `Cacheable`. The check is
    /// spanned at the cached type, so that a missing serde derive is reported there.
    fn shape(&self, args: &Args, errors: &mut Errors) -> Shape {
        let private = &self.private;
        let return_type = &self.return_type;
        let cache_none = args.cache_none.as_ref().filter(|flag| flag.value);
        if item::mentions_impl_trait(return_type) {
            errors.at(
                return_type,
                "a cached function must return a concrete type that implements serde's \
                 Serialize and Deserialize, not `impl Trait`",
            );
        }
        if let (Some(flag), false) = (cache_none, matches!(self.returns, Returns::Option { .. })) {
            errors.at(
                flag,
                "`cache_none` applies to functions that return `Option<T>`",
            );
        }
        let (shape, span) = match &self.returns {
            Returns::Result { value }
                if item::borrows(return_type)
                    || item::mentions_type_params(return_type, &self.function.sig.generics) =>
            {
                (quote!(#private::OkOnly::unshared()), value.span())
            }
            Returns::Result { value } => (
                quote! {
                    // One of the two resolves `ok_only`; the other is unused.
                    #[allow(unused_imports)]
                    use #private::{KeepErr as _, ShareClonedErr as _};
                    (&#private::ResultProbe::<#return_type>::new()).ok_only()
                },
                value.span(),
            ),
            Returns::Option { .. } if cache_none.is_some() => {
                (quote!(#private::SomeAndNone), return_type.span())
            }
            Returns::Option { value } => (quote!(#private::SomeOnly), value.span()),
            Returns::Plain => (quote!(#private::Plain), return_type.span()),
        };
        // The shape goes to `return_kind` through a local whose name is located at the cached
        // type: the bound error lands there, while the paths (which name the crate) and
        // the expression itself keep the attribute's span, where lints leave them alone.
        let binding = local("shape");
        let argument = syn::Ident::new("cache_aside_shape", Span::mixed_site().located_at(span));
        Shape {
            binding: quote!(let #binding = { #shape };),
            checked: quote!(#private::return_kind::<#return_type, _>(#argument)),
        }
    }

    fn template(
        &self,
        literal: &LitStr,
        values: Values,
        errors: &mut Errors,
    ) -> Option<TokenStream> {
        Template::parse(literal, &self.params, errors)
            .map(|template| template.render(&self.params, values, &self.private))
    }

    /// The key of `#[cached]`/`#[cache_put]`: the template, or the default key.
    fn key(&self, args: &Args, kind: Kind, errors: &mut Errors) -> TokenStream {
        if let Some(key) = &args.key {
            return self
                .template(key, Values::Plain, errors)
                .unwrap_or_default();
        }
        if kind == Kind::CachePut {
            if args.key_attempted {
                return TokenStream::new();
            }
            errors.at(
                &self.function.sig.ident,
                "#[cache_put] needs the key it writes: add key = \"...\", the same template \
                 as the #[cached] function it refreshes",
            );
            return TokenStream::new();
        }
        let private = &self.private;
        let idents = item::default_key_params(self.function, errors);
        let sig = &self.function.sig;
        // The receiver's type and the type parameters are part of the name, so that two
        // types' methods of one name, or two instantiations, do not share keys.
        let (mut format, mut arguments) = if self.params.has_receiver() {
            (
                "{}::".to_owned(),
                vec![quote!(::core::any::type_name::<Self>())],
            )
        } else {
            ("{}::".to_owned(), vec![quote!(::core::module_path!())])
        };
        format.push_str(&sig.ident.to_string());
        let generics: Vec<TokenStream> = sig
            .generics
            .params
            .iter()
            .filter_map(|param| match param {
                syn::GenericParam::Type(ty) => {
                    let ident = &ty.ident;
                    Some(quote!(::core::any::type_name::<#ident>()))
                }
                syn::GenericParam::Const(constant) => Some(constant.ident.to_token_stream()),
                syn::GenericParam::Lifetime(_) => None,
            })
            .collect();
        if !generics.is_empty() {
            format.push('<');
            format.push_str(&vec!["{}"; generics.len()].join(","));
            format.push('>');
            arguments.extend(generics);
        }
        for ident in &idents {
            format.push_str(":{}");
            // Spanned at the parameter, so that one that is not `Display` is reported there.
            arguments.push(quote_spanned!(ident.span()=> #private::key_part(&#ident)));
        }
        let format = LitStr::new(&format, Span::call_site());
        quote!(::std::format!(#format #(, #arguments)*))
    }
}

fn ttl(args: &Args, private: &TokenStream) -> TokenStream {
    duration(args.ttl.as_ref(), &quote!(#private::ttl))
}

/// An `Option<Duration>` expression for a `ttl` or `lease` argument; `check` takes an
/// expression argument, whose type must be `Duration` (an error at the expression).
fn duration(argument: Option<&Ttl>, check: &TokenStream) -> TokenStream {
    match argument {
        None => quote!(::core::option::Option::None),
        Some(Ttl::Fixed(duration)) => {
            let seconds = duration.as_secs();
            quote!(::core::option::Option::Some(::core::time::Duration::from_secs(#seconds)))
        }
        Some(Ttl::Expr(expr)) => quote!(#check(#expr)),
    }
}

/// A local of the generated code, invisible to the user's code (mixed-site hygiene).
fn local(name: &str) -> syn::Ident {
    syn::Ident::new(&format!("cache_aside_{name}"), Span::mixed_site())
}

/// The local for the cache, where it is passed on: located at the `cache = ...`
/// expression, so that a value that is not a cache is reported there.
fn cache_argument(args: &Args) -> syn::Ident {
    let span = args
        .cache
        .as_ref()
        .map_or_else(Span::call_site, Spanned::span);
    syn::Ident::new("cache_aside_cache", Span::mixed_site().located_at(span))
}

fn cached(function: &ItemFn, args: &Args, errors: &mut Errors) -> TokenStream {
    let frame = Frame::new(function, args);
    let private = &frame.private;
    let site = frame.site();
    let key = frame.key(args, Kind::Cached, errors);
    let Shape { binding, checked } = frame.shape(args, errors);
    let cache = frame.cache(args);
    let ttl = ttl(args, private);
    let lease = duration(args.lease.as_ref(), &quote!(#private::lease));
    let tags: Vec<TokenStream> = args
        .tags
        .iter()
        .filter_map(|tag| frame.template(tag, Values::Plain, errors))
        .collect();
    let (body_setup, body) = frame.body();
    let enabled = args.condition.as_ref().map_or_else(
        || quote!(true),
        |condition| quote_spanned!(condition.span()=> #condition),
    );
    let [site_var, enabled_var, key_var, ttl_var, fill_var, cache_var] =
        ["site", "enabled", "key", "ttl", "fill", "cache"].map(local);
    let cache_argument = cache_argument(args);
    // The arguments are bound first, so that their temporaries (a lock guard in a `ttl`
    // expression, say) are dropped before the body runs.
    frame.emit(quote! {
        #body_setup
        #site
        #binding
        let #enabled_var: ::core::primitive::bool = #enabled;
        let #key_var = if #enabled_var { #key } else { ::std::string::String::new() };
        let #ttl_var = #ttl;
        let #fill_var = if #enabled_var {
            #private::miss_options(#ttl_var, #lease, ::std::vec![#(#tags),*])
        } else {
            #private::miss_options(#ttl_var, ::core::option::Option::None, ::std::vec::Vec::new())
        };
        let #cache_var = #cache;
        #private::cached(#site_var, #cache_argument, #enabled_var, #key_var, #fill_var, #checked, #body)
            .await
    })
}

fn cache_put(function: &ItemFn, args: &Args, errors: &mut Errors) -> TokenStream {
    let frame = Frame::new(function, args);
    let private = &frame.private;
    let site = frame.site();
    let key = frame.key(args, Kind::CachePut, errors);
    let Shape { binding, checked } = frame.shape(args, errors);
    let cache = frame.cache(args);
    let ttl = ttl(args, private);
    let (body_setup, body) = frame.body();
    let [
        site_var,
        key_var,
        checked_var,
        value,
        uncached,
        ttl_var,
        cache_var,
    ] = [
        "site", "key", "checked", "value", "uncached", "ttl", "cache",
    ]
    .map(local);
    let cache_argument = cache_argument(args);
    // Only the stored part of the result is held across the write, so an `Err` that is
    // not `Send` does not make the function's future `!Send`.
    frame.emit(quote! {
        #body_setup
        #site
        #binding
        let #checked_var = #checked;
        let #key_var = #key;
        let #value = match #private::put_split(#site_var, &#checked_var, #body.await) {
            ::core::result::Result::Ok(#value) => #value,
            ::core::result::Result::Err(#uncached) => return #uncached,
        };
        let #ttl_var = #ttl;
        let #cache_var = #cache;
        #private::put(#site_var, #cache_argument, &#key_var, #ttl_var, &#checked_var, #value).await
    })
}

fn invalidate(function: &ItemFn, args: &Args, errors: &mut Errors) -> TokenStream {
    let frame = Frame::new(function, args);
    let private = &frame.private;
    if !args.key_attempted {
        errors.at(
            &function.sig.ident,
            "#[invalidate] needs something to delete: add key = \"...\", pattern = \"...\" or \
             tags = [\"...\"]",
        );
    }
    let targets: Vec<TokenStream> = args
        .targets
        .iter()
        .filter_map(|target| match target {
            Target::Key(key) => frame
                .template(key, Values::Plain, errors)
                .map(|key| quote!(#private::Target::Key(#key))),
            Target::Pattern(pattern) => frame
                .template(pattern, Values::GlobEscaped, errors)
                .map(|pattern| quote!(#private::Target::Pattern(#pattern))),
            Target::Tag(tag) => frame
                .template(tag, Values::Plain, errors)
                .map(|tag| quote!(#private::Target::Tag(#tag))),
        })
        .collect();
    let site = frame.site();
    let cache = frame.cache(args);
    let (body_setup, body) = frame.body();
    let [site_var, targets_var, output, value, error] =
        ["site", "targets", "output", "value", "error"].map(local);
    let (cache_var, cache_argument) = (local("cache"), cache_argument(args));
    let invalidate = quote! {
        let #cache_var = #cache;
        #private::invalidate(#site_var, #cache_argument, &#targets_var).await;
    };
    let after = match frame.returns {
        // Only the `Ok` value is held across the deletions, so an `Err` that is not `Send`
        // does not make the function's future `!Send`.
        Returns::Result { .. } => quote! {
            let #value = match #body.await {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#error) => {
                    #private::invalidate_skipped(#site_var);
                    return ::core::result::Result::Err(#error);
                }
            };
            #invalidate
            ::core::result::Result::Ok(#value)
        },
        _ => quote! {
            let #output = #body.await;
            #invalidate
            #output
        },
    };
    frame.emit(quote! {
        #body_setup
        #site
        let #targets_var = [#(#targets),*];
        #after
    })
}
