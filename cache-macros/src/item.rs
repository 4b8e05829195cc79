//! The annotated function as the attributes see it: its parameters, its return type and
//! the checks every attribute makes on it.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type};

use crate::attr::Kind;
use crate::errors::Errors;

/// The names a template can use: the receiver and the parameters bound to a plain name.
pub(crate) struct Params {
    receiver: Option<Span>,
    /// Each name with the identifier as written in the signature, so that generated code
    /// resolves to the parameter.
    named: Vec<(String, syn::Ident)>,
}

impl Params {
    pub(crate) fn of(function: &ItemFn) -> Params {
        let mut params = Params {
            receiver: None,
            named: Vec::new(),
        };
        for input in &function.sig.inputs {
            match input {
                FnArg::Receiver(receiver) => params.receiver = Some(receiver.self_token.span),
                FnArg::Typed(typed) => {
                    if let Pat::Ident(binding) = &*typed.pat {
                        // `r#type` is `{type}` in a template.
                        let name = binding.ident.unraw().to_string();
                        params.named.push((name, binding.ident.clone()));
                    }
                }
            }
        }
        params
    }

    /// The expression naming `name`, if the function has such a parameter.
    pub(crate) fn lookup(&self, name: &str) -> Option<TokenStream> {
        if name == "self" {
            return self
                .receiver
                .map(|span| syn::Token![self](span).into_token_stream());
        }
        self.named
            .iter()
            .find(|(named, _)| named == name)
            .map(|(_, ident)| ident.to_token_stream())
    }

    pub(crate) fn has_receiver(&self) -> bool {
        self.receiver.is_some()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.receiver
            .map(|_| "self".to_owned())
            .into_iter()
            .chain(self.named.iter().map(|(name, _)| name.clone()))
            .collect()
    }
}

/// What a function returns, as far as caching is concerned; picked by how the return
/// type is written, since a macro cannot see through type aliases.
pub(crate) enum Returns {
    /// `Result<T, E>` or an alias named `Result` (`io::Result<T>`): `Ok` is cached.
    Result { value: Type },
    /// `Option<T>`: `Some` is cached (and `None` with `cache_none = true`).
    Option { value: Type },
    /// Anything else is cached as a whole.
    Plain,
}

/// The return type, with `()` for none written.
pub(crate) fn return_type(function: &ItemFn) -> Type {
    match &function.sig.output {
        ReturnType::Type(_, ty) => (**ty).clone(),
        ReturnType::Default => syn::parse_quote!(()),
    }
}

pub(crate) fn returns(ty: &Type) -> Returns {
    let Type::Path(path) = ty else {
        return Returns::Plain;
    };
    let Some(last) = path.path.segments.last() else {
        return Returns::Plain;
    };
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return Returns::Plain;
    };
    let Some(GenericArgument::Type(value)) = arguments.args.first() else {
        return Returns::Plain;
    };
    let value = value.clone();
    if last.ident == "Result" {
        Returns::Result { value }
    } else if last.ident == "Option" && arguments.args.len() == 1 {
        Returns::Option { value }
    } else {
        Returns::Plain
    }
}

/// Whether `ty` mentions `impl Trait` anywhere: such a type cannot be written in a `let`.
pub(crate) fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// Whether `ty` borrows: mentions a lifetime or a reference. An `Err` of such a type is
/// not shared between concurrent callers, as sharing needs `'static`, which the choice
/// between sharing and not (made by trait resolution) cannot see.
pub(crate) fn borrows(ty: &Type) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_lifetime(&mut self, _: &syn::Lifetime) {
            self.0 = true;
        }
        fn visit_type_reference(&mut self, _: &syn::TypeReference) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// Whether `ty` names one of the function's type parameters. Such an error type is not
/// shared either: nothing says it is `'static`.
pub(crate) fn mentions_type_params(ty: &Type, generics: &syn::Generics) -> bool {
    struct Finder<'a>(&'a [&'a syn::Ident], bool);
    impl Visit<'_> for Finder<'_> {
        fn visit_ident(&mut self, ident: &syn::Ident) {
            self.1 |= self.0.contains(&ident);
        }
    }
    let params: Vec<&syn::Ident> = generics.type_params().map(|param| &param.ident).collect();
    let mut finder = Finder(&params, false);
    finder.visit_type(ty);
    finder.1
}

/// The checks every attribute makes on the function itself.
pub(crate) fn check(kind: Kind, function: &ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    let name = kind.name();
    if let Some(constness) = &sig.constness {
        errors.at(
            constness,
            format_args!("#[{name}] cannot be used on a `const fn`: remove `const`"),
        );
    }
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token,
            format_args!("#[{name}] works on `async fn` only: add `async` before `fn`"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(
            variadic,
            format_args!("#[{name}] cannot be used on a variadic function"),
        );
    }
}

/// The parameters of a default key (every parameter but the receiver), or errors at those
/// that cannot be part of one.
pub(crate) fn default_key_params(function: &ItemFn, errors: &mut Errors) -> Vec<syn::Ident> {
    let mut idents = Vec::new();
    for input in &function.sig.inputs {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        match (&*typed.pat, &*typed.ty) {
            (_, Type::ImplTrait(_)) => errors.at(
                &typed.ty,
                "an `impl Trait` parameter cannot be part of the default key: give \
                 #[cached(key = \"...\")] a template naming the parameters that identify \
                 the result",
            ),
            (Pat::Ident(binding), _) => idents.push(binding.ident.clone()),
            (Pat::Wild(wild), _) => errors.at(
                wild,
                "an ignored parameter `_` cannot be part of the default key: give it a name, \
                 or give #[cached(key = \"...\")]",
            ),
            (pattern, _) => errors.at(
                pattern,
                "a destructured parameter cannot be part of the default key: bind it to a \
                 name, or give #[cached(key = \"...\")]",
            ),
        }
    }
    idents
}
