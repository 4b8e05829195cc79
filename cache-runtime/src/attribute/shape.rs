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

/// A result handed from a leader to its waiters without going through the cache.
pub type Shared = Arc<dyn Any + Send + Sync>;

/// How a function's result `R` relates to what is cached.
#[doc(hidden)]
pub trait Shape<R> {
    /// What is stored: `T` of `Result<T, E>`, `Option<T>`, or plain `T`.
    type Value: Serialize + DeserializeOwned;
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

impl<T: Serialize + DeserializeOwned> Shape<T> for Plain {
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

impl<T: Serialize + DeserializeOwned> Shape<Option<T>> for SomeOnly {
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

impl<T: Serialize + DeserializeOwned> Shape<Option<T>> for SomeAndNone {
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

struct ShareErr<E> {
    pack: fn(&E) -> Shared,
    unpack: fn(&(dyn Any + Send + Sync)) -> Option<E>,
}

impl<T: Serialize + DeserializeOwned, E> Shape<Result<T, E>> for OkOnly<E> {
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
        OkOnly { share: None }
    }
}

/// Fails to compile, at the type the macro spans it with, unless `T` can be cached.
#[doc(hidden)]
pub const fn assert_cacheable<T: Serialize + DeserializeOwned>() {}
