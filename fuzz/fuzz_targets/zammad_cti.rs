//! Zammad generic CTI webhooks (`POST /api/v1/cti/{token}`): any bytes read as a
//! form and as JSON, and what was read turned into a call event.
#![no_main]

use deskbridge_core::Region;
use deskbridge_fuzz::{through_ingest, zammad};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = chrono::Utc::now();
    let region: Region = "DE".parse().unwrap_or_default();
    for json in [false, true] {
        if let Ok(request) = zammad::parse(data, json) {
            let _ = request.our_number();
            let e = request.event(region, now);
            assert!(!e.call_id.is_empty());
            through_ingest(&e, now);
        }
    }
});
