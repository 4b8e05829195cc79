//! Deletions that failed while the server could not take them, kept for replay: an
//! invalidation must not be lost because Redis was down, busy or full when it was asked for.
//!
//! While a deletion waits, the keys it covers are kept away from the cache (see
//! [`Pending::covers`]); every other key works as usual.
//!
//! # Folding
//! The queue holds at most `capacity` deletions. Past that, the exact keys waiting (and the
//! patterns) are folded into the narrowest glob patterns that cover them: grouped by their
//! longest shared beginning, each group becomes `escaped(beginning) + "*"`. A fold may so
//! delete more cache entries than were invalidated, but never a key outside what the
//! waiting deletions themselves could reach through their beginnings, and never with a bare
//! `*` unless a waiting pattern was that wide itself. Deletions of tags and of everything
//! under a prefix (`flush`) are never folded.

use std::collections::HashMap;

use crate::glob;

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

/// The waiting deletions, each once, with the sequence number of the last time it was
/// asked for: a replay removes it only if it was not asked for again meanwhile.
pub(super) struct Pending {
    keys: HashMap<Vec<u8>, u64>,
    /// `Pattern`s and `Everything`s.
    patterns: HashMap<Deletion, u64>,
    tags: HashMap<Vec<u8>, u64>,
    capacity: usize,
    sequence: u64,
    replayed: u64,
    dropped: u64,
}

/// What one replay step does: a run of keys (one `UNLINK`), every waiting pattern (one
/// `SCAN` pass), and every waiting tag.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) keys: Vec<Vec<u8>>,
    pub(super) patterns: Vec<Deletion>,
    pub(super) tags: Vec<Vec<u8>>,
    sequences: Vec<u64>,
}

impl Batch {
    pub(super) fn len(&self) -> usize {
        self.sequences.len()
    }

    /// The batch as its parts (keys, patterns, tags; the empty ones left out), so that a
    /// part the server refuses for good is given up without the others.
    pub(super) fn parts(self) -> Vec<Batch> {
        let (keys, patterns) = (self.keys.len(), self.patterns.len());
        let mut sequences = self.sequences.into_iter();
        let mut take = |n: usize| sequences.by_ref().take(n).collect::<Vec<u64>>();
        let parts = [
            Batch {
                sequences: take(keys),
                keys: self.keys,
                ..Batch::default()
            },
            Batch {
                sequences: take(patterns),
                patterns: self.patterns,
                ..Batch::default()
            },
            Batch {
                sequences: take(usize::MAX),
                tags: self.tags,
                ..Batch::default()
            },
        ];
        parts.into_iter().filter(|part| part.len() > 0).collect()
    }

    fn deletions(&self) -> impl Iterator<Item = (Deletion, u64)> + '_ {
        let keys = self.keys.iter().cloned().map(Deletion::Key);
        let tags = self.tags.iter().cloned().map(Deletion::Tag);
        keys.chain(self.patterns.iter().cloned())
            .chain(tags)
            .zip(self.sequences.iter().copied())
    }
}

/// What [`Pending::push`] did, for a log line.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Pushed {
    /// Kept, or already waiting.
    Kept,
    /// Kept, and the queue was folded to stay within its capacity: `from` deletions into
    /// `to`.
    Folded { from: usize, to: usize },
}

impl Pending {
    pub(super) fn new(capacity: usize) -> Self {
        Pending {
            keys: HashMap::new(),
            patterns: HashMap::new(),
            tags: HashMap::new(),
            capacity: capacity.max(1),
            sequence: 0,
            replayed: 0,
            dropped: 0,
        }
    }

    /// Keeps `deletion` (once, however often it is asked for); folds the queue if it grew
    /// past its capacity.
    pub(super) fn push(&mut self, deletion: Deletion) -> Pushed {
        self.sequence += 1;
        let sequence = self.sequence;
        match deletion {
            Deletion::Key(key) => {
                if self.covered_by_pattern(&key) {
                    // A waiting pattern deletes it anyway.
                    return Pushed::Kept;
                }
                self.keys.insert(key, sequence);
            }
            Deletion::Tag(tag) => {
                self.tags.insert(tag, sequence);
            }
            pattern => {
                self.patterns.insert(pattern, sequence);
            }
        }
        if self.len() <= self.capacity {
            return Pushed::Kept;
        }
        let from = self.len();
        self.fold();
        Pushed::Folded {
            from,
            to: self.len(),
        }
    }

    fn covered_by_pattern(&self, key: &[u8]) -> bool {
        self.patterns.keys().any(|deletion| match deletion {
            Deletion::Pattern(pattern) | Deletion::Everything(pattern) => {
                glob::matches(pattern.as_bytes(), key)
            }
            _ => false,
        })
    }

    /// Folds the keys and patterns waiting into fewer patterns: grouped by the first `n`
    /// characters of their literal beginnings, for the largest `n` that leaves at most half
    /// the room (`n` at least 1, so never into a bare `*`).
    fn fold(&mut self) {
        let room = self
            .capacity
            .saturating_sub(self.tags.len())
            .saturating_sub(self.everything_count())
            / 2;
        let room = room.max(1);
        let mut items: Vec<Foldable> = Vec::new();
        let mut kept_keys = HashMap::new();
        for (key, sequence) in self.keys.drain() {
            match String::from_utf8(key) {
                Ok(key) => items.push(Foldable::key(key, sequence)),
                // Not from the port (whose keys are text): kept as it is.
                Err(error) => {
                    kept_keys.insert(error.into_bytes(), sequence);
                }
            }
        }
        self.keys = kept_keys;
        let patterns: Vec<(Deletion, u64)> = self
            .patterns
            .iter()
            .filter(|(deletion, _)| matches!(deletion, Deletion::Pattern(_)))
            .map(|(deletion, sequence)| (deletion.clone(), *sequence))
            .collect();
        for (deletion, sequence) in patterns {
            if let Deletion::Pattern(pattern) = &deletion {
                self.patterns.remove(&deletion);
                items.push(Foldable::pattern(pattern.clone(), sequence));
            }
        }
        // Groups only grow in number with `n`: the largest `n` within the room, by bisection
        // (`n = 1` if even that makes too many: a fold never goes wider than one character).
        let (mut fits, mut too_many) = (
            1,
            items.iter().map(|item| item.chars).max().unwrap_or(1) + 1,
        );
        while fits + 1 < too_many {
            let n = fits + (too_many - fits) / 2;
            if group_count(&items, n) <= room {
                fits = n;
            } else {
                too_many = n;
            }
        }
        let chosen = fits;
        for group in groups(items, chosen) {
            match <[Foldable; 1]>::try_from(group) {
                Ok([single]) => match single.exact {
                    true => {
                        self.keys
                            .insert(single.beginning.into_bytes(), single.sequence);
                    }
                    false => {
                        self.patterns
                            .insert(Deletion::Pattern(single.original), single.sequence);
                    }
                },
                Err(group) => {
                    let sequence = group.iter().map(|item| item.sequence).max().unwrap_or(0);
                    let beginning = common_beginning(group.iter().map(|item| &*item.beginning));
                    let pattern = format!("{}*", glob::escape(beginning));
                    self.patterns.insert(Deletion::Pattern(pattern), sequence);
                }
            }
        }
        // A key now covered by a new pattern need not wait on its own.
        let patterns: Vec<String> = self
            .patterns
            .keys()
            .filter_map(|deletion| match deletion {
                Deletion::Pattern(pattern) | Deletion::Everything(pattern) => Some(pattern.clone()),
                _ => None,
            })
            .collect();
        self.keys.retain(|key, _| {
            !patterns
                .iter()
                .any(|pattern| glob::matches(pattern.as_bytes(), key))
        });
    }

    fn everything_count(&self) -> usize {
        self.patterns
            .keys()
            .filter(|deletion| matches!(deletion, Deletion::Everything(_)))
            .count()
    }

    /// Whether a read or write of `full_key` must wait for a deletion: one of the key, of a
    /// pattern matching it, or of any tag (whose members only Redis knows).
    pub(super) fn covers(&self, full_key: &[u8]) -> bool {
        !self.tags.is_empty()
            || self.keys.contains_key(full_key)
            || self
                .patterns
                .keys()
                .any(|deletion| deletes(std::slice::from_ref(deletion), full_key))
    }

    /// The next deletions to replay, to hand back to [`done`](Self::done): up to
    /// `KEYS_PER_UNLINK` keys, every pattern and every tag.
    pub(super) fn next(&self) -> Option<Batch> {
        if self.is_empty() {
            return None;
        }
        let mut batch = Batch::default();
        for (key, sequence) in self.keys.iter().take(KEYS_PER_UNLINK) {
            batch.keys.push(key.clone());
            batch.sequences.push(*sequence);
        }
        for (pattern, sequence) in &self.patterns {
            batch.patterns.push(pattern.clone());
            batch.sequences.push(*sequence);
        }
        for (tag, sequence) in &self.tags {
            batch.tags.push(tag.clone());
            batch.sequences.push(*sequence);
        }
        Some(batch)
    }

    /// The deletions of `batch` have been replayed: each is removed unless it was asked for
    /// again since the batch was taken (then it waits for the next replay). Returns how many
    /// were removed.
    pub(super) fn done(&mut self, batch: &Batch) -> u64 {
        let mut removed = 0;
        for (deletion, sequence) in batch.deletions() {
            let gone = match &deletion {
                Deletion::Key(key) => remove_if(&mut self.keys, key, sequence),
                Deletion::Tag(tag) => remove_if(&mut self.tags, tag, sequence),
                pattern => remove_if(&mut self.patterns, pattern, sequence),
            };
            removed += u64::from(gone);
        }
        self.replayed += removed;
        removed
    }

    /// Gives up the deletions of `batch` (the server refuses them for good), counting them
    /// as dropped.
    pub(super) fn give_up(&mut self, batch: &Batch) {
        let removed = self.done(batch);
        self.replayed -= removed;
        self.dropped += removed;
    }

    /// A deletion refused for good when first asked for, never queued.
    pub(super) fn count_dropped(&mut self) {
        self.dropped += 1;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len() + self.patterns.len() + self.tags.len()
    }

    pub(super) fn replayed(&self) -> u64 {
        self.replayed
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// What one `SCAN` for all of `patterns` asks the server to match: the literal beginning
/// they share, escaped, plus `*`; `None` (no `MATCH`) if they share none.
pub(super) fn scan_match(patterns: &[Deletion]) -> Option<String> {
    let beginnings: Vec<String> = patterns
        .iter()
        .map(|deletion| match deletion {
            Deletion::Pattern(pattern) | Deletion::Everything(pattern) => {
                literal_beginning(pattern)
            }
            _ => String::new(),
        })
        .collect();
    let shared = common_beginning(beginnings.iter().map(String::as_str));
    (!shared.is_empty()).then(|| format!("{}*", glob::escape(shared)))
}

/// Whether the replay of `patterns` deletes `key`.
pub(super) fn deletes(patterns: &[Deletion], key: &[u8]) -> bool {
    patterns.iter().any(|deletion| match deletion {
        Deletion::Pattern(pattern) => {
            !super::tags::is_tag_key(key) && glob::matches(pattern.as_bytes(), key)
        }
        Deletion::Everything(pattern) => glob::matches(pattern.as_bytes(), key),
        _ => false,
    })
}

fn remove_if<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u64>, key: &K, sequence: u64) -> bool {
    if map.get(key) == Some(&sequence) {
        map.remove(key);
        true
    } else {
        false
    }
}

/// A key or a pattern, by the literal beginning every key it deletes starts with.
struct Foldable {
    /// The key itself, or a pattern's characters before its first wildcard (unescaped).
    beginning: String,
    chars: usize,
    /// A key (exactly `beginning`), not a pattern.
    exact: bool,
    original: String,
    sequence: u64,
}

impl Foldable {
    fn key(key: String, sequence: u64) -> Self {
        Self {
            chars: key.chars().count(),
            beginning: key.clone(),
            exact: true,
            original: key,
            sequence,
        }
    }

    fn pattern(pattern: String, sequence: u64) -> Self {
        let beginning = literal_beginning(&pattern);
        Self {
            chars: beginning.chars().count(),
            beginning,
            exact: false,
            original: pattern,
            sequence,
        }
    }

    /// The group it falls in when grouping by `n` characters: its first `n`; an item
    /// shorter than that (or a pattern as wide as `*`) is a group of its own kind.
    fn group(&self, n: usize) -> &str {
        match self.beginning.char_indices().nth(n) {
            Some((end, _)) => &self.beginning[..end],
            None => &self.beginning,
        }
    }
}

/// The characters every key matching `pattern` starts with: up to its first `*`, `?` or
/// `[`, with escapes resolved.
fn literal_beginning(pattern: &str) -> String {
    let mut beginning = String::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '*' | '?' | '[' => break,
            '\\' => match chars.next() {
                Some(escaped) => beginning.push(escaped),
                // A trailing `\` matches itself.
                None => beginning.push('\\'),
            },
            ch => beginning.push(ch),
        }
    }
    beginning
}

fn group_count(items: &[Foldable], n: usize) -> usize {
    let mut seen: Vec<&str> = items.iter().map(|item| item.group(n)).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// `items` grouped by their first `n` characters; an item with an empty beginning (a
/// pattern such as `*x`) stays alone, so that a fold never makes a bare `*`.
fn groups(items: Vec<Foldable>, n: usize) -> Vec<Vec<Foldable>> {
    let mut by_group: HashMap<String, Vec<Foldable>> = HashMap::new();
    let mut alone = Vec::new();
    for item in items {
        if item.beginning.is_empty() {
            alone.push(vec![item]);
        } else {
            by_group
                .entry(item.group(n).to_owned())
                .or_default()
                .push(item);
        }
    }
    by_group.into_values().chain(alone).collect()
}

/// The longest beginning all of `texts` share, on a character boundary.
fn common_beginning<'a>(mut texts: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = texts.next() else {
        return "";
    };
    let mut end = first.len();
    for text in texts {
        end = first[..end]
            .char_indices()
            .zip(text.chars())
            .find(|((_, a), b)| a != b)
            .map_or(end.min(text.len()), |((at, _), _)| at);
        while !first.is_char_boundary(end) {
            end -= 1;
        }
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Deletion {
        Deletion::Key(name.as_bytes().to_vec())
    }

    fn pattern(pattern: &str) -> Deletion {
        Deletion::Pattern(pattern.to_owned())
    }

    fn replay_all(pending: &mut Pending) -> Batch {
        let batch = pending.next().unwrap();
        pending.done(&batch);
        batch
    }

    #[test]
    fn one_batch_holds_keys_every_pattern_and_every_tag() {
        let mut pending = Pending::new(8);
        pending.push(key("a"));
        pending.push(key("b"));
        pending.push(pattern("p*"));
        pending.push(Deletion::Tag(b"t".to_vec()));
        let batch = pending.next().unwrap();
        let mut keys = batch.keys.clone();
        keys.sort();
        assert_eq!(keys, [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(batch.patterns, [pattern("p*")]);
        assert_eq!(batch.tags, [b"t".to_vec()]);
        assert_eq!(pending.done(&batch), 4);
        assert!(pending.is_empty());
        assert_eq!(pending.replayed(), 4);
    }

    #[test]
    fn a_part_given_up_leaves_the_others_waiting() {
        let mut pending = Pending::new(8);
        pending.push(key("a"));
        pending.push(pattern("p*"));
        pending.push(Deletion::Tag(b"t".to_vec()));
        let parts = pending.next().unwrap().parts();
        assert_eq!(parts.len(), 3);
        pending.give_up(&parts[0]);
        assert_eq!((pending.len(), pending.dropped()), (2, 1));
        pending.done(&parts[2]);
        assert_eq!((pending.len(), pending.replayed()), (1, 1));
        let rest = pending.next().unwrap();
        assert_eq!(rest.patterns, [pattern("p*")]);
    }

    #[test]
    fn a_deletion_asked_for_again_waits_once_and_again_after_a_replay_started() {
        let mut pending = Pending::new(2);
        for _ in 0..5 {
            pending.push(key("hot"));
        }
        assert_eq!(pending.len(), 1);
        let batch = pending.next().unwrap();
        pending.push(key("hot"));
        pending.done(&batch);
        assert_eq!(
            pending.len(),
            1,
            "asked for during the replay: replayed again"
        );
        replay_all(&mut pending);
        assert!(pending.is_empty());
    }

    #[test]
    fn a_key_under_a_waiting_pattern_is_not_kept_twice() {
        let mut pending = Pending::new(8);
        pending.push(pattern("user:*"));
        pending.push(key("user:1"));
        assert_eq!(pending.len(), 1);
    }

    #[test]
    fn overflow_folds_keys_into_the_narrowest_patterns_never_a_bare_star() {
        let mut pending = Pending::new(5);
        for id in 0..20 {
            pending.push(key(&format!("user:{id}")));
        }
        assert!(pending.len() <= 5, "{}", pending.len());
        let batch = pending.next().unwrap();
        assert!(batch.keys.is_empty(), "{batch:?}");
        assert_eq!(batch.patterns, [pattern("user:*")]);
        for id in 0..20 {
            assert!(pending.covers(format!("user:{id}").as_bytes()));
        }
        assert!(
            !pending.covers(b"session:1"),
            "nothing outside what was invalidated"
        );
        assert!(!pending.covers(b"users"));
        assert_eq!(pending.dropped(), 0, "widened, not dropped");
        assert_eq!(pending.done(&batch), 1);
        assert!(pending.is_empty());
    }

    #[test]
    fn overflow_keeps_unrelated_groups_apart() {
        let mut pending = Pending::new(4);
        for id in 0..3 {
            pending.push(key(&format!("user:{id}")));
            pending.push(key(&format!("order:{id}")));
        }
        let batch = pending.next().unwrap();
        let mut patterns = batch.patterns.clone();
        patterns.sort_by_key(|deletion| format!("{deletion:?}"));
        assert_eq!(patterns, [pattern("order:*"), pattern("user:*")]);
        assert!(!pending.covers(b"session:1"));
    }

    #[test]
    fn keys_with_nothing_in_common_fold_by_their_first_character_not_into_star() {
        let mut pending = Pending::new(2);
        for name in ["apple", "avocado", "banana", "blueberry", "cherry"] {
            pending.push(key(name));
        }
        for name in ["apple", "avocado", "banana", "blueberry", "cherry"] {
            assert!(pending.covers(name.as_bytes()), "{name}");
        }
        let batch = pending.next().unwrap();
        assert!(
            batch.patterns.iter().all(|p| p != &pattern("*")),
            "{batch:?}"
        );
        assert!(!pending.covers(b"date"));
    }

    #[test]
    fn patterns_fold_by_their_literal_beginning_and_escapes_are_kept() {
        let mut pending = Pending::new(2);
        pending.push(pattern("user:1:*"));
        pending.push(pattern("user:2:*"));
        pending.push(pattern("user:3:?x"));
        pending.push(key("a*b:1"));
        pending.push(key("a*b:2"));
        assert!(pending.covers(b"user:3:yx"));
        assert!(pending.covers(b"a*b:1"));
        assert!(pending.covers(b"a*b:2"));
        assert!(!pending.covers(b"aXb:1"), "the `*` in a key stays literal");
        assert!(!pending.covers(b"session"));
    }

    #[test]
    fn tags_block_every_key_patterns_spare_tag_sets() {
        let mut pending = Pending::new(8);
        pending.push(pattern("*"));
        assert!(pending.covers(b"anything"));
        assert!(!pending.covers(b"p\xFFcache-aside:tag:t"));
        let mut pending = Pending::new(8);
        pending.push(Deletion::Tag(b"p\xFFcache-aside:tag:t".to_vec()));
        assert!(pending.covers(b"anything"));
    }

    #[test]
    fn one_scan_matches_what_every_pattern_shares() {
        let patterns = [pattern("app:user:*"), pattern("app:order:1?")];
        assert_eq!(scan_match(&patterns).as_deref(), Some("app:*"));
        assert!(deletes(&patterns, b"app:order:12"));
        assert!(!deletes(&patterns, b"app:order:123"));
        assert!(!deletes(&[pattern("app:*")], b"app:\xFFcache-aside:tag:t"));
        let everything = Deletion::Everything("app:*".into());
        assert!(deletes(&[everything], b"app:\xFFcache-aside:tag:t"));
        assert_eq!(scan_match(&[pattern("a*"), pattern("b*")]), None);
        assert_eq!(scan_match(&[pattern("a\\*b*")]).as_deref(), Some("a\\*b*"));
    }

    #[test]
    fn given_up_deletions_count_as_dropped() {
        let mut pending = Pending::new(4);
        pending.push(key("a"));
        let batch = pending.next().unwrap();
        pending.give_up(&batch);
        assert!(pending.is_empty());
        assert_eq!((pending.replayed(), pending.dropped()), (0, 1));
    }

    #[test]
    fn common_beginnings_stop_at_a_character_boundary() {
        assert_eq!(common_beginning(["user:1", "user:2"].into_iter()), "user:");
        assert_eq!(common_beginning(["é1", "è2"].into_iter()), "");
        assert_eq!(common_beginning(["ab", "abc"].into_iter()), "ab");
    }
}
