//! Which lane a request spends. A client made `bulk_only` (the one `deskbridge
//! backfill` uses) sends even its lookups in the budget's bulk lane, which never
//! takes the share of the bucket kept for interactive requests: a history import
//! leaves it to live calls. Requests made inside `as_lookup` (a PBX's or an
//! agent's lookup) spend the routing lane's own share.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_zendesk::{Auth, Budget, ClientConfig, ZendeskClient, as_lookup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server answering every request with 404 (a ticket that does not exist).
async fn server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = r#"{"error":"RecordNotFound","description":"Not found"}"#;
                let reply = format!(
                    "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

fn client(base: &str) -> ZendeskClient {
    // 60 a minute: a bucket of 6, of which the bulk lane leaves 1.
    client_of(base, Budget::new(60))
}

fn client_of(base: &str, budget: Budget) -> ZendeskClient {
    let auth = Auth::ApiToken {
        email: "admin@acme.com".into(),
        token: "t".into(),
    };
    ZendeskClient::new(ClientConfig::new(base, auth), Arc::new(budget)).unwrap()
}

/// How long six ticket lookups take.
async fn six_lookups(client: &ZendeskClient) -> Duration {
    let started = Instant::now();
    for _ in 0..6 {
        let _ = client.show_ticket(1).await;
    }
    assert_eq!(client.requests_sent(), 6);
    started.elapsed()
}

#[tokio::test]
async fn a_bulk_only_client_leaves_the_interactive_share_of_the_budget() {
    let base = server().await;
    // A live client's lookups are interactive: the whole bucket is theirs.
    let live = six_lookups(&client(&base)).await;
    assert!(live < Duration::from_millis(800), "{live:?}");
    // The import's: five go at once, the sixth waits for a token to refill
    // (about 1.1 s at 54 a minute) rather than take the reserved one.
    let import = six_lookups(&client(&base).bulk_only()).await;
    assert!(import >= Duration::from_millis(900), "{import:?}");
}

#[tokio::test]
async fn lookups_spend_the_routing_lanes_share_and_leave_the_rest_to_calls() {
    let base = server().await;
    // 600 a minute: a bucket of 60; lookups get a quarter of it, 15 at once,
    // then 2.25 a second.
    let client = client_of(&base, Budget::new(600));
    let started = Instant::now();
    for _ in 0..20 {
        let _ = as_lookup(client.show_ticket(1)).await;
    }
    let lookups = started.elapsed();
    // 15 at once, the other five at 2.25 a second: about 2.2 s.
    assert!(lookups >= Duration::from_millis(1800), "{lookups:?}");
    // A call's own request, right after, finds the rest of the bucket.
    let started = Instant::now();
    let _ = client.show_ticket(1).await;
    let call = started.elapsed();
    assert!(call < Duration::from_millis(300), "{call:?}");
    assert_eq!(client.requests_sent(), 21);
}
