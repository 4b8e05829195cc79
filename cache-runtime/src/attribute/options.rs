//! What one `#[cached]` call's miss needs to know besides its key: the TTL, the lease and the
//! tags, and the checks of the `ttl = ...` and `lease = ...` arguments.

use std::time::Duration;

use super::shape::ReturnKind;
use crate::error::{CacheError, ErrorCode};
use crate::expiry::MAX_TTL;
use crate::lease::DEFAULT_LEASE;

/// How a `#[cached]` call fills a key it missed; `T` finds the TTL (a [`StoreTtl`]).
#[doc(hidden)]
pub struct MissOptions<T> {
    pub(super) ttl: T,
    /// How long the lease lives, and how long a caller waits for another's load.
    pub(super) lease: Duration,
    pub(super) tags: Vec<String>,
}

impl<T> MissOptions<T> {
    /// The tags as the port takes them.
    pub(super) fn tag_refs(&self) -> Vec<&str> {
        self.tags.iter().map(String::as_str).collect()
    }
}

/// `#[cached]`'s `ttl`, `lease` (default [`DEFAULT_LEASE`]) and rendered `tags` for one call.
#[doc(hidden)]
pub fn miss_options<T>(ttl: T, lease: Option<Duration>, tags: Vec<String>) -> MissOptions<T> {
    MissOptions {
        ttl,
        // A zero lease would be refused by the store; the shortest one is as good.
        lease: lease.unwrap_or(DEFAULT_LEASE).max(Duration::from_millis(1)),
        tags,
    }
}

/// How the TTL of a stored value `V` is found: known before the body (`Option<Duration>`,
/// `None` for no expiry), or as `ttl = ...` gave it ([`FromArgument`]: a `Duration`, or a
/// function of the value called after the body).
#[doc(hidden)]
pub trait StoreTtl<V> {
    /// The TTL as known before the body runs, for the tags' records (which must outlive the
    /// value): `None` when there is none, or when only the value will tell.
    fn before_load(&self) -> Option<Duration>;
    /// The TTL to store `value` with; see [`Keep`] for a zero or an absurd one.
    fn of(self, value: &V) -> Option<Duration>;
}

impl<V> StoreTtl<V> for Option<Duration> {
    fn before_load(&self) -> Option<Duration> {
        *self
    }
    fn of(self, _: &V) -> Option<Duration> {
        self
    }
}

/// What `ttl = <expression>` takes: a `Duration`, or a function of the stored value `&V`
/// that returns one (a function's name, `ttl = margin`, where a closure would be a
/// redundant one).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`ttl = ...` takes a `Duration`, or a function of the stored value `&{V}` that \
               returns one; `{Self}` is neither",
    label = "expected a `Duration`, or a function of `&{V}` returning one"
)]
pub trait TtlArgument<V>: Sized {
    /// The TTL known before the body: the `Duration`'s, none for a function.
    fn before_load(&self) -> Option<Duration>;
    /// The TTL of `value`.
    fn of(self, value: &V) -> Duration;
}

impl<V> TtlArgument<V> for Duration {
    fn before_load(&self) -> Option<Duration> {
        Some(*self)
    }
    fn of(self, _: &V) -> Duration {
        self
    }
}

// No overlap with `Duration`: the `Fn` traits are `#[fundamental]`, so a type that does not
// implement them now never will.
impl<V, F: FnOnce(&V) -> Duration> TtlArgument<V> for F {
    fn before_load(&self) -> Option<Duration> {
        None
    }
    fn of(self, value: &V) -> Duration {
        self(value)
    }
}

/// `ttl = <expression>`, a [`TtlArgument`], as a [`StoreTtl`]: its methods are taken where
/// the bound is known, so that this type is a `StoreTtl` without it, and an argument of
/// another type is reported once, at [`ttl`], not again wherever the TTL is used.
#[doc(hidden)]
pub struct FromArgument<V, T> {
    argument: T,
    before_load: fn(&T) -> Option<Duration>,
    of: fn(T, &V) -> Duration,
}

impl<V, T> StoreTtl<V> for FromArgument<V, T> {
    fn before_load(&self) -> Option<Duration> {
        (self.before_load)(&self.argument)
    }
    fn of(self, value: &V) -> Option<Duration> {
        Some((self.of)(self.argument, value))
    }
}

/// `ttl = <expression>` for the return kind `kind`: a `Duration`, or a function of the
/// stored value; the bound that reports anything else.
#[doc(hidden)]
pub fn ttl<R, V, T: TtlArgument<V>>(_kind: &ReturnKind<R, V>, argument: T) -> FromArgument<V, T> {
    FromArgument {
        argument,
        before_load: T::before_load,
        of: T::of,
    }
}

/// `ttl = <closure>`: the closure must take the stored value `&V` of the return kind `kind`
/// and return a `Duration`. This bound, on the closure itself, is what gives an unannotated
/// closure its argument type, and reports a closure of another signature at the closure.
#[doc(hidden)]
pub fn ttl_from<R, V, F>(kind: &ReturnKind<R, V>, closure: F) -> FromArgument<V, F>
where
    F: FnOnce(&V) -> Duration,
{
    ttl(kind, closure)
}

/// What a call does with a value, by the TTL it got.
pub(super) enum Keep {
    /// Store it, for this long (`None`: no expiry).
    For(Option<Duration>),
    /// Do not store it: the TTL is zero.
    Not,
}

impl Keep {
    /// A TTL from `ttl = ...` for the value at `key`. Zero means "do not store this one"; a
    /// TTL over the 100 years every cache accepts is an error, reported before anything
    /// is sent.
    pub(super) fn of(ttl: Option<Duration>, key: &str) -> Result<Keep, CacheError> {
        match ttl {
            Some(ttl) if ttl.is_zero() => Ok(Keep::Not),
            Some(ttl) if ttl > MAX_TTL => Err(CacheError::new(
                ErrorCode::Set,
                format!(
                    "the TTL of {} s is longer than 100 years, the longest a cache accepts, \
                     so the value is not stored (an unsigned subtraction that wrapped around, \
                     such as `expires_in - 300`, gives one: use saturating_sub)",
                    ttl.as_secs()
                ),
            )
            .with_key(key)),
            ttl => Ok(Keep::For(ttl)),
        }
    }
}

/// `lease = <expression>`: the expression must be a `Duration`.
#[doc(hidden)]
pub fn lease(lease: Duration) -> Option<Duration> {
    Some(lease)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_not_stored_and_absurd_ttls_are_errors() {
        assert!(matches!(Keep::of(None, "k"), Ok(Keep::For(None))));
        let hour = Some(Duration::from_secs(3600));
        assert!(matches!(Keep::of(hour, "k"), Ok(Keep::For(ttl)) if ttl == hour));
        assert!(matches!(Keep::of(Some(MAX_TTL), "k"), Ok(Keep::For(_))));
        assert!(matches!(Keep::of(Some(Duration::ZERO), "k"), Ok(Keep::Not)));
        let error = match Keep::of(Some(Duration::MAX), "k") {
            Err(error) => error,
            Ok(_) => panic!("Duration::MAX is refused"),
        };
        assert_eq!((error.code(), error.key()), (ErrorCode::Set, Some("k")));
        assert!(error.message().contains("saturating_sub"), "{error}");
    }
}
