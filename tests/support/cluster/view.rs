//! What one node says of the cluster: `CLUSTER NODES` and `CLUSTER INFO`, parsed.

use std::fmt;

/// One node's `CLUSTER NODES`: every node it knows, as it sees them.
pub(super) struct View {
    entries: Vec<Entry>,
    /// The reply as it came, for messages.
    text: String,
}

/// (first slot, last slot, id of the node serving them), sorted.
pub(super) type SlotMap = Vec<(u16, u16, String)>;

/// What nodes must agree on before the cluster counts as settled: who
/// serves which slots, and who replicates whom.
#[derive(PartialEq)]
pub(super) struct Layout {
    slots: SlotMap,
    /// (node id, its primary's id if a replica), sorted.
    roles: Vec<(String, Option<String>)>,
}

/// One line of `CLUSTER NODES`.
pub(super) struct Entry {
    pub(super) id: String,
    pub(super) port: u16,
    /// `myself`, `master`, `slave`, `fail?`, `fail`, `handshake`, `noaddr`, …
    flags: Vec<String>,
    /// The primary's id, for a replica.
    pub(super) primary_id: Option<String>,
    /// Whether the bus link to it is up.
    pub(super) connected: bool,
    /// Inclusive ranges of the slots it serves.
    pub(super) slots: Vec<(u16, u16)>,
    /// Slots being moved (only on the `myself` line): (slot, other node's id, importing?).
    pub(super) migrations: Vec<(u16, String, bool)>,
}

impl View {
    /// Asks `CLUSTER NODES` on this connection.
    pub(super) fn ask(con: &mut redis::Connection) -> redis::RedisResult<View> {
        let text: String = redis::cmd("CLUSTER").arg("NODES").query(con)?;
        View::parse(text).map_err(|why| {
            redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "unexpected CLUSTER NODES line",
                why,
            ))
        })
    }

    fn parse(text: String) -> Result<View, String> {
        let entries = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| Entry::parse(line).ok_or_else(|| line.to_owned()))
            .collect::<Result<_, _>>()?;
        Ok(View { entries, text })
    }

    pub(super) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The line of the node that answered.
    pub(super) fn myself(&self) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.has_flag("myself"))
    }

    /// The node it says serves `slot`.
    pub(super) fn owner(&self, slot: u16) -> Option<&Entry> {
        self.entries.iter().find(|entry| {
            entry
                .slots
                .iter()
                .any(|&(first, last)| (first..=last).contains(&slot))
        })
    }

    /// Who serves which slots, in a form two views can be compared by.
    pub(super) fn slot_map(&self) -> SlotMap {
        let mut map: SlotMap = self
            .entries
            .iter()
            .flat_map(|entry| {
                entry
                    .slots
                    .iter()
                    .map(|&(first, last)| (first, last, entry.id.clone()))
            })
            .collect();
        map.sort_unstable();
        map
    }

    /// Who serves which slots and who replicates whom, as it says.
    pub(super) fn layout(&self) -> Layout {
        let mut roles: Vec<(String, Option<String>)> = self
            .entries
            .iter()
            .map(|entry| (entry.id.clone(), entry.primary_id.clone()))
            .collect();
        roles.sort_unstable();
        Layout {
            slots: self.slot_map(),
            roles,
        }
    }

    /// How many slots it says are served.
    pub(super) fn served_slots(&self) -> u32 {
        self.entries
            .iter()
            .flat_map(|entry| &entry.slots)
            .map(|&(first, last)| u32::from(last - first) + 1)
            .sum()
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text.trim_end())
    }
}

impl Entry {
    fn parse(line: &str) -> Option<Entry> {
        let mut fields = line.split_whitespace();
        let id = fields.next()?.to_owned();
        // ip:port@cport[,hostname]
        let address = fields.next()?;
        let port = address
            .split('@')
            .next()?
            .rsplit(':')
            .next()?
            .parse()
            .ok()?;
        let flags = fields.next()?.split(',').map(str::to_owned).collect();
        let primary_id = Some(fields.next()?)
            .filter(|id| *id != "-")
            .map(str::to_owned);
        let _ping_sent = fields.next()?;
        let _pong_received = fields.next()?;
        let _config_epoch = fields.next()?;
        let connected = fields.next()? == "connected";
        let mut slots = Vec::new();
        let mut migrations = Vec::new();
        for field in fields {
            if let Some(mark) = field.strip_prefix('[').and_then(|m| m.strip_suffix(']')) {
                // [slot->-id] migrating to id, [slot-<-id] importing from id
                let (slot, other, importing) = match mark.split_once("->-") {
                    Some((slot, id)) => (slot, id, false),
                    None => {
                        let (slot, id) = mark.split_once("-<-")?;
                        (slot, id, true)
                    }
                };
                migrations.push((slot.parse().ok()?, other.to_owned(), importing));
            } else {
                let (first, last) = field.split_once('-').unwrap_or((field, field));
                slots.push((first.parse().ok()?, last.parse().ok()?));
            }
        }
        Some(Entry {
            id,
            port,
            flags,
            primary_id,
            connected,
            slots,
            migrations,
        })
    }

    pub(super) fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub(super) fn is_primary(&self) -> bool {
        self.has_flag("master")
    }

    /// Flagged `fail` or `fail?`.
    pub(super) fn is_failing(&self) -> bool {
        self.has_flag("fail") || self.has_flag("fail?")
    }

    /// Anything but a settled, reachable member: failing, or still in handshake, or without address.
    pub(super) fn is_unsettled(&self) -> bool {
        self.is_failing() || self.has_flag("handshake") || self.has_flag("noaddr")
    }
}

/// One field of an `INFO` or `CLUSTER INFO` reply (`name:value` lines).
pub(super) fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}
