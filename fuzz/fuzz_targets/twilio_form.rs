//! Twilio status callbacks (`POST /api/v1/twilio/{group}`): any bytes read as a
//! form, its signature checked, and the call event it stands for.
#![no_main]

use deskbridge_core::Region;
use deskbridge_fuzz::{through_ingest, twilio};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs = twilio::parse(data);
    let _ = twilio::signed_by_twilio(
        "12345",
        "https://deskbridge.acme.com:443/api/v1/twilio/support",
        &pairs,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    );
    let now = chrono::Utc::now();
    if let Some(e) = twilio::event(&pairs, Region::US, now) {
        through_ingest(&e, now);
    }
});
