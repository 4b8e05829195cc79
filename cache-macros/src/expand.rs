//! Generation: the function is emitted again with its body wrapped in place, as
//! `#[tracing::instrument]` does, so that methods, generics and `impl Trait` parameters keep
//! working. Only a model that has passed `check.rs` comes here.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, LitStr};

use crate::ast::{
    Attribute, Binding, CachePut, Cached, Common, Duration, DurationForm, Function, Invalidate,
    Returns, Tags, Target, Value,
};
use crate::template::{Template, Values};

pub(crate) fn expand(attribute: &Attribute, function: &Function) -> TokenStream {
    let frame = Frame::new(function, attribute.common());
    match attribute {
        Attribute::Cached(cached) => frame.cached(cached),
        Attribute::CachePut(put) => frame.cache_put(put),
        Attribute::Invalidate(invalidate) => frame.invalidate(invalidate),
    }
}

/// The return kind, as a statement binding its shape and the expression that checks it.
struct Shape {
    binding: TokenStream,
    return_kind: TokenStream,
}

/// What every expansion shares: the function, the path of `__private`, the cache.
struct Frame<'a> {
    function: &'a Function,
    private: TokenStream,
    cache: Option<&'a Expr>,
}

impl<'a> Frame<'a> {
    fn new(function: &'a Function, common: &'a Common) -> Self {
        let krate = match &common.krate {
            Some(Value::Valid(krate)) => krate.path.to_token_stream(),
            _ => quote!(::cache_aside),
        };
        Frame {
            function,
            private: quote!(#krate::__private),
            cache: common.cache.as_ref(),
        }
    }

    fn cached(&self, cached: &Cached) -> TokenStream {
        let private = &self.private;
        let site = self.site();
        let key = match &cached.key {
            Some(key) => self.template(key, Values::Plain),
            None => self.default_key(),
        };
        let Shape {
            binding,
            return_kind,
        } = self.shape(cache_none(cached.cache_none.as_ref()));
        let cache = self.cache();
        let kind_var = local("kind");
        let ttl = self.ttl(cached.ttl.as_ref(), &kind_var);
        let lease = duration(cached.lease.as_ref(), &quote!(#private::lease));
        let tags = self.tags(cached.tags.as_ref());
        let (body_setup, body) = self.body();
        let enabled = cached.condition.as_ref().map_or_else(
            || quote!(true),
            |condition| quote_spanned!(condition.span()=> #condition),
        );
        let [
            site_var,
            enabled_var,
            key_var,
            ttl_var,
            options_var,
            cache_var,
        ] = ["site", "enabled", "key", "ttl", "options", "cache"].map(local);
        let cache_argument = self.cache_argument();
        // The arguments are bound first, so that their temporaries (a lock guard in a `ttl`
        // expression, say) are dropped before the body runs.
        self.emit(quote! {
            #body_setup
            #site
            #binding
            let #kind_var = #return_kind;
            let #enabled_var: ::core::primitive::bool = #enabled;
            let #key_var = if #enabled_var { #key } else { ::std::string::String::new() };
            let #ttl_var = #ttl;
            let #options_var = if #enabled_var {
                #private::miss_options(#ttl_var, #lease, #tags)
            } else {
                #private::miss_options(#ttl_var, ::core::option::Option::None, ::std::vec::Vec::new())
            };
            let #cache_var = #cache;
            #private::cached(#site_var, #cache_argument, #enabled_var, #key_var, #options_var, #kind_var, #body)
                .await
        })
    }

    fn cache_put(&self, put: &CachePut) -> TokenStream {
        let private = &self.private;
        let site = self.site();
        let key = put
            .key
            .as_ref()
            .map(|key| self.template(key, Values::Plain))
            .unwrap_or_default();
        let Shape {
            binding,
            return_kind,
        } = self.shape(cache_none(put.cache_none.as_ref()));
        let cache = self.cache();
        let tags = self.tags(put.tags.as_ref());
        let (body_setup, body) = self.body();
        let [
            site_var,
            key_var,
            tags_var,
            kind_var,
            value,
            uncached,
            ttl_var,
            cache_var,
        ] = [
            "site", "key", "tags", "kind", "value", "uncached", "ttl", "cache",
        ]
        .map(local);
        let ttl = self.ttl(put.ttl.as_ref(), &kind_var);
        let cache_argument = self.cache_argument();
        // The key and the tags are rendered before the body, which may move the parameters
        // they read. Only the stored part of the result is held across the write, so an
        // `Err` that is not `Send` does not make the function's future `!Send`.
        self.emit(quote! {
            #body_setup
            #site
            #binding
            let #kind_var = #return_kind;
            let #key_var = #key;
            let #tags_var: ::std::vec::Vec<::std::string::String> = #tags;
            let #value = match #private::put_split(#site_var, &#kind_var, #body.await) {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#uncached) => return #uncached,
            };
            let #ttl_var = #ttl;
            let #cache_var = #cache;
            #private::put(#site_var, #cache_argument, &#key_var, #ttl_var, #tags_var, &#kind_var, #value).await
        })
    }

    fn invalidate(&self, invalidate: &Invalidate) -> TokenStream {
        let private = &self.private;
        let targets = invalidate.targets.iter().flat_map(|target| match target {
            Target::Key(key) => {
                let key = self.template(key, Values::Plain);
                vec![quote!(#private::Target::Key(#key))]
            }
            Target::Pattern(pattern) => {
                let pattern = self.template(pattern, Values::GlobEscaped);
                vec![quote!(#private::Target::Pattern(#pattern))]
            }
            Target::Tags(tags) => tags
                .valid()
                .into_iter()
                .flat_map(|tags| &tags.tags)
                .map(|tag| {
                    let tag = self.template(tag, Values::Plain);
                    quote!(#private::Target::Tag(#tag))
                })
                .collect(),
        });
        let site = self.site();
        let cache = self.cache();
        let (body_setup, body) = self.body();
        let [site_var, targets_var, output, value, error] =
            ["site", "targets", "output", "value", "error"].map(local);
        let (cache_var, cache_argument) = (local("cache"), self.cache_argument());
        let invalidate = quote! {
            let #cache_var = #cache;
            #private::invalidate(#site_var, #cache_argument, &#targets_var).await;
        };
        let after = match self.function.returns {
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
        self.emit(quote! {
            #body_setup
            #site
            let #targets_var = [#(#targets),*];
            #after
        })
    }

    /// `let site = &SITE;` for the `static` that holds the function's statistics and
    /// in-flight loads. The static lives in a block of its own, so the body cannot see it.
    ///
    /// The static cannot name `Self`, so a method with a receiver hands its type's name to
    /// the site from the body, where `Self` is in scope: its statistics are then
    /// `module::Type::name`, apart from another type's method of the same name. The line
    /// of the name tells apart functions without a receiver that would share a name.
    fn site(&self) -> TokenStream {
        let private = &self.private;
        let site = local("site");
        let ident = &self.function.item.sig.ident;
        let name = LitStr::new(&ident.to_string(), ident.span());
        let line = quote_spanned!(ident.span()=> ::core::line!());
        let site_of = if self.function.receiver.is_some() {
            quote!(SITE.of_type(::core::any::type_name::<Self>))
        } else {
            quote!(&SITE)
        };
        quote! {
            let #site: &'static #private::Site = {
                static SITE: #private::Site = #private::Site::declared(
                    ::core::concat!(::core::module_path!(), "::", #name),
                    #line,
                );
                #site_of
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
        let block = &self.function.item.block;
        if self.function.returns_impl_trait() {
            return (TokenStream::new(), quote!(async #block));
        }
        let output = &self.function.output;
        let fake = local("fake_return");
        let setup = quote! {
            #[allow(unknown_lints, clippy::empty_loop, clippy::diverging_sub_expression)]
            let #fake = || -> #output { loop {} };
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
        let syn::ItemFn {
            attrs, vis, sig, ..
        } = &self.function.item;
        // syn files the body's inner attributes (`#![allow(..)]`) with the outer ones.
        let (outer, inner): (Vec<_>, Vec<_>) = attrs
            .iter()
            .partition(|attr| matches!(attr.style, syn::AttrStyle::Outer));
        // The new body's braces keep the original's span, so that lints which look at the
        // body (such as clippy's `missing_errors_doc`) still see user code.
        let mut braces =
            proc_macro2::Group::new(proc_macro2::Delimiter::Brace, quote!(#(#inner)* #body));
        braces.set_span(self.function.item.block.brace_token.span.join());
        quote! {
            #(#outer)*
            #vis #sig #braces
        }
    }

    /// The cache named by `cache = ...`, borrowed; else the default one (the innermost
    /// `cache_aside::scope`'s, or the process-wide cache), found once per call.
    fn cache(&self) -> TokenStream {
        let private = &self.private;
        match self.cache {
            Some(cache) => quote_spanned!(cache.span()=> &(#cache)),
            None => {
                let site = local("site");
                quote!(&*#private::default_cache(#site))
            }
        }
    }

    /// A `ttl` argument as a `StoreTtl` of the stored value: an `Option<Duration>`, or a
    /// function of the value (`kind` is the return kind's local, which gives a closure its
    /// argument type). A closure or an expression is checked by a call located at it, so
    /// that what is wrong with it is reported there.
    fn ttl(&self, ttl: Option<&Duration>, kind: &syn::Ident) -> TokenStream {
        let (check, expr) = match ttl {
            Some(Duration {
                form: DurationForm::Closure(_),
                expr,
            }) => ("ttl_from", expr),
            Some(Duration {
                form: DurationForm::Expr,
                expr,
            }) => ("ttl", expr),
            _ => return known_duration(ttl),
        };
        // The whole call, the crate's path included, at the argument: an expression whose
        // tokens all come from one place is reported there.
        let span = expr.span();
        let private = located_at(self.private.clone(), span);
        let check = syn::Ident::new(check, span);
        quote_spanned!(span=> #private::#check(&#kind, #expr))
    }

    /// The local for the cache, where it is passed on: located at the `cache = ...`
    /// expression, so that a value that is not a cache is reported there.
    fn cache_argument(&self) -> syn::Ident {
        let span = self.cache.map_or_else(Span::call_site, Spanned::span);
        syn::Ident::new("cache_aside_cache", Span::mixed_site().located_at(span))
    }

    /// The `Shape` value for the return type, checked to be `Cacheable`. The check is
    /// spanned at the cached type, so that a missing serde derive is reported there.
    fn shape(&self, cache_none: bool) -> Shape {
        let private = &self.private;
        let output = &self.function.output;
        let (shape, span) = match &self.function.returns {
            Returns::Result { ok, some } => {
                // What is stored: `T` of `Ok(T)`, of `Ok(Some(T))`, or with `cache_none`,
                // the `Option<T>` of `Ok(Option<T>)`.
                let (probe, unshared, span) = match some {
                    None => (quote!(ok_only), quote!(OkOnly), ok.span()),
                    Some(_) if cache_none => {
                        (quote!(ok_some_and_none), quote!(OkSomeAndNone), ok.span())
                    }
                    Some(value) => (quote!(ok_some), quote!(OkSome), value.span()),
                };
                let shape = if self.function.may_share_errors() {
                    quote! {
                        // One of the two resolves the probe; the other is unused.
                        #[allow(unused_imports)]
                        use #private::{KeepErr as _, ShareClonedErr as _};
                        (&#private::ResultProbe::<#output>::new()).#probe()
                    }
                } else {
                    quote!(#private::#unshared::unshared())
                };
                (shape, span)
            }
            Returns::Option { .. } if cache_none => (quote!(#private::SomeAndNone), output.span()),
            Returns::Option { value } => (quote!(#private::SomeOnly), value.span()),
            Returns::Plain => (quote!(#private::Plain), output.span()),
        };
        // The shape goes to `return_kind` through a local whose name is located at the
        // cached type: the bound error lands there, while the paths (which name the crate)
        // and the expression itself keep the attribute's span, where lints leave them alone.
        let binding = local("shape");
        let argument = syn::Ident::new("cache_aside_shape", Span::mixed_site().located_at(span));
        Shape {
            binding: quote!(let #binding = { #shape };),
            return_kind: quote!(#private::return_kind::<#output, _>(#argument)),
        }
    }

    /// A checked template as an expression of type `String`.
    fn template(&self, template: &Value<Template>, values: Values) -> TokenStream {
        template
            .valid()
            .map(|template| template.render(self.function, values, &self.private))
            .unwrap_or_default()
    }

    /// `tags = [...]` as an expression of type `Vec<String>`.
    fn tags(&self, tags: Option<&Value<Tags>>) -> TokenStream {
        let tags = tags
            .and_then(Value::valid)
            .into_iter()
            .flat_map(|tags| &tags.tags)
            .map(|tag| self.template(tag, Values::Plain));
        quote!(::std::vec![#(#tags),*])
    }

    /// The key of a `#[cached]` without `key`: the function's path, its type parameters and
    /// every parameter but the receiver.
    fn default_key(&self) -> TokenStream {
        let private = &self.private;
        let sig = &self.function.item.sig;
        // The receiver's type and the type parameters are part of the name, so that two
        // types' methods of one name, or two instantiations, do not share keys.
        let mut format = "{}::".to_owned();
        let mut arguments = vec![if self.function.receiver.is_some() {
            quote!(::core::any::type_name::<Self>())
        } else {
            quote!(::core::module_path!())
        }];
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
        for param in &self.function.params {
            if let Binding::Named(ident) = &param.binding {
                format.push_str(":{}");
                // Spanned at the parameter, so that one that is not `Display` is reported
                // there.
                arguments.push(quote_spanned!(ident.span()=> #private::key_part(&#ident)));
            }
        }
        let format = LitStr::new(&format, Span::call_site());
        quote!(::std::format!(#format #(, #arguments)*))
    }
}

fn cache_none(cache_none: Option<&Value<syn::LitBool>>) -> bool {
    cache_none
        .and_then(Value::valid)
        .is_some_and(|flag| flag.value)
}

/// An `Option<Duration>` expression for a `lease` argument; `check` takes an expression
/// argument, whose type must be `Duration` (an error at the expression).
fn duration(argument: Option<&Duration>, check: &TokenStream) -> TokenStream {
    match argument {
        Some(Duration {
            form: DurationForm::Expr | DurationForm::Closure(_),
            expr,
        }) => quote!(#check(#expr)),
        _ => known_duration(argument),
    }
}

/// An `Option<Duration>` expression for a duration argument left out or written as a
/// number or a string.
fn known_duration(argument: Option<&Duration>) -> TokenStream {
    match argument.map(|duration| &duration.form) {
        Some(DurationForm::Fixed(Ok(duration))) => {
            let seconds = duration.as_secs();
            quote!(::core::option::Option::Some(::core::time::Duration::from_secs(#seconds)))
        }
        // Typed: a `ttl`'s `Option` stands for a `StoreTtl`, which only this type is.
        _ => quote!(::core::option::Option::None::<::core::time::Duration>),
    }
}

/// `tokens`, resolved as they were but located at `span`.
fn located_at(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let stream = located_at(group.stream(), span);
                let mut located = proc_macro2::Group::new(group.delimiter(), stream);
                located.set_span(group.span().located_at(span));
                token = located.into();
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}

/// A local of the generated code, invisible to the user's code (mixed-site hygiene).
fn local(name: &str) -> syn::Ident {
    syn::Ident::new(&format!("cache_aside_{name}"), Span::mixed_site())
}
