//! How long the suite runs and which sections it runs, from the environment.
//!
//! - `SUITE_QUICK=1`: 3 rounds of 100 ms per contender instead of 9 of 150 ms (about 30 s
//!   in all instead of about two minutes). Many short rounds rather than a few long ones:
//!   each ratio is taken within a round, and on a shared machine the load changes within
//!   seconds, so the median of many close pairs is steadier.
//! - `SUITE_SECTION=2` (or `in-process`; several: `1,3`): only those sections.

use std::time::Duration;

/// The four parts of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Redis hits through each layer, with 1, 64 and 256 tasks.
    RedisHits = 1,
    /// Hits in process memory: the first tier, `MemoryCache`, bare moka.
    InProcess = 2,
    /// A cold miss: commands and latency.
    ColdMiss = 3,
    /// Client CPU and allocations per hit.
    Cost = 4,
}

impl Section {
    const ALL: [Section; 4] = [
        Section::RedisHits,
        Section::InProcess,
        Section::ColdMiss,
        Section::Cost,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::RedisHits => "redis-hits",
            Section::InProcess => "in-process",
            Section::ColdMiss => "cold-miss",
            Section::Cost => "cost",
        }
    }

    fn parse(word: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .find(|section| word == section.name() || word == (*section as u8).to_string())
    }
}

pub struct Settings {
    /// Rounds; in each, every contender of a scenario runs once, in turn.
    pub rounds: usize,
    /// How long one contender runs in one round.
    pub window: Duration,
    /// An unrecorded first run of each contender: connections, first-tier entries.
    pub warm_up: Duration,
    pub quick: bool,
    sections: Vec<Section>,
}

impl Settings {
    pub fn from_env() -> Settings {
        let quick =
            std::env::var("SUITE_QUICK").is_ok_and(|value| value != "0" && !value.is_empty());
        let sections = match std::env::var("SUITE_SECTION") {
            Ok(list) if !list.trim().is_empty() => list
                .split(',')
                .map(|word| {
                    Section::parse(word.trim()).unwrap_or_else(|| {
                        let valid: Vec<String> = Section::ALL
                            .iter()
                            .map(|section| format!("{} ({})", *section as u8, section.name()))
                            .collect();
                        panic!(
                            "SUITE_SECTION: no section {word:?}; the sections are {}",
                            valid.join(", ")
                        )
                    })
                })
                .collect(),
            _ => Section::ALL.to_vec(),
        };
        Settings {
            rounds: if quick { 3 } else { 9 },
            window: Duration::from_millis(if quick { 100 } else { 150 }),
            warm_up: Duration::from_millis(if quick { 30 } else { 50 }),
            quick,
            sections,
        }
    }

    pub fn runs(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }
}
