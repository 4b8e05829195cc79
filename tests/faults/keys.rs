//! Awkward keys: spaces, CR LF, tabs, unicode, glob metacharacters, 10 KB. Each is cached
//! under exactly its own bytes and hit, an `#[invalidate]` of the key deletes it and nothing
//! else, and a pattern built from it deletes exactly the keys that start with it.

use std::sync::atomic::{AtomicU64, Ordering};

use cache_aside::{SharedCache, cached, invalidate};

use crate::support::backend::Backend;

#[cached(key = "weird:{name}", cache = cache)]
async fn weird(cache: &SharedCache, bodies: &AtomicU64, name: &str) -> String {
    bodies.fetch_add(1, Ordering::SeqCst);
    format!("value of {name}")
}

#[invalidate(key = "weird:{name}", cache = cache)]
async fn forget(cache: &SharedCache, name: &str) {}

#[invalidate(pattern = "weird:{name}*", cache = cache)]
async fn forget_starting_with(cache: &SharedCache, name: &str) {}

fn names() -> Vec<String> {
    let mut names: Vec<String> = [
        "with space",
        "with",
        "line\r\nbreak",
        "tab\there",
        "ünïcødé 日本語 🦀",
        "*",
        "a",
        "a?b",
        "axb",
        "[ab]",
        "b",
        "[^a]",
        r"back\slash",
        r"back",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    names.push("x".repeat(10 * 1024));
    // 10 bytes a repetition, every kind of awkward character: 10 KB.
    names.push("é*?[]\\ \r\n".repeat(1024));
    names
}

/// A name for a message: its first 40 characters, escaped.
fn short(name: &str) -> String {
    format!("{:?}", name.chars().take(40).collect::<String>())
}

fn key(name: &str) -> String {
    format!("weird:{name}")
}

fn json(name: &str) -> String {
    serde_json::to_string(&format!("value of {name}")).unwrap()
}

/// Whether each name's entry is stored; `expected` says which must be.
async fn check(store: &Backend, names: &[String], expected: impl Fn(&str) -> bool, what: &str) {
    for name in names {
        let stored = store.stored(&key(name)).await;
        if expected(name) {
            assert_eq!(
                stored,
                Some(json(name)),
                "{what}: {} is stored",
                short(name)
            );
        } else {
            assert_eq!(stored, None, "{what}: {} was deleted", short(name));
        }
    }
}

pub async fn awkward_keys_are_cached_and_invalidated_exactly(store: Backend) {
    let names = names();
    let bodies = AtomicU64::new(0);
    for name in &names {
        let loads = bodies.load(Ordering::SeqCst);
        assert_eq!(
            weird(&store.cache, &bodies, name).await,
            format!("value of {name}")
        );
        assert_eq!(
            weird(&store.cache, &bodies, name).await,
            format!("value of {name}")
        );
        assert_eq!(
            bodies.load(Ordering::SeqCst),
            loads + 1,
            "{}: a miss, then a hit",
            short(name)
        );
    }
    check(&store, &names, |_| true, "cached").await;

    for name in &names {
        forget(&store.cache, name).await;
        check(&store, &names, |other| other != name, "forget").await;
        weird(&store.cache, &bodies, name).await;
    }

    for name in &names {
        forget_starting_with(&store.cache, name).await;
        check(
            &store,
            &names,
            |other| !other.starts_with(name.as_str()),
            &format!("forget_starting_with({})", short(name)),
        )
        .await;
        for other in &names {
            weird(&store.cache, &bodies, other).await;
        }
    }
}
