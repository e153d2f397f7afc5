//! Starting an emulator and talking to it.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use zendesk_emulator::{Emulator, EmulatorConfig, RunningEmulator};

pub const EMAIL: &str = "admin@acme.com";
pub const TOKEN: &str = "TOKEN";

pub fn config() -> EmulatorConfig {
    EmulatorConfig::new(EMAIL, TOKEN)
}

pub struct Harness {
    pub emulator: RunningEmulator,
    pub client: reqwest::Client,
}

/// One answer, body kept as text so text/plain errors can be checked too.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl Harness {
    pub async fn start(config: EmulatorConfig) -> Harness {
        let emulator = Emulator::new(config)
            .start("127.0.0.1:0")
            .await
            .expect("emulator starts");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Harness { emulator, client }
    }

    pub async fn new() -> Harness {
        Harness::start(config()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Answer {
            status,
            headers,
            text,
        }
    }

    fn authed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(format!("{EMAIL}/token"), Some(TOKEN))
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.authed(self.client.get(self.url(path))))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.authed(self.client.post(self.url(path)).json(body)))
            .await
    }

    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> Answer {
        let request = self
            .client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .json(body);
        self.send(self.authed(request)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(self.authed(self.client.put(self.url(path)).json(body)))
            .await
    }

    /// A request without credentials.
    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Answer {
        self.send(request).await
    }

    /// Creates an end user through the API and returns its id.
    pub async fn create_user(&self, name: &str, phone: &str) -> u64 {
        let answer = self
            .post(
                "/api/v2/users.json",
                &serde_json::json!({"user": {"name": name, "phone": phone}}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        id(&answer.json()["user"])
    }

    /// Creates a ticket through the API and returns its id.
    pub async fn create_ticket(&self, requester_id: u64, body: &str) -> u64 {
        let answer = self
            .post(
                "/api/v2/tickets.json",
                &serde_json::json!({"ticket": {
                    "subject": "Call",
                    "requester_id": requester_id,
                    "comment": {"body": body, "public": false},
                }}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        id(&answer.json()["ticket"])
    }
}

pub fn id(value: &Value) -> u64 {
    value["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no id in {value}"))
}

/// A recorded go-zendesk response from tests/fixtures.
pub fn fixture(path: &str) -> Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{full}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{full}: {error}"))
}

pub fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

/// Fails with the keys missing from `ours` and the ones it has in excess.
pub fn assert_same_keys(what: &str, ours: &Value, reference: &Value) {
    let ours = keys(ours);
    let reference = keys(reference);
    let missing: Vec<_> = reference.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&reference).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
}

/// Fails with the keys of the fixture that `ours` lacks.
pub fn assert_has_keys(what: &str, ours: &Value, reference: &Value) {
    let ours = keys(ours);
    let missing: Vec<_> = keys(reference)
        .into_iter()
        .filter(|key| !ours.contains(key))
        .collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?}");
}
