//! What the server ran, by command, from `INFO commandstats` (calls made inside a script
//! count as well): the suite's way to see what each contender sends.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Calls per command.
#[derive(Clone, Debug, Default)]
pub struct Commands(BTreeMap<String, u64>);

/// The suite's own inspection commands, left out of every count.
const OWN: [&str; 2] = ["info", "config"];

impl Commands {
    /// The server's counters now, over a plain connection.
    pub fn read(connection: &mut redis::Connection) -> Commands {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(connection)
            .expect("INFO commandstats");
        Commands(
            info.lines()
                .filter_map(|line| {
                    let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                    let calls = stats.strip_prefix("calls=")?.split(',').next()?;
                    Some((name.to_owned(), calls.parse().ok()?))
                })
                .filter(|(name, _)| !OWN.contains(&name.as_str()))
                .collect(),
        )
    }

    /// What ran since `earlier`.
    pub fn since(&self, earlier: &Commands) -> Commands {
        Commands(
            self.0
                .iter()
                .map(|(name, calls)| {
                    let before = earlier.0.get(name).copied().unwrap_or(0);
                    (name.clone(), calls.saturating_sub(before))
                })
                .filter(|(_, calls)| *calls > 0)
                .collect(),
        )
    }

    /// Adds `other`'s calls to these.
    pub fn add(&mut self, other: &Commands) {
        for (name, calls) in &other.0 {
            *self.0.entry(name.clone()).or_default() += calls;
        }
    }

    /// `"get 1.00, set 1.00"`: the calls of each command per call of the contender, leaving
    /// out what rounds to zero; `"none"` when nothing did.
    pub fn per(&self, calls: u64) -> String {
        let mut text = String::new();
        for (name, count) in &self.0 {
            let rate = *count as f64 / calls.max(1) as f64;
            if rate >= 0.005 {
                let separator = if text.is_empty() { "" } else { ", " };
                let _ = write!(text, "{separator}{name} {rate:.2}");
            }
        }
        if text.is_empty() {
            text.push_str("none");
        }
        text
    }
}
