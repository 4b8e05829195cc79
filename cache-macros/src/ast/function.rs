//! The function as the attributes see it: its receiver, its parameters and how each is
//! bound, and its return type with the return kind read from how it is written.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Type};

/// The annotated function as the attributes see it.
pub(crate) struct Function {
    pub(crate) item: ItemFn,
    /// The `self` token of a method.
    pub(crate) receiver: Option<Span>,
    /// The parameters but the receiver, in order.
    pub(crate) params: Vec<Param>,
    /// The return type, `()` when none is written.
    pub(crate) output: Type,
    pub(crate) returns: Returns,
}

/// A parameter other than the receiver.
pub(crate) struct Param {
    pub(crate) binding: Binding,
    pub(crate) ty: Type,
}

/// How a parameter is bound.
pub(crate) enum Binding {
    /// To a name: `id: u64`, `mut id: u64`, `r#type: &str`.
    Named(Ident),
    /// To `_`.
    Ignored(Pat),
    /// To a pattern: `(a, b): (u8, u8)`.
    Destructured(Pat),
}

/// What a function returns, as far as caching is concerned; picked by how the return type
/// is written, since a macro cannot see through type aliases.
#[allow(clippy::large_enum_variant)] // one per expansion
pub(crate) enum Returns {
    /// `Result<T, E>` or an alias named `Result` (`io::Result<T>`): `Ok` is cached. For
    /// `Result<Option<T>, E>`, `some` is `T`: an `Ok(None)` is treated as an `Option`'s
    /// `None`.
    Result { ok: Type, some: Option<Type> },
    /// `Option<T>`: `Some` is cached (and `None` with `cache_none = true`).
    Option { value: Type },
    /// Anything else is cached as a whole.
    Plain,
}

impl Function {
    pub(crate) fn new(item: ItemFn) -> Function {
        let mut receiver = None;
        let mut params = Vec::new();
        for input in &item.sig.inputs {
            match input {
                FnArg::Receiver(written) => receiver = Some(written.self_token.span),
                FnArg::Typed(typed) => params.push(Param {
                    binding: match &*typed.pat {
                        Pat::Ident(binding) => Binding::Named(binding.ident.clone()),
                        pattern @ Pat::Wild(_) => Binding::Ignored(pattern.clone()),
                        pattern => Binding::Destructured(pattern.clone()),
                    },
                    ty: (*typed.ty).clone(),
                }),
            }
        }
        let output = match &item.sig.output {
            ReturnType::Type(_, ty) => (**ty).clone(),
            ReturnType::Default => syn::parse_quote!(()),
        };
        Function {
            returns: returns(&output),
            output,
            receiver,
            params,
            item,
        }
    }

    /// The expression naming `name` in a template, if the function has such a parameter
    /// (`r#type` is `{type}`); the identifier as written, so that generated code resolves
    /// to the parameter.
    pub(crate) fn lookup(&self, name: &str) -> Option<TokenStream> {
        if name == "self" {
            return self
                .receiver
                .map(|span| syn::Token![self](span).into_token_stream());
        }
        self.params.iter().find_map(|param| match &param.binding {
            Binding::Named(ident) if ident.unraw() == name => Some(ident.to_token_stream()),
            _ => None,
        })
    }

    /// The names a template can use: `self` for a method, and each named parameter.
    pub(crate) fn names(&self) -> Vec<String> {
        let named = self.params.iter().filter_map(|param| match &param.binding {
            Binding::Named(ident) => Some(ident.unraw().to_string()),
            _ => None,
        });
        self.receiver
            .map(|_| "self".to_owned())
            .into_iter()
            .chain(named)
            .collect()
    }

    /// Whether the return type mentions `impl Trait` anywhere: such a type cannot be
    /// written in a `let`, nor cached.
    pub(crate) fn returns_impl_trait(&self) -> bool {
        struct Finder(bool);
        impl Visit<'_> for Finder {
            fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
                self.0 = true;
            }
        }
        let mut finder = Finder(false);
        finder.visit_type(&self.output);
        finder.0
    }

    /// Whether an `Err` may be shared between concurrent callers: sharing needs `'static`,
    /// which the choice between sharing and not (made by trait resolution) cannot see, so
    /// a return type that borrows (a lifetime, a reference) or names one of the function's
    /// type parameters does not share.
    pub(crate) fn may_share_errors(&self) -> bool {
        struct Finder<'a> {
            type_params: Vec<&'a Ident>,
            found: bool,
        }
        impl Visit<'_> for Finder<'_> {
            fn visit_lifetime(&mut self, _: &syn::Lifetime) {
                self.found = true;
            }
            fn visit_type_reference(&mut self, _: &syn::TypeReference) {
                self.found = true;
            }
            fn visit_ident(&mut self, ident: &Ident) {
                self.found |= self.type_params.contains(&ident);
            }
        }
        let mut finder = Finder {
            type_params: self
                .item
                .sig
                .generics
                .type_params()
                .map(|param| &param.ident)
                .collect(),
            found: false,
        };
        finder.visit_type(&self.output);
        !finder.found
    }
}

fn returns(ty: &Type) -> Returns {
    let Some((name, arguments)) = generic(ty) else {
        return Returns::Plain;
    };
    let Some(GenericArgument::Type(first)) = arguments.first() else {
        return Returns::Plain;
    };
    if name == "Result" {
        let some = match generic(first) {
            Some((name, arguments)) if name == "Option" => option_value(arguments),
            _ => None,
        };
        Returns::Result {
            ok: first.clone(),
            some,
        }
    } else if name == "Option"
        && let Some(value) = option_value(arguments)
    {
        Returns::Option { value }
    } else {
        Returns::Plain
    }
}

/// The last segment's name and generic arguments of a path type: `Result` and `<T, E>` of
/// `std::result::Result<T, E>`.
fn generic(
    ty: &Type,
) -> Option<(
    &Ident,
    &syn::punctuated::Punctuated<GenericArgument, syn::Token![,]>,
)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    Some((&last.ident, &arguments.args))
}

/// `T` of the arguments `<T>` of an `Option`.
fn option_value(
    arguments: &syn::punctuated::Punctuated<GenericArgument, syn::Token![,]>,
) -> Option<Type> {
    match arguments.first() {
        Some(GenericArgument::Type(value)) if arguments.len() == 1 => Some(value.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn returns_of(ty: &str) -> String {
        match returns(&syn::parse_str(ty).unwrap()) {
            Returns::Result { ok, some: None } => format!("ok {}", ok.to_token_stream()),
            Returns::Result { some: Some(t), .. } => format!("ok some {}", t.to_token_stream()),
            Returns::Option { value } => format!("some {}", value.to_token_stream()),
            Returns::Plain => "plain".to_owned(),
        }
    }

    #[test]
    fn return_kinds_by_how_the_type_is_written() {
        assert_eq!(returns_of("Result<u8, String>"), "ok u8");
        assert_eq!(returns_of("io::Result<u8>"), "ok u8");
        assert_eq!(returns_of("Result<Option<u8>, E>"), "ok some u8");
        assert_eq!(
            returns_of("anyhow::Result<std::option::Option<u8>>"),
            "ok some u8"
        );
        assert_eq!(
            returns_of("Result<Vec<Option<u8>>, E>"),
            "ok Vec < Option < u8 > >"
        );
        assert_eq!(returns_of("Option<u8>"), "some u8");
        assert_eq!(
            returns_of("Option<Result<u8, E>>"),
            "some Result < u8 , E >"
        );
        assert_eq!(returns_of("u8"), "plain");
        assert_eq!(returns_of("Vec<u8>"), "plain");
        assert_eq!(returns_of("Result"), "plain");
    }
}
