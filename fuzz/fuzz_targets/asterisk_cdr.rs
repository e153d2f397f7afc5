//! What a Master.csv may hold: any bytes read as cdr_csv's CSV (as
//! `deskbridge backfill` reads it), each record through the CDR reader. A record
//! is a call or a reason; a call's events are the call's, with ids that fit the
//! native bound.
#![no_main]

use deskbridge_core::Region;
use deskbridge_fuzz::asterisk_cdr::{CdrSettings, Record, record};
use deskbridge_fuzz::through_ingest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = CdrSettings {
        timezone: chrono_tz::Europe::Berlin,
        region: Region::US,
        extensions: vec!["101".into()],
        extension_max_digits: 5,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    for rec in reader.records() {
        let Ok(rec) = rec else { continue };
        let fields: Vec<&str> = rec.iter().collect();
        match record(&fields, &settings) {
            Ok(Record::Call { call_id, events }) => {
                assert!(!call_id.is_empty());
                assert!(!events.is_empty());
                for e in events {
                    assert_eq!(e.call_id, call_id);
                    assert!(e.id.len() <= 256, "{}", e.id);
                    through_ingest(&e, chrono::Utc::now());
                }
            }
            Ok(Record::Internal) => {}
            Err(why) => assert!(!why.is_empty()),
        }
    }
});
