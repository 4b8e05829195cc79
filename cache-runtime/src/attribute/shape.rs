//! The return kinds that `#[cached]` and `#[cache_put]` know: which part of a result is
//! cached, and how it is rebuilt from the cache or handed to waiting callers.
//!
//! The macro picks the shape from how the return type is written (`Result<..>`,
//! `Option<..>`, anything else); the trait bounds here then check the types.

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
    /// is on the calls in `run.rs`, so that a missing derive is reported once, as
    /// [`Cacheable`], at the return type.
    type Value;
    /// The part of `result` to store, or `None` when it is not cached.
    fn cached_part<'r>(&self, result: &'r R) -> Option<&'r Self::Value>;
    /// The result rebuilt from a stored value.
    fn rebuild(&self, value: Self::Value) -> R;
    /// An uncached result as waiters can share it, when they can.
    fn share(&self, result: &R) -> Option<Shared>;
    /// A result rebuilt from what another call shared.
    fn take_shared(&self, shared: &(dyn Any + Send + Sync)) -> Option<R>;
}

/// Any other return type: the whole value is cached.
#[doc(hidden)]
pub struct Plain;

impl<T> Shape<T> for Plain {
    type Value = T;
    fn cached_part<'r>(&self, result: &'r T) -> Option<&'r T> {
        Some(result)
    }
    fn rebuild(&self, value: T) -> T {
        value
    }
    fn share(&self, _: &T) -> Option<Shared> {
        None
    }
    fn take_shared(&self, _: &(dyn Any + Send + Sync)) -> Option<T> {
        None
    }
}

/// `Option<T>`: `Some` is cached; `None` is returned as is and not stored.
#[doc(hidden)]
pub struct SomeOnly;

/// What a `None` result is shared as.
struct NoneResult;

impl<T> Shape<Option<T>> for SomeOnly {
    type Value = T;
    fn cached_part<'r>(&self, result: &'r Option<T>) -> Option<&'r T> {
        result.as_ref()
    }
    fn rebuild(&self, value: T) -> Option<T> {
        Some(value)
    }
    fn share(&self, _: &Option<T>) -> Option<Shared> {
        Some(Arc::new(NoneResult))
    }
    fn take_shared(&self, shared: &(dyn Any + Send + Sync)) -> Option<Option<T>> {
        shared.is::<NoneResult>().then_some(None)
    }
}

/// `Option<T>` with `cache_none = true`: both are cached, a `None` as JSON `null`.
#[doc(hidden)]
pub struct SomeAndNone;

impl<T> Shape<Option<T>> for SomeAndNone {
    type Value = Option<T>;
    fn cached_part<'r>(&self, result: &'r Option<T>) -> Option<&'r Option<T>> {
        Some(result)
    }
    fn rebuild(&self, value: Option<T>) -> Option<T> {
        value
    }
    fn share(&self, _: &Option<T>) -> Option<Shared> {
        None
    }
    fn take_shared(&self, _: &(dyn Any + Send + Sync)) -> Option<Option<T>> {
        None
    }
}

/// `Result<T, E>`: `Ok` is cached; an `Err` is returned untouched, never stored, and shared
/// with waiting callers when `E: Clone + Send + Sync + 'static` (otherwise each waiter runs
/// the body itself).
#[doc(hidden)]
pub struct OkOnly<E> {
    share: Option<ShareErr<E>>,
}

impl<E> OkOnly<E> {
    /// Errors are not shared: each waiter runs the body itself.
    pub fn unshared() -> Self {
        OkOnly { share: None }
    }
}

struct ShareErr<E> {
    pack: fn(&E) -> Shared,
    unpack: fn(&(dyn Any + Send + Sync)) -> Option<E>,
}

impl<T, E> Shape<Result<T, E>> for OkOnly<E> {
    type Value = T;
    fn cached_part<'r>(&self, result: &'r Result<T, E>) -> Option<&'r T> {
        result.as_ref().ok()
    }
    fn rebuild(&self, value: T) -> Result<T, E> {
        Ok(value)
    }
    fn share(&self, result: &Result<T, E>) -> Option<Shared> {
        match (result, &self.share) {
            (Err(error), Some(share)) => Some((share.pack)(error)),
            _ => None,
        }
    }
    fn take_shared(&self, shared: &(dyn Any + Send + Sync)) -> Option<Result<T, E>> {
        let share = self.share.as_ref()?;
        (share.unpack)(shared).map(Err)
    }
}

/// Picks [`OkOnly`]'s way of sharing errors by whether `E` can be cloned, through autoref
/// specialisation: `(&ResultProbe::<R>::new()).ok_only()` resolves to [`ShareClonedErr`]
/// when its bounds hold and to [`KeepErr`] otherwise. Both traits must be in scope.
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
pub trait ShareClonedErr<E> {
    fn ok_only(&self) -> OkOnly<E>;
}

impl<T, E: Clone + Send + Sync + 'static> ShareClonedErr<E> for ResultProbe<Result<T, E>> {
    fn ok_only(&self) -> OkOnly<E> {
        OkOnly {
            share: Some(ShareErr {
                pack: |error| Arc::new(error.clone()),
                unpack: |shared| shared.downcast_ref::<E>().cloned(),
            }),
        }
    }
}

/// See [`ResultProbe`].
#[doc(hidden)]
pub trait KeepErr<E> {
    fn ok_only(&self) -> OkOnly<E>;
}

impl<T, E> KeepErr<E> for &ResultProbe<Result<T, E>> {
    fn ok_only(&self) -> OkOnly<E> {
        OkOnly::unshared()
    }
}

/// A [`Shape`] whose cached part was checked to be [`Cacheable`], with that part's JSON
/// codec as function pointers: the cached call then needs no serde bound of its own, so a
/// type without serde derives is reported once, at [`checked`], not again by the call.
#[doc(hidden)]
pub struct Checked<R, S: Shape<R>> {
    pub(super) shape: S,
    encode: fn(&S::Value, &str) -> Result<String, CacheError>,
    decode: fn(&str, &str) -> Result<S::Value, CacheError>,
    result: PhantomData<fn() -> R>,
}

impl<R, S: Shape<R>> Checked<R, S> {
    /// The cached part of a result as the JSON stored at `key`.
    pub(super) fn encode(&self, value: &S::Value, key: &str) -> Result<String, CacheError> {
        (self.encode)(value, key)
    }

    /// The JSON stored at `key` as the cached part of a result.
    pub(super) fn decode(&self, key: &str, raw: &str) -> Result<S::Value, CacheError> {
        (self.decode)(key, raw)
    }
}

/// `shape`, once its cached part is known to be [`Cacheable`]; the macro spans this call at
/// the cached type, so that is where a missing derive is reported.
#[doc(hidden)]
pub fn checked<R, S>(shape: S) -> Checked<R, S>
where
    S: Shape<R, Value: Cacheable>,
{
    Checked {
        shape,
        encode: Cacheable::encode,
        decode: <S::Value as Cacheable>::decode,
        result: PhantomData,
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
