//! Serializes contact creation per phone number inside one process, so two calls
//! from the same new number make one contact: the second waits, then finds the
//! first's contact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Clone, Default)]
pub struct PhoneLocks {
    inner: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

pub struct PhoneGuard {
    _guard: OwnedMutexGuard<()>,
    key: String,
    locks: PhoneLocks,
}

impl PhoneLocks {
    pub async fn lock(&self, phone: &str) -> PhoneGuard {
        let slot = {
            let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(phone.to_string()).or_default().clone()
        };
        PhoneGuard {
            _guard: slot.lock_owned().await,
            key: phone.to_string(),
            locks: self.clone(),
        }
    }
}

impl Drop for PhoneGuard {
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
