//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>, the
//! specification's "Signature scheme"): a JSON notification carries
//! `webhook-id` (stable across retries, for the receiver's deduplication),
//! `webhook-timestamp` (seconds since the epoch, of this attempt) and
//! `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of
//! `{id}.{timestamp}.{body}` keyed with the secret's bytes. While a secret is
//! being replaced an endpoint has two, and each attempt is signed with both
//! (space-separated), so a receiver holding either accepts it. Receivers use
//! any Standard Webhooks library (or Svix's, which is the same scheme).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// An endpoint's signing secret: `whsec_` followed by base64 of the key bytes
/// (24 to 64 bytes, as the specification recommends).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    // Secrets never appear in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a secret was refused; each says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "a trigger secret starts with \"whsec_\" followed by base64 (e.g. whsec_ and the output of `openssl rand -base64 32`)"
    )]
    NoPrefix,
    #[error("the part after \"whsec_\" is not base64: {0}")]
    NotBase64(String),
    #[error("a trigger secret must hold 24 to 64 bytes of key; this one holds {0}")]
    Length(usize),
}

impl Secret {
    pub fn parse(text: &str) -> Result<Secret, SecretError> {
        let encoded = text.strip_prefix("whsec_").ok_or(SecretError::NoPrefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|e| SecretError::NotBase64(e.to_string()))?;
        if !(24..=64).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Secret(key))
    }

    /// `v1,{base64 signature}` of one message with this secret.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header of a message signed with every current secret.
pub fn header(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}
