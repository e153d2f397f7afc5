//! Chats: a closed conversation from a chat platform, and what the helpdesk keeps
//! of it.
//!
//! Chat platforms hand a conversation over once it is closed, the way the iAdvize
//! Zendesk app does: one request carrying the visitor, the agent, the whole
//! transcript, tags and the agent's note. deskbridge does not build a second
//! machine for it: a conversation is an [`Interaction`](crate::Interaction) of kind
//! chat (one event carrying the whole conversation, [`crate::EventKind::Conversation`]),
//! journaled, deduplicated and stepped like a call. Its plan is short: identify the
//! visitor (by email, then phone, else a new contact), then one ticket holding the
//! transcript, solved when the chat is archived and open when the agent escalated
//! it (with the agent's note as a private comment under the site's label).
//!
//! Every decision about that ticket (its status, subject, tags, form, fields, the
//! transcript's text, the note's label) is made here, from the conversation and the
//! site's [`ChatPolicy`]; the steps in `steps/chat.rs` only ask for what they need.

use std::fmt::Write as _;

pub use crate::conversation::{
    ChatFieldSource, ChatMessage, ChatPolicy, Conversation, Speaker, Visitor,
};
use crate::policy::{Policy, Priority, TicketStatus, TicketType};
use crate::ports::{NewComment, NewTicket, TicketChannel};

/// The tag every archived chat's ticket carries, so a Zendesk trigger can skip
/// the customer notification for it ("Tags contains none of ...").
pub const ARCHIVE_TAG: &str = "deskbridge_chat_archive";
/// The tag of an escalated chat's ticket.
pub const ESCALATION_TAG: &str = "deskbridge_chat_escalation";

/// How the visitor is looked for, in order: email, then phone; created with what
/// is known when neither finds a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorQuery {
    /// Lowercased.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
}

pub fn visitor_query(c: &Conversation) -> VisitorQuery {
    VisitorQuery {
        email: c
            .visitor
            .email
            .as_deref()
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty()),
        phone: c
            .visitor
            .phone
            .as_ref()
            .and_then(|p| p.e164())
            .map(str::to_string),
    }
}

/// The name of a contact created for the visitor: theirs, else their email or
/// number, else a generic one.
pub fn visitor_name(c: &Conversation) -> String {
    let q = visitor_query(c);
    c.visitor
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or(q.email)
        .or(q.phone)
        .unwrap_or_else(|| "Chat visitor".into())
}

/// The status of the chat's ticket: an archive is solved as it arrives (nobody
/// has anything left to do), an escalation is open for the next agent.
pub fn ticket_status(c: &Conversation) -> TicketStatus {
    if c.escalate {
        TicketStatus::Open
    } else {
        TicketStatus::Solved
    }
}

/// The ticket's tags: the site's, then the conversation's, then the tag saying
/// archive or escalation; lowercased, spaces made underscores (Zendesk splits a
/// tag at a space), without repeats.
pub fn ticket_tags(c: &Conversation, policy: &ChatPolicy) -> Vec<String> {
    let kind = if c.escalate {
        ESCALATION_TAG
    } else {
        ARCHIVE_TAG
    };
    let mut tags: Vec<String> = Vec::new();
    for tag in policy
        .tags
        .iter()
        .chain(&c.tags)
        .map(String::as_str)
        .chain([kind])
    {
        let tag = tag
            .trim()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_");
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// Custom field values, in field id order; fields whose source has no value for
/// this conversation are left out (so `check --online` must know a required
/// field can stay empty).
pub fn custom_fields(c: &Conversation, policy: &ChatPolicy) -> Vec<(String, String)> {
    policy
        .fields
        .iter()
        .filter_map(|(id, source)| source.value(c).map(|v| (id.clone(), v)))
        .collect()
}

/// The ticket's subject.
pub fn subject(c: &Conversation) -> String {
    let channel = c.channel.as_deref().unwrap_or("chat");
    let mut channel_title = channel.to_string();
    if let Some(first) = channel_title.get(..1) {
        channel_title = first.to_uppercase() + &channel[1..];
    }
    format!("{channel_title} with {}", visitor_name(c))
}

/// The transcript as the ticket's first comment: a heading with the channel,
/// the conversation id and the times, then one line per message, "[10:02] Ann
/// (agent): ...", continuation lines indented.
pub fn transcript_text(c: &Conversation) -> String {
    let mut out = String::new();
    let channel = c.channel.as_deref().unwrap_or("chat");
    let _ = writeln!(
        out,
        "Conversation {} ({channel}), {} to {} UTC",
        c.id,
        c.started_at.format("%Y-%m-%d %H:%M"),
        c.ended_at.format("%H:%M"),
    );
    if let Some(agent) = &c.agent {
        let _ = writeln!(out, "Agent: {}", agent.label());
    }
    out.push('\n');
    let visitor = visitor_name(c);
    for m in &c.transcript {
        let who = match (m.from, m.name.as_deref()) {
            (speaker, Some(name)) if !name.trim().is_empty() => {
                format!("{} ({})", name.trim(), speaker.as_str())
            }
            (Speaker::Visitor, _) => format!("{visitor} (visitor)"),
            (Speaker::Agent, _) => match c.agent.as_ref().and_then(|a| a.name.clone()) {
                Some(name) => format!("{name} (agent)"),
                None => "Agent".into(),
            },
            (Speaker::Bot, _) => "Bot".into(),
        };
        let mut lines = m.text.trim().lines();
        let first = lines.next().unwrap_or("");
        let _ = writeln!(out, "[{}] {who}: {first}", m.at.format("%H:%M"));
        for line in lines {
            let _ = writeln!(out, "    {line}");
        }
    }
    out.trim_end().to_string()
}

/// The agent's note under the site's label, when the chat has one.
fn labelled_note(c: &Conversation, policy: &ChatPolicy) -> Option<String> {
    let note = c.note.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
    Some(format!("{}:\n{note}", policy.note_label))
}

/// The agent's note as a private comment of its own, for an escalated chat
/// with a note: the next agent reads it as the newest comment. (An archive's
/// note ends its transcript comment instead: nobody will work the ticket, and
/// one request is enough.)
pub fn escalation_note(c: &Conversation, policy: &ChatPolicy) -> Option<NewComment> {
    if !c.escalate {
        return None;
    }
    Some(NewComment::private(labelled_note(c, policy)?))
}

/// The chat's ticket: requester the visitor's contact, the transcript as its
/// first comment (an archive's note after it; private: the visitor saw it already, and a public comment is
/// what Zendesk's default triggers mail), status, tags, form and fields from
/// the site's rules, assignee as chosen for the agent.
pub fn new_ticket(
    c: &Conversation,
    policy: &Policy,
    requester_id: Option<String>,
    assignee: Option<String>,
) -> NewTicket {
    let chat = &policy.chat;
    NewTicket {
        channel: TicketChannel::Chat,
        subject: subject(c),
        requester_id,
        priority: Priority::Normal,
        ticket_type: TicketType::Question,
        status: ticket_status(c),
        tags: ticket_tags(c, chat),
        ticket_form: chat.ticket_form.clone(),
        group: None,
        product: None,
        custom_fields: custom_fields(c, chat),
        assignee,
        comment: Some(NewComment::private(
            match labelled_note(c, chat).filter(|_| !c.escalate) {
                Some(note) => format!("{}\n\n{note}", transcript_text(c)),
                None => transcript_text(c),
            },
        )),
        voice: None,
        display_to: None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
