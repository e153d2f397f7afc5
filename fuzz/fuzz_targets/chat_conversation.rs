//! `POST /api/v1/conversations` bodies: any bytes through the JSON reader and the
//! conversation reader, as `http::conversations` calls them.
#![no_main]

use deskbridge_core::Region;
use deskbridge_fuzz::{chat, through_ingest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(input) = chat::parse(&body) else {
        return;
    };
    let now = chrono::Utc::now();
    if let Ok(conversation) = chat::conversation(input, Region::US, now) {
        let event = chat::event(conversation);
        assert!(event.call_id.starts_with("chat:"));
        through_ingest(&event, now);
    }
});
