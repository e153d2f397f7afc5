//! Sign-in by Zendesk: the tokens the emulator signs as Zendesk does (its own
//! key pair, the claims of the Apps framework's "JWT claims"), fetched and
//! verified the way deskbridge does: the installation from the token's
//! audience, the installations and the app's public key from the API.

use std::sync::Arc;

use base64::Engine;
use deskbridge_zendesk::zaf::{Expected, ZafRefused, ZafSignIn, installation_of, verify};
use deskbridge_zendesk::{Auth, Budget, ClientConfig, ZendeskClient};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use zendesk_emulator::apps::{ACCOUNT_HOST, PUBLIC_KEY, claims, sign};
use zendesk_emulator::{Emulator, EmulatorConfig, RunningEmulator};

const EXPECTED: Expected<'static> = Expected {
    account_host: ACCOUNT_HOST,
};

/// Another key pair than the app's (made with `openssl genpkey` for this test).
const OTHER_KEY: &[u8] = include_bytes!("keys/other-signing-key.pem");

async fn account() -> (RunningEmulator, ZendeskClient, u64, u64) {
    let zd = Emulator::new(EmulatorConfig::new("admin@acme.com", "t"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let ann = zd.seed_agent("ann@acme.com", "Ann Example");
    let (_, installation) = zd.install_app(json!({"deskbridge_url": "http://127.0.0.1:1"}));
    let auth = Auth::ApiToken {
        email: "admin@acme.com".into(),
        token: "t".into(),
    };
    let client = ZendeskClient::new(
        ClientConfig::new(&zd.base_url, auth),
        Arc::new(Budget::new(6000)),
    )
    .unwrap();
    (zd, client, ann, installation)
}

/// What deskbridge does with a token: which installation, that app's key,
/// then the check.
async fn sign_in(client: &ZendeskClient, token: &str) -> Result<ZafSignIn, ZafRefused> {
    let installation = installation_of(token, &EXPECTED)?;
    let installed = client.app_installations().await.unwrap();
    let app = installed
        .iter()
        .find(|i| i.id == installation && i.enabled)
        .ok_or(ZafRefused::UnknownInstallation(installation))?;
    let key = client.app_public_key(app.app_id).await.unwrap();
    let enabled: Vec<u64> = installed
        .iter()
        .filter(|i| i.enabled)
        .map(|i| i.id)
        .collect();
    verify(token, &key, &EXPECTED, &enabled)
}

fn part(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn a_token_zendesk_signed_on_first_load_names_the_user_and_installation() {
    let (zd, client, ann, installation) = account().await;
    let token = zd.zaf_token(installation, ann, "top_bar");
    assert_eq!(
        sign_in(&client, &token).await,
        Ok(ZafSignIn {
            user_id: ann,
            installation_id: installation,
            location: Some("top_bar".into()),
        })
    );
}

#[tokio::test]
async fn tokens_zendesk_did_not_sign_for_this_account_and_app_are_refused() {
    let (zd, client, ann, installation) = account().await;
    let now = chrono::Utc::now().timestamp();
    let good = claims(installation, ann, "top_bar");

    // Signed with another key than the app's.
    let other = EncodingKey::from_rsa_pem(OTHER_KEY).unwrap();
    let forged = encode(&Header::new(Algorithm::RS256), &good, &other).unwrap();
    assert_eq!(
        sign_in(&client, &forged).await,
        Err(ZafRefused::BadSignature)
    );

    // Another account's token (its issuer and audience), signed by the app.
    let mut elsewhere = good.clone();
    elsewhere["iss"] = json!("evil.zendesk.com");
    assert!(matches!(
        sign_in(&client, &sign(&elsewhere)).await,
        Err(ZafRefused::WrongAccount { .. })
    ));
    elsewhere["aud"] = json!(format!(
        "https://evil.zendesk.com/api/v2/apps/installations/{installation}.json"
    ));
    assert!(matches!(
        sign_in(&client, &sign(&elsewhere)).await,
        Err(ZafRefused::WrongAudience(_))
    ));

    // An installation this account does not have, or has switched off.
    let stranger = zd.zaf_token(installation + 1000, ann, "top_bar");
    assert_eq!(
        sign_in(&client, &stranger).await,
        Err(ZafRefused::UnknownInstallation(installation + 1000))
    );
    zd.set_installation_enabled(installation, false);
    assert_eq!(
        sign_in(&client, &zd.zaf_token(installation, ann, "top_bar")).await,
        Err(ZafRefused::UnknownInstallation(installation))
    );
    zd.set_installation_enabled(installation, true);

    // Expired (beyond the leeway).
    let mut old = good.clone();
    old["iat"] = json!(now - 900);
    old["nbf"] = json!(now - 900);
    old["exp"] = json!(now - 600);
    assert_eq!(
        sign_in(&client, &sign(&old)).await,
        Err(ZafRefused::Expired)
    );

    // No signature at all.
    let none = format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT"})),
        part(&good)
    );
    assert!(matches!(
        sign_in(&client, &none).await,
        Err(ZafRefused::WrongAlgorithm(_) | ZafRefused::Malformed(_))
    ));

    // HS256 with the app's public key as the shared secret (anyone can fetch it).
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(PUBLIC_KEY.as_bytes()).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        sign_in(&client, &hs).await,
        Err(ZafRefused::WrongAlgorithm(_))
    ));

    // And the genuine one still passes.
    assert!(sign_in(&client, &sign(&good)).await.is_ok());
}
