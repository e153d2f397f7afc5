//! `POST /api/v1/events` bodies: any bytes through the JSON reader, the routing
//! fields and the native event reader, as `http::ingest` calls them.
#![no_main]

use deskbridge_core::Region;
use deskbridge_fuzz::{native, through_ingest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(items) = native::items(&body) else {
        return;
    };
    let now = chrono::Utc::now();
    for (i, item) in items.into_iter().enumerate() {
        let _ = native::addressing(item);
        match native::event(item, Region::US, now) {
            Ok(e) => through_ingest(&e, now),
            Err(e) => {
                let _ = native::prefixed(i, &e.field);
            }
        }
    }
});
