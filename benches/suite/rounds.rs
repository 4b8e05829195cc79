//! Contenders measured in turn over several rounds, and their figures summed up per
//! contender: the median of the rounds, and the ratio to the scenario's baseline taken
//! within each round, so that load on the machine moves both sides of a ratio alike.

use std::time::Duration;

use crate::measure::Sample;
use crate::settings::Settings;

/// One contender of a scenario: its label and how to run one phase of it.
pub struct Entry<'a> {
    pub label: String,
    pub run: Box<dyn FnMut(Duration) -> Sample + 'a>,
}

impl<'a> Entry<'a> {
    pub fn new(label: impl Into<String>, run: impl FnMut(Duration) -> Sample + 'a) -> Entry<'a> {
        Entry {
            label: label.into(),
            run: Box::new(run),
        }
    }
}

/// A contender's phases, one per round.
pub struct Series {
    pub label: String,
    pub samples: Vec<Sample>,
}

/// Warms every entry up once, then runs them in turn, `settings.rounds` times. The first
/// entry is the baseline.
pub fn alternate(settings: &Settings, mut entries: Vec<Entry<'_>>) -> Vec<Series> {
    for entry in &mut entries {
        drop((entry.run)(settings.warm_up));
    }
    let mut series: Vec<Series> = entries
        .iter()
        .map(|entry| Series {
            label: entry.label.clone(),
            samples: Vec::with_capacity(settings.rounds),
        })
        .collect();
    for round in 0..settings.rounds {
        // Every other round runs backwards, so that a load on the machine that grows or
        // fades during a round does not always favour the same end of the list.
        let mut order: Vec<usize> = (0..entries.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for index in order {
            let sample = (entries[index].run)(settings.window);
            series[index].samples.push(sample);
        }
    }
    series
}

/// The median of some rounds' figures, with their least and greatest.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        Spread {
            median: values.get(values.len() / 2).copied().unwrap_or(f64::NAN),
            min: values.first().copied().unwrap_or(f64::NAN),
            max: values.last().copied().unwrap_or(f64::NAN),
        }
    }
}

impl Series {
    /// `figure` of each round, summed up.
    pub fn spread(&self, figure: impl Fn(&Sample) -> f64) -> Spread {
        Spread::of(self.samples.iter().map(figure).collect())
    }

    /// `figure` of each round divided by `baseline`'s in the same round, summed up.
    pub fn ratio_to(&self, baseline: &Series, figure: impl Fn(&Sample) -> f64) -> Spread {
        Spread::of(
            self.samples
                .iter()
                .zip(&baseline.samples)
                .map(|(mine, theirs)| figure(mine) / figure(theirs))
                .collect(),
        )
    }

    /// Calls over every round.
    pub fn calls(&self) -> u64 {
        self.samples.iter().map(|sample| sample.calls).sum()
    }

    /// The server's commands per call over every round, if the phases looked.
    pub fn commands_per_call(&self) -> String {
        let mut total = crate::commands::Commands::default();
        let mut looked = false;
        for commands in self
            .samples
            .iter()
            .filter_map(|sample| sample.commands.as_ref())
        {
            total.add(commands);
            looked = true;
        }
        if looked {
            total.per(self.calls())
        } else {
            String::new()
        }
    }
}
