//! Group commit through HTTP: concurrent one-event requests share durable commits
//! (the commit batcher, `crate::ingest::committer`), and each is answered on its
//! own.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::common::*;

fn ringing(id: &str, call_id: &str) -> Value {
    json!({"id": id, "call_id": call_id, "type": "ringing", "direction": "inbound",
           "from": "+14155550100"})
}

#[test]
fn many_concurrent_one_event_requests_are_each_acknowledged_and_stored_once() {
    let server = TestApp::start();
    let (url, token) = (server.url("/api/v1/events"), server.token.clone());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (url, token) = (url.clone(), token.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                (0..25)
                    .map(|n| {
                        let id = format!("t{t}-{n}");
                        let resp = http
                            .post(&url)
                            .bearer_auth(&token)
                            .json(&ringing(&id, &id))
                            .send()
                            .unwrap();
                        (resp.status().as_u16(), resp.json::<Value>().unwrap())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for thread in threads {
        for (status, body) in thread.join().unwrap() {
            assert_eq!(status, 202, "{body}");
            assert_eq!(body, json!({"accepted": 1, "duplicates": 0}));
        }
    }
    let stats = &server.state().commits.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(load(&stats.requests), 200);
    assert_eq!(load(&stats.events), 200);
    assert!(load(&stats.commits) <= 200);
    // Each call is there, and each event is in the journal once: all of them sent
    // again are duplicates.
    for t in 0..8 {
        for n in 0..25 {
            let (status, call) = server.get(&format!("/api/v1/calls/t{t}-{n}"));
            assert_eq!(status, 200, "call t{t}-{n}: {call}");
            assert_eq!(call["state"], "ringing");
        }
    }
    let all: Vec<Value> = (0..8)
        .flat_map(|t| (0..25).map(move |n| format!("t{t}-{n}")))
        .map(|id| ringing(&id, &id))
        .collect();
    for chunk in all.chunks(100) {
        let (status, body) = server.post_events(&Value::Array(chunk.to_vec()));
        assert_eq!(status, 202, "{body}");
        assert_eq!(body, json!({"accepted": 0, "duplicates": chunk.len()}));
    }
}

#[test]
fn a_duplicate_sent_by_two_concurrent_requests_is_a_duplicate_for_exactly_one() {
    let server = TestApp::start();
    let (url, token) = (server.url("/api/v1/events"), server.token.clone());
    const ROUNDS: usize = 20;
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (url, token, barrier) = (url.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                (0..ROUNDS)
                    .map(|round| {
                        let id = format!("d{round}");
                        barrier.wait();
                        let resp = http
                            .post(&url)
                            .bearer_auth(&token)
                            .json(&ringing(&id, &id))
                            .send()
                            .unwrap();
                        assert_eq!(resp.status().as_u16(), 202);
                        resp.json::<Value>().unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<Vec<Value>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for (round, (a, b)) in answers[0].iter().zip(&answers[1]).enumerate() {
        let mut pair = [a.clone(), b.clone()];
        pair.sort_by_key(|a| a["accepted"].as_u64());
        assert_eq!(
            pair,
            [
                json!({"accepted": 0, "duplicates": 1}),
                json!({"accepted": 1, "duplicates": 0})
            ],
            "round {round}: one request stored the event, the other was told it is a duplicate"
        );
    }
}
