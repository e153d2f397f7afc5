//! Agent sign-in secrets: argon2id password hashes, per-agent tokens, and the
//! random values of sessions.
//!
//! The session cookie's value is a random 256-bit secret; the store keeps only
//! its SHA-256 (a copy of the database signs nobody in). Each session has its own
//! CSRF token, which the page reads from the sign-in answer and sends back in
//! `X-CSRF-Token` with every unsafe request.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};
use rand::RngCore;
use sha2::{Digest, Sha256};
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
/// takes as long to refuse as a wrong password (no account enumeration by time).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password("deskbridge decoy password")
            .unwrap_or_else(|_| format!("${}$v=19$m=19456,t=2,p=1$", Algorithm::Argon2id))
    })
}

/// Equal secrets, compared in constant time.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
