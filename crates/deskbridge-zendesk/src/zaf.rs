//! Sign-in by Zendesk: the JWT Zendesk posts to a server-side app's location on
//! its first load when the app's manifest sets `signedUrls`.
//!
//! What is checked, and Zendesk's word for each ("Building a server-side app,
//! part 5: securing the app" and the Apps framework's "JWT claims", on
//! developer.zendesk.com):
//!
//! - the signature, RS256 only: "Zendesk signs the ZAF JWT with an RSA digital
//!   signature known as RS256", with the app's key pair; the public half is
//!   served by `GET /api/v2/apps/{app_id}/public_key.pem`. A token naming another
//!   algorithm (`none`, or HS256 with the public key as the secret) is refused
//!   before any key is used;
//! - `exp` (and `nbf`, `iat` when present): the token lives minutes;
//! - `iss`, the account: `{subdomain}.zendesk.com`, the group's backend's;
//! - `aud`, the installation: `https://{subdomain}.zendesk.com/api/v2/apps/
//!   installations/{id}.json`, one of the account's installations of this app;
//! - `sub`, the user: `https://{subdomain}.zendesk.com/api/v2/users/{id}.json`
//!   (a bare id is read too).
//!
//! Only this token, minted by Zendesk on first load, signs anyone in. A JWT an
//! app's own script asks ZAF to sign (`client.request` with `jwt`) carries claims
//! the script chose (the SDK's public issue #206): it is never taken here, and
//! after the first load the pages authenticate by their session alone.
//!
//! No I/O: the caller fetches the key and the installations (see
//! [`crate::ZendeskClient::app_public_key`]) and hands them in.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

/// How long past `exp` a token is still taken: clocks differ a little.
pub const LEEWAY_SECONDS: u64 = 30;

/// What a token must say to sign someone in.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// `acme.zendesk.com`: the account of the group's Zendesk backend.
    pub account_host: &'a str,
}

/// A verified sign-in: who, through which installation, from which location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZafSignIn {
    pub user_id: u64,
    pub installation_id: u64,
    /// `top_bar`, `ticket_sidebar`, ... (`context.location`), when given.
    pub location: Option<String>,
}

/// Why a token signs no one in. Shown to the admin in the log; the page says
/// only "open the app from Zendesk again".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZafRefused {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("the token is signed with {0}; Zendesk signs with RS256 only")]
    WrongAlgorithm(String),
    #[error("the signature does not verify with the app's public key")]
    BadSignature,
    #[error("the token has expired (Zendesk's tokens live minutes: open the app again)")]
    Expired,
    #[error("the token is from account {found:?}, not {expected:?}")]
    WrongAccount { found: String, expected: String },
    #[error("the token's audience {0:?} is not an installation of this account")]
    WrongAudience(String),
    #[error("installation {0} is not an enabled installation of deskbridge's app in this account")]
    UnknownInstallation(u64),
    #[error("the token names no Zendesk user (sub {0:?})")]
    NoUser(String),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: serde_json::Value,
    #[serde(default)]
    context: Option<Context>,
}

#[derive(Deserialize)]
struct Context {
    #[serde(default)]
    location: Option<String>,
}

/// The installation a token says it comes from (`aud`), read before it is
/// verified: it tells which app's key verifies it. Nothing else is trusted
/// until [`verify`] has run.
pub fn installation_of(token: &str, expected: &Expected<'_>) -> Result<u64, ZafRefused> {
    let claims: Claims = decode_unverified(token)?;
    audience_installation(&claims.aud, expected)
}

/// Verifies `token` with the app's `public_key_pem`, and that it comes from the
/// expected account; the installation it names is the caller's to check
/// against the account's installations (`installations`: the enabled ones of
/// deskbridge's app).
pub fn verify(
    token: &str,
    public_key_pem: &[u8],
    expected: &Expected<'_>,
    installations: &[u64],
) -> Result<ZafSignIn, ZafRefused> {
    let header = decode_header(token).map_err(|e| refusal_of(&e))?;
    if header.alg != Algorithm::RS256 {
        return Err(ZafRefused::WrongAlgorithm(format!("{:?}", header.alg)));
    }
    let key = DecodingKey::from_rsa_pem(public_key_pem).map_err(|_| ZafRefused::BadSignature)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // The audience is read below, where its installation id is parsed.
    validation.validate_aud = false;
    let claims = decode::<Claims>(token, &key, &validation)
        .map_err(|e| refusal_of(&e))?
        .claims;
    let issuer = claims.iss.trim_start_matches("https://");
    if !issuer.eq_ignore_ascii_case(expected.account_host) {
        return Err(ZafRefused::WrongAccount {
            found: claims.iss.clone(),
            expected: expected.account_host.to_string(),
        });
    }
    let installation_id = audience_installation(&claims.aud, expected)?;
    if !installations.contains(&installation_id) {
        return Err(ZafRefused::UnknownInstallation(installation_id));
    }
    let user_id =
        user_of(&claims.sub, expected).ok_or_else(|| ZafRefused::NoUser(claims.sub.to_string()))?;
    Ok(ZafSignIn {
        user_id,
        installation_id,
        location: claims.context.and_then(|c| c.location),
    })
}

fn decode_unverified(token: &str) -> Result<Claims, ZafRefused> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| ZafRefused::Malformed("three dot-separated parts expected".into()))?;
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| ZafRefused::Malformed(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ZafRefused::Malformed(e.to_string()))
}

/// `https://{account}/api/v2/apps/installations/{id}.json` → `id`.
fn audience_installation(aud: &str, expected: &Expected<'_>) -> Result<u64, ZafRefused> {
    let prefix = format!(
        "https://{}/api/v2/apps/installations/",
        expected.account_host
    );
    aud.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(&prefix))
        .and_then(|_| aud[prefix.len()..].strip_suffix(".json"))
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| ZafRefused::WrongAudience(aud.to_string()))
}

/// `https://{account}/api/v2/users/{id}.json`, or the id alone.
fn user_of(sub: &serde_json::Value, expected: &Expected<'_>) -> Option<u64> {
    match sub {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => {
            if let Ok(id) = s.parse() {
                return Some(id);
            }
            let prefix = format!("https://{}/api/v2/users/", expected.account_host);
            s.get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(&prefix))
                .and_then(|_| s[prefix.len()..].strip_suffix(".json"))
                .and_then(|id| id.parse().ok())
        }
        _ => None,
    }
}

fn refusal_of(e: &jsonwebtoken::errors::Error) -> ZafRefused {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) => ZafRefused::BadSignature,
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => ZafRefused::Expired,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            ZafRefused::WrongAlgorithm(e.to_string())
        }
        _ => ZafRefused::Malformed(e.to_string()),
    }
}
