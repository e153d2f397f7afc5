//! The parsers of outside input, as the server compiles them: the
//! `deskbridge-adapters` crate (pure translation, no I/O), re-exported under the
//! names the fuzz targets use.

pub use deskbridge_adapters::{ami, asterisk_cdr, chat, connect, native, twilio, zammad};

use chrono::{DateTime, Utc};
use deskbridge_core::CallEvent;
use deskbridge_core::bounds::{self, limits};

/// What the one commit path of every adapter (`deskbridge::ingest`, through
/// [`bounds::check`]) lets through can go wherever a call goes: its ids have no
/// control character (a CR, LF or NUL once ended every live stream, issue 25),
/// so the streams' SSE id `{group}/{call_id}` can be sent; every field is
/// within its bound. An event the check refuses is refused with a field named,
/// never a panic. Each fuzz target passes every event its adapter made.
pub fn through_ingest(e: &CallEvent, now: DateTime<Utc>) {
    match bounds::check(e, now) {
        Ok(()) => {
            for id in [&e.id, &e.call_id] {
                assert!(bounds::is_id_text(id), "{id:?} passed the check");
            }
            let sse_id = format!("support/{}", e.call_id);
            assert!(!sse_id.contains(['\r', '\n', '\0']), "{sse_id:?}");
            assert!(e.id.len() <= limits::EVENT_ID);
            assert!(e.call_id.len() <= limits::ID + "chat:".len());
            assert!(e.attributes.len() <= limits::ATTRIBUTES);
        }
        Err(out) => assert!(!out.field.is_empty(), "{out:?}"),
    }
}
