//! The benchmark suite of issue 11: one table of ratios, measured in one run.
//!
//!     cargo bench --bench suite                      # about two minutes
//!     SUITE_QUICK=1 cargo bench --bench suite        # about 30 s
//!     SUITE_SECTION=in-process cargo bench --bench suite
//!
//! It starts its own `redis-server` (a free port, never 6379, no persistence), fills it with
//! the JSON of a small struct, and measures, in rounds that alternate the contenders of
//! each scenario:
//!
//! 1. Redis hits with 1, 64 and 256 tasks over 1,000 and 1,000,000 keys: raw redis-rs by
//!    hand (the floor), `RedisCache::get`, `get_or_load` and `#[cached]`, with coalescing
//!    on and off, and with two connections;
//! 2. hits in process memory: `#[cached]` on the first tier and on `MemoryCache`, against a
//!    bare `moka::future::Cache::get`, and redis-rs's own client-side cache;
//! 3. a cold miss through `#[cached]` against `GET` + `SET EX` by hand;
//! 4. the client's CPU time and allocations per hit.
//!
//! Each ratio divides a contender's figure by its scenario's baseline in the same round;
//! the table gives the median over the rounds. Nothing here is asserted: the figures move
//! with the machine's load, and the targets are reported, met or missed. See the
//! "Benchmarks" part of `docs/design.md` for what each row means.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "suite/allocations.rs"]
mod allocations;
#[path = "suite/cold_miss.rs"]
mod cold_miss;
#[path = "suite/commands.rs"]
mod commands;
#[path = "suite/contenders.rs"]
mod contenders;
#[path = "suite/cost.rs"]
mod cost;
#[path = "suite/cpu.rs"]
mod cpu;
#[path = "suite/fixture.rs"]
mod fixture;
#[path = "suite/in_process.rs"]
mod in_process;
#[path = "suite/machine.rs"]
mod machine;
#[path = "suite/measure.rs"]
mod measure;
#[path = "suite/misses.rs"]
mod misses;
#[path = "suite/redis_hits.rs"]
mod redis_hits;
#[path = "suite/rounds.rs"]
mod rounds;
#[path = "suite/settings.rs"]
mod settings;
#[path = "suite/table.rs"]
mod table;

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use commands::Commands;
use machine::load_average;
use measure::{Drive, Hit, Keys, Sample};
use rounds::{Entry, Series};
use settings::{Section, Settings};
use table::Table;

#[global_allocator]
static ALLOCATOR: allocations::Counting = allocations::Counting;

/// What a section is: it measures, then adds its rows to the table.
type SectionRun = fn(&Suite, &mut Table);

/// Users every section reads (the hot keys); section 1 adds up to a million.
const HOT_USERS: u64 = 1_000;

/// What every section measures with.
struct Suite {
    runtime: tokio::runtime::Runtime,
    settings: Settings,
    server: support::RedisServer,
    /// A plain connection for `INFO commandstats` and the fill.
    inspect: RefCell<redis::Connection>,
    /// Users `0..users` are in Redis.
    users: Cell<u64>,
    notes: RefCell<Vec<String>>,
}

impl Suite {
    /// Runs `contenders` (label, contender, the ids it asks for; the first is the baseline)
    /// in alternating rounds, driven as `drive` says.
    fn alternate<'a, C: Hit>(
        &'a self,
        drive: Drive,
        contenders: impl IntoIterator<Item = (&'a str, &'a C, Keys)>,
    ) -> Vec<Series> {
        let entries = contenders
            .into_iter()
            .map(|(label, contender, keys)| {
                Entry::new(label, move |window| {
                    self.measure(drive, contender, &keys, window)
                })
            })
            .collect();
        rounds::alternate(&self.settings, entries)
    }

    /// One phase of `contender` (see `measure::phase`), and what the server ran meanwhile.
    fn measure<C: Hit>(
        &self,
        drive: Drive,
        contender: &C,
        keys: &Keys,
        window: Duration,
    ) -> Sample {
        let before = Commands::read(&mut self.inspect.borrow_mut());
        let mut sample = measure::phase(&self.runtime, drive, contender, keys, window);
        sample.commands = Some(Commands::read(&mut self.inspect.borrow_mut()).since(&before));
        sample
    }

    /// Makes sure users `0..count` are in Redis.
    fn ensure_users(&self, count: u64) {
        let have = self.users.get();
        if have >= count {
            return;
        }
        eprintln!("suite: writing users {have}..{count} into Redis");
        let took = fixture::fill(&mut self.inspect.borrow_mut(), have..count, HOT_USERS);
        self.users.set(count);
        self.note(format!(
            "Filled users {}..{} ({} keys) in {:.1} s (pipelined; `SET ... EX` below {HOT_USERS}, \
             `MSET` above).",
            have,
            count,
            table::thousands((count - have) as f64),
            took.as_secs_f64()
        ));
    }

    fn note(&self, note: String) {
        self.notes.borrow_mut().push(note);
    }

    /// The plain connection, for a section's own inspection.
    fn inspect(&self) -> std::cell::RefMut<'_, redis::Connection> {
        self.inspect.borrow_mut()
    }
}

fn main() {
    if !machine::asked_to_run() {
        return;
    }
    let started = Instant::now();
    let load_before = load_average();
    let settings = Settings::from_env();
    let runtime = machine::runtime();
    // The harness starts it with `--save "" --appendonly no`: nothing touches the disk.
    let server = support::RedisServer::start();
    let inspect = RefCell::new(server.raw());
    let suite = Suite {
        runtime,
        settings,
        server,
        inspect,
        users: Cell::new(0),
        notes: RefCell::new(Vec::new()),
    };
    suite.ensure_users(HOT_USERS);

    let mut table = Table::default();
    let sections: [(Section, SectionRun); 4] = [
        (Section::RedisHits, redis_hits::run),
        (Section::InProcess, in_process::run),
        (Section::ColdMiss, cold_miss::run),
        (Section::Cost, cost::run),
    ];
    for (section, run) in sections {
        if suite.settings.runs(section) {
            let section_started = Instant::now();
            run(&suite, &mut table);
            eprintln!(
                "suite: section {} done in {:.1} s",
                section as u8,
                section_started.elapsed().as_secs_f64()
            );
        }
    }
    table.notes.extend(suite.notes.take());

    println!();
    println!("{}", header(&suite, started.elapsed(), &load_before));
    println!();
    print!("{}", table.render());
}

fn header(suite: &Suite, took: Duration, load_before: &str) -> String {
    let version = machine::redis_version(&mut suite.inspect());
    let settings = &suite.settings;
    format!(
        "cache-aside benchmark suite{}: redis-server {version} on loopback, values of {} bytes \
         of JSON; {} rounds of {} ms per contender, alternating; a multi-thread Tokio runtime \
         with {} workers; {} logical CPUs, load average {load_before} before and {} after; \
         {:.0} s in all.",
        if settings.quick { " (SUITE_QUICK)" } else { "" },
        fixture::value_size(),
        settings.rounds,
        settings.window.as_millis(),
        machine::WORKERS,
        std::thread::available_parallelism().map_or(0, usize::from),
        load_average(),
        took.as_secs_f64()
    )
}
