//! Deletions that failed during an outage, kept for replay: an invalidation must not be
//! lost because Redis was down when it was asked for.

use std::collections::{HashSet, VecDeque};

/// One deletion to replay, with the prefix already applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Deletion {
    /// `UNLINK` of one key.
    Key(Vec<u8>),
    /// `SCAN MATCH` + `UNLINK` of a glob pattern, sparing tags' sets, as `delete_pattern`.
    Pattern(String),
    /// The same, tags' sets included, as `flush`.
    Everything(String),
    /// A tag's set (its key): the set is taken and its members deleted, as
    /// `invalidate_tags`.
    Tag(Vec<u8>),
}

/// How many keys one replayed `UNLINK` deletes at most.
const KEYS_PER_UNLINK: usize = 512;

/// The waiting deletions, oldest first, each once.
pub(super) struct Pending {
    deletions: VecDeque<Deletion>,
    /// The same deletions, so that one invalidated again and again waits once.
    waiting: HashSet<Deletion>,
    capacity: usize,
    /// The pattern for every key of the cache (its builder's prefix, which every view
    /// extends), used when too many are waiting.
    everything: String,
    /// Whether `deletions` is just `everything`: later ones are covered by it.
    folded: bool,
    /// Bumped when the queue is replaced, so that a replay does not remove the wrong entry.
    generation: u64,
    replayed: u64,
    dropped: u64,
}

/// The deletions at the front of the queue that one replay step does: a run of keys (one
/// `UNLINK`), or one pattern.
pub(super) struct Batch {
    pub(super) deletions: Vec<Deletion>,
    generation: u64,
}

impl Pending {
    pub(super) fn new(capacity: usize, everything: String) -> Self {
        Pending {
            deletions: VecDeque::new(),
            waiting: HashSet::new(),
            capacity,
            everything,
            folded: false,
            generation: 0,
            replayed: 0,
            dropped: 0,
        }
    }

    /// Keeps `deletion`, unless the same one is already waiting. Past the capacity, replaces
    /// every waiting one (and later ones, until replayed) with a deletion of everything,
    /// counting them as dropped. Returns whether this folded the queue, for a log line.
    pub(super) fn push(&mut self, deletion: Deletion) -> bool {
        if self.folded {
            self.dropped += 1;
            return false;
        }
        if self.waiting.contains(&deletion) {
            return false;
        }
        if self.deletions.len() < self.capacity {
            self.waiting.insert(deletion.clone());
            self.deletions.push_back(deletion);
            return false;
        }
        self.dropped += self.deletions.len() as u64 + 1;
        self.deletions.clear();
        self.waiting.clear();
        self.deletions
            .push_back(Deletion::Everything(self.everything.clone()));
        self.folded = true;
        self.generation += 1;
        true
    }

    /// The next deletions to replay, to hand back to [`done`](Self::done).
    pub(super) fn next(&self) -> Option<Batch> {
        let first = self.deletions.front()?;
        let deletions = match first {
            Deletion::Pattern(_) | Deletion::Everything(_) | Deletion::Tag(_) => {
                vec![first.clone()]
            }
            Deletion::Key(_) => self
                .deletions
                .iter()
                .take(KEYS_PER_UNLINK)
                .take_while(|deletion| matches!(deletion, Deletion::Key(_)))
                .cloned()
                .collect(),
        };
        Some(Batch {
            deletions,
            generation: self.generation,
        })
    }

    /// The deletions of `batch` have been replayed.
    pub(super) fn done(&mut self, batch: &Batch) {
        if batch.generation != self.generation {
            // Folded meanwhile: the front is now the deletion of everything, still to do.
            return;
        }
        for deletion in &batch.deletions {
            // Only the recovery task removes entries, so the front is the batch; checked
            // all the same, since removing one not replayed would lose it.
            if self.deletions.front() == Some(deletion) {
                self.deletions.pop_front();
                self.waiting.remove(deletion);
                self.replayed += 1;
            }
        }
        if self.deletions.is_empty() {
            self.folded = false;
        }
    }

    /// Gives up the deletions of `batch` (the server refuses them for good), counting them
    /// as dropped.
    pub(super) fn give_up(&mut self, batch: &Batch) {
        let replayed = self.replayed;
        self.done(batch);
        self.dropped += self.replayed - replayed;
        self.replayed = replayed;
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
        Deletion::Key(name.as_bytes().to_vec())
    }

    #[test]
    fn replays_runs_of_keys_then_patterns_in_order() {
        let mut pending = Pending::new(8, "app:*".into());
        pending.push(key("a"));
        pending.push(key("b"));
        pending.push(Deletion::Pattern("p*".into()));
        pending.push(key("c"));
        let batch = pending.next().unwrap();
        assert_eq!(batch.deletions, [key("a"), key("b")]);
        pending.done(&batch);
        let batch = pending.next().unwrap();
        assert_eq!(batch.deletions, [Deletion::Pattern("p*".into())]);
        pending.done(&batch);
        assert_eq!(pending.next().unwrap().deletions, [key("c")]);
        assert_eq!((pending.len(), pending.replayed()), (1, 3));
    }

    #[test]
    fn a_deletion_asked_for_again_waits_once() {
        let mut pending = Pending::new(2, "app:*".into());
        for _ in 0..5 {
            pending.push(key("hot"));
        }
        pending.push(key("other"));
        assert_eq!(pending.len(), 2);
        assert_eq!(pending.dropped(), 0, "nothing folded");
        let batch = pending.next().unwrap();
        pending.done(&batch);
        pending.push(key("hot"));
        assert_eq!(pending.len(), 1, "waits again once replayed");
    }

    #[test]
    fn overflow_folds_into_everything_and_counts_the_dropped() {
        let mut pending = Pending::new(2, "app:*".into());
        assert!(!pending.push(key("a")));
        assert!(!pending.push(key("b")));
        assert!(pending.push(key("c")));
        assert!(!pending.push(key("d")), "covered by the fold");
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending.next().unwrap().deletions,
            [Deletion::Everything("app:*".into())]
        );
        assert_eq!(pending.dropped(), 4);
    }

    #[test]
    fn a_fold_during_a_replay_is_not_lost() {
        let mut pending = Pending::new(1, "*".into());
        pending.push(key("a"));
        let batch = pending.next().unwrap();
        pending.push(key("b"));
        pending.done(&batch);
        assert_eq!(
            pending.next().unwrap().deletions,
            [Deletion::Everything("*".into())]
        );
    }

    #[test]
    fn given_up_deletions_count_as_dropped() {
        let mut pending = Pending::new(4, "*".into());
        pending.push(key("a"));
        let batch = pending.next().unwrap();
        pending.give_up(&batch);
        assert!(pending.is_empty());
        assert_eq!((pending.replayed(), pending.dropped()), (0, 1));
    }
}
