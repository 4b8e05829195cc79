//! The run's contenders in the order the rounds take them, and the table's pairs of them:
//! every scenario once on the single server and once on the cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::backends::Target;
use crate::measure::{self, Drive, Hit, Keys, Sample};
use crate::rounds::Entry;
use crate::table::Pair;

/// A contender and where it runs.
pub struct Side<'a, C> {
    pub target: &'a Target,
    pub contender: C,
    pub keys: Keys,
}

impl<'a, C> Side<'a, C> {
    pub fn new(target: &'a Target, contender: C, keys: Keys) -> Self {
        Side {
            target,
            contender,
            keys,
        }
    }
}

/// The entries for `rounds::alternate`, built pair by pair, and the pairs for the table.
pub struct Plan<'a> {
    runtime: &'a Runtime,
    pub entries: Vec<Entry<'a>>,
    pub pairs: Vec<Pair>,
    /// The floors' entries by task count (single, cluster).
    floors: BTreeMap<usize, (usize, usize)>,
}

impl<'a> Plan<'a> {
    pub fn new(runtime: &'a Runtime) -> Self {
        Plan {
            runtime,
            entries: Vec::new(),
            pairs: Vec::new(),
            floors: BTreeMap::new(),
        }
    }

    /// A scenario on both sides. The first with `tasks` tasks is the floor of the others
    /// with as many: the table divides each side by it.
    pub fn pair<S: Hit, C: Hit>(
        &mut self,
        scenario: &str,
        tasks: usize,
        single: Side<'a, S>,
        cluster: Side<'a, C>,
    ) {
        let (single, cluster) = self.sides(scenario, tasks, single, cluster);
        let floor = *self.floors.entry(tasks).or_insert((single, cluster));
        self.pairs.push(Pair {
            scenario: scenario.to_owned(),
            tasks,
            single,
            cluster,
            floor,
        });
    }

    fn sides<S: Hit, C: Hit>(
        &mut self,
        scenario: &str,
        tasks: usize,
        single: Side<'a, S>,
        cluster: Side<'a, C>,
    ) -> (usize, usize) {
        let drive = if tasks == 1 {
            Drive::Latency
        } else {
            Drive::Throughput { tasks }
        };
        (
            self.entry(format!("{scenario}, single"), drive, single),
            self.entry(format!("{scenario}, cluster"), drive, cluster),
        )
    }

    fn entry<C: Hit>(&mut self, label: String, drive: Drive, side: Side<'a, C>) -> usize {
        let runtime = self.runtime;
        self.entries.push(Entry::new(label, move |window| {
            measured(runtime, drive, &side, window)
        }));
        self.entries.len() - 1
    }
}

/// One phase of `side`'s contender (see `measure::phase`), and what its primaries ran
/// meanwhile.
fn measured<C: Hit>(
    runtime: &Runtime,
    drive: Drive,
    side: &Side<'_, C>,
    window: Duration,
) -> Sample {
    let before = side.target.commands();
    let mut sample = measure::phase(runtime, drive, &side.contender, &side.keys, window);
    sample.commands = Some(side.target.commands().since(&before));
    sample
}
