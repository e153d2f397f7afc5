//! Dials through Twilio: Create Call for the agent's leg
//! (`deskbridge_adapters::twilio_dial` builds the form and, when Twilio
//! fetches it, the TwiML that dials the customer). Twilio answers 201 with the
//! call queued; a refusal is its JSON error (`{code, message, more_info,
//! status}`, e.g. 21212 for a `From` that is not a valid number, 20003
//! "Authenticate" for a wrong SID or token).

use std::time::Duration;

use deskbridge_adapters::twilio_dial::{Leg, create_call_form};
use deskbridge_core::dial::Dial;
use serde_json::Value;

use super::NotPlaced;
use crate::config::dialing::TwilioDialConfig;

/// How long Twilio has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Where Twilio reaches the group: `[server] public_url` and the group's name.
#[derive(Debug, Clone)]
pub struct TwilioAddress {
    pub public_url: String,
    pub group: String,
}

impl TwilioAddress {
    /// The address of a leg's status callbacks: the group's Twilio address,
    /// with the dial's call id, the leg and the dialing agent in the query
    /// (Twilio signs it with the rest of the URL).
    pub fn status_url(&self, dial_call_id: &str, leg: Leg, agent: Option<&str>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("call_id", dial_call_id);
        query.append_pair("leg", leg.as_str());
        if let Some(agent) = agent {
            query.append_pair("agent", agent);
        }
        format!(
            "{}/api/v1/twilio/{}?{}",
            self.public_url,
            self.group,
            query.finish()
        )
    }

    /// Where Twilio fetches the TwiML that dials the customer.
    pub fn twiml_url(&self, dial_call_id: &str) -> String {
        format!(
            "{}/api/v1/twilio/{}/dial/{dial_call_id}",
            self.public_url, self.group
        )
    }
}

pub(super) async fn place(
    http: &reqwest::Client,
    settings: &TwilioDialConfig,
    auth_token: &str,
    address: &TwilioAddress,
    dial: &Dial,
) -> Result<(), NotPlaced> {
    let endpoint = deskbridge_core::templates::render_for_dial(&settings.agent_endpoint, dial)
        .map_err(|e| NotPlaced::Refused(format!("twilio_dial.agent_endpoint: {e}")))?;
    let agent = dial.agent.email.as_deref();
    let form = create_call_form(
        dial,
        &endpoint,
        &address.twiml_url(&dial.call_id),
        &address.status_url(&dial.call_id, Leg::Agent, agent),
        settings.timeout_seconds.unwrap_or(30),
    );
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Calls.json",
        settings.api_base(),
        settings.account_sid
    );
    let response = http
        .post(&url)
        .timeout(ANSWER_WITHIN)
        .basic_auth(&settings.account_sid, Some(auth_token))
        .form(&form)
        .send()
        .await
        .map_err(|e| {
            NotPlaced::Unavailable(format!("Twilio did not answer: {}", e.without_url()))
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let error: Value = response.json().await.unwrap_or(Value::Null);
    let message = error["message"].as_str().unwrap_or("no message");
    let code = error["code"]
        .as_u64()
        .map_or_else(String::new, |c| format!(" (Twilio error {c})"));
    Err(NotPlaced::Refused(format!(
        "Twilio refused the dial: {message}{code}; check [groups.twilio_dial] and the caller id (Twilio calls from your Twilio numbers only)"
    )))
}
