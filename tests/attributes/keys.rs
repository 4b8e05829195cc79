//! The key that lands in the store: templates, field paths, literal braces, default keys.

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_aside::{SharedCache, cached};
use serde::{Deserialize, Serialize};

use crate::support::backend::Backend;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
}

#[cached(key = "{ns}:user:{id}", cache = cache)]
async fn user(cache: &SharedCache, calls: &AtomicUsize, ns: &str, id: u64) -> User {
    calls.fetch_add(1, Ordering::SeqCst);
    User {
        id,
        name: format!("user {id}"),
    }
}

/// The body consumes the parameter the key was rendered from.
#[cached(key = "{ns}:echo:{name}", cache = cache)]
async fn echo(cache: &SharedCache, ns: &str, name: String) -> String {
    name
}

pub async fn template_key_and_json_value_land(b: Backend) {
    let calls = AtomicUsize::new(0);
    let ada = User {
        id: 7,
        name: "user 7".into(),
    };
    assert_eq!(user(&b.cache, &calls, &b.ns, 7).await, ada);
    assert_eq!(
        b.stored(&b.key("user:7")).await.as_deref(),
        Some(r#"{"id":7,"name":"user 7"}"#)
    );
    assert_eq!(user(&b.cache, &calls, &b.ns, 7).await, ada, "a hit");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the second call is a hit");
    // Another id is another key.
    assert_eq!(user(&b.cache, &calls, &b.ns, 8).await.id, 8);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(b.stored(&b.key("user:8")).await.is_some());

    assert_eq!(echo(&b.cache, &b.ns, "moved".to_owned()).await, "moved");
    assert_eq!(
        b.stored(&b.key("echo:moved")).await.as_deref(),
        Some(r#""moved""#)
    );
}

pub struct Customer {
    pub id: u32,
    pub region: &'static str,
}

pub struct Order {
    pub customer: Customer,
    pub number: u64,
}

#[cached(key = "{ns}:{{literal}}:{id}:{{}}", cache = cache)]
async fn braces(cache: &SharedCache, ns: &str, id: u64) -> u64 {
    id * 2
}

#[cached(
    key = "{ns}:order:{order.customer.region}/{order.customer.id}/{order.number}:{pair.0}-{pair.1}",
    cache = cache
)]
async fn order_total(cache: &SharedCache, ns: &str, order: &Order, pair: (u8, char)) -> u64 {
    order.number + u64::from(pair.0)
}

pub async fn literal_braces_and_field_paths(b: Backend) {
    assert_eq!(braces(&b.cache, &b.ns, 21).await, 42);
    assert_eq!(
        b.stored(&b.key("{literal}:21:{}")).await.as_deref(),
        Some("42")
    );

    let order = Order {
        customer: Customer {
            id: 5,
            region: "eu",
        },
        number: 100,
    };
    assert_eq!(order_total(&b.cache, &b.ns, &order, (3, 'x')).await, 103);
    assert_eq!(
        b.stored(&b.key("order:eu/5/100:3-x")).await.as_deref(),
        Some("103")
    );
}

/// A service whose methods use the default key: the receiver's type, the name, then every
/// parameter but the receiver.
pub struct Catalog {
    pub cache: SharedCache,
    pub calls: AtomicUsize,
}

impl Catalog {
    #[cached(cache = self.cache)]
    async fn describe(&self, ns: &str, name: &str, size: u32) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        format!("{name}/{size}")
    }
}

pub async fn default_key_is_module_function_and_escaped_arguments(b: Backend) {
    let catalog = Catalog {
        cache: b.cache.clone(),
        calls: AtomicUsize::new(0),
    };
    assert_eq!(catalog.describe(&b.ns, "plain", 7).await, "plain/7");
    let plain = format!("attributes::keys::Catalog::describe:{}:plain:7", b.ns);
    assert_eq!(b.stored(&plain).await.as_deref(), Some(r#""plain/7""#));

    // `:` and `\` in a value are escaped, so these two argument lists cannot collide.
    assert_eq!(catalog.describe(&b.ns, r"a:b\c", 1).await, r"a:b\c/1");
    let escaped = format!(r"attributes::keys::Catalog::describe:{}:a\:b\\c:1", b.ns);
    assert_eq!(b.stored(&escaped).await.as_deref(), Some(r#""a:b\\c/1""#));

    assert_eq!(catalog.describe(&b.ns, r"a:b\c", 1).await, r"a:b\c/1");
    assert_eq!(
        catalog.calls.load(Ordering::SeqCst),
        2,
        "the repeat is a hit"
    );
}

/// Two types with a method of the same name, in one module.
pub struct Users(pub SharedCache);
pub struct Orders(pub SharedCache);

impl Users {
    #[cached(cache = self.0)]
    async fn get(&self, ns: &str, id: u32) -> String {
        format!("user {id}")
    }
}

impl Orders {
    #[cached(cache = self.0)]
    async fn get(&self, ns: &str, id: u32) -> String {
        format!("order {id}")
    }
}

pub trait Named {
    const NAME: &'static str;
}

pub struct Apple;
pub struct Pear;

impl Named for Apple {
    const NAME: &'static str = "apple";
}

impl Named for Pear {
    const NAME: &'static str = "pear";
}

pub struct Namer(pub SharedCache);

impl Namer {
    #[cached(cache = self.0)]
    async fn name_of<T: Named>(&self, ns: &str) -> String {
        T::NAME.to_owned()
    }
}

pub async fn default_keys_tell_types_and_instantiations_apart(b: Backend) {
    assert_eq!(Users(b.cache.clone()).get(&b.ns, 1).await, "user 1");
    assert_eq!(Orders(b.cache.clone()).get(&b.ns, 1).await, "order 1");
    assert_eq!(Users(b.cache.clone()).get(&b.ns, 1).await, "user 1");

    let namer = Namer(b.cache.clone());
    assert_eq!(namer.name_of::<Apple>(&b.ns).await, "apple");
    assert_eq!(namer.name_of::<Pear>(&b.ns).await, "pear");
    let key = format!(
        "attributes::keys::Namer::name_of<attributes::keys::Pear>:{}",
        b.ns
    );
    assert_eq!(b.stored(&key).await.as_deref(), Some(r#""pear""#));
}
