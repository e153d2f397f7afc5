//! Per-phone locks. SQLite serves one process, so an in-process lock is enough;
//! PostgreSQL uses a transaction-scoped advisory lock that every instance sees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

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
