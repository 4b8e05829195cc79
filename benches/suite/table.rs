//! The one table the suite prints: a row per contender, its figure, its ratio to the
//! scenario's baseline measured in the same run, and the target where it has one.

use std::fmt::Write as _;

use crate::measure::Sample;
use crate::rounds::{Series, Spread};
use crate::settings::Section;

/// A target of issue 11, as a bound on a ratio.
#[derive(Clone, Copy, Debug)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    fn met(self, ratio: f64) -> bool {
        match self {
            Goal::AtLeast(bound) => ratio >= bound,
            Goal::AtMost(bound) => ratio <= bound,
        }
    }

    fn text(self) -> String {
        match self {
            Goal::AtLeast(bound) => format!("≥ {bound:.2}×"),
            Goal::AtMost(bound) => format!("≤ {bound:.2}×"),
        }
    }
}

pub struct Row {
    pub section: Section,
    pub scenario: String,
    pub contender: String,
    pub figure: String,
    /// `None` on a baseline row.
    pub ratio: Option<Spread>,
    /// The server's commands per call; empty where the contender does not touch Redis.
    pub commands: String,
    pub goal: Option<Goal>,
}

impl Row {
    /// A row per contender of a scenario whose first series is the baseline: `figure` is
    /// what the ratio divides, `describe` the figure's text, `goal` a target by label.
    pub fn from_series(
        section: Section,
        scenario: &str,
        series: &[Series],
        figure: impl Fn(&Sample) -> f64 + Copy,
        describe: impl Fn(&Series) -> String,
        goal: impl Fn(&str) -> Option<Goal>,
    ) -> Vec<Row> {
        let Some(baseline) = series.first() else {
            return Vec::new();
        };
        series
            .iter()
            .enumerate()
            .map(|(index, series)| Row {
                section,
                scenario: scenario.to_owned(),
                contender: if index == 0 {
                    format!("{} (baseline)", series.label)
                } else {
                    series.label.clone()
                },
                figure: describe(series),
                ratio: (index > 0).then(|| series.ratio_to(baseline, figure)),
                commands: series.commands_per_call(),
                goal: goal(&series.label),
            })
            .collect()
    }

    /// Whether the row meets its target, if it has one.
    fn verdict(&self) -> Option<(Goal, bool)> {
        let goal = self.goal?;
        Some((goal, self.ratio.is_some_and(|ratio| goal.met(ratio.median))))
    }
}

/// Everything measured: the rows, and notes that fit no cell.
#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| # | scenario | contender | figure (median of rounds) | ratio to baseline \
             (median, min–max) | Redis commands per call | target |\n",
        );
        out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
        let mut previous = None;
        for row in &self.rows {
            // A scenario is named on its first row only, so the groups stand out.
            let scenario = if previous == Some(&row.scenario) {
                ""
            } else {
                row.scenario.as_str()
            };
            previous = Some(&row.scenario);
            let ratio = row.ratio.map_or_else(
                || "1".to_owned(),
                |ratio| format!("{:.2} ({:.2}–{:.2})", ratio.median, ratio.min, ratio.max),
            );
            let target = row.verdict().map_or_else(String::new, |(goal, met)| {
                format!("{}: {}", goal.text(), if met { "met" } else { "missed" })
            });
            let _ = writeln!(
                out,
                "| {} | {scenario} | {} | {} | {ratio} | {} | {target} |",
                row.section as u8, row.contender, row.figure, row.commands
            );
        }
        let verdicts: Vec<_> = self
            .rows
            .iter()
            .filter_map(|row| row.verdict().map(|verdict| (row, verdict)))
            .collect();
        if !verdicts.is_empty() {
            let met = verdicts.iter().filter(|(_, (_, met))| *met).count();
            let _ = writeln!(out, "\nTargets: {met} of {} met", verdicts.len());
            for (row, (goal, met)) in &verdicts {
                let _ = writeln!(
                    out,
                    "- {}: {} — {}, {:.2}× against {}",
                    if *met { "met" } else { "missed" },
                    row.scenario,
                    row.contender,
                    row.ratio.map_or(f64::NAN, |ratio| ratio.median),
                    goal.text()
                );
            }
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

/// `12345678.9` as `"12,345,679"`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
