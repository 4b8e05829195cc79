//! A recorder that keeps every value, for tests to read by metric name and label.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// One histogram's samples.
#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

#[derive(Default)]
struct Values {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<HashMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<HashMap<String, Arc<Samples>>>,
    /// The metrics described, with their units.
    described: Mutex<HashMap<String, Option<Unit>>>,
}

/// The process's recorder; installed by [`recording`].
#[derive(Clone, Default)]
pub struct Recording(Arc<Values>);

/// `name{label=value,...}`, the labels in their order.
fn id(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}={}", label.key(), label.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

fn handle<T: Default>(map: &Mutex<HashMap<String, Arc<T>>>, key: &Key) -> Arc<T> {
    Arc::clone(map.lock().unwrap().entry(id(key)).or_default())
}

impl Recorder for Recording {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.described(key, unit);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.described(key, unit);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.described(key, unit);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(handle(&self.0.counters, key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(handle(&self.0.gauges, key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(handle(&self.0.histograms, key))
    }
}

impl Recording {
    fn described(&self, key: KeyName, unit: Option<Unit>) {
        let mut described = self.0.described.lock().unwrap();
        described.insert(key.as_str().to_owned(), unit);
    }

    /// The counter `name{label=value}`; zero if never registered.
    pub fn counter(&self, name: &str, label: (&str, &str)) -> u64 {
        let id = format!("{name}{{{}={}}}", label.0, label.1);
        let counters = self.0.counters.lock().unwrap();
        counters
            .get(&id)
            .map_or(0, |value| value.load(Ordering::Relaxed))
    }

    /// The gauge `name{label=value}`, if registered.
    pub fn gauge(&self, name: &str, label: (&str, &str)) -> Option<f64> {
        let id = format!("{name}{{{}={}}}", label.0, label.1);
        let gauges = self.0.gauges.lock().unwrap();
        gauges
            .get(&id)
            .map(|value| f64::from_bits(value.load(Ordering::Relaxed)))
    }

    /// The samples of the histogram `name{label=value}`.
    pub fn histogram(&self, name: &str, label: (&str, &str)) -> Vec<f64> {
        let id = format!("{name}{{{}={}}}", label.0, label.1);
        let histograms = self.0.histograms.lock().unwrap();
        histograms
            .get(&id)
            .map_or_else(Vec::new, |samples| samples.0.lock().unwrap().clone())
    }

    /// The unit a metric was described with, if it was described.
    pub fn unit(&self, name: &str) -> Option<Option<Unit>> {
        self.0.described.lock().unwrap().get(name).copied()
    }
}

/// The process's recorder, installed at the first call: every test calls this before its
/// first annotated call, since a function's handles are registered at its first call.
pub fn recording() -> &'static Recording {
    static RECORDING: OnceLock<Recording> = OnceLock::new();
    RECORDING.get_or_init(|| {
        let recording = Recording::default();
        metrics::set_global_recorder(recording.clone()).expect("the only recorder");
        recording
    })
}
