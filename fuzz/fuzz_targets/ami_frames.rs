//! What an AMI server sends: any bytes through the frame reader, fed in two
//! pieces (as the socket may split them), and its frames through the call tracker.
#![no_main]

use deskbridge_core::decide::DirectoryAgent;
use deskbridge_core::Region;
use deskbridge_fuzz::ami::frame::{FrameReader, Item};
use deskbridge_fuzz::ami::tracker::Tracker;
use deskbridge_fuzz::through_ingest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut reader = FrameReader::new();
    let mut tracker = Tracker::new(
        Region::US,
        vec![DirectoryAgent {
            email: "ann@acme.com".into(),
            name: Some("Ann".into()),
            extension: Some("101".into()),
            target: None,
        }],
    );
    let now = chrono::Utc::now();
    for part in [&data[..cut], &data[cut..]] {
        reader.push(part);
        while let Some(item) = reader.next_item() {
            match item {
                Ok(Item::Frame(f)) => {
                    for e in tracker.on_frame(&f, now) {
                        assert!(!e.id.is_empty() && !e.call_id.is_empty());
                        through_ingest(&e, now);
                    }
                }
                Ok(Item::Banner(_)) => tracker.begin_sync(),
                Err(_) => return,
            }
        }
    }
});
