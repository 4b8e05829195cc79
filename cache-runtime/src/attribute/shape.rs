//! The return kinds that `#[cached]` and `#[cache_put]` know: which part of a result is
//! cached, and how it is rebuilt from the cache or handed to waiting callers.
//!
//! The macro picks the shape from how the return type is written (`Result<Option<..>, ..>`,
//! `Result<..>`, `Option<..>`, anything else); the trait bounds here then check the types.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::CacheError;

/// A result handed from a leader to its waiters without going through the cache.
pub type Shared = Arc<dyn Any + Send + Sync>;

/// How a function's result `R` relates to what is cached.
#[doc(hidden)]
pub trait Shape<R> {
    /// What is stored: `T` of `Result<T, E>`, `Option<T>`, or plain `T`. Its serde bound
    /// is on [`return_kind`], so that a missing derive is reported once, as [`Cacheable`], at
    /// the return type.
    type Value;
    /// `Ok` with the part of `result` to store, or `Err` with `result` itself when it is
    /// not cached. Taking the result apart before anything is awaited keeps an `Err` that
    /// is not `Send` (`Box<dyn Error>`) out of the caller's future.
    fn split(result: R) -> Result<Self::Value, R>;
    /// The result rebuilt from a stored value.
    fn rebuild(value: Self::Value) -> R;
    /// How uncached results are handed to waiters, if they are.
    fn sharing(&self) -> Sharing<R>;
}

/// How a leader hands a result that is not cached (an `Err`, a `None`) to its waiters.
#[doc(hidden)]
pub struct Sharing<R> {
    /// The result as waiters can share it, or `None` when they cannot.
    share: fn(&R) -> Option<Shared>,
    /// A result rebuilt from what another call shared.
    take: fn(&(dyn Any + Send + Sync)) -> Option<R>,
}

impl<R> Sharing<R> {
    /// Nothing is shared: each waiter runs the body itself.
    fn none() -> Self {
        Sharing {
            share: |_| None,
            take: |_| None,
        }
    }
}

/// Any other return type: the whole value is cached.
#[doc(hidden)]
pub struct Plain;

impl<T> Shape<T> for Plain {
    type Value = T;
    fn split(result: T) -> Result<T, T> {
        Ok(result)
    }
    fn rebuild(value: T) -> T {
        value
    }
    fn sharing(&self) -> Sharing<T> {
        Sharing::none()
    }
}

/// `Option<T>`: `Some` is cached; `None` is returned as is and not stored.
#[doc(hidden)]
pub struct SomeOnly;

/// What a `None` result is shared as.
struct NoneResult;

impl<T> Shape<Option<T>> for SomeOnly {
    type Value = T;
    fn split(result: Option<T>) -> Result<T, Option<T>> {
        result.ok_or(None)
    }
    fn rebuild(value: T) -> Option<T> {
        Some(value)
    }
    fn sharing(&self) -> Sharing<Option<T>> {
        Sharing {
            share: |_| Some(Arc::new(NoneResult)),
            take: |shared| shared.is::<NoneResult>().then_some(None),
        }
    }
}

/// `Option<T>` with `cache_none = true`: both are cached, a `None` as JSON `null`.
#[doc(hidden)]
pub struct SomeAndNone;

impl<T> Shape<Option<T>> for SomeAndNone {
    type Value = Option<T>;
    fn split(result: Option<T>) -> Result<Option<T>, Option<T>> {
        Ok(result)
    }
    fn rebuild(value: Option<T>) -> Option<T> {
        value
    }
    fn sharing(&self) -> Sharing<Option<T>> {
        Sharing::none()
    }
}

/// `Result<T, E>`: `Ok` is cached; an `Err` is returned untouched, never stored, and shared
/// with waiting callers when `E: Clone + Send + Sync + 'static` (otherwise each waiter runs
/// the body itself).
#[doc(hidden)]
pub struct OkOnly<R> {
    sharing: Sharing<R>,
}

impl<T, E> OkOnly<Result<T, E>> {
    /// Errors are not shared: each waiter runs the body itself.
    pub fn unshared() -> Self {
        OkOnly {
            sharing: errors::<T, E, Unshared>(),
        }
    }
}

impl<T, E> Shape<Result<T, E>> for OkOnly<Result<T, E>> {
    type Value = T;
    fn split(result: Result<T, E>) -> Result<T, Result<T, E>> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => Err(Err(error)),
        }
    }
    fn rebuild(value: T) -> Result<T, E> {
        Ok(value)
    }
    fn sharing(&self) -> Sharing<Result<T, E>> {
        Sharing {
            share: self.sharing.share,
            take: self.sharing.take,
        }
    }
}

/// `Result<Option<T>, E>`: `Ok(Some)` is cached as for [`OkOnly`]; an `Ok(None)` is returned
/// as is and not stored, and shared with waiting callers, as [`SomeOnly`] does with a `None`;
/// an `Err` as for [`OkOnly`]. `S` says whether errors are shared.
#[doc(hidden)]
pub struct OkSome<R, S>(PhantomData<fn() -> (R, S)>);

impl<T, E> OkSome<Result<Option<T>, E>, Unshared> {
    /// Errors are not shared: each waiter runs the body itself.
    pub fn unshared() -> Self {
        OkSome(PhantomData)
    }
}

impl<T, E, S: ErrSharing<E>> Shape<Result<Option<T>, E>> for OkSome<Result<Option<T>, E>, S> {
    type Value = T;
    fn split(result: Result<Option<T>, E>) -> Result<T, Result<Option<T>, E>> {
        match result {
            Ok(Some(value)) => Ok(value),
            uncached => Err(uncached),
        }
    }
    fn rebuild(value: T) -> Result<Option<T>, E> {
        Ok(Some(value))
    }
    fn sharing(&self) -> Sharing<Result<Option<T>, E>> {
        Sharing {
            share: |result| match result {
                Ok(None) => Some(Arc::new(NoneResult)),
                Ok(Some(_)) => None,
                Err(error) => S::share(error),
            },
            take: |shared| {
                if shared.is::<NoneResult>() {
                    Some(Ok(None))
                } else {
                    S::take(shared).map(Err)
                }
            },
        }
    }
}

/// `Result<Option<T>, E>` with `cache_none = true`: `Ok(Some)` and `Ok(None)` are cached, an
/// `Ok(None)` as JSON `null` (as [`SomeAndNone`] does); an `Err` as for [`OkOnly`]. `S` says
/// whether errors are shared.
#[doc(hidden)]
pub struct OkSomeAndNone<R, S>(PhantomData<fn() -> (R, S)>);

impl<T, E> OkSomeAndNone<Result<Option<T>, E>, Unshared> {
    /// Errors are not shared: each waiter runs the body itself.
    pub fn unshared() -> Self {
        OkSomeAndNone(PhantomData)
    }
}

impl<T, E, S: ErrSharing<E>> Shape<Result<Option<T>, E>>
    for OkSomeAndNone<Result<Option<T>, E>, S>
{
    type Value = Option<T>;
    fn split(result: Result<Option<T>, E>) -> Result<Option<T>, Result<Option<T>, E>> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => Err(Err(error)),
        }
    }
    fn rebuild(value: Option<T>) -> Result<Option<T>, E> {
        Ok(value)
    }
    fn sharing(&self) -> Sharing<Result<Option<T>, E>> {
        errors::<Option<T>, E, S>()
    }
}

/// Whether the `Err`s of a `Result` shape are handed to waiting callers: a type rather than
/// a value, so that the shapes' function pointers can name it.
#[doc(hidden)]
pub trait ErrSharing<E> {
    /// The error as waiters can share it, when they can.
    fn share(error: &E) -> Option<Shared>;
    /// An error rebuilt from what another call shared.
    fn take(shared: &(dyn Any + Send + Sync)) -> Option<E>;
}

/// Errors are cloned for each waiter.
#[doc(hidden)]
pub struct CloneErr;

impl<E: Clone + Send + Sync + 'static> ErrSharing<E> for CloneErr {
    fn share(error: &E) -> Option<Shared> {
        Some(Arc::new(error.clone()))
    }
    fn take(shared: &(dyn Any + Send + Sync)) -> Option<E> {
        shared.downcast_ref::<E>().cloned()
    }
}

/// Errors are not shared: each waiter runs the body itself.
#[doc(hidden)]
pub struct Unshared;

impl<E> ErrSharing<E> for Unshared {
    fn share(_: &E) -> Option<Shared> {
        None
    }
    fn take(_: &(dyn Any + Send + Sync)) -> Option<E> {
        None
    }
}

/// The sharing of a `Result` whose `Ok`s are never shared: its `Err`s as `S` says.
fn errors<T, E, S: ErrSharing<E>>() -> Sharing<Result<T, E>> {
    Sharing {
        share: |result| result.as_ref().err().and_then(S::share),
        take: |shared| S::take(shared).map(Err),
    }
}

/// Picks the way the `Result` shapes share errors by whether `E` can be cloned, through
/// autoref specialisation: `(&ResultProbe::<R>::new()).ok_only()` (or `ok_some()`,
/// `ok_some_and_none()`) resolves to [`ShareClonedErr`] when its bounds hold and to
/// [`KeepErr`] otherwise. Both traits must be in scope.
#[doc(hidden)]
pub struct ResultProbe<R>(PhantomData<fn() -> R>);

impl<R> ResultProbe<R> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        ResultProbe(PhantomData)
    }
}

/// See [`ResultProbe`].
#[doc(hidden)]
pub trait ShareClonedErr<R> {
    fn ok_only(&self) -> OkOnly<R>;
    fn ok_some(&self) -> OkSome<R, CloneErr>;
    fn ok_some_and_none(&self) -> OkSomeAndNone<R, CloneErr>;
}

impl<T, E: Clone + Send + Sync + 'static> ShareClonedErr<Result<T, E>>
    for ResultProbe<Result<T, E>>
{
    fn ok_only(&self) -> OkOnly<Result<T, E>> {
        OkOnly {
            sharing: errors::<T, E, CloneErr>(),
        }
    }
    fn ok_some(&self) -> OkSome<Result<T, E>, CloneErr> {
        OkSome(PhantomData)
    }
    fn ok_some_and_none(&self) -> OkSomeAndNone<Result<T, E>, CloneErr> {
        OkSomeAndNone(PhantomData)
    }
}

/// See [`ResultProbe`].
#[doc(hidden)]
pub trait KeepErr<R> {
    fn ok_only(&self) -> OkOnly<R>;
    fn ok_some(&self) -> OkSome<R, Unshared>;
    fn ok_some_and_none(&self) -> OkSomeAndNone<R, Unshared>;
}

impl<T, E> KeepErr<Result<T, E>> for &ResultProbe<Result<T, E>> {
    fn ok_only(&self) -> OkOnly<Result<T, E>> {
        OkOnly::unshared()
    }
    fn ok_some(&self) -> OkSome<Result<T, E>, Unshared> {
        OkSome(PhantomData)
    }
    fn ok_some_and_none(&self) -> OkSomeAndNone<Result<T, E>, Unshared> {
        OkSomeAndNone(PhantomData)
    }
}

/// What the cached calls need to know of a return kind, as plain function pointers over
/// the result `R` and the stored value `V`. No trait projection appears in it, so the
/// `Send`-ness of a caller's future does not depend on proving one (which fails for
/// `R = Result<_, Box<dyn Error>>`, whose lifetimes are erased in that proof).
#[doc(hidden)]
pub struct ReturnKind<R, V> {
    split: fn(R) -> Result<V, R>,
    rebuild: fn(V) -> R,
    share: fn(&R) -> Option<Shared>,
    take: fn(&(dyn Any + Send + Sync)) -> Option<R>,
    encode: fn(&V, &str) -> Result<String, CacheError>,
    decode: fn(&str, &str) -> Result<V, CacheError>,
}

impl<R, V> ReturnKind<R, V> {
    /// See [`Shape::split`].
    pub fn split(&self, result: R) -> Result<V, R> {
        (self.split)(result)
    }

    /// See [`Shape::rebuild`].
    pub(super) fn rebuild(&self, value: V) -> R {
        (self.rebuild)(value)
    }

    /// An uncached result as waiters can share it, when they can.
    pub(super) fn share(&self, result: &R) -> Option<Shared> {
        (self.share)(result)
    }

    /// A result rebuilt from what another call shared.
    pub(super) fn take_shared(&self, shared: &(dyn Any + Send + Sync)) -> Option<R> {
        (self.take)(shared)
    }

    /// A stored value as the JSON stored at `key`.
    pub(super) fn encode(&self, value: &V, key: &str) -> Result<String, CacheError> {
        (self.encode)(value, key)
    }

    /// The JSON stored at `key` as a stored value.
    pub(super) fn decode(&self, key: &str, raw: &str) -> Result<V, CacheError> {
        (self.decode)(key, raw)
    }
}

/// `shape`, once its stored value is known to be [`Cacheable`]; the macro spans this call
/// at the cached type, so that is where a missing derive is reported.
#[doc(hidden)]
pub fn return_kind<R, S>(shape: S) -> ReturnKind<R, S::Value>
where
    S: Shape<R, Value: Cacheable>,
{
    let sharing = shape.sharing();
    ReturnKind {
        split: S::split,
        rebuild: S::rebuild,
        share: sharing.share,
        take: sharing.take,
        encode: Cacheable::encode,
        decode: <S::Value as Cacheable>::decode,
    }
}

/// A type that can be cached: `Serialize + DeserializeOwned`. The bound that the
/// attributes check, named so that the compile error says what is missing in one line; it
/// has no supertraits, so that the error is reported as this trait's alone.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached: it must implement serde's `Serialize` and `Deserialize`",
    label = "the cached value's type; derive `serde::Serialize` and `serde::Deserialize` for it",
    note = "the attribute stores the function's result as JSON, and reads it back on a hit"
)]
#[doc(hidden)]
pub trait Cacheable: Sized {
    /// The value as stored at `key`.
    fn encode(&self, key: &str) -> Result<String, CacheError>;
    /// The value stored at `key`.
    fn decode(key: &str, raw: &str) -> Result<Self, CacheError>;
}

impl<T: Serialize + DeserializeOwned> Cacheable for T {
    fn encode(&self, key: &str) -> Result<String, CacheError> {
        codec::encode(key, self)
    }
    fn decode(key: &str, raw: &str) -> Result<Self, CacheError> {
        codec::decode(key, raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Found = Result<Option<u32>, String>;

    #[test]
    #[allow(clippy::needless_borrow)] // the probe as the macro writes it, for any `E`
    fn ok_some_stores_ok_some_and_shares_ok_none_and_cloned_errors() {
        #[allow(unused_imports)]
        use super::{KeepErr as _, ShareClonedErr as _};
        let kind = return_kind::<Found, _>((&ResultProbe::<Found>::new()).ok_some());
        assert_eq!(kind.split(Ok(Some(3))), Ok(3));
        assert_eq!(kind.split(Ok(None)), Err(Ok(None)));
        assert_eq!(kind.split(Err("down".into())), Err(Err("down".into())));
        assert_eq!(kind.rebuild(3), Ok(Some(3)));
        assert_eq!(kind.encode(&3, "k").unwrap(), "3");

        let none = kind.share(&Ok(None)).expect("an Ok(None) is shared");
        assert_eq!(kind.take_shared(&*none), Some(Ok(None)));
        let error = kind
            .share(&Err("down".into()))
            .expect("a Clone error is shared");
        assert_eq!(kind.take_shared(&*error), Some(Err("down".into())));
    }

    #[test]
    fn ok_some_shares_ok_none_but_not_errors_that_are_not_clone() {
        #[allow(unused_imports)]
        use super::{KeepErr as _, ShareClonedErr as _};
        type Io = std::io::Result<Option<u32>>;
        let kind = return_kind::<Io, _>((&ResultProbe::<Io>::new()).ok_some());
        let none = kind.share(&Ok(None)).expect("an Ok(None) is shared");
        assert!(matches!(kind.take_shared(&*none), Some(Ok(None))));
        assert!(kind.share(&Err(std::io::Error::other("down"))).is_none());

        let unshared = return_kind::<Found, _>(OkSome::unshared());
        assert!(unshared.share(&Ok(None)).is_some());
        assert!(unshared.share(&Err("down".into())).is_none());
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the probe as the macro writes it, for any `E`
    fn ok_some_and_none_stores_ok_none_as_null() {
        #[allow(unused_imports)]
        use super::{KeepErr as _, ShareClonedErr as _};
        let kind = return_kind::<Found, _>((&ResultProbe::<Found>::new()).ok_some_and_none());
        assert_eq!(kind.split(Ok(None)), Ok(None));
        assert_eq!(kind.split(Ok(Some(3))), Ok(Some(3)));
        assert_eq!(kind.split(Err("down".into())), Err(Err("down".into())));
        assert_eq!(kind.encode(&None, "k").unwrap(), "null");
        assert_eq!(kind.decode("k", "null").unwrap(), None);
        assert_eq!(kind.rebuild(None), Ok(None));
        assert!(
            kind.share(&Ok(None)).is_none(),
            "an Ok(None) is stored, not shared"
        );
        let error = kind
            .share(&Err("down".into()))
            .expect("a Clone error is shared");
        assert_eq!(kind.take_shared(&*error), Some(Err("down".into())));

        let unshared = return_kind::<Found, _>(OkSomeAndNone::unshared());
        assert!(unshared.share(&Err("down".into())).is_none());
    }
}
