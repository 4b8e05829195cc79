//! Key templates: `"user:{id}"`, `"{self.tenant}:{order.id}"`, `"{{literal}}"`.
//!
//! A template is split into text and placeholders when the model is built, its
//! placeholders are checked against the function's parameters in `check.rs`, and it is
//! rendered as a `format!` call. Errors point at the template's string literal, since a
//! span inside a literal is not available to proc macros on stable Rust.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Ident, Index, LitStr};

use crate::ast::Function;

/// One piece of a template.
enum Piece {
    Text(String),
    /// `{root.path.to.field}`; `root` is a parameter or `self`.
    Value {
        root: String,
        fields: Vec<String>,
    },
}

/// A template as written, and its pieces if it is well formed.
pub(crate) struct Template {
    pub(crate) literal: LitStr,
    pieces: Result<Vec<Piece>, Malformed>,
}

/// Why a template does not split into text and placeholders.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// A `}` that closes nothing.
    StrayClose,
    /// A `{` that is never closed.
    Unclosed,
    /// `{...}` that is not a name or a field path: the text between the braces.
    NotAPlaceholder(String),
}

/// How interpolated values are written.
#[derive(Clone, Copy)]
pub(crate) enum Values {
    /// As their `Display`: keys and tags.
    Plain,
    /// Glob-escaped: patterns, so that a value can only match itself.
    GlobEscaped,
}

impl Template {
    pub(crate) fn new(literal: &LitStr) -> Self {
        Template {
            literal: literal.clone(),
            pieces: split(&literal.value()),
        }
    }

    /// Why the template is malformed, if it is.
    pub(crate) fn malformed(&self) -> Option<&Malformed> {
        self.pieces.as_ref().err()
    }

    /// Each placeholder as its root (a parameter or `self`) and its field path.
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.pieces
            .iter()
            .flatten()
            .filter_map(|piece| match piece {
                Piece::Value { root, fields } => Some((root.as_str(), fields.as_slice())),
                Piece::Text(_) => None,
            })
    }

    /// An expression of type `String`: the template rendered with the parameters. Only
    /// for a template that has passed `check.rs`.
    pub(crate) fn render(
        &self,
        function: &Function,
        values: Values,
        private: &TokenStream,
    ) -> TokenStream {
        let span = self.literal.span();
        let mut format = String::new();
        let mut arguments = Vec::new();
        for piece in self.pieces.iter().flatten() {
            match piece {
                Piece::Text(text) => format.push_str(&text.replace('{', "{{").replace('}', "}}")),
                Piece::Value { root, fields } => {
                    format.push_str("{}");
                    let root = function.lookup(root);
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

/// Splits a template into text and placeholders.
fn split(template: &str) -> Result<Vec<Piece>, Malformed> {
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
            '}' => return Err(Malformed::StrayClose),
            '{' => {
                let rest = chars.as_str();
                let end = rest.find('}').ok_or(Malformed::Unclosed)?;
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
                    return Err(Malformed::NotAPlaceholder(placeholder.to_owned()));
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
        for template in ["{a b}", "{a..b}", "{0}", "{}", "{id:?}"] {
            assert!(
                matches!(split(template), Err(Malformed::NotAPlaceholder(_))),
                "{template:?}"
            );
        }
        for template in ["{", "{id", "a{b"] {
            assert_eq!(
                split(template).err(),
                Some(Malformed::Unclosed),
                "{template:?}"
            );
        }
        for template in ["}", "x}y"] {
            assert_eq!(
                split(template).err(),
                Some(Malformed::StrayClose),
                "{template:?}"
            );
        }
    }
}
