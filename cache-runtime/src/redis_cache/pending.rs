//! Deletions that failed during an outage, kept for replay: an invalidation must not be
//! lost because Redis was down when it was asked for.

use std::collections::VecDeque;

/// One deletion to replay, with the prefix already applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Deletion {
    /// `UNLINK` of one key.
    Key(String),
    /// `SCAN MATCH` + `UNLINK` of a glob pattern.
    Pattern(String),
}

/// The waiting deletions, oldest first.
pub(super) struct Pending {
    deletions: VecDeque<Deletion>,
    capacity: usize,
    /// The pattern for every key the cache owns, used when too many are waiting.
    everything: String,
    /// Whether `deletions` is just `everything`: later ones are covered by it.
    folded: bool,
    /// Bumped when the queue is replaced, so a replay does not remove the wrong entry.
    generation: u64,
    replayed: u64,
    dropped: u64,
}

impl Pending {
    pub(super) fn new(capacity: usize, everything: String) -> Self {
        Pending {
            deletions: VecDeque::new(),
            capacity,
            everything,
            folded: false,
            generation: 0,
            replayed: 0,
            dropped: 0,
        }
    }

    /// Keeps `deletion`; past the capacity, replaces every waiting one (and later ones, until
    /// replayed) with a deletion of everything, counting them as dropped. Returns whether
    /// this folded the queue, for a log line.
    pub(super) fn push(&mut self, deletion: Deletion) -> bool {
        if self.folded {
            self.dropped += 1;
            return false;
        }
        if self.deletions.len() < self.capacity {
            self.deletions.push_back(deletion);
            return false;
        }
        self.dropped += self.deletions.len() as u64 + 1;
        self.deletions.clear();
        self.deletions
            .push_back(Deletion::Pattern(self.everything.clone()));
        self.folded = true;
        self.generation += 1;
        true
    }

    /// The oldest waiting deletion and the generation to hand back to [`done`](Self::done).
    pub(super) fn next(&self) -> Option<(Deletion, u64)> {
        self.deletions
            .front()
            .map(|deletion| (deletion.clone(), self.generation))
    }

    /// The deletion `next` gave has been replayed.
    pub(super) fn done(&mut self, generation: u64) {
        if generation != self.generation {
            // Folded meanwhile: the front is now the deletion of everything, still to do.
            return;
        }
        self.deletions.pop_front();
        self.replayed += 1;
        if self.deletions.is_empty() {
            self.folded = false;
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.deletions.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.deletions.len()
    }

    pub(super) fn replayed(&self) -> u64 {
        self.replayed
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Deletion {
        Deletion::Key(name.to_owned())
    }

    #[test]
    fn replays_in_order() {
        let mut pending = Pending::new(4, "app:*".into());
        pending.push(key("a"));
        pending.push(key("b"));
        let (first, generation) = pending.next().unwrap();
        assert_eq!(first, key("a"));
        pending.done(generation);
        assert_eq!(pending.next().unwrap().0, key("b"));
        assert_eq!((pending.len(), pending.replayed()), (1, 1));
    }

    #[test]
    fn overflow_folds_into_everything_and_counts_the_dropped() {
        let mut pending = Pending::new(2, "app:*".into());
        assert!(!pending.push(key("a")));
        assert!(!pending.push(key("b")));
        assert!(pending.push(key("c")));
        assert!(!pending.push(key("d")), "covered by the fold");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.next().unwrap().0, Deletion::Pattern("app:*".into()));
        assert_eq!(pending.dropped(), 4);
    }

    #[test]
    fn a_fold_during_a_replay_is_not_lost() {
        let mut pending = Pending::new(1, "*".into());
        pending.push(key("a"));
        let (_, generation) = pending.next().unwrap();
        pending.push(key("b"));
        pending.done(generation);
        assert_eq!(pending.next().unwrap().0, Deletion::Pattern("*".into()));
    }
}
