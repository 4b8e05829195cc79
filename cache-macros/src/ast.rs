//! The model: what each attribute was given, typed, and the function it is on
//! (`ast/function.rs`).
//!
//! Built from the parsed arguments without judging them: a value that does not have the
//! form its argument takes is kept as written, for `check.rs` to report at its tokens, and
//! `expand.rs` reads the model only once it has passed.

mod function;

use syn::{Expr, ExprArray, ExprLit, Ident, Lit, LitBool, LitStr, Path};

pub(crate) use self::function::{Binding, Function, Returns};
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
    /// A closure, `ttl = |value: &T| ...`: the TTL computed from the value to store.
    Closure(Box<syn::ExprClosure>),
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
    let form = match &expr {
        Expr::Closure(closure) => DurationForm::Closure(Box::new(closure.clone())),
        expr => ttl::fixed(expr).map_or(DurationForm::Expr, DurationForm::Fixed),
    };
    Duration { expr, form }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

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
}
