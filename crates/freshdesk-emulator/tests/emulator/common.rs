//! Starting an emulator and talking to it.

use std::time::Duration;

use freshdesk_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const KEY: &str = "KEY";

pub fn config() -> EmulatorConfig {
    EmulatorConfig::new(KEY)
}

pub struct Harness {
    pub emulator: RunningEmulator,
    pub client: reqwest::Client,
}

/// One answer, the body kept as text (404s have none).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// `(field, code)` of each validation error.
    pub fn errors(&self) -> Vec<(String, String)> {
        let json = self.json();
        let mut errors: Vec<(String, String)> = json["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {json}"))
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap_or_default().to_owned(),
                    e["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        errors.sort();
        errors
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

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
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
        request.basic_auth(KEY, Some("X"))
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.authed(self.client.get(self.url(path))))
            .await
    }

    /// GET of an absolute URL (a `Link`).
    pub async fn get_url(&self, url: &str) -> Answer {
        self.send(self.authed(self.client.get(url))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.authed(self.client.post(self.url(path)).json(body)))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(self.authed(self.client.put(self.url(path)).json(body)))
            .await
    }

    /// Creates a contact through the API and returns its id.
    pub async fn create_contact(&self, body: Value) -> u64 {
        let answer = self.post("/api/v2/contacts", &body).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        id(&answer.json())
    }

    /// Creates a ticket through the API and returns its id.
    pub async fn create_ticket(&self, body: Value) -> u64 {
        let answer = self.post("/api/v2/tickets", &body).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        id(&answer.json())
    }
}

pub fn id(value: &Value) -> u64 {
    value["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no id in {value}"))
}
