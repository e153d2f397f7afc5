//! Per-phone locks. SQLite serves one process, so an in-process lock is enough;
//! PostgreSQL uses a transaction-scoped advisory lock that every instance sees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// What a write transaction locks until it ends, so that instances sharing the
/// database serialize their work on it (`dialect::lock`: nothing on SQLite,
/// whose one writer connection runs transactions one at a time; an advisory
/// lock on PostgreSQL). A transaction takes its locks in one sorted order
/// (calls, then numbers), so that two cannot deadlock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TxLock<'a> {
    /// A call: every change to it and its steps.
    Call { group: &'a str, call_id: &'a str },
    /// A number's callback in a group: two calls from one number ending at
    /// once on two instances must fold into one callback, not open two.
    Callback { group: &'a str, phone: &'a str },
}

impl std::fmt::Display for TxLock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxLock::Call { group, call_id } => write!(f, "call:{group}/{call_id}"),
            TxLock::Callback { group, phone } => write!(f, "callback:{group}/{phone}"),
        }
    }
}

/// Held while a phone number's contact is looked up and created; dropping it
/// releases the lock.
pub struct PhoneGuard {
    _inner: Box<dyn Send>,
}

impl PhoneGuard {
    pub(crate) fn new(inner: impl Send + 'static) -> PhoneGuard {
        PhoneGuard {
            _inner: Box::new(inner),
        }
    }
}

/// In-process locks keyed by phone number; an entry lives while someone holds or
/// waits for it.
#[derive(Clone, Default)]
pub(crate) struct LocalLocks {
    inner: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

struct LocalGuard {
    _guard: OwnedMutexGuard<()>,
    key: String,
    locks: LocalLocks,
}

impl LocalLocks {
    pub(crate) async fn lock(&self, key: &str) -> PhoneGuard {
        let slot = {
            let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_string()).or_default().clone()
        };
        PhoneGuard::new(LocalGuard {
            _guard: slot.lock_owned().await,
            key: key.to_string(),
            locks: self.clone(),
        })
    }
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let mut map = self.locks.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Only the map and this guard's mutex hold the slot: nobody waits, forget it.
        if map
            .get(&self.key)
            .is_some_and(|slot| Arc::strong_count(slot) <= 2)
        {
            map.remove(&self.key);
        }
    }
}
