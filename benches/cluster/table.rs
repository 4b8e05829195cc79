//! The one table the cluster benchmark prints: a row per scenario, its figure on the single
//! server and on the cluster, and three ratios, each the median over the rounds of a ratio
//! taken within one round: cluster to single, and each side to its own raw `GET`.

use std::fmt::Write as _;

use crate::measure::Sample;
use crate::rounds::{Series, Spread};

/// One scenario, measured on both sides: indices into the run's series.
pub struct Pair {
    pub scenario: String,
    pub tasks: usize,
    pub single: usize,
    pub cluster: usize,
    /// The raw `GET`s with as many tasks, on each side: the floors.
    pub floor: (usize, usize),
}

impl Pair {
    /// The figure a ratio divides, in seconds: with one task the median latency of the
    /// round's calls; with several the time per call over the round's window (the inverse
    /// of the throughput).
    fn figure(&self) -> fn(&Sample) -> f64 {
        if self.tasks == 1 {
            |sample| sample.latency(0.5).as_secs_f64()
        } else {
            |sample| sample.elapsed.as_secs_f64() / sample.calls.max(1) as f64
        }
    }

    fn describe(&self, series: &Series) -> String {
        if self.tasks == 1 {
            let p50 = series.spread(|sample| sample.latency(0.5).as_secs_f64());
            let p99 = series.spread(|sample| sample.latency(0.99).as_secs_f64());
            format!("{}, p99 {}", time(p50.median), time(p99.median))
        } else {
            let per_call = series.spread(self.figure());
            let rate = series.spread(Sample::calls_per_second);
            format!(
                "{} per op ({}/s)",
                time(per_call.median),
                rate_text(rate.median)
            )
        }
    }
}

/// Everything measured: the rows, and notes that fit no cell.
#[derive(Default)]
pub struct Table {
    pub pairs: Vec<Pair>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn render(&self, series: &[Series]) -> String {
        let mut out = String::new();
        out.push_str(
            "| scenario | tasks | single server (median of rounds) | cluster (median of rounds) \
             | cluster / single (median, min–max) | single / its raw GET | cluster / its raw GET \
             | commands per op: single; cluster |\n",
        );
        out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for pair in &self.pairs {
            let (single, cluster) = (&series[pair.single], &series[pair.cluster]);
            let figure = pair.figure();
            let to_floor = |mine: usize, floor: usize| {
                if mine == floor {
                    "1".to_owned()
                } else {
                    ratio(series[mine].ratio_to(&series[floor], figure))
                }
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {}; {} |",
                pair.scenario,
                pair.tasks,
                pair.describe(single),
                pair.describe(cluster),
                ratio(cluster.ratio_to(single, figure)),
                to_floor(pair.single, pair.floor.0),
                to_floor(pair.cluster, pair.floor.1),
                single.commands_per_call(),
                cluster.commands_per_call(),
            );
        }
        if !self.notes.is_empty() {
            out.push_str("\nNotes:\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

fn ratio(spread: Spread) -> String {
    format!("{:.2} ({:.2}–{:.2})", spread.median, spread.min, spread.max)
}

/// Seconds as µs or ms, with three significant figures or so.
fn time(seconds: f64) -> String {
    let micros = seconds * 1e6;
    if micros >= 1_000.0 {
        format!("{:.2} ms", micros / 1_000.0)
    } else if micros >= 10.0 {
        format!("{micros:.1} µs")
    } else {
        format!("{micros:.2} µs")
    }
}

/// Calls per second, as `81.3 k` or `1.25 M`.
fn rate_text(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M", per_second / 1e6)
    } else {
        format!("{:.1} k", per_second / 1e3)
    }
}
