//! Zendesk apps: the installations of a server-side app in the account, and the
//! JWT Zendesk signs for each location it loads ("signed URLs").
//!
//! Sources: "List App Installations" and "Get App Public Key" in the Apps API
//! reference (developer.zendesk.com/api-reference/ticketing/apps/), "Building a
//! server-side app, part 5: securing the app" (Zendesk POSTs the token, RS256,
//! in the form field `token` on the location's first load), and the Apps
//! framework's "JWT claims" (`iss` the account's host, `aud` the installation's
//! API URL, `sub` the user's, `context` the product and location, a lifetime of
//! minutes). The key pair is this emulator's own (`keys/`, made for it with
//! `openssl genpkey`; not a secret of anything real).

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::Serialize;
use serde_json::{Value, json};

/// The emulated account's subdomain: tokens say they come from
/// `acme.zendesk.com`, whatever address the emulator listens on.
pub const ACCOUNT_SUBDOMAIN: &str = "acme";
/// `acme.zendesk.com`: the `iss` of every token.
pub const ACCOUNT_HOST: &str = "acme.zendesk.com";

/// The private half of the emulated app's key pair.
const SIGNING_KEY: &[u8] = include_bytes!("../keys/zaf-signing-key.pem");
/// The public half, as `GET /api/v2/apps/{app_id}/public_key.pem` serves it.
pub const PUBLIC_KEY: &str = include_str!("../keys/zaf-public-key.pem");

/// How long a token lives: "valid for five minutes" (part 5 of the tutorial).
pub const TOKEN_LIFETIME_SECONDS: i64 = 300;

/// An app installed in the account.
#[derive(Debug, Clone, Serialize)]
pub struct Installation {
    pub id: u64,
    pub app_id: u64,
    pub enabled: bool,
    pub settings: Value,
    /// The app's locations in Support and the URL each loads, from its
    /// manifest (`location.support.<name>.url`); empty when installed without
    /// one.
    #[serde(skip)]
    pub locations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug)]
pub(crate) struct Apps {
    pub(crate) installations: Vec<Installation>,
    next_app: u64,
    next_installation: u64,
}

impl Default for Apps {
    fn default() -> Apps {
        Apps {
            installations: Vec::new(),
            next_app: 9_000_001,
            next_installation: 365_000_000_001,
        }
    }
}

impl Apps {
    /// Uploads a private app and installs it with `settings`: its (app id,
    /// installation id).
    pub(crate) fn install(&mut self, manifest: Option<&Value>, settings: Value) -> (u64, u64) {
        let locations = manifest
            .and_then(|m| m["location"]["support"].as_object())
            .map(|support| {
                support
                    .iter()
                    .filter_map(|(name, l)| {
                        // A location is a URL, or an object with one ("Manifest
                        // reference", location).
                        let url = l.as_str().or_else(|| l["url"].as_str())?;
                        Some((name.clone(), url.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let app_id = self.next_app;
        self.next_app += 1;
        let id = self.next_installation;
        self.next_installation += 1;
        self.installations.push(Installation {
            id,
            app_id,
            enabled: true,
            settings,
            locations,
        });
        (app_id, id)
    }

    pub(crate) fn app_exists(&self, app_id: u64) -> bool {
        self.installations.iter().any(|i| i.app_id == app_id)
    }

    /// The body of "List App Installations" (its documented fields that a
    /// private app has; the payment fields are left out).
    pub(crate) fn render(&self) -> Value {
        let installations: Vec<Value> = self
            .installations
            .iter()
            .map(|i| {
                let settings_objects: Vec<Value> = i
                    .settings
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| json!({"name": k, "value": v}))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "id": i.id,
                    "app_id": i.app_id,
                    "enabled": i.enabled,
                    "product": "support",
                    "servable": true,
                    "collapsible": true,
                    "group_restrictions": [],
                    "role_restrictions": null,
                    "settings": i.settings,
                    "settings_objects": settings_objects,
                })
            })
            .collect();
        json!({ "installations": installations })
    }
}

/// The claims Zendesk puts in the token for `user_id` opening `location` of
/// installation `installation_id`, now.
pub fn claims(installation_id: u64, user_id: u64, location: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": ACCOUNT_HOST,
        "aud": format!("https://{ACCOUNT_HOST}/api/v2/apps/installations/{installation_id}.json"),
        "sub": format!("https://{ACCOUNT_HOST}/api/v2/users/{user_id}.json"),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "context": { "product": "support", "location": location },
    })
}

/// `claims` signed as Zendesk signs them: RS256 with the app's key.
pub fn sign(claims: &Value) -> String {
    // The key is this crate's own file: a failure is a broken build, not input.
    let key = EncodingKey::from_rsa_pem(SIGNING_KEY).expect("the emulator's signing key parses");
    encode(&Header::new(Algorithm::RS256), claims, &key).expect("claims serialize")
}
