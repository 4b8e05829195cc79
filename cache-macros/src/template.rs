//! Key templates: `"user:{id}"`, `"{self.tenant}:{order.id}"`, `"{{literal}}"`.
//!
//! A template is checked against the function's parameters and turned into a `format!`
//! call. Errors point at the template's string literal, since a span inside a literal is
//! not available to proc macros on stable Rust.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Ident, Index, LitStr};

use crate::errors::Errors;
use crate::item::Params;

/// One piece of a template.
enum Piece {
    Text(String),
    /// `{root.path.to.field}`; `root` is a parameter or `self`.
    Value {
        root: String,
        fields: Vec<String>,
    },
}

pub(crate) struct Template {
    literal: LitStr,
    pieces: Vec<Piece>,
}

/// How interpolated values are written.
#[derive(Clone, Copy)]
pub(crate) enum Values {
    /// As their `Display`: keys.
    Plain,
    /// Glob-escaped: patterns, so that a value can only match itself.
    GlobEscaped,
}

impl Template {
    /// Parses and checks `literal`; `None` (with the problem pushed) if it is not valid.
    pub(crate) fn parse(literal: &LitStr, params: &Params, errors: &mut Errors) -> Option<Self> {
        let pieces = match split(&literal.value()) {
            Ok(pieces) => pieces,
            Err(message) => {
                errors.at(literal, message);
                return None;
            }
        };
        let mut valid = true;
        for piece in &pieces {
            let Piece::Value { root, fields } = piece else {
                continue;
            };
            if params.lookup(root).is_none() {
                valid = false;
                errors.at(literal, unknown_placeholder(root, fields, params));
            }
        }
        valid.then(|| Template {
            literal: literal.clone(),
            pieces,
        })
    }

    /// An expression of type `String`: the template rendered with the parameters.
    pub(crate) fn render(
        &self,
        params: &Params,
        values: Values,
        private: &TokenStream,
    ) -> TokenStream {
        let span = self.literal.span();
        let mut format = String::new();
        let mut arguments = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => format.push_str(&text.replace('{', "{{").replace('}', "}}")),
                Piece::Value { root, fields } => {
                    format.push_str("{}");
                    let root = params.lookup(root).map(ToTokens::into_token_stream);
                    let fields = fields.iter().map(|field| field_tokens(field, span));
                    // Spanned at the template, so that "doesn't implement `Display`" points
                    // at the key that asked for the value.
                    let value = quote_spanned!(span=> &(#root #(. #fields)*));
                    arguments.push(match values {
                        Values::Plain => value,
                        Values::GlobEscaped => {
                            quote_spanned!(span=> #private::glob_escaped(#value))
                        }
                    });
                }
            }
        }
        let format = LitStr::new(&format, span);
        quote!(::std::format!(#format #(, #arguments)*))
    }
}

fn field_tokens(field: &str, span: Span) -> TokenStream {
    match field.parse::<u32>() {
        Ok(index) => Index { index, span }.into_token_stream(),
        // A keyword (a field `r#type`) is written raw; `Ident::new` would panic on it.
        Err(_) if syn::parse_str::<Ident>(field).is_err() => {
            Ident::new_raw(field, span).into_token_stream()
        }
        Err(_) => Ident::new(field, span).into_token_stream(),
    }
}

fn unknown_placeholder(root: &str, fields: &[String], params: &Params) -> String {
    let written = std::iter::once(root)
        .chain(fields.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".");
    if root == "self" && !params.has_receiver() {
        return format!("`{{{written}}}` needs `self`, but this function is not a method");
    }
    let names = params.names();
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

/// Splits a template into text and placeholders.
fn split(template: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.as_str().starts_with('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.as_str().starts_with('}') => {
                chars.next();
                text.push('}');
            }
            '}' => {
                return Err("unmatched `}` in the template; write `}}` for a literal brace".into());
            }
            '{' => {
                let rest = chars.as_str();
                let end = rest.find('}').ok_or(
                    "unclosed `{` in the template; close it, or write `{{` for a literal brace",
                )?;
                let placeholder = &rest[..end];
                // `{r#type}` and `{type}` both name a parameter `r#type`.
                let mut path = placeholder
                    .split('.')
                    .map(|part| part.strip_prefix("r#").unwrap_or(part).to_owned());
                let root = path.next().unwrap_or_default();
                let fields: Vec<String> = path.collect();
                let well_formed = is_identifier(&root)
                    && fields
                        .iter()
                        .all(|field| is_identifier(field) || field.parse::<u32>().is_ok());
                if !well_formed {
                    return Err(format!(
                        "`{{{placeholder}}}` is not a placeholder: write a parameter name or a \
                         field path such as `{{id}}`, `{{user.id}}` or `{{self.tenant}}` \
                         (format specs like `:?` are not supported)"
                    ));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Value { root, fields });
                chars = rest[end + 1..].chars();
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(template: &str) -> Vec<String> {
        split(template)
            .unwrap()
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => format!("text:{text}"),
                Piece::Value { root, fields } => format!("value:{root}.{}", fields.join(".")),
            })
            .collect()
    }

    #[test]
    fn splits_text_and_values() {
        assert_eq!(shape("user:{id}"), ["text:user:", "value:id."]);
        assert_eq!(
            shape("{self.tenant}:{order.id}"),
            ["value:self.tenant", "text::", "value:order.id"]
        );
        assert_eq!(shape("{{a}}{pair.0}"), ["text:{a}", "value:pair.0"]);
        assert_eq!(shape("plain"), ["text:plain"]);
        assert_eq!(shape("{r#type}"), ["value:type."]);
    }

    #[test]
    fn rejects_malformed_templates() {
        for template in [
            "{", "}", "{id", "{}", "{id:?}", "{a b}", "{a..b}", "{0}", "x}y",
        ] {
            assert!(split(template).is_err(), "{template:?}");
        }
    }
}
