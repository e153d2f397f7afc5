//! A closed chat conversation as a chat platform hands it over, and a site's
//! rules for its chats: vocabulary (a leaf: events carry a conversation, the
//! policy carries the rules; the decisions about them are in `chat`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::agent::AgentRef;
use crate::phone::Phone;

/// Who wrote a line of the transcript.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Visitor,
    Agent,
    Bot,
}

impl Speaker {
    pub fn as_str(&self) -> &'static str {
        match self {
            Speaker::Visitor => "visitor",
            Speaker::Agent => "agent",
            Speaker::Bot => "bot",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub from: Speaker,
    /// The writer's display name, when the platform gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// The customer of a conversation, as the chat platform knows them. Any part may
/// be missing: many visitors leave only a name, or nothing.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

/// A closed conversation, as the adapter read it (trimmed, bounded, phones
/// normalized in the site's region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The platform's id, unique per site: a conversation sent twice is one.
    pub id: String,
    /// `chat`, `messaging`, ... as the platform names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub visitor: Visitor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub transcript: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The agent's private note (shown on an escalated chat's ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The agent handed the chat on: an open ticket, not an archive.
    #[serde(default)]
    pub escalate: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// What fills one custom ticket field of a chat's ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChatFieldSource {
    ConversationId,
    Channel,
    /// The conversation's own tags, space separated.
    Tags,
    VisitorEmail,
    AgentEmail,
    /// One of the conversation's attributes, by name.
    Attribute(String),
}

impl ChatFieldSource {
    /// Reads the config's spelling: `conversation_id`, `channel`, `tags`,
    /// `visitor_email`, `agent_email`, or `attribute:NAME`.
    pub fn parse(s: &str) -> Option<ChatFieldSource> {
        Some(match s.trim() {
            "conversation_id" => ChatFieldSource::ConversationId,
            "channel" => ChatFieldSource::Channel,
            "tags" => ChatFieldSource::Tags,
            "visitor_email" => ChatFieldSource::VisitorEmail,
            "agent_email" => ChatFieldSource::AgentEmail,
            other => {
                let name = other.strip_prefix("attribute:")?.trim();
                if name.is_empty() {
                    return None;
                }
                ChatFieldSource::Attribute(name.to_string())
            }
        })
    }

    /// The source's value for this conversation, if it has one.
    pub fn value(&self, c: &Conversation) -> Option<String> {
        let v = match self {
            ChatFieldSource::ConversationId => Some(c.id.clone()),
            ChatFieldSource::Channel => c.channel.clone(),
            ChatFieldSource::Tags => Some(c.tags.join(" ")),
            ChatFieldSource::VisitorEmail => c.visitor.email.clone(),
            ChatFieldSource::AgentEmail => c.agent.as_ref().and_then(|a| a.email.clone()),
            ChatFieldSource::Attribute(name) => c.attributes.get(name).cloned(),
        };
        v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }
}

/// A site's rules for its chats (`[groups.chat]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPolicy {
    /// The ticket form of a chat's ticket (Zendesk `ticket_form_id`).
    pub ticket_form: Option<String>,
    /// Tags every chat's ticket of the site carries, before the conversation's.
    pub tags: Vec<String>,
    /// Ticket field id → what fills it.
    pub fields: BTreeMap<String, ChatFieldSource>,
    /// The heading of the agent's private note on an escalated chat's ticket.
    pub note_label: String,
}

impl Default for ChatPolicy {
    fn default() -> Self {
        ChatPolicy {
            ticket_form: None,
            tags: Vec::new(),
            fields: BTreeMap::new(),
            note_label: "Note from the chat agent".into(),
        }
    }
}
