//! A `tracing` layer that keeps the fields of every closed `cached` span, for one test at a
//! time: install it with [`Capture::install`] on a current-thread runtime, where every task
//! of the test runs on the thread that holds the guard.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, subscriber::DefaultGuard};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// The fields of one span, by name, as text.
pub type Fields = BTreeMap<String, String>;

/// The spans closed so far.
#[derive(Clone, Default)]
pub struct Capture {
    closed: Arc<Mutex<Vec<Fields>>>,
}

impl Capture {
    /// A capture of the spans enabled at `level`, as this thread's subscriber until the
    /// guard is dropped.
    pub fn install(level: LevelFilter) -> (Capture, DefaultGuard) {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry()
            .with(level)
            .with(capture.clone());
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// The `cached` spans of `function` closed so far, in the order they closed.
    pub fn of(&self, function: &str) -> Vec<Fields> {
        self.closed
            .lock()
            .unwrap()
            .iter()
            .filter(|fields| fields.get("function").map(String::as_str) == Some(function))
            .cloned()
            .collect()
    }

    /// The outcomes of `function`'s spans, sorted.
    pub fn outcomes(&self, function: &str) -> Vec<String> {
        let mut outcomes: Vec<String> = self
            .of(function)
            .into_iter()
            .map(|fields| fields.get("outcome").cloned().unwrap_or_default())
            .collect();
        outcomes.sort();
        outcomes
    }
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let metadata = attrs.metadata();
        if metadata.target() != "cache_aside" || metadata.name() != "cached" {
            return;
        }
        let mut fields = Fields::new();
        fields.insert("level".into(), metadata.level().to_string());
        attrs.record(&mut Visitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(&mut Visitor(fields));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(fields) = span.extensions_mut().remove::<Fields>()
        {
            self.closed.lock().unwrap().push(fields);
        }
    }
}
