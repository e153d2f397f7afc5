//! One attempt at one notification: the address check, the request (GET for a
//! `query` trigger; a signed POST for `json`), and what came back.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskbridge_core::trigger::{Attempt, Request, may_reach, shown_url, signature};
use deskbridge_store::Delivery;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::Secrets;

/// How much of an answer is read: the excerpt kept is shorter still.
const READ_AT_MOST: usize = 2048;

/// How an attempt went.
pub struct Tried {
    pub attempt: Attempt,
    pub status: Option<u16>,
    /// The answer's start, or why there was none.
    pub excerpt: String,
    /// Nothing the schedule can mend (a `json` endpoint with no secret any more).
    pub dead: bool,
}

impl Tried {
    fn no_answer(why: String) -> Tried {
        Tried {
            attempt: Attempt::NoAnswer,
            status: None,
            excerpt: why,
            dead: false,
        }
    }
}

pub struct Sender {
    client: reqwest::Client,
    /// Also bounds the name lookup before sending: the attempt must end well
    /// within its lease, or another instance would send it again meanwhile.
    timeout: Duration,
    allow_private_networks: bool,
    secrets: Secrets,
}

/// Resolves names and refuses any whose addresses include one the triggers may
/// not reach: the check made before sending holds at connect time too (a name
/// that changed its answer in between is refused, not followed).
struct CheckedResolver {
    allow_private_networks: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private_networks;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(refused) = addrs.iter().find(|a| !may_reach(a.ip(), allow)) {
                return Err(format!(
                    "{} resolves to {}, a private address",
                    name.as_str(),
                    refused.ip()
                )
                .into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

impl Sender {
    pub fn new(
        timeout: Duration,
        allow_private_networks: bool,
        secrets: Secrets,
    ) -> anyhow::Result<Sender> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private_networks,
            }))
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
            // A proxy would resolve the receiver's name itself, past the
            // address check made at connect time.
            .no_proxy()
            .build()?;
        Ok(Sender {
            client,
            timeout,
            allow_private_networks,
            secrets,
        })
    }

    /// Whether the URL's host may be reached: every address it resolves to must
    /// be allowed. `Err` says why not.
    async fn check_address(&self, url: &str) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| format!("{} is not a URL: {e}", shown_url(url)))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("{} has no host", shown_url(url)))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let ips: Vec<IpAddr> = match literal.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                match tokio::time::timeout(self.timeout, tokio::net::lookup_host((host, port)))
                    .await
                {
                    Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                    // Not a refusal: the name may resolve again later (the
                    // request's own lookup, checked too, then fails or answers).
                    Ok(Err(_)) | Err(_) => return Ok(()),
                }
            }
        };
        match ips
            .iter()
            .find(|ip| !may_reach(**ip, self.allow_private_networks))
        {
            Some(ip) => Err(format!(
                "{host} is {ip}, a loopback, link-local or private address: refused (set [triggers] allow_private_networks = true for a receiver on this network)"
            )),
            None => Ok(()),
        }
    }

    pub async fn send(&self, d: &Delivery) -> Tried {
        if let Err(why) = self.check_address(d.request.url()).await {
            return Tried {
                attempt: Attempt::AddressRefused,
                status: None,
                excerpt: why,
                dead: true,
            };
        }
        let request = match &d.request {
            Request::Get { url } => self.client.get(url),
            Request::Post { url, body } => {
                let key = (d.group.clone(), d.endpoint.clone());
                let Some(secrets) = self.secrets.get(&key) else {
                    return Tried {
                        dead: true,
                        ..Tried::no_answer(format!(
                            "group {:?} has no json trigger with a secret for {} any more: add it back, then replay",
                            d.group,
                            shown_url(&d.endpoint)
                        ))
                    };
                };
                let timestamp = Utc::now().timestamp();
                let signed = signature::header(secrets, &d.message_id, timestamp, body.as_bytes());
                self.client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &d.message_id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signed)
                    .body(body.clone())
            }
        };
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Tried::no_answer(describe(&e)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, Utc::now()));
        let mut bytes = Vec::new();
        while bytes.len() < READ_AT_MOST {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(READ_AT_MOST)]);
        Tried {
            attempt: Attempt::Answered {
                status,
                retry_after,
            },
            status: Some(status),
            excerpt: format!("HTTP {status}: {}", text.trim()),
            dead: false,
        }
    }
}

/// An error with its causes (reqwest's own message says little), the URL it
/// names shown without its secrets: this text is logged and kept as the
/// delivery's `last_error`, which the deliveries API shows.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    match e.url() {
        Some(url) => text.replace(url.as_str(), &shown_url(url.as_str())),
        None => text,
    }
}

/// A `Retry-After` value (RFC 9110, 10.2.3): seconds, or an HTTP date (a date
/// passed already is no wait).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-29T08:49:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 29 Nov 2026 08:49:37 GMT", now),
            Some(Duration::from_secs(37))
        );
        assert_eq!(
            retry_after("Sun, 29 Nov 2026 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
