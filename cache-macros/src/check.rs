//! Every rule the attributes enforce, in one place: on the item, on each argument as
//! written, and between the arguments and the function. Each error is reported at the token
//! at fault, and every one is reported; a model that passes is one `expand.rs` can generate
//! from as it stands.

use proc_macro2::TokenStream;
use syn::Type;

use crate::ast::{
    Attribute, Binding, CachePut, Cached, Common, DurationForm, Function, Invalidate, Kind,
    Returns, Stray, Tags, Target, Value,
};
use crate::errors::Errors;
use crate::template::{Malformed, Template};
use crate::ttl::Problem;

/// The error for an item that is not a function with a body.
pub(crate) fn not_a_function(kind: Kind, item: &TokenStream, error: syn::Error) -> syn::Error {
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

/// Checks `attribute` on `function`, pushing every problem to `errors`.
pub(crate) fn check(attribute: &Attribute, function: &Function, errors: &mut Errors) {
    let common = attribute.common();
    self::common(common, errors);
    match attribute {
        Attribute::Cached(cached) => self::cached(cached, function, errors),
        Attribute::CachePut(put) => self::cache_put(put, function, errors),
        Attribute::Invalidate(invalidate) => self::invalidate(invalidate, function, errors),
    }
    signature(common.kind, function, errors);
}

fn cached(cached: &Cached, function: &Function, errors: &mut Errors) {
    let Cached {
        key,
        ttl,
        tags,
        lease,
        condition: _,
        cache_none,
        common,
    } = cached;
    match key {
        Some(key) => template(key, "key", function, errors),
        // A key may have been written after a syntax error.
        None if !common.truncated => default_key(function, errors),
        None => {}
    }
    duration(ttl.as_ref(), TTL, errors);
    duration(lease.as_ref(), LEASE, errors);
    if let Some(tags) = tags {
        self::tags(tags, function, errors);
    }
    self::cache_none(cache_none.as_ref(), function, errors);
    stored_return(function, errors);
}

fn cache_put(put: &CachePut, function: &Function, errors: &mut Errors) {
    let CachePut {
        key,
        ttl,
        tags,
        cache_none,
        common,
    } = put;
    match key {
        Some(key) => template(key, "key", function, errors),
        None if !common.truncated => errors.at(
            &function.item.sig.ident,
            "#[cache_put] needs the key it writes: add key = \"...\", the same template as \
             the #[cached] function it refreshes",
        ),
        None => {}
    }
    duration(ttl.as_ref(), TTL, errors);
    if let Some(tags) = tags {
        self::tags(tags, function, errors);
    }
    self::cache_none(cache_none.as_ref(), function, errors);
    stored_return(function, errors);
}

fn invalidate(invalidate: &Invalidate, function: &Function, errors: &mut Errors) {
    let Invalidate { targets, common } = invalidate;
    for target in targets {
        match target {
            Target::Key(key) => template(key, "key", function, errors),
            Target::Pattern(pattern) => template(pattern, "pattern", function, errors),
            Target::Tags(tags) => self::tags(tags, function, errors),
        }
    }
    if targets.is_empty() && !common.truncated {
        errors.at(
            &function.item.sig.ident,
            "#[invalidate] needs something to delete: add key = \"...\", pattern = \"...\" or \
             tags = [\"...\"]",
        );
    }
}

/// The arguments an attribute does not take or takes once, and `crate = "..."`.
fn common(common: &Common, errors: &mut Errors) {
    for stray in &common.strays {
        match stray {
            Stray::Unknown(name) => {
                let valid = common
                    .kind
                    .accepts()
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                errors.at(
                    name,
                    format_args!(
                        "unknown argument `{name}` for #[{}]; expected one of: {valid}",
                        common.kind.name()
                    ),
                );
            }
            Stray::Repeated(name) => {
                errors.at(name, format_args!("`{name}` is given twice; keep one"));
            }
        }
    }
    match &common.krate {
        Some(Value::Malformed(value)) => errors.at(
            value,
            "`crate` takes a string literal, such as crate = \"my_cache\"",
        ),
        Some(Value::Valid(krate)) if krate.path.is_none() => errors.at(
            &krate.literal,
            "`crate` takes the path of the renamed dependency, such as crate = \"my_cache\"",
        ),
        _ => {}
    }
}

/// `async`, and neither `const` nor variadic.
fn signature(kind: Kind, function: &Function, errors: &mut Errors) {
    let sig = &function.item.sig;
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

/// A result that is stored must have a type that can be named.
fn stored_return(function: &Function, errors: &mut Errors) {
    if function.returns_impl_trait() {
        errors.at(
            &function.output,
            "a cached function must return a concrete type that implements serde's \
             Serialize and Deserialize, not `impl Trait`",
        );
    }
}

/// Without a `key`, every parameter but the receiver is part of the key, so each must be a
/// name with a type that can be named.
fn default_key(function: &Function, errors: &mut Errors) {
    for param in &function.params {
        match (&param.binding, &param.ty) {
            (_, Type::ImplTrait(_)) => errors.at(
                &param.ty,
                "an `impl Trait` parameter cannot be part of the default key: give \
                 #[cached(key = \"...\")] a template naming the parameters that identify \
                 the result",
            ),
            (Binding::Named(_), _) => {}
            (Binding::Ignored(pattern), _) => errors.at(
                pattern,
                "an ignored parameter `_` cannot be part of the default key: give it a name, \
                 or give #[cached(key = \"...\")]",
            ),
            (Binding::Destructured(pattern), _) => errors.at(
                pattern,
                "a destructured parameter cannot be part of the default key: bind it to a \
                 name, or give #[cached(key = \"...\")]",
            ),
        }
    }
}

/// `cache_none` is `true` or `false`, and `true` only where there is a `None` to store.
fn cache_none(cache_none: Option<&Value<syn::LitBool>>, function: &Function, errors: &mut Errors) {
    match cache_none {
        Some(Value::Malformed(value)) => errors.at(value, "`cache_none` takes `true` or `false`"),
        Some(Value::Valid(flag))
            if flag.value
                && !matches!(
                    function.returns,
                    Returns::Option { .. } | Returns::Result { some: Some(_), .. }
                ) =>
        {
            errors.at(
                flag,
                "`cache_none` applies to functions that return `Option<T>` or \
                 `Result<Option<T>, E>`",
            );
        }
        _ => {}
    }
}

/// `tags = [...]`: a list of at least one string literal, each a valid template.
fn tags(tags: &Value<Tags>, function: &Function, errors: &mut Errors) {
    let tags = match tags {
        Value::Valid(tags) => tags,
        Value::Malformed(value) => {
            errors.at(
                value,
                "`tags` takes a list of string literals, such as tags = [\"user:{id}\"]",
            );
            return;
        }
    };
    if tags.tags.is_empty() {
        errors.at(
            &tags.list,
            "`tags` needs at least one tag, such as tags = [\"user:{id}\"]; leave `tags` out \
             for none",
        );
    }
    for tag in &tags.tags {
        match tag {
            Value::Valid(tag) => placeholders(tag, function, errors),
            Value::Malformed(value) => {
                errors.at(value, "a tag is a string literal, such as \"user:{id}\"");
            }
        }
    }
}

/// A `key` or `pattern` template: a string literal whose placeholders name parameters.
fn template(value: &Value<Template>, what: &str, function: &Function, errors: &mut Errors) {
    match value {
        Value::Valid(template) => placeholders(template, function, errors),
        Value::Malformed(value) => errors.at(
            value,
            format_args!("`{what}` takes a string literal, such as {what} = \"user:{{id}}\""),
        ),
    }
}

/// A template splits into text and placeholders, and each placeholder names a parameter.
fn placeholders(template: &Template, function: &Function, errors: &mut Errors) {
    let literal = &template.literal;
    match template.malformed() {
        Some(Malformed::StrayClose) => errors.at(
            literal,
            "unmatched `}` in the template; write `}}` for a literal brace",
        ),
        Some(Malformed::Unclosed) => errors.at(
            literal,
            "unclosed `{` in the template; close it, or write `{{` for a literal brace",
        ),
        Some(Malformed::NotAPlaceholder(placeholder)) => errors.at(
            literal,
            format_args!(
                "`{{{placeholder}}}` is not a placeholder: write a parameter name or a field \
                 path such as `{{id}}`, `{{user.id}}` or `{{self.tenant}}` (format specs like \
                 `:?` are not supported)"
            ),
        ),
        None => {}
    }
    for (root, fields) in template.placeholders() {
        if function.lookup(root).is_none() {
            errors.at(literal, unknown_placeholder(root, fields, function));
        }
    }
}

fn unknown_placeholder(root: &str, fields: &[String], function: &Function) -> String {
    let written = std::iter::once(root)
        .chain(fields.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".");
    if root == "self" && function.receiver.is_none() {
        return format!("`{{{written}}}` needs `self`, but this function is not a method");
    }
    let names = function.names();
    if names.is_empty() {
        return format!("`{{{written}}}` names no parameter: this function has none");
    }
    let names = names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("`{{{written}}}` names no parameter of this function; its parameters are {names}")
}

/// A duration argument, for its error messages.
#[derive(Clone, Copy)]
struct Named {
    name: &'static str,
    /// A sensible value, shown in the messages.
    example: &'static str,
    /// What leaving the argument out gives.
    absent: &'static str,
    /// Why it cannot be a closure over the stored value, if it cannot.
    no_closure: Option<&'static str>,
}

const TTL: Named = Named {
    name: "ttl",
    example: "3600",
    absent: "entries that never expire",
    no_closure: None,
};

const LEASE: Named = Named {
    name: "lease",
    example: "5",
    absent: "the default lease of 10 seconds",
    no_closure: Some(
        "`lease` cannot be computed from the value: the lease is taken before the body \
         runs; give seconds (lease = 5), a string such as \"30s\" or a Duration expression",
    ),
};

/// A duration written as a number or a string is one the cache accepts, and not zero; a
/// closure, where one is taken, takes the value to store.
fn duration(duration: Option<&crate::ast::Duration>, named: Named, errors: &mut Errors) {
    let Some(duration) = duration else {
        return;
    };
    let problem = match &duration.form {
        DurationForm::Fixed(Ok(fixed)) if fixed.is_zero() => Problem::Zero,
        DurationForm::Fixed(Err(problem)) => *problem,
        DurationForm::Closure(closure) => return self::closure(closure, named, errors),
        DurationForm::Fixed(Ok(_)) | DurationForm::Expr => return,
    };
    errors.at(&duration.expr, named.message(problem));
}

/// `ttl = |value: &T| ...`: one argument, the value to store. Its type and the return type
/// are the compiler's to check, against the return kind (`ttl_from` in the runtime).
fn closure(closure: &syn::ExprClosure, named: Named, errors: &mut Errors) {
    if let Some(message) = named.no_closure {
        errors.at(closure, message);
        return;
    }
    if closure.inputs.len() != 1 {
        let (open, inputs, close) = (&closure.or1_token, &closure.inputs, &closure.or2_token);
        errors.at(
            quote::quote!(#open #inputs #close),
            format_args!(
                "a `{}` closure takes one argument, the value to store (the `Ok` of a \
                 `Result`, the `Some` of an `Option`, else the whole result), and returns \
                 its TTL: |value: &T| Duration::from_secs(...)",
                named.name
            ),
        );
    }
}

impl Named {
    fn message(self, problem: Problem) -> String {
        let Named {
            name,
            example,
            absent,
            ..
        } = self;
        match problem {
            Problem::Malformed => format!(
                "`{name}` takes seconds ({name} = {example}), a string with one unit \
                 (\"90s\", \"15m\", \"1h\", \"1d\") or a Duration expression"
            ),
            Problem::TooLong => format!(
                "`{name}` is longer than 100 years, the longest the cache accepts; leave \
                 `{name}` out for {absent}"
            ),
            Problem::Float => format!(
                "`{name}` in seconds must be a whole number; use a Duration expression for less"
            ),
            Problem::Negative => {
                format!("`{name}` cannot be negative; leave `{name}` out for {absent}")
            }
            Problem::Zero => {
                format!("`{name}` must be greater than zero; leave `{name}` out for {absent}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_messages_name_the_argument() {
        assert!(
            TTL.message(Problem::Zero)
                .starts_with("`ttl` must be greater than zero")
        );
        assert!(LEASE.message(Problem::Malformed).contains("(lease = 5)"));
    }
}
