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
            let message = format!("#[{}] goes on a function with a body: {error}", kind.name());
            let error = syn::Error::new(error.span(), message).to_compile_error();
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

    /// The `static` that holds the function's statistics and in-flight loads.
    fn site(&self) -> TokenStream {
        let private = &self.private;
        let name = LitStr::new(
            &self.function.sig.ident.to_string(),
            self.function.sig.ident.span(),
        );
        quote! {
            static CACHE_ASIDE_SITE: #private::Site = #private::Site::new(
                ::core::concat!(::core::module_path!(), "::", #name)
            );
        }
    }

    /// The original body as a future of the return type. It is a block of its own, so that
    /// a `return` in it ends the body, not the wrapper; it is not `move`, so it borrows the
    /// parameters like the original body did.
    fn body(&self) -> TokenStream {
        let block = &self.function.block;
        if item::mentions_impl_trait(&self.return_type) {
            return quote!(async #block);
        }
        let return_type = &self.return_type;
        let output = local("output");
        quote!(async { let #output: #return_type = #block; #output })
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
        quote! {
            #(#outer)*
            #vis #sig {
                #(#inner)*
                #body
            }
        }
    }

    fn cache(&self, args: &Args) -> TokenStream {
        let private = &self.private;
        match &args.cache {
            Some(cache) => quote_spanned!(cache.span()=> &(#cache)),
            None => quote!(#private::global()),
        }
    }

    /// The `Shape` value for the return type, and the span of the type that is cached.
    ///
    /// The call that takes the shape is spanned there too: its `Cacheable` bound is what
    /// fails for a type without serde derives, and the error then points at that type.
    fn shape(&self, args: &Args, errors: &mut Errors) -> (TokenStream, Span) {
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
            Returns::Result { value } => (
                quote! {{
                    // One of the two resolves `ok_only`; the other is unused.
                    #[allow(unused_imports)]
                    use #private::{KeepErr as _, ShareClonedErr as _};
                    (&#private::ResultProbe::<#return_type>::new()).ok_only()
                }},
                value.span(),
            ),
            Returns::Option { .. } if cache_none.is_some() => {
                (quote!(#private::SomeAndNone), return_type.span())
            }
            Returns::Option { value } => (quote!(#private::SomeOnly), value.span()),
            Returns::Plain => (quote!(#private::Plain), return_type.span()),
        };
        let shape = quote!(#private::checked::<#return_type, _>(#shape));
        (respan(shape, span), span)
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
            errors.at(
                &self.function.sig.ident,
                "#[cache_put] needs the key it writes: add key = \"...\", the same template \
                 as the #[cached] function it refreshes",
            );
            return TokenStream::new();
        }
        let private = &self.private;
        let idents = item::default_key_params(self.function, errors);
        let mut format = "{}::".to_owned() + &self.function.sig.ident.to_string();
        for _ in &idents {
            format.push_str(":{}");
        }
        let format = LitStr::new(&format, Span::call_site());
        quote! {
            ::std::format!(#format, ::core::module_path!() #(, #private::KeyPart(&#idents))*)
        }
    }
}

fn ttl(args: &Args) -> TokenStream {
    match &args.ttl {
        None => quote!(::core::option::Option::None),
        Some(Ttl::Fixed(duration)) => {
            let seconds = duration.as_secs();
            quote!(::core::option::Option::Some(::core::time::Duration::from_secs(#seconds)))
        }
        Some(Ttl::Expr(expr)) => {
            // The `let` makes a wrong type an error at the expression, naming `Duration`.
            let ttl = local("ttl");
            quote_spanned! {expr.span()=>
                ::core::option::Option::Some({ let #ttl: ::core::time::Duration = #expr; #ttl })
            }
        }
    }
}

/// `(tokens)`, with the parentheses spanned at `span`: a call's span ends at them.
fn arguments(tokens: TokenStream, span: Span) -> proc_macro2::Group {
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, tokens);
    group.set_span(span);
    group
}

/// `tokens` with every span set to `span`, so that errors about them point there.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut respanned =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = respanned.into();
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// A local of the generated code, invisible to the user's code (mixed-site hygiene).
fn local(name: &str) -> syn::Ident {
    syn::Ident::new(&format!("cache_aside_{name}"), Span::mixed_site())
}

fn cached(function: &ItemFn, args: &Args, errors: &mut Errors) -> TokenStream {
    let frame = Frame::new(function, args);
    let private = &frame.private;
    let site = frame.site();
    let key = frame.key(args, Kind::Cached, errors);
    let (shape, value_span) = frame.shape(args, errors);
    let call = quote!(#private::cached);
    let cache = frame.cache(args);
    let ttl = ttl(args);
    let body = frame.body();
    let enabled = args.condition.as_ref().map_or_else(
        || quote!(true),
        |condition| quote_spanned!(condition.span()=> #condition),
    );
    let (enabled_var, key_var) = (local("enabled"), local("key"));
    let arguments = arguments(
        quote!(&CACHE_ASIDE_SITE, #cache, #enabled_var, #key_var, #ttl, #shape, #body),
        value_span,
    );
    frame.emit(quote! {
        #site
        let #enabled_var: bool = #enabled;
        let #key_var = if #enabled_var { #key } else { ::std::string::String::new() };
        #call #arguments.await
    })
}

fn cache_put(function: &ItemFn, args: &Args, errors: &mut Errors) -> TokenStream {
    let frame = Frame::new(function, args);
    let private = &frame.private;
    let site = frame.site();
    let key = frame.key(args, Kind::CachePut, errors);
    let (shape, value_span) = frame.shape(args, errors);
    let call = quote!(#private::put);
    let cache = frame.cache(args);
    let ttl = ttl(args);
    let body = frame.body();
    let (key_var, output) = (local("key"), local("result"));
    let arguments = arguments(
        quote!(&CACHE_ASIDE_SITE, #cache, &#key_var, #ttl, #shape, #output),
        value_span,
    );
    frame.emit(quote! {
        #site
        let #key_var = #key;
        let #output = #body.await;
        #call #arguments.await
    })
}

fn invalidate(function: &ItemFn, args: &Args, errors: &mut Errors) -> TokenStream {
    let frame = Frame::new(function, args);
    let private = &frame.private;
    if args.targets.is_empty() {
        errors.at(
            &function.sig.ident,
            "#[invalidate] needs something to delete: add key = \"...\" or pattern = \"...\"",
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
        })
        .collect();
    let site = frame.site();
    let cache = frame.cache(args);
    let body = frame.body();
    let (targets_var, output) = (local("targets"), local("result"));
    let succeeded = item::success_check(&frame.returns, &output.to_token_stream());
    frame.emit(quote! {
        #site
        let #targets_var = [#(#targets),*];
        let #output = #body.await;
        if #succeeded {
            #private::invalidate(&CACHE_ASIDE_SITE, #cache, &#targets_var).await;
        }
        #output
    })
}
