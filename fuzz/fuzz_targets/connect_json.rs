//! Amazon Connect requests (`POST /api/v1/amazon-connect`): any bytes read as a
//! contact-flow Lambda event or an EventBridge contact event, and the call event
//! each stands for.
#![no_main]

use deskbridge_core::Region;
use deskbridge_fuzz::connect::{self, ConnectRequest};
use deskbridge_fuzz::through_ingest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = chrono::Utc::now();
    match connect::parse(data) {
        Ok(ConnectRequest::Flow(flow)) => {
            let _ = flow.call_id();
            let _ = flow.attributes();
            through_ingest(&flow.event(Region::US, now), now);
        }
        Ok(ConnectRequest::Contact(contact)) => {
            let _ = contact.call_id();
            if let Some(e) = contact.event(now) {
                through_ingest(&e, now);
            }
        }
        Err(_) => {}
    }
});
