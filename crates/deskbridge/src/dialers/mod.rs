//! Click-to-call's ports: each asks a phone system to place a dial the core
//! decided (`deskbridge_core::decide::dial`). They decide nothing: the
//! number, the caller id and the call id are the dial's; a dialer renders the
//! group's templates over it, sends it, and says whether the phone system took
//! it.

mod asterisk;
pub mod twilio;
mod webhook;

use std::sync::Arc;

use deskbridge_core::dial::Dial;

use crate::adapters::ami::client::Inbox;
use crate::config::AsteriskConfig;
use crate::config::dialing::{DialWebhookConfig, TwilioDialConfig};

/// A group's way of placing dials.
#[derive(Clone)]
pub enum Dialer {
    /// An async `Originate` on the group's AMI connection.
    Asterisk {
        inbox: Arc<Inbox>,
        settings: AsteriskConfig,
    },
    /// A click-to-dial API (`[groups.dial_webhook]`).
    Webhook(DialWebhookConfig),
    /// Twilio's Create Call and TwiML (`[groups.twilio_dial]`).
    Twilio {
        settings: TwilioDialConfig,
        auth_token: String,
        address: twilio::TwilioAddress,
    },
}

/// Why a phone system did not take a dial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotPlaced {
    /// It answered no (its words, and what to check).
    #[error("{0}")]
    Refused(String),
    /// It could not be asked.
    #[error("{0}")]
    Unavailable(String),
}

/// Its name only: a dialer holds secrets (a webhook's headers, Twilio's token).
impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dialer({})", self.name())
    }
}

impl Dialer {
    /// The dialer's name, as the dial's answer says it.
    pub fn name(&self) -> &'static str {
        match self {
            Dialer::Asterisk { .. } => "asterisk",
            Dialer::Webhook(_) => "webhook",
            Dialer::Twilio { .. } => "twilio",
        }
    }

    /// Asks the phone system to place `dial`.
    pub async fn place(&self, http: &reqwest::Client, dial: &Dial) -> Result<(), NotPlaced> {
        match self {
            Dialer::Asterisk { inbox, settings } => asterisk::place(inbox, settings, dial).await,
            Dialer::Webhook(hook) => webhook::place(http, hook, dial).await,
            Dialer::Twilio {
                settings,
                auth_token,
                address,
            } => twilio::place(http, settings, auth_token, address, dial).await,
        }
    }
}
