//! What the cross-process cases share: a one-row "database", and a hold on a load between
//! its database read and its return.

use std::sync::{Mutex, PoisonError};

use tokio::sync::Notify;

/// The "database": one row.
pub struct Db(pub Mutex<String>);

impl Db {
    pub fn read(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Holds a load between its database read and its return.
#[derive(Default)]
pub struct Hold {
    pub entered: Notify,
    pub release: Notify,
}
