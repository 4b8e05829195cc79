//! The arguments of `#[cached(...)]`, `#[cache_put(...)]` and `#[invalidate(...)]`: parsed
//! as `name = value` pairs, then checked against what each attribute accepts.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitStr, Path, Token, UnOp};

use crate::errors::Errors;
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

    fn accepts(self) -> &'static [&'static str] {
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
            Kind::CachePut => &["key", "ttl", "cache", "cache_none", "crate"],
            Kind::Invalidate => &["key", "pattern", "tags", "cache", "crate"],
        }
    }
}

/// One `name = value` pair, as written.
struct RawArg {
    name: Ident,
    value: Expr,
}

impl Parse for RawArg {
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
        Ok(RawArg { name, value })
    }
}

struct RawArgs(Punctuated<RawArg, Token![,]>);

impl Parse for RawArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Punctuated::parse_terminated(input).map(RawArgs)
    }
}

/// A `ttl = ...` argument.
pub(crate) enum Ttl {
    /// Known at compile time, from an integer or a string such as `"15m"`.
    Fixed(Duration),
    /// Any expression of type `Duration`.
    Expr(Expr),
}

/// One `key = ...`, `pattern = ...` or tag of `#[invalidate]`, in the order written.
pub(crate) enum Target {
    Key(LitStr),
    Pattern(LitStr),
    Tag(LitStr),
}

/// The checked arguments of one attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// `key = "..."` of `#[cached]` and `#[cache_put]`.
    pub(crate) key: Option<LitStr>,
    pub(crate) ttl: Option<Ttl>,
    /// `tags = [...]` of `#[cached]`.
    pub(crate) tags: Vec<LitStr>,
    /// `lease = ...` of `#[cached]`.
    pub(crate) lease: Option<Ttl>,
    pub(crate) cache: Option<Expr>,
    pub(crate) condition: Option<Expr>,
    /// `cache_none = true`, with the token for errors.
    pub(crate) cache_none: Option<LitBool>,
    pub(crate) krate: Option<Path>,
    /// The `key`s, `pattern`s and `tags` of `#[invalidate]`.
    pub(crate) targets: Vec<Target>,
    /// Whether a `key` or `pattern` (or for `#[invalidate]`, `tags`) was written, valid or
    /// not, or the arguments did not parse: then "no key given" would be a false follow-on
    /// error.
    pub(crate) key_attempted: bool,
}

impl Args {
    /// Parses `tokens` for `kind`, pushing every problem to `errors`; what parsed is kept.
    pub(crate) fn parse(kind: Kind, tokens: TokenStream, errors: &mut Errors) -> Args {
        let mut args = Args::default();
        let raw = match syn::parse2::<RawArgs>(tokens) {
            Ok(raw) => raw.0,
            Err(error) => {
                errors.push(error);
                args.key_attempted = true;
                return args;
            }
        };
        let mut seen: Vec<Ident> = Vec::new();
        for RawArg { name, value } in raw {
            let text = name.to_string();
            if !kind.accepts().contains(&text.as_str()) {
                errors.at(&name, unknown_argument(kind, &text));
                continue;
            }
            let repeatable =
                kind == Kind::Invalidate && matches!(text.as_str(), "key" | "pattern" | "tags");
            if !repeatable && seen.contains(&name) {
                errors.at(&name, format_args!("`{text}` is given twice; keep one"));
                continue;
            }
            seen.push(name.clone());
            if text == "key" || text == "pattern" || (text == "tags" && kind == Kind::Invalidate) {
                args.key_attempted = true;
            }
            match text.as_str() {
                "key" if kind == Kind::Invalidate => {
                    if let Some(key) = string(&value, "key", errors) {
                        args.targets.push(Target::Key(key));
                    }
                }
                "pattern" => {
                    if let Some(pattern) = string(&value, "pattern", errors) {
                        args.targets.push(Target::Pattern(pattern));
                    }
                }
                "tags" if kind == Kind::Invalidate => {
                    args.targets
                        .extend(tag_list(&value, errors).into_iter().map(Target::Tag));
                }
                "tags" => args.tags = tag_list(&value, errors),
                "key" => args.key = string(&value, "key", errors),
                "ttl" => args.ttl = parse_duration(value, ttl::TTL, errors),
                "lease" => args.lease = parse_duration(value, ttl::LEASE, errors),
                "cache" => args.cache = Some(value),
                "condition" => args.condition = Some(value),
                "cache_none" => args.cache_none = boolean(&value, errors),
                "crate" => args.krate = crate_path(&value, errors),
                _ => unreachable!("every accepted name is matched above"),
            }
        }
        args
    }
}

fn unknown_argument(kind: Kind, name: &str) -> String {
    let valid = kind
        .accepts()
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "unknown argument `{name}` for #[{}]; expected one of: {valid}",
        kind.name()
    )
}

fn string(value: &Expr, what: &str, errors: &mut Errors) -> Option<LitStr> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(text),
        ..
    }) = value
    {
        return Some(text.clone());
    }
    errors.at(
        value,
        format_args!("`{what}` takes a string literal, such as {what} = \"user:{{id}}\""),
    );
    None
}

/// `tags = ["user:{id}", ...]`: string literals, at least one; each problem is reported
/// at the token at fault, and the valid tags are kept.
fn tag_list(value: &Expr, errors: &mut Errors) -> Vec<LitStr> {
    let Expr::Array(list) = value else {
        errors.at(
            value,
            "`tags` takes a list of string literals, such as tags = [\"user:{id}\"]",
        );
        return Vec::new();
    };
    if list.elems.is_empty() {
        errors.at(
            list,
            "`tags` needs at least one tag, such as tags = [\"user:{id}\"]; leave `tags` out \
             for none",
        );
    }
    list.elems
        .iter()
        .filter_map(|tag| {
            let literal = string_literal(tag).cloned();
            if literal.is_none() {
                errors.at(tag, "a tag is a string literal, such as \"user:{id}\"");
            }
            literal
        })
        .collect()
}

fn boolean(value: &Expr, errors: &mut Errors) -> Option<LitBool> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Bool(flag),
        ..
    }) = value
    {
        return Some(flag.clone());
    }
    errors.at(value, "`cache_none` takes `true` or `false`");
    None
}

fn crate_path(value: &Expr, errors: &mut Errors) -> Option<Path> {
    let text = string_literal(value);
    match text.map(|text| (text.parse::<Path>(), text)) {
        Some((Ok(path), _)) => Some(path),
        Some((Err(_), text)) => {
            errors.at(
                text,
                "`crate` takes the path of the renamed dependency, such as crate = \"my_cache\"",
            );
            None
        }
        None => {
            errors.at(
                value,
                "`crate` takes a string literal, such as crate = \"my_cache\"",
            );
            None
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

fn parse_duration(value: Expr, named: ttl::Named, errors: &mut Errors) -> Option<Ttl> {
    let fixed = match &value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(seconds),
            ..
        }) => seconds
            .base10_parse::<u64>()
            .map_err(|_| Problem::TooLong)
            .map(Duration::from_secs)
            .and_then(|ttl| {
                if ttl > ttl::MAX {
                    Err(Problem::TooLong)
                } else {
                    Ok(ttl)
                }
            }),
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => ttl::parse(&text.value()),
        Expr::Lit(ExprLit {
            lit: Lit::Float(_), ..
        }) => Err(Problem::Float),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => Err(Problem::Negative),
        _ => return Some(Ttl::Expr(value)),
    };
    match fixed {
        Ok(duration) if duration.is_zero() => {
            errors.at(&value, named.message(Problem::Zero));
            None
        }
        Ok(duration) => Some(Ttl::Fixed(duration)),
        Err(problem) => {
            errors.at(&value, named.message(problem));
            None
        }
    }
}
