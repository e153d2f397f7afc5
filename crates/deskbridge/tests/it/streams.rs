//! The live streams' cost and caps (issue 25, point 4): each changed call is read
//! once for every stream, and a token holds at most 16 streams.

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::Duration;

use deskbridge::http::feed::{FeedItem, STREAMS_PER_TOKEN};
use deskbridge_testkit::{Agent, CallScript};

use crate::common::TestApp;

/// 50 streams listening: a call's change is read once, and every stream gets
/// that one record.
#[test]
fn a_changed_call_is_read_once_for_every_stream() {
    let app = TestApp::start();
    let mut listeners: Vec<_> = (0..50).map(|_| app.state().feed.subscribe()).collect();
    let call = CallScript::inbound("once-1", "+14155550190").answered_by(Agent::ann());
    let (status, body) = app.post_events(&call.events());
    assert_eq!(status, 202, "{body}");
    let heard: Vec<_> = listeners
        .iter_mut()
        .map(|feed| {
            app.block_on(async {
                tokio::time::timeout(Duration::from_secs(20), async {
                    loop {
                        match feed.recv().await {
                            Ok(FeedItem::Call(record))
                                if record.interaction.call_id == "once-1" =>
                            {
                                return record;
                            }
                            Ok(_) => continue,
                            Err(e) => panic!("the feed: {e}"),
                        }
                    }
                })
                .await
                .expect("the call's change within 20 s")
            })
        })
        .collect();
    assert!(
        heard.iter().all(|r| Arc::ptr_eq(r, &heard[0])),
        "each stream read the call itself"
    );
    assert_eq!(
        heard[0].interaction.customer_phone().and_then(|p| p.e164()),
        Some("+14155550190")
    );
}

/// A token's 17th stream ends its oldest, which is told `closed`.
#[test]
fn a_tokens_streams_past_the_cap_end_the_oldest() {
    let app = TestApp::start();
    let open = || {
        let resp = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client")
            .get(app.url("/api/v1/calls/stream"))
            .bearer_auth(&app.token)
            .send()
            .expect("stream");
        assert_eq!(resp.status().as_u16(), 200);
        BufReader::new(resp).lines()
    };
    let oldest = open();
    let _newer: Vec<_> = (0..STREAMS_PER_TOKEN).map(|_| open()).collect();
    let lines: Vec<String> = oldest.map_while(Result::ok).collect();
    let closed = lines.iter().position(|l| l == "event: closed");
    assert!(
        closed.is_some(),
        "the oldest stream was not closed: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("too_many_streams")),
        "{lines:?}"
    );
}
