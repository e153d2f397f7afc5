//! Agent sign-in secrets: argon2id password hashes, per-agent tokens, and the
//! random values of sessions.
//!
//! The session cookie's value is a random 256-bit secret; the store keeps only
//! its SHA-256 (a copy of the database signs nobody in). Each session has its own
//! CSRF token, which the page reads from the sign-in answer and sends back in
//! `X-CSRF-Token` with every unsafe request.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use deskbridge_core::sign_in::{Throttle, ThrottlePolicy, Verdict, longest};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Whether `hash` is an argon2 hash this server can verify against.
pub fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash)
        .map_err(|_| "is not an argon2 hash (it starts with $argon2id$)".to_string())?;
    match parsed.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => Ok(()),
        other => Err(format!("is a {other} hash; argon2id is needed")),
    }
}

/// An argon2id hash of `password` with a random salt (the default parameters of
/// the `argon2` crate: 19 MiB, 2 passes, as OWASP recommends).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches `hash` (argon2 compares in constant time).
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash to verify against when the email is unknown, so that an unknown email
/// takes as long to refuse as a wrong password (no account enumeration by
/// time). Its argon2 parameters are `like`'s (a configured agent's hash): a
/// decoy with the crate's defaults would answer an unknown email faster or
/// slower than a known one whose hash was made with other costs. Made once per
/// set of parameters.
pub fn decoy_hash(like: Option<&str>) -> String {
    static DECOYS: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
    let template = like.and_then(|h| PasswordHash::new(h).ok());
    let key = template
        .as_ref()
        .map(|t| format!("{}${:?}${}", t.algorithm, t.version, t.params))
        .unwrap_or_default();
    if let Some(hit) = locked(&DECOYS).as_ref().and_then(|m| m.get(&key)) {
        return hit.clone();
    }
    let made = template
        .and_then(|t| decoy_with(&t))
        .or_else(|| hash_password("deskbridge decoy password").ok())
        .unwrap_or_else(|| format!("${}$v=19$m=19456,t=2,p=1$", Algorithm::Argon2id));
    locked(&DECOYS)
        .get_or_insert_with(HashMap::new)
        .insert(key, made.clone());
    made
}

/// A hash of the decoy password with `template`'s algorithm, version and costs.
fn decoy_with(template: &PasswordHash<'_>) -> Option<String> {
    let algorithm = Algorithm::new(template.algorithm.as_str()).ok()?;
    let version = template
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let params = Params::try_from(template).ok()?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).ok()?;
    Argon2::new(algorithm, version, params)
        .hash_password(b"deskbridge decoy password", &salt)
        .ok()
        .map(|h| h.to_string())
}

/// Failed sign-ins per account (an email, known or not: an unknown one is
/// throttled alike, so the answer does not tell which exist).
pub const ACCOUNT_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    free_failures: 5,
    window: Duration::from_secs(15 * 60),
    first_wait: Duration::from_secs(1),
    max_wait: Duration::from_secs(15 * 60),
};

/// Failed sign-ins per client address: more than an account's, since an office
/// behind one address shares it.
pub const ADDRESS_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    free_failures: 30,
    ..ACCOUNT_THROTTLE
};

/// Failed token sign-ins per client address: a token names no account, so its
/// guesses are counted where they come from, as an account's would be.
pub const TOKEN_THROTTLE: ThrottlePolicy = ACCOUNT_THROTTLE;

/// Keys each throttle remembers at most (a few MiB), so a flood of addresses or
/// made-up emails cannot grow memory without bound.
const THROTTLE_KEYS: usize = 100_000;

/// The sign-in throttles' state (the decisions are [`deskbridge_core::sign_in`]'s).
pub struct SignInThrottles {
    accounts: Mutex<Throttle<String>>,
    addresses: Mutex<Throttle<IpAddr>>,
    tokens: Mutex<Throttle<IpAddr>>,
}

impl Default for SignInThrottles {
    fn default() -> Self {
        SignInThrottles {
            accounts: Mutex::new(Throttle::new(ACCOUNT_THROTTLE, THROTTLE_KEYS)),
            addresses: Mutex::new(Throttle::new(ADDRESS_THROTTLE, THROTTLE_KEYS)),
            tokens: Mutex::new(Throttle::new(TOKEN_THROTTLE, THROTTLE_KEYS)),
        }
    }
}

/// What a sign-in attempt is throttled by.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An email and password: the (lowercase) email's account.
    Password(String),
    /// An agent token.
    Token,
}

/// An attempt allowed and charged: report its outcome with [`SignInThrottles::finish`].
#[derive(Debug)]
pub struct Attempt {
    credential: Credential,
    address: Option<IpAddr>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves counts, not broken invariants.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SignInThrottles {
    /// Whether an attempt may go ahead now; if so it is charged as a failure
    /// until [`SignInThrottles::finish`] says otherwise. `Err` is how long to
    /// wait (the longest of the keys').
    pub fn begin(
        &self,
        credential: Credential,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let mut accounts = locked(&self.accounts);
        let mut addresses = locked(&self.addresses);
        let mut tokens = locked(&self.tokens);
        let mut verdict = Verdict::Allowed;
        if let Credential::Password(email) = &credential {
            verdict = longest(verdict, accounts.check(email, now));
        }
        if let Some(ip) = &address {
            verdict = longest(verdict, addresses.check(ip, now));
            if let Credential::Token = credential {
                verdict = longest(verdict, tokens.check(ip, now));
            }
        }
        if let Verdict::Wait(wait) = verdict {
            return Err(wait);
        }
        if let Credential::Password(email) = &credential {
            accounts.charge(email, now);
        }
        if let Some(ip) = &address {
            addresses.charge(ip, now);
            if let Credential::Token = credential {
                tokens.charge(ip, now);
            }
        }
        Ok(Attempt {
            credential,
            address,
        })
    }

    /// The attempt's outcome: a failure stays charged; a success clears its
    /// account and takes back its address's charge.
    pub fn finish(&self, attempt: Attempt, signed_in: bool) {
        if !signed_in {
            return;
        }
        if let Credential::Password(email) = &attempt.credential {
            locked(&self.accounts).succeeded(email);
        }
        if let Some(ip) = &attempt.address {
            locked(&self.addresses).refund(ip);
            if let Credential::Token = attempt.credential {
                locked(&self.tokens).refund(ip);
            }
        }
    }
}

/// Equal secrets, compared in constant time.
/// `scheme://host[:port]` of a URL (`server.public_url`, a Zendesk app's
/// `deskbridge_url`), lowercase: what an `Origin` header says of a page.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}").to_ascii_lowercase())
}

pub fn same_secret(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// 32 random bytes, hex: a session id or a CSRF token.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps of a session id.
pub fn session_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// What a session keeps of its agent's credentials at sign-in: a hash of the
/// configured password hash and token, never either of them. A session whose
/// fingerprint no longer matches the configuration (the password or token was
/// changed, say after a leak) is not accepted: the change signs the agent out
/// everywhere.
pub fn credential_fingerprint(password_hash: Option<&str>, token: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [password_hash, token] {
        // Each part's length first: ("ab", "c") and ("a", "bc") differ.
        let part = part.unwrap_or("");
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_password_or_token_changes_the_fingerprint() {
        let before = credential_fingerprint(Some("$argon2id$a"), Some("tok"));
        assert_eq!(
            before,
            credential_fingerprint(Some("$argon2id$a"), Some("tok"))
        );
        assert_ne!(
            before,
            credential_fingerprint(Some("$argon2id$b"), Some("tok"))
        );
        assert_ne!(
            before,
            credential_fingerprint(Some("$argon2id$a"), Some("other"))
        );
        assert_ne!(before, credential_fingerprint(Some("$argon2id$a"), None));
        assert_ne!(
            credential_fingerprint(Some("ab"), Some("c")),
            credential_fingerprint(Some("a"), Some("bc"))
        );
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse").expect("a hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(check_hash(&hash).is_ok());
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(check_hash("$2b$12$bcrypt").is_err());
    }

    #[test]
    fn the_decoy_hash_has_the_configured_hashes_parameters() {
        let params = Params::new(8 * 1024, 3, 1, None).expect("params");
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let configured = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"ann's password", &salt)
            .expect("a hash")
            .to_string();
        let decoy = decoy_hash(Some(&configured));
        let parsed = PasswordHash::new(&decoy).expect("an argon2 hash");
        let want = PasswordHash::new(&configured).expect("an argon2 hash");
        assert_eq!(parsed.algorithm, want.algorithm);
        assert_eq!(parsed.version, want.version);
        assert_eq!(parsed.params, want.params, "{decoy} vs {configured}");
        assert_ne!(parsed.salt, want.salt, "a salt of its own");
        assert!(!verify_password("ann's password", &decoy));
        // Without a configured hash: the defaults, as hash_password makes them.
        let default = decoy_hash(None);
        let parsed = PasswordHash::new(&default).expect("an argon2 hash");
        let params = Params::try_from(&parsed).expect("params");
        let default = Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
    }
}
