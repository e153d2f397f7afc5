//! The client sends each request once and sorts its failure: transient (5xx, 429,
//! no answer; with Zendesk's `Retry-After` when it gave one) or permanent. Retrying
//! is the caller's job; a 429 also pauses the shared budget.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deskbridge_zendesk::{Auth, Budget, ClientConfig, ZendeskClient, ZendeskError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server answering every request with `reply` (`None`: never answers), and
/// the times the requests arrived.
async fn server(reply: Option<&'static str>) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let log = arrivals.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                log.lock().unwrap().push(Instant::now());
                match reply {
                    Some(reply) => {
                        let _ = sock.write_all(reply.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (base, arrivals)
}

fn response(status: &str, headers: &str, body: &str) -> &'static str {
    Box::leak(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    )
}

fn client(base: &str) -> ZendeskClient {
    let mut cfg = ClientConfig::new(
        base,
        Auth::ApiToken {
            email: "admin@acme.com".into(),
            token: "t".into(),
        },
    );
    cfg.timeout = Duration::from_millis(300);
    ZendeskClient::new(cfg, Arc::new(Budget::new(6000))).unwrap()
}

/// Sends one lookup and returns its error and the number of requests that arrived.
async fn failure(reply: Option<&'static str>) -> (ZendeskError, usize) {
    let (base, arrivals) = server(reply).await;
    let client = client(&base);
    let err = client.show_ticket(1).await.unwrap_err();
    // Give a retry, if there were one, time to arrive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = arrivals.lock().unwrap().len();
    assert_eq!(client.requests_sent() as usize, sent);
    (err, sent)
}

#[tokio::test]
async fn a_server_error_is_sent_once_and_is_transient_with_its_retry_after() {
    let (err, sent) = failure(Some(response(
        "503 Service Unavailable",
        "retry-after: 3\r\n",
        "{}",
    )))
    .await;
    assert_eq!(sent, 1);
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert!(
        matches!(err, ZendeskError::Server { status: 503, .. }),
        "{err:?}"
    );

    let (err, sent) = failure(Some(response("500 Internal Server Error", "", "{}"))).await;
    assert_eq!(sent, 1);
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn no_answer_is_sent_once_and_is_transient() {
    let (err, sent) = failure(None).await;
    assert_eq!(sent, 1);
    assert!(matches!(err, ZendeskError::Network(_)), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_refusal_is_permanent_and_names_what_zendesk_refused() {
    let (err, sent) = failure(Some(response(
        "422 Unprocessable Entity",
        "",
        r#"{"error": "RecordInvalid", "description": "Record validation errors", "details": {"subject": [{"description": "Subject: is too long"}]}}"#,
    )))
    .await;
    assert_eq!(sent, 1);
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("Subject: is too long"), "{err}");

    let (err, _) = failure(Some(response("401 Unauthorized", "", "{}"))).await;
    assert!(!err.is_transient());
    assert!(err.to_string().contains("api_token"), "{err}");
}

#[tokio::test]
async fn a_rate_limit_is_sent_once_and_pauses_every_request_for_its_retry_after() {
    let (base, arrivals) = server(Some(response(
        "429 Too Many Requests",
        "retry-after: 1\r\n",
        "{}",
    )))
    .await;
    let client = client(&base);
    let err = client.show_ticket(1).await.unwrap_err();
    assert!(matches!(err, ZendeskError::RateLimited(_)), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(arrivals.lock().unwrap().len(), 1);
    // The next request, for anything, waits out the pause.
    let _ = client.show_user(2).await;
    let times = arrivals.lock().unwrap().clone();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "sent {:?} after the 429",
        times[1] - times[0]
    );
}

/// ZendeskApi_v2 issue #59: the closed-ticket refusal is a plain 422
/// `RecordInvalid` with no error code in its details.
#[tokio::test]
async fn the_real_closed_ticket_refusal_is_recognised() {
    let body = r#"{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: closed prevents ticket update"}]}}"#;
    let (err, sent) = failure(Some(response("422 Unprocessable Entity", "", body))).await;
    assert!(matches!(err, ZendeskError::TicketClosed), "{err:?}");
    assert_eq!(sent, 1);
    // Another 422 on status is still a refusal to fix.
    let other = r#"{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: is invalid","error":"InvalidValue"}]}}"#;
    let (err, _) = failure(Some(response("422 Unprocessable Entity", "", other))).await;
    assert!(matches!(err, ZendeskError::Invalid { .. }), "{err:?}");
}

/// zendesk_api_client_php issue #314, zenpy issue #58: a 409 `DatabaseConflict`
/// is worth retrying.
#[tokio::test]
async fn a_database_conflict_is_transient() {
    let body = r#"{"error":"DatabaseConflict","description":"Database collision"}"#;
    let (err, sent) = failure(Some(response("409 Conflict", "", body))).await;
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("DatabaseConflict"), "{err}");
    assert_eq!(sent, 1);
}

/// A 403 is not a credentials problem: it names the permission, not the token.
#[tokio::test]
async fn a_403_says_the_role_lacks_the_permission() {
    let body = r#"{"error":"Forbidden","description":"You do not have access to this page."}"#;
    let (err, _) = failure(Some(response("403 Forbidden", "", body))).await;
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(text.contains("admin role"), "{text}");
    assert!(!text.contains("api_token"), "{text}");
}

/// Zendesk's limits are not one bucket ("Rate limits": endpoint limits such as 30
/// updates per ticket per 10 minutes). A 429 while the account still has
/// requests left (`x-rate-limit-remaining`) holds back only that request; a 429
/// with none left pauses every request of the account.
#[tokio::test]
async fn an_endpoint_429_pauses_nothing_else_and_an_account_429_pauses_all() {
    for (remaining, pauses) in [("500", false), ("0", true)] {
        let reply = response(
            "429 Too Many Requests",
            &format!("retry-after: 30\r\nx-rate-limit-remaining: {remaining}\r\n"),
            "Rate limit exceeded",
        );
        let (base, _) = server(Some(reply)).await;
        let client = client(&base);
        let err = client.show_ticket(1).await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(
            client.budget().paused_until().is_some(),
            pauses,
            "remaining {remaining}"
        );
    }
}

/// Other integrations spend the same account: a successful answer saying no
/// requests are left this minute pauses every request until `ratelimit-reset`,
/// before Zendesk has to refuse one.
#[tokio::test]
async fn an_answer_with_no_requests_left_pauses_until_the_reset() {
    for (remaining, pauses) in [("3", false), ("0", true)] {
        let reply = response(
            "200 OK",
            &format!(
                "x-rate-limit: 700\r\nx-rate-limit-remaining: {remaining}\r\nratelimit-remaining: {remaining}\r\nratelimit-reset: 7\r\n"
            ),
            r#"{"ticket":{"id":1,"status":"open","subject":"s","requester_id":2,"updated_at":"2026-11-22T10:00:00Z","created_at":"2026-11-22T10:00:00Z"}}"#,
        );
        let (base, _) = server(Some(reply)).await;
        let client = client(&base);
        let before = tokio::time::Instant::now();
        client.show_ticket(1).await.unwrap();
        let paused = client.budget().paused_until();
        assert_eq!(paused.is_some(), pauses, "remaining {remaining}");
        if let Some(until) = paused {
            let pause = until - before;
            assert!(
                pause > Duration::from_secs(6) && pause <= Duration::from_secs(8),
                "{pause:?}"
            );
        }
    }
}

/// Every answer carries the account's plan in `X-Rate-Limit` ("Rate limits"):
/// one lower than configured becomes the budget's rate, so the client slows
/// before a 429; a higher one changes nothing.
#[tokio::test]
async fn the_plan_zendesk_announces_lowers_the_budget() {
    for (announced, kept) in [(200, 200), (9000, 6000)] {
        let reply = response(
            "200 OK",
            &format!("x-rate-limit: {announced}\r\nx-rate-limit-remaining: 150\r\n"),
            r#"{"ticket":{"id":1,"status":"open","subject":"s","requester_id":2,"updated_at":"2026-11-22T10:00:00Z","created_at":"2026-11-22T10:00:00Z"}}"#,
        );
        let (base, _) = server(Some(reply)).await;
        let client = client(&base);
        assert_eq!(client.budget().requests_per_minute(), 6000);
        client.show_ticket(1).await.unwrap();
        assert_eq!(
            client.budget().requests_per_minute(),
            kept,
            "announced {announced}"
        );
    }
}

/// A ticket update refused by its ticket's limit (429 while the account has
/// requests left) holds back that ticket's next update unsent, for the
/// `Retry-After`, and no other ticket's.
#[tokio::test]
async fn a_tickets_429_holds_back_its_next_update_unsent() {
    use deskbridge_zendesk::types::{CommentChanges, NewComment};
    let reply = response(
        "429 Too Many Requests",
        "retry-after: 120\r\nx-rate-limit-remaining: 500\r\n",
        r#"{"error":"TooManyRequests"}"#,
    );
    let (base, arrivals) = server(Some(reply)).await;
    let client = client(&base);
    let comment = NewComment {
        body: "Call".into(),
        public: false,
    };
    let err = client
        .add_comment(7, &comment, &CommentChanges::default())
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(
        client.budget().paused_until().is_none(),
        "nothing else waits"
    );
    let wait = client.ticket_update_wait(7);
    assert!(wait > Duration::from_secs(118), "{wait:?}");
    let again = client
        .add_comment(7, &comment, &CommentChanges::default())
        .await
        .unwrap_err();
    assert!(matches!(again, ZendeskError::HeldBack(_)), "{again:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        arrivals.lock().unwrap().len(),
        1,
        "the held update was not sent"
    );
    assert_eq!(client.ticket_update_wait(8), Duration::ZERO);
}

/// Incremental exports are limited to 10 a minute ("Rate limits", Incremental
/// Exports; 30 with the High Volume add-on): the 11th is refused before it is
/// sent, with the time until the window has room; other limits are untouched.
#[tokio::test]
async fn incremental_exports_are_kept_to_their_limit() {
    let (base, _) = server(None).await;
    let client = client(&base);
    for _ in 0..10 {
        client.admit_incremental_export().await.unwrap();
    }
    let ZendeskError::HeldBack(wait) = client.admit_incremental_export().await.unwrap_err() else {
        panic!("the 11th export was admitted");
    };
    assert!(wait > Duration::from_secs(59), "{wait:?}");
    for _ in 0..5 {
        client.admit_user_update(3).await.unwrap();
    }
    assert!(
        client.admit_user_update(3).await.is_err(),
        "a user's 6th update a minute"
    );
    client.admit_user_update(4).await.unwrap();
    assert_eq!(client.ticket_update_wait(1), Duration::ZERO);
}
