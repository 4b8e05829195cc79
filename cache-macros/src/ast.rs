//! The model: what each attribute was given, typed, and the function it is on.
//!
//! Built from the parsed arguments without judging them: a value that does not have the
//! form its argument takes is kept as written, for `check.rs` to report at its tokens, and
//! `expand.rs` reads the model only once it has passed.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::visit::Visit;
use syn::{
    Expr, ExprArray, ExprLit, FnArg, GenericArgument, Ident, ItemFn, Lit, LitBool, LitStr, Pat,
    Path, PathArguments, ReturnType, Type,
};

use crate::attr::{Arg, Args};
use crate::template::Template;
use crate::ttl::{self, Problem};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cached,
    CachePut,
    Invalidate,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Cached => "cached",
            Kind::CachePut => "cache_put",
            Kind::Invalidate => "invalidate",
        }
    }

    /// The arguments the attribute takes, in the order its error messages list them.
    pub(crate) fn accepts(self) -> &'static [&'static str] {
        match self {
            Kind::Cached => &[
                "key",
                "ttl",
                "tags",
                "lease",
                "cache",
                "condition",
                "cache_none",
                "crate",
            ],
            Kind::CachePut => &["key", "ttl", "tags", "cache", "cache_none", "crate"],
            Kind::Invalidate => &["key", "pattern", "tags", "cache", "crate"],
        }
    }

    /// Whether `name` may be given more than once: the targets of `#[invalidate]`.
    fn repeats(self, name: &str) -> bool {
        self == Kind::Invalidate && matches!(name, "key" | "pattern" | "tags")
    }
}

/// A value given to an argument: what it means, or the expression as written when it does
/// not have the form the argument takes (a string literal, a list, `true` or `false`).
pub(crate) enum Value<T> {
    Valid(T),
    Malformed(Box<Expr>),
}

impl<T> Value<T> {
    pub(crate) fn valid(&self) -> Option<&T> {
        match self {
            Value::Valid(value) => Some(value),
            Value::Malformed(_) => None,
        }
    }
}

/// `tags = [...]`.
pub(crate) struct Tags {
    /// The list as written, for "needs at least one tag".
    pub(crate) list: ExprArray,
    pub(crate) tags: Vec<Value<Template>>,
}

/// `ttl = ...` or `lease = ...`.
pub(crate) struct Duration {
    /// The value as written, where its errors are reported.
    pub(crate) expr: Expr,
    pub(crate) form: DurationForm,
}

pub(crate) enum DurationForm {
    /// Written as a number or a string, so known now; a zero is not refused yet.
    Fixed(Result<std::time::Duration, Problem>),
    /// Any other expression, which must be a `Duration` at run time.
    Expr,
}

/// `crate = "..."`: the literal, and the path it holds if it holds one.
pub(crate) struct CratePath {
    pub(crate) literal: LitStr,
    pub(crate) path: Option<Path>,
}

/// An argument that has no place in the model.
pub(crate) enum Stray {
    /// Not an argument of this attribute.
    Unknown(Ident),
    /// A second `name = ...` of an argument given once.
    Repeated(Ident),
}

/// What every attribute takes, and what it was given beside its arguments.
pub(crate) struct Common {
    pub(crate) kind: Kind,
    /// `cache = ...`.
    pub(crate) cache: Option<Expr>,
    /// `crate = "..."`.
    pub(crate) krate: Option<Value<CratePath>>,
    pub(crate) strays: Vec<Stray>,
    /// Whether a syntax error cut the arguments short: what followed it is unknown, so
    /// nothing may be reported as missing.
    pub(crate) truncated: bool,
}

/// `#[cached(...)]`.
pub(crate) struct Cached {
    pub(crate) key: Option<Value<Template>>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) tags: Option<Value<Tags>>,
    pub(crate) lease: Option<Duration>,
    pub(crate) condition: Option<Expr>,
    pub(crate) cache_none: Option<Value<LitBool>>,
    pub(crate) common: Common,
}

/// `#[cache_put(...)]`.
pub(crate) struct CachePut {
    pub(crate) key: Option<Value<Template>>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) tags: Option<Value<Tags>>,
    pub(crate) cache_none: Option<Value<LitBool>>,
    pub(crate) common: Common,
}

/// `#[invalidate(...)]`.
pub(crate) struct Invalidate {
    /// Its `key`s, `pattern`s and `tags`, in the order written.
    pub(crate) targets: Vec<Target>,
    pub(crate) common: Common,
}

/// One `key = ...`, `pattern = ...` or `tags = [...]` of `#[invalidate]`.
pub(crate) enum Target {
    Key(Value<Template>),
    Pattern(Value<Template>),
    Tags(Value<Tags>),
}

/// One attribute with its arguments.
#[allow(clippy::large_enum_variant)] // one per expansion
pub(crate) enum Attribute {
    Cached(Cached),
    CachePut(CachePut),
    Invalidate(Invalidate),
}

impl Attribute {
    /// The model of `args` given to `kind`.
    pub(crate) fn new(kind: Kind, args: Args) -> Attribute {
        // What the attribute takes, the first of each (every one, for targets), in order.
        let mut given: Vec<(String, Expr)> = Vec::new();
        let mut strays = Vec::new();
        for Arg { name, value } in args.list {
            let text = name.to_string();
            if !kind.accepts().contains(&text.as_str()) {
                strays.push(Stray::Unknown(name));
            } else if !kind.repeats(&text) && given.iter().any(|(seen, _)| *seen == text) {
                strays.push(Stray::Repeated(name));
            } else {
                given.push((text, value));
            }
        }
        let mut take = |name: &str| {
            let at = given.iter().position(|(given, _)| given == name)?;
            Some(given.remove(at).1)
        };
        let common = Common {
            kind,
            cache: take("cache"),
            krate: take("crate").map(crate_path),
            strays,
            truncated: args.truncated,
        };
        match kind {
            Kind::Cached => Attribute::Cached(Cached {
                key: take("key").map(template),
                ttl: take("ttl").map(duration),
                tags: take("tags").map(tags),
                lease: take("lease").map(duration),
                condition: take("condition"),
                cache_none: take("cache_none").map(boolean),
                common,
            }),
            Kind::CachePut => Attribute::CachePut(CachePut {
                key: take("key").map(template),
                ttl: take("ttl").map(duration),
                tags: take("tags").map(tags),
                cache_none: take("cache_none").map(boolean),
                common,
            }),
            Kind::Invalidate => Attribute::Invalidate(Invalidate {
                targets: given
                    .into_iter()
                    .map(|(name, value)| match name.as_str() {
                        "key" => Target::Key(template(value)),
                        "pattern" => Target::Pattern(template(value)),
                        _ => Target::Tags(tags(value)),
                    })
                    .collect(),
                common,
            }),
        }
    }

    pub(crate) fn common(&self) -> &Common {
        match self {
            Attribute::Cached(cached) => &cached.common,
            Attribute::CachePut(put) => &put.common,
            Attribute::Invalidate(invalidate) => &invalidate.common,
        }
    }
}

fn string_literal(value: &Expr) -> Option<&LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text),
        _ => None,
    }
}

fn template(value: Expr) -> Value<Template> {
    match string_literal(&value) {
        Some(literal) => Value::Valid(Template::new(literal)),
        None => Value::Malformed(Box::new(value)),
    }
}

fn tags(value: Expr) -> Value<Tags> {
    let Expr::Array(list) = value else {
        return Value::Malformed(Box::new(value));
    };
    Value::Valid(Tags {
        tags: list.elems.iter().cloned().map(template).collect(),
        list,
    })
}

fn boolean(value: Expr) -> Value<LitBool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(flag),
            ..
        }) => Value::Valid(flag),
        value => Value::Malformed(Box::new(value)),
    }
}

fn crate_path(value: Expr) -> Value<CratePath> {
    match string_literal(&value) {
        Some(literal) => Value::Valid(CratePath {
            literal: literal.clone(),
            path: literal.parse().ok(),
        }),
        None => Value::Malformed(Box::new(value)),
    }
}

fn duration(expr: Expr) -> Duration {
    let form = ttl::fixed(&expr).map_or(DurationForm::Expr, DurationForm::Fixed);
    Duration { expr, form }
}

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
    use crate::errors::Errors;

    fn model(kind: Kind, args: &str) -> Attribute {
        let mut errors = Errors::default();
        let args = Args::parse(args.parse().unwrap(), &mut errors);
        assert!(errors.is_empty());
        Attribute::new(kind, args)
    }

    fn strays(common: &Common) -> Vec<String> {
        common
            .strays
            .iter()
            .map(|stray| match stray {
                Stray::Unknown(name) => format!("unknown {name}"),
                Stray::Repeated(name) => format!("repeated {name}"),
            })
            .collect()
    }

    #[test]
    fn the_first_of_each_argument_is_kept_and_the_rest_are_strays() {
        let args = r#"ttl = 1, key = "a", tll = 2, ttl = 3, cache = c, cache = d, crate = "x""#;
        let Attribute::Cached(cached) = model(Kind::Cached, args) else {
            panic!("a #[cached] model");
        };
        assert!(matches!(
            cached.ttl.map(|ttl| ttl.form),
            Some(DurationForm::Fixed(Ok(ttl))) if ttl.as_secs() == 1
        ));
        assert!(matches!(cached.key, Some(Value::Valid(_))));
        assert_eq!(cached.common.cache.to_token_stream().to_string(), "c");
        assert!(matches!(cached.common.krate, Some(Value::Valid(_))));
        assert_eq!(
            strays(&cached.common),
            ["unknown tll", "repeated ttl", "repeated cache"]
        );
        let Attribute::CachePut(put) = model(Kind::CachePut, "lease = 1, tags = 2") else {
            panic!("a #[cache_put] model");
        };
        assert!(matches!(put.tags, Some(Value::Malformed(_))));
        assert_eq!(strays(&put.common), ["unknown lease"]);
    }

    #[test]
    fn targets_are_kept_in_the_order_written() {
        let args = r#"pattern = "p:*", key = "k", tags = ["t"], key = 5, ttl = 1"#;
        let Attribute::Invalidate(invalidate) = model(Kind::Invalidate, args) else {
            panic!("an #[invalidate] model");
        };
        let targets: Vec<&str> = invalidate
            .targets
            .iter()
            .map(|target| match target {
                Target::Pattern(Value::Valid(_)) => "pattern",
                Target::Key(Value::Valid(_)) => "key",
                Target::Key(Value::Malformed(_)) => "malformed key",
                Target::Tags(Value::Valid(_)) => "tags",
                _ => "other",
            })
            .collect();
        assert_eq!(targets, ["pattern", "key", "tags", "malformed key"]);
        assert_eq!(strays(&invalidate.common), ["unknown ttl"]);
    }

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
