//! Zendesk behind the helpdesk port, spending as few requests per call as it can.
//!
//! What deskbridge created or looked up is remembered, so a repeat caller costs no
//! lookup and a user created seconds ago is never searched for (Zendesk's search
//! index lags by minutes). Users are created with `create_or_update` and an
//! external id derived from the phone, so a retried create, from this process or
//! another, returns the same user. Tickets are created with an `Idempotency-Key`.
//! Comments have no such key: a comment step that ran before (and may have
//! written before a crash) first looks for its comment on the ticket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deskbridge_core::phone::{Phone, Region};
use deskbridge_core::pop::{DeliveryStatus, PopChannel, PopDelivery, PopTarget};
use deskbridge_core::ports::*;
use deskbridge_core::ticket_rules::{self, ClosedTicket, CommentForm, FoundUser};
use deskbridge_zendesk::types::{self as zd, CustomFieldValue};
use deskbridge_zendesk::{ZendeskClient, ZendeskError};

use batch::{Batches, Turn, UpdateShape};

use crate::mirror::AccountMirror;
use deskbridge_store::{MirrorTicket, MirrorUser};

mod batch;

/// How long looked-up facts are trusted. Contacts change rarely; tickets change
/// whenever an agent works on them.
const CONTACT_TTL: Duration = Duration::from_secs(3600);
const TICKET_TTL: Duration = Duration::from_secs(120);

pub struct ZendeskHelpdesk {
    client: Arc<ZendeskClient>,
    /// Agents from the directory that carry their Zendesk id.
    known_agents: HashMap<String, u64>,
    match_shared_numbers: bool,
    cache: Mutex<Cache>,
    /// Agent email (lowercase) → its lookup.
    agents: Mutex<HashMap<String, AgentLookup>>,
    /// Comments waiting for a busy ticket, combined into one update.
    batches: Batches,
    /// The account refused call records (403 or 404: no Talk Partner Edition):
    /// later calls write their text comment straight away instead of spending
    /// a request on a refusal each.
    calls_refused: Mutex<Option<String>>,
    /// The account's local mirror (`mirror = true`): asked first while it is
    /// current, so a caller costs no search and an IVR's ticket no GET.
    mirror: Option<Arc<dyn AccountMirror>>,
}

#[derive(Default)]
struct Cache {
    by_phone: HashMap<String, (Instant, Vec<ContactSummary>)>,
    contacts: HashMap<String, (Instant, ContactSummary)>,
    tickets: HashMap<String, (Instant, TicketSummary)>,
    /// Requester → their not-closed tickets, when fetched or all known.
    requested: HashMap<String, (Instant, Vec<String>)>,
}

/// An agent's Zendesk id (`None`: no agent has that email), looked up once: the
/// first step to ask sends the request, steps asking meanwhile wait for its answer
/// instead of sending their own. A failed lookup leaves the cell empty, so the next
/// step to ask tries again.
type AgentLookup = Arc<tokio::sync::OnceCell<Option<u64>>>;

fn fresh<T: Clone>(entry: Option<&(Instant, T)>, ttl: Duration) -> Option<T> {
    entry
        .filter(|(at, _)| at.elapsed() < ttl)
        .map(|(_, v)| v.clone())
}

/// The client's sorting of a failure, for the worker: it retries transient ones
/// (not before Zendesk's `Retry-After`) and records permanent ones.
fn helpdesk_error(e: ZendeskError) -> HelpdeskError {
    match (e.is_transient(), e.retry_after()) {
        (true, Some(after)) => HelpdeskError::RetryAfter {
            reason: e.to_string(),
            after,
        },
        (true, None) => HelpdeskError::Transient(e.to_string()),
        (false, _) => HelpdeskError::Permanent(e.to_string()),
    }
}

/// A pop for an agent Zendesk does not know.
fn agent_unknown(email: &str) -> PopDelivery {
    PopDelivery {
        channel: PopChannel::Zendesk,
        status: DeliveryStatus::AgentUnknown,
        detail: Some(format!(
            "no Zendesk agent has the email {email}; fix the email or set zendesk_id in [[agents]]"
        )),
    }
}

fn zid(id: &str, what: &str) -> Result<u64, HelpdeskError> {
    id.parse()
        .map_err(|_| HelpdeskError::Permanent(format!("{what} {id:?} is not a Zendesk id")))
}

/// The line that ends every comment deskbridge adds to an existing ticket: the
/// step's key (group, call, step), so a retried step recognises its own comment.
fn comment_reference(key: &IdempotencyKey) -> String {
    format!("deskbridge ref: {}", key.as_str())
}

/// The external id of a ticket deskbridge creates: its step's key.
pub fn ticket_external_id(key: &str) -> String {
    format!("deskbridge:{key}")
}

/// The external id deskbridge gives the users it creates: one per number.
pub fn phone_external_id(e164: &str) -> String {
    format!("deskbridge:phone:{e164}")
}

/// A Zendesk user as the core's [`ticket_rules::counts_as_caller`] sees them.
fn found_user(u: &zd::User) -> FoundUser {
    FoundUser {
        is_agent: u.is_agent(),
        shared_number: u.shared_phone_number == Some(true),
    }
}

fn contact(u: &zd::User) -> ContactSummary {
    ContactSummary {
        id: u.id.to_string(),
        name: u.name.clone(),
        phones: u.phone.iter().cloned().collect(),
        created_at: u.created_at,
    }
}

/// Whether the user's number, read as libphonenumber reads it (a number typed
/// without a country code in the caller's own country, which is the region a
/// person typing it most likely meant), is `e164`.
///
/// Only the primary `phone` is in the search result; a user the wildcard found
/// through another phone identity has no primary number or a different one. One
/// without a primary number is kept (the search matched one of their
/// identities, ending in the caller's national number); one whose primary
/// number is another has their identities checked.
fn has_number(u: &zd::User, e164: &str, region: Region) -> bool {
    match u.phone.as_deref() {
        None | Some("") => true,
        Some(typed) => Phone::parse(typed, region).e164() == Some(e164),
    }
}

/// The contact, its phones normalized to E.164 so the core matches them.
fn contact_with(u: &zd::User, e164: &str, region: Region) -> ContactSummary {
    let mut summary = contact(u);
    summary.phones = u
        .phone
        .iter()
        .filter_map(|p| Phone::parse(p, region).e164().map(str::to_string))
        .collect();
    if summary.phones.is_empty() {
        summary.phones.push(e164.to_string());
    }
    summary
}

/// A mirrored user as the port shows a caller: their phones (E.164 already),
/// the caller's number when the mirror had none to show.
fn mirrored_contact(u: &MirrorUser, e164: &str) -> ContactSummary {
    let mut phones = u.phones.clone();
    if phones.is_empty() {
        phones.push(e164.to_string());
    }
    ContactSummary {
        id: u.id.to_string(),
        name: u.name.clone(),
        phones,
        created_at: u.created_at,
    }
}

fn ticket(t: &zd::Ticket) -> TicketSummary {
    TicketSummary {
        // Filled from the agents deskbridge knows (`ZendeskHelpdesk::summary`).
        assignee: None,
        id: t.id.to_string(),
        status: t.status.clone(),
        requester_id: t.requester_id.map(|r| r.to_string()),
        updated_at: t.updated_at,
    }
}

impl ZendeskHelpdesk {
    pub fn new(
        client: Arc<ZendeskClient>,
        known_agents: HashMap<String, u64>,
        match_shared_numbers: bool,
    ) -> ZendeskHelpdesk {
        ZendeskHelpdesk {
            client,
            known_agents: known_agents
                .into_iter()
                .map(|(email, id)| (email.to_ascii_lowercase(), id))
                .collect(),
            match_shared_numbers,
            cache: Mutex::new(Cache::default()),
            agents: Mutex::new(HashMap::new()),
            batches: Batches::default(),
            calls_refused: Mutex::new(None),
            mirror: None,
        }
    }

    /// Asks `mirror` first while it is current.
    pub fn with_mirror(mut self, mirror: Arc<dyn AccountMirror>) -> ZendeskHelpdesk {
        self.mirror = Some(mirror);
        self
    }

    /// A mirrored ticket as the port shows it.
    fn mirrored_ticket(&self, t: &MirrorTicket) -> TicketSummary {
        TicketSummary {
            id: t.id.to_string(),
            status: t.status.clone(),
            requester_id: t.requester_id.map(|r| r.to_string()),
            assignee: t
                .assignee_id
                .and_then(|a| u64::try_from(a).ok())
                .and_then(|a| self.agent_email(a)),
            updated_at: t.updated_at,
        }
    }

    /// Caches the ticket as `remember_ticket` does and puts it into the mirror.
    async fn remember_new_ticket(&self, t: &zd::Ticket) {
        self.remember_ticket(t);
        if let Some(mirror) = &self.mirror {
            mirror.put_ticket(t).await;
        }
    }

    /// A ticket as the port shows it, its assignee named by email when the
    /// agent is one deskbridge knows (the directory's `zendesk_id`, or looked up).
    fn summary(&self, t: &zd::Ticket) -> TicketSummary {
        let mut summary = ticket(t);
        summary.assignee = t.assignee_id.and_then(|id| self.agent_email(id));
        summary
    }

    fn agent_email(&self, id: u64) -> Option<String> {
        if let Some((email, _)) = self.known_agents.iter().find(|(_, known)| **known == id) {
            return Some(email.clone());
        }
        let agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        agents
            .iter()
            .find(|(_, lookup)| lookup.get() == Some(&Some(id)))
            .map(|(email, _)| email.clone())
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Caches the ticket (and its place in its requester's list); its summary.
    fn remember_ticket(&self, t: &zd::Ticket) -> TicketSummary {
        let summary = self.summary(t);
        let mut cache = self.cache();
        if let Some(requester) = &summary.requester_id
            && let Some((_, ids)) = cache.requested.get_mut(requester)
        {
            ids.retain(|id| *id != summary.id);
            if summary.status != "closed" {
                ids.insert(0, summary.id.clone());
            }
        }
        cache
            .tickets
            .insert(summary.id.clone(), (Instant::now(), summary.clone()));
        summary
    }

    /// The agent's Zendesk id: from the directory, else looked up by email, once
    /// per agent however many calls ask at the same time (the first calls after a
    /// start all ask for the agents on shift).
    async fn agent_id(&self, email: &str) -> Result<Option<u64>, HelpdeskError> {
        let email = email.to_ascii_lowercase();
        if let Some(id) = self.known_agents.get(&email) {
            return Ok(Some(*id));
        }
        let lookup = self
            .agents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(email.clone())
            .or_default()
            .clone();
        let id = lookup
            .get_or_try_init(|| async {
                let found = self
                    .client
                    .find_agent_by_email(&email)
                    .await
                    .map_err(helpdesk_error)?
                    .map(|u| u.id);
                if found.is_none() {
                    tracing::warn!(%email, "no Zendesk agent with this email; the ticket stays unassigned");
                }
                Ok::<_, HelpdeskError>(found)
            })
            .await?;
        Ok(*id)
    }

    /// A voice comment as Zendesk takes it, the answering agent by Zendesk id.
    async fn voice_input(&self, v: &VoiceComment) -> Result<zd::VoiceCommentInput, HelpdeskError> {
        Ok(zd::VoiceCommentInput {
            from: v.from.clone(),
            to: v.to.clone(),
            recording_url: v.recording_url.clone(),
            started_at: v.started_at.to_rfc3339(),
            call_duration: v.duration_s,
            answered_by_id: match &v.answered_by {
                Some(email) => self.agent_id(email).await?,
                None => None,
            },
            transcription_text: v.transcript.clone(),
        })
    }

    fn new_ticket(
        &self,
        t: &NewTicket,
        assignee_id: Option<u64>,
    ) -> Result<zd::NewTicket, HelpdeskError> {
        let custom_fields = t
            .custom_fields
            .iter()
            .map(|(id, value)| {
                Ok(CustomFieldValue {
                    id: zid(id, "custom field")?,
                    value: serde_json::Value::String(value.clone()),
                })
            })
            .collect::<Result<Vec<_>, HelpdeskError>>()?;
        Ok(zd::NewTicket {
            subject: t.subject.clone(),
            comment: t.comment.as_ref().map(|c| zd::NewComment {
                body: c.body.clone(),
                public: c.public,
            }),
            requester_id: t
                .requester_id
                .as_deref()
                .map(|r| zid(r, "requester"))
                .transpose()?,
            assignee_id,
            priority: Some(t.priority.as_str().into()),
            ticket_type: Some(t.ticket_type.as_str().into()),
            status: Some(t.status.as_str().into()),
            tags: t.tags.clone(),
            custom_fields,
            ticket_form_id: t
                .ticket_form
                .as_deref()
                .map(|f| zid(f, "ticket form"))
                .transpose()?,
            via_followup_source_id: None,
            external_id: None,
        })
    }

    /// Creates the ticket once per key, even when Zendesk no longer takes the key
    /// as proof. Zendesk keeps an `Idempotency-Key` for a limited time and refuses
    /// the same key with another body (`IdempotentRequestError`, "Idempotency" in
    /// the Support API introduction); a step re-run after a crash rebuilds its body
    /// from the call as it is now (a recording may have arrived since). So the
    /// ticket carries the key as its `external_id`, and a retried create first
    /// looks for it (List Tickets by `external_id`): a crash between the create
    /// and its record makes one ticket whatever the body or the delay.
    async fn create_once(
        &self,
        body: zd::NewTicket,
        key: &str,
        first_try: bool,
        talk: Option<zd::TalkTicket>,
    ) -> Result<TicketCreated, HelpdeskError> {
        self.create_once_keyed(body, key, key, first_try, talk)
            .await
    }

    /// [`Self::create_once`] with an `Idempotency-Key` of its own (a second body
    /// for the same step), the ticket still marked with the step's key.
    async fn create_once_keyed(
        &self,
        mut body: zd::NewTicket,
        key: &str,
        idempotency_key: &str,
        first_try: bool,
        talk: Option<zd::TalkTicket>,
    ) -> Result<TicketCreated, HelpdeskError> {
        let external_id = ticket_external_id(key);
        body.external_id = Some(external_id.clone());
        if !first_try && let Some(found) = self.ticket_with_external_id(&external_id).await? {
            return Ok(found);
        }
        let sent = match &talk {
            Some(talk) => {
                self.client
                    .create_voice_ticket(&body, talk, idempotency_key)
                    .await
            }
            None => self.client.create_ticket(&body, idempotency_key).await,
        };
        match sent {
            Ok(created) => {
                self.remember_new_ticket(&created.ticket).await;
                Ok(TicketCreated {
                    earlier_text: None,
                    id: created.ticket.id.to_string(),
                    comment_id: created.comment_id().map(|c| c.to_string()),
                    displayed: None,
                })
            }
            Err(ZendeskError::IdempotencyKeyReused) => self
                .ticket_with_external_id(&external_id)
                .await?
                .ok_or_else(|| {
                    HelpdeskError::Transient(format!(
                        "Zendesk holds key {key} for another request and no ticket carries it yet"
                    ))
                }),
            Err(e) => Err(helpdesk_error(e)),
        }
    }

    /// The ticket an earlier try of this key made, if any (the oldest, should
    /// two exist).
    async fn ticket_with_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<TicketCreated>, HelpdeskError> {
        let found = self
            .client
            .tickets_by_external_id(external_id)
            .await
            .map_err(helpdesk_error)?;
        let Some(first) = found.iter().min_by_key(|t| t.id) else {
            return Ok(None);
        };
        self.remember_ticket(first);
        Ok(Some(TicketCreated {
            // Its first comment as the earlier try wrote it.
            earlier_text: Some(first.description.clone().unwrap_or_default()),
            id: first.id.to_string(),
            comment_id: None,
            displayed: None,
        }))
    }

    /// A closed ticket cannot take a comment: a follow-up ticket carries it.
    async fn follow_up(
        &self,
        closed_id: u64,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let closed = self
            .client
            .show_ticket(closed_id)
            .await
            .map_err(helpdesk_error)?
            .ok_or_else(|| {
                HelpdeskError::Permanent(format!("ticket {closed_id} no longer exists"))
            })?;
        let follow = ticket_rules::follow_up(&ClosedTicket {
            id: closed_id,
            subject: closed.subject.clone(),
            requester_id: closed.requester_id,
            assignee_id: closed.assignee_id,
        });
        let followup = zd::NewTicket {
            subject: follow.subject,
            comment: Some(zd::NewComment {
                body: comment.body.clone(),
                public: comment.public,
            }),
            requester_id: follow.requester_id,
            assignee_id: follow.assignee_id,
            via_followup_source_id: Some(follow.follows),
            ..zd::NewTicket::default()
        };
        let created = self
            .create_once(
                followup,
                &format!("{}/followup", key.as_str()),
                key.first_try,
                None,
            )
            .await?;
        Ok(CommentAdded {
            earlier_text: None,
            id: created.comment_id.unwrap_or_default(),
            ticket_id: created.id,
            call_record: None,
        })
    }
}

#[async_trait]
impl Helpdesk for ZendeskHelpdesk {
    async fn find_contacts_by_phone(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        if let Some(hit) = fresh(self.cache().by_phone.get(e164), CONTACT_TTL) {
            return Ok(hit);
        }
        // A current mirror knows every user with the number (E.164, as the
        // export's phones were normalized): nobody there is a first-time
        // caller, with no search. Users deskbridge created are in it from
        // their create on, so this never makes a second user for a number.
        if let Some(mirror) = &self.mirror
            && let Some(users) = mirror.users_by_phone(e164).await
        {
            let found: Vec<ContactSummary> = users
                .iter()
                .filter(|u| {
                    let found = FoundUser {
                        is_agent: u.is_agent,
                        shared_number: u.shared_phone,
                    };
                    ticket_rules::counts_as_caller(found, self.match_shared_numbers)
                })
                .map(|u| mirrored_contact(u, e164))
                .collect();
            if !found.is_empty() {
                self.cache()
                    .by_phone
                    .insert(e164.to_string(), (Instant::now(), found.clone()));
            }
            return Ok(found);
        }
        // Search the national number with a leading wildcard (numbers typed by
        // hand are found only so), then keep the users whose number is really the
        // caller's: `phone:*4155550100` also finds `+44 4155550100`.
        let Some((region, national)) = Phone::national(e164) else {
            return Ok(Vec::new());
        };
        let users = self
            .client
            .search_users_by_phone(&national)
            .await
            .map_err(helpdesk_error)?;
        let mut found = Vec::new();
        for u in users
            .iter()
            .filter(|u| ticket_rules::counts_as_caller(found_user(u), self.match_shared_numbers))
        {
            if has_number(u, e164, region) {
                found.push(contact_with(u, e164, region));
                continue;
            }
            // The primary number is another: the search may have matched one of
            // the user's other phone identities. Rare, so asked only then.
            let identities = self
                .client
                .user_identities(u.id)
                .await
                .map_err(helpdesk_error)?;
            let theirs = identities.iter().any(|i| {
                i.kind == "phone_number" && Phone::parse(&i.value, region).e164() == Some(e164)
            });
            if theirs {
                let mut summary = contact_with(u, e164, region);
                summary.phones.push(e164.to_string());
                found.push(summary);
            }
        }
        // Only a hit is remembered: "nobody" may change with the lagging index.
        if !found.is_empty() {
            self.cache()
                .by_phone
                .insert(e164.to_string(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// Zendesk's user search by email (exact, any role), kept to end users: a
    /// chat's visitor is never an agent's account.
    async fn find_contacts_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let user = self
            .client
            .find_user_by_email(email)
            .await
            .map_err(helpdesk_error)?;
        // Whoever has the email is the visitor: a shared email is no question.
        Ok(user
            .iter()
            .filter(|u| ticket_rules::counts_as_caller(found_user(u), true))
            .map(contact)
            .collect())
    }

    async fn get_contact(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError> {
        let Ok(uid) = id.parse::<u64>() else {
            return Ok(None);
        };
        if let Some(hit) = fresh(self.cache().contacts.get(id), CONTACT_TTL) {
            return Ok(Some(hit));
        }
        if let Some(mirror) = &self.mirror
            && let Some(u) = mirror.user(uid).await
        {
            return Ok(Some(ContactSummary {
                id: u.id.to_string(),
                name: u.name.clone(),
                phones: u.phones.clone(),
                created_at: u.created_at,
            }));
        }
        let user = self.client.show_user(uid).await.map_err(helpdesk_error)?;
        let summary = user.as_ref().map(contact);
        if let Some(s) = &summary {
            self.cache()
                .contacts
                .insert(id.to_string(), (Instant::now(), s.clone()));
        }
        Ok(summary)
    }

    async fn create_organization(
        &self,
        name: &str,
        _key: &IdempotencyKey,
    ) -> Result<String, HelpdeskError> {
        // Zendesk organization names are unique: a retry finds the first.
        match self.client.create_organization(name).await {
            Ok(org) => Ok(org.id.to_string()),
            Err(ZendeskError::Invalid { details, .. }) if details.contains("name") => {
                let org = self
                    .client
                    .find_organization_by_name(name)
                    .await
                    .map_err(helpdesk_error)?
                    .ok_or_else(|| {
                        HelpdeskError::Permanent(format!("organization {name:?}: {details}"))
                    })?;
                Ok(org.id.to_string())
            }
            Err(e) => Err(helpdesk_error(e)),
        }
    }

    async fn create_contact(
        &self,
        new: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError> {
        // `create_or_update` finds the user a retried create made by its
        // external id (from the number) or its email; a visitor with neither
        // gets an external id from the step's key.
        let external_id = match (&new.phone, &new.email) {
            (Some(phone), _) => Some(phone_external_id(phone)),
            (None, Some(_)) => None,
            (None, None) => Some(format!("deskbridge:{}", key.as_str())),
        };
        let user = zd::NewUser {
            name: new.name.clone(),
            phone: new.phone.clone(),
            email: new.email.clone(),
            external_id,
            organization_id: new
                .organization_id
                .as_deref()
                .map(|o| zid(o, "organization"))
                .transpose()?,
            role: Some("end-user".into()),
        };
        let zd::Upserted {
            user: created,
            created: is_new,
        } = self
            .client
            .create_or_update_user(&user)
            .await
            .map_err(helpdesk_error)?;
        if let Some(mirror) = &self.mirror {
            mirror.put_user(&created).await;
        }
        let summary = contact(&created);
        let mut cache = self.cache();
        let now = Instant::now();
        if let Some(phone) = &new.phone {
            cache
                .by_phone
                .insert(phone.clone(), (now, vec![summary.clone()]));
        }
        cache
            .contacts
            .insert(summary.id.clone(), (now, summary.clone()));
        // A new user has no tickets yet: no need to ask. A user Zendesk
        // matched instead (this step's earlier try made them, or another
        // instance did) may have: the next lookup asks.
        if is_new {
            cache
                .requested
                .entry(summary.id.clone())
                .or_insert((now, Vec::new()));
        } else {
            cache.requested.remove(&summary.id);
        }
        Ok(summary)
    }

    async fn get_ticket(&self, id: &str) -> Result<Option<TicketSummary>, HelpdeskError> {
        let Ok(tid) = id.parse::<u64>() else {
            return Ok(None);
        };
        if let Some(hit) = fresh(self.cache().tickets.get(id), TICKET_TTL) {
            return Ok(Some(hit));
        }
        // The mirror keeps the tickets that are not closed: an IVR's number of
        // one of them needs no GET. A number it lacks (closed, mistyped, or
        // made within the export's last minute) is asked of Zendesk.
        if let Some(mirror) = &self.mirror
            && let Some(t) = mirror.ticket(tid).await
        {
            return Ok(Some(self.mirrored_ticket(&t)));
        }
        let found = self.client.show_ticket(tid).await.map_err(helpdesk_error)?;
        Ok(found.as_ref().map(|t| self.remember_ticket(t)))
    }

    async fn caller_tickets(&self, contact_id: &str) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let Ok(uid) = contact_id.parse::<u64>() else {
            return Ok(Vec::new());
        };
        {
            let cache = self.cache();
            if let Some(ids) = fresh(cache.requested.get(contact_id), TICKET_TTL) {
                let known: Option<Vec<TicketSummary>> = ids
                    .iter()
                    .map(|id| fresh(cache.tickets.get(id), TICKET_TTL))
                    .collect();
                if let Some(tickets) = known {
                    return Ok(tickets);
                }
            }
        }
        if let Some(mirror) = &self.mirror
            && let Some(tickets) = mirror.tickets_of(uid).await
        {
            return Ok(tickets.iter().map(|t| self.mirrored_ticket(t)).collect());
        }
        let tickets = self
            .client
            .requested_tickets(uid)
            .await
            .map_err(helpdesk_error)?;
        let open: Vec<&zd::Ticket> = tickets.iter().filter(|t| t.status != "closed").collect();
        let now = Instant::now();
        let mut cache = self.cache();
        for t in &open {
            cache
                .tickets
                .insert(t.id.to_string(), (now, self.summary(t)));
        }
        cache.requested.insert(
            contact_id.to_string(),
            (now, open.iter().map(|t| t.id.to_string()).collect()),
        );
        Ok(open.into_iter().map(|t| self.summary(t)).collect())
    }

    /// Zendesk's list of tickets by `external_id` (read from its database, not
    /// from the search index, and never from this instance's cache).
    async fn ticket_made_by(&self, key: &IdempotencyKey) -> Result<Option<String>, HelpdeskError> {
        let made = self
            .ticket_with_external_id(&ticket_external_id(key.as_str()))
            .await?;
        Ok(made.map(|t| t.id))
    }

    async fn create_ticket(
        &self,
        t: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError> {
        let assignee_id = match &t.assignee {
            Some(email) => self.agent_id(email).await?,
            None => None,
        };
        let body = self.new_ticket(t, assignee_id)?;
        // A popped new ticket is created and shown in one request (Talk Partner
        // Edition's `display_to_agent`), when Zendesk knows the agent.
        let (display, unknown) = match &t.display_to {
            Some(email) => match self.agent_id(email).await? {
                Some(id) => (Some(id), None),
                None => (None, Some(agent_unknown(email))),
            },
            None => (None, None),
        };
        // A call with a recording, where the group wants it: a voice comment
        // (Talk Partner Edition's ticket create takes it with the ticket).
        let voice = match &t.voice {
            Some(v) => Some(self.voice_input(v).await?),
            None => None,
        };
        let via_id = match &t.voice {
            Some(v) if v.voicemail => zd::VIA_VOICEMAIL,
            Some(v) if !v.inbound => zd::VIA_PHONE_CALL_OUTBOUND,
            _ => zd::VIA_PHONE_CALL_INBOUND,
        };
        let talk = (display.is_some() || voice.is_some()).then_some(zd::TalkTicket {
            via_id,
            display_to_agent: display,
            voice_comment: voice,
        });
        let sent = self
            .create_once(body.clone(), key.as_str(), key.first_try, talk.clone())
            .await;
        // Zendesk validates `display_to_agent` before it creates the ticket and
        // refuses the whole request (422) when the id is no agent's (a wrong
        // `zendesk_id`): the ticket is made without the pop, which is recorded.
        let (mut created, display) = match (sent, talk) {
            (Err(HelpdeskError::Permanent(reason)), Some(mut talk))
                if talk.display_to_agent.is_some() && reason.contains("display_to_agent") =>
            {
                let agent = talk.display_to_agent.take();
                tracing::warn!(
                    ?agent,
                    "Zendesk refused display_to_agent; creating the ticket without the pop"
                );
                let talk = talk.voice_comment.is_some().then_some(talk);
                // Another body under another key: Zendesk refuses a key sent
                // again with a different body. The external id stays the step's,
                // so a retry still finds the ticket.
                let without = format!("{}/without-display", key.as_str());
                let created = self
                    .create_once_keyed(body, key.as_str(), &without, key.first_try, talk)
                    .await?;
                return Ok(TicketCreated {
                    displayed: Some(PopDelivery {
                        channel: PopChannel::Zendesk,
                        status: DeliveryStatus::AgentUnknown,
                        detail: Some(format!(
                            "Zendesk refused agent {} as display_to_agent (422): not an agent of this account; fix zendesk_id in [[agents]]",
                            agent.unwrap_or_default()
                        )),
                    }),
                    ..created
                });
            }
            (sent, _) => (sent?, display),
        };
        created.displayed = match display {
            Some(_) => Some(PopDelivery {
                channel: PopChannel::Zendesk,
                status: DeliveryStatus::Delivered,
                detail: Some(
                    "sent with the ticket's create (display_to_agent); Zendesk does not \
                     say whether the agent's browser was open"
                        .into(),
                ),
            }),
            None => unknown,
        };
        Ok(created)
    }

    async fn tickets_with_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let field = zid(field, "ticket field")?;
        let found = self
            .client
            .search_tickets_by_field(field, value)
            .await
            .map_err(helpdesk_error)?;
        let mut open: Vec<TicketSummary> = found
            .iter()
            .filter(|t| t.status != "closed")
            .map(|t| self.remember_ticket(t))
            .collect();
        open.sort_by(deskbridge_core::decide::newest_first);
        Ok(open)
    }

    /// Talk Partner Edition's display endpoints. Zendesk answers 200 when "the
    /// message is successfully delivered to an agent's browser" and 404 when the
    /// agent or record id is invalid ("Open Ticket in Agent's Browser"); an agent
    /// known to exist whose browser got nothing is not signed in. Any failure is
    /// recorded, never retried: a pop is worth showing only while the phone
    /// rings.
    async fn display(
        &self,
        agent_email: &str,
        target: &PopTarget,
    ) -> Result<Option<PopDelivery>, HelpdeskError> {
        let delivery = |status, detail: Option<String>| {
            Ok(Some(PopDelivery {
                channel: PopChannel::Zendesk,
                status,
                detail,
            }))
        };
        let agent = match self.agent_id(agent_email).await {
            Ok(Some(id)) => id,
            Ok(None) => return Ok(Some(agent_unknown(agent_email))),
            Err(e) => return delivery(DeliveryStatus::Failed, Some(e.to_string())),
        };
        let sent = match target {
            PopTarget::Ticket(id) => self.client.display_ticket(agent, zid(id, "ticket")?).await,
            PopTarget::Contact(id) => self.client.display_user(agent, zid(id, "user")?).await,
        };
        match sent {
            Ok(true) => delivery(DeliveryStatus::Delivered, None),
            Ok(false) => delivery(
                DeliveryStatus::AgentNotSignedIn,
                Some(format!(
                    "Zendesk answered 404 for agent {agent}: not signed in to Zendesk \
                     (or the record is gone)"
                )),
            ),
            Err(e) => delivery(DeliveryStatus::Failed, Some(e.to_string())),
        }
    }

    async fn add_comment(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let tid = zid(ticket_id, "ticket")?;
        // Comments take no idempotency key, and an update can be applied while
        // its answer is lost (a timeout, a 502). So each comment ends with its
        // step's key, and a step that ran before first looks for it among the
        // ticket's newest comments: two calls can write identical text (same
        // number, same minute), so the text alone cannot tell them apart.
        let mut recorded = None;
        // Reopened in the same update when its status is known to be solved;
        // otherwise the answer shows it, and a second update reopens it.
        let reopened =
            self.cache().tickets.get(ticket_id).and_then(|(_, t)| {
                ticket_rules::reopened_by_comment(&t.status, comment.reopen_solved)
            });
        let form = ticket_rules::comment_form(
            comment.call_record.is_some(),
            comment.reassign.is_some(),
            reopened.is_some(),
        );
        if let CommentForm::Text {
            instead_of_record: Some(why),
        } = form
        {
            recorded = Some(CallRecordStatus::NotUsed { reason: why.into() });
        } else if let (CommentForm::CallRecord, Some(record)) = (&form, &comment.call_record) {
            match self.record_call(tid, record, key).await? {
                CallRecordStatus::Recorded { id } => {
                    return Ok(CommentAdded {
                        earlier_text: None,
                        id: format!("call:{id}"),
                        ticket_id: ticket_id.to_string(),
                        call_record: Some(CallRecordStatus::Recorded { id }),
                    });
                }
                refused => recorded = Some(refused),
            }
        }
        let reference = comment_reference(key);
        if !key.first_try {
            // This step ran before and may have written before it stopped.
            let existing = self
                .client
                .ticket_comments(tid)
                .await
                .map_err(helpdesk_error)?;
            if let Some(c) = existing
                .iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(&reference)))
            {
                // The comment is there; the reopening that followed it may not be
                // (its own update can be held back by the ticket's limit).
                self.reopen_if_solved(tid, comment.reopen_solved).await?;
                return Ok(CommentAdded {
                    earlier_text: Some(c.body.clone().unwrap_or_default()),
                    id: c.id.to_string(),
                    ticket_id: ticket_id.to_string(),
                    call_record: recorded,
                });
            }
        }
        let body = format!("{}\n\n{reference}", comment.body);
        let assignee_id = match &comment.reassign {
            Some(email) => self.agent_id(email).await?,
            None => None,
        };
        let voice = match &comment.voice {
            Some(v) => Some(self.voice_input(v).await?),
            None => None,
        };
        let shape = UpdateShape {
            assignee_id,
            status: reopened.map(|s| s.as_str()),
        };
        let client_wait = self.client.ticket_update_wait(tid);
        let turn = match &voice {
            // A voice comment carries one call's details: written alone.
            Some(_) => None,
            None => Some(self.batches.turn(tid, shape, &body, client_wait)),
        };
        let written = match turn {
            None => {
                self.write_comment(tid, &body, comment, shape, voice.as_ref())
                    .await
            }
            Some(turn) => match turn {
                Turn::Later(after) => {
                    return Err(HelpdeskError::RetryAfter {
                        reason: format!(
                            "ticket {tid} is at Zendesk's update limit; the comment waits for it"
                        ),
                        after,
                    });
                }
                Turn::Joined(heard) => heard.await.unwrap_or_else(|_| {
                    Err(ZendeskError::Network(
                        "the update carrying this comment was abandoned".into(),
                    ))
                }),
                Turn::Lead { after } => {
                    let mut leading = self.batches.leading(tid);
                    tokio::time::sleep(after).await;
                    let (bodies, answers): (Vec<String>, Vec<_>) = std::iter::once((body, None))
                        .chain(leading.close().into_iter().map(|(b, a)| (b, Some(a))))
                        .unzip();
                    let written = self
                        .write_comment(
                            tid,
                            &batch::combined(&bodies),
                            comment,
                            shape,
                            voice.as_ref(),
                        )
                        .await;
                    for answer in answers.into_iter().flatten() {
                        // A follower that gave up waiting retries on its own.
                        let _ = answer.send(written.clone());
                    }
                    written
                }
            },
        };
        match written {
            Ok(id) => Ok(CommentAdded {
                earlier_text: None,
                id,
                ticket_id: ticket_id.to_string(),
                call_record: recorded,
            }),
            // Each call makes its own follow-up of a ticket closed meanwhile.
            Err(ZendeskError::TicketClosed) => {
                let added = self.follow_up(tid, comment, key).await?;
                Ok(CommentAdded {
                    call_record: recorded,
                    ..added
                })
            }
            Err(e) => Err(helpdesk_error(e)),
        }
    }

    async fn add_contact_phone(&self, contact_id: &str, e164: &str) -> Result<(), HelpdeskError> {
        let uid = zid(contact_id, "contact")?;
        // Zendesk refuses a number the user has already (422); look first.
        let identities = self
            .client
            .user_identities(uid)
            .await
            .map_err(helpdesk_error)?;
        let region = Phone::national(e164).map(|(r, _)| r).unwrap_or_default();
        let has = identities.iter().any(|i| {
            i.kind == "phone_number" && Phone::parse(&i.value, region).e164() == Some(e164)
        });
        if !has {
            match self.client.add_phone_identity(uid, e164).await {
                Ok(()) => {}
                // Zendesk keeps a phone identity on one user only: a number
                // another user has (e.g. the contact made for the unknown caller
                // before the agent chose) is refused with `DuplicateValue`. The
                // call still goes to the chosen contact; the number stays where
                // it is, which an admin merges in Zendesk.
                Err(ZendeskError::Invalid { details, .. })
                    if details.contains("DuplicateValue") =>
                {
                    tracing::warn!(
                        contact = contact_id,
                        "the caller's number belongs to another Zendesk user; not added"
                    );
                }
                Err(e) => return Err(helpdesk_error(e)),
            }
        }
        // The number's callers are this user now too.
        let mut cache = self.cache();
        cache.by_phone.remove(e164);
        cache.contacts.remove(contact_id);
        Ok(())
    }

    async fn search_contacts(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let users = self
            .client
            .search_users(query.trim())
            .await
            .map_err(helpdesk_error)?;
        Ok(users
            .iter()
            .filter(|u| !u.is_agent())
            .take(limit)
            .map(contact)
            .collect())
    }
}

impl ZendeskHelpdesk {
    /// Opens the ticket again if the core says so ([`ticket_rules::reopened_by_comment`])
    /// for its status as Zendesk has it now.
    async fn reopen_if_solved(&self, tid: u64, reopen_solved: bool) -> Result<(), HelpdeskError> {
        if !reopen_solved {
            return Ok(());
        }
        let ticket = self.client.show_ticket(tid).await.map_err(helpdesk_error)?;
        if let Some(t) = ticket {
            self.remember_ticket(&t);
            if let Some(status) = ticket_rules::reopened_by_comment(&t.status, reopen_solved) {
                let updated = self
                    .client
                    .set_status(tid, status.as_str())
                    .await
                    .map_err(helpdesk_error)?;
                self.remember_ticket(&updated.ticket);
            }
        }
        Ok(())
    }

    /// The call as a Talk Partner Edition call record on ticket `tid`, with its
    /// voice comment (`POST /api/v2/calls` with `ticket_id` and a `comment`
    /// section, "Creating a voice comment in ticket"): one request, where the
    /// text comment was one. Zendesk takes no `Idempotency-Key` on calls, so the
    /// record carries the step's key as its `external_id`, and a step that ran
    /// before first looks among the ticket's newest comments for the voice
    /// comment showing that external id (the comment shows the call's fields),
    /// as a retried text comment looks for its reference: a retry makes no
    /// second record. A refusal (403 or 404: the account has no Talk Partner
    /// Edition; 422: the app id or a field is wrong, or the ticket is closed)
    /// is `Refused`, and the caller writes the text comment instead; 403 and
    /// 404 are remembered, so later calls do not ask again.
    async fn record_call(
        &self,
        tid: u64,
        record: &CallRecord,
        key: &IdempotencyKey,
    ) -> Result<CallRecordStatus, HelpdeskError> {
        if let Some(reason) = self
            .calls_refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(CallRecordStatus::Refused { reason });
        }
        let external_id = ticket_external_id(key.as_str());
        if !key.first_try {
            let existing = self
                .client
                .ticket_comments(tid)
                .await
                .map_err(helpdesk_error)?;
            if let Some(id) = existing.iter().find_map(|c| c.shows_call(&external_id)) {
                return Ok(CallRecordStatus::Recorded { id: id.to_string() });
            }
        }
        let agent_id = match &record.answered_by {
            Some(email) => self.agent_id(email).await?,
            None => None,
        };
        let end_user_id = self
            .cache()
            .tickets
            .get(&tid.to_string())
            .and_then(|(_, t)| t.requester_id.as_deref().and_then(|r| r.parse().ok()));
        use deskbridge_core::interaction::Outcome;
        // Zendesk's completion statuses name where a caller gave up; the other
        // outcomes are said in words in `call_disposition`.
        let (completion_status, call_disposition) = match record.outcome {
            Outcome::Answered => (Some("completed"), None),
            Outcome::Abandoned => (Some("abandoned_in_queue"), None),
            other => (None, Some(other.as_str())),
        };
        let call = zd::NewCall {
            app_id: record.app_id,
            from_line: record.from.clone(),
            to_line: record.to.clone(),
            call_started_at: record.started_at.to_rfc3339(),
            direction: if record.inbound {
                "inbound"
            } else {
                "outbound"
            }
            .into(),
            call_ended_at: record.ended_at.map(|t| t.to_rfc3339()),
            ticket_id: Some(tid),
            agent_id,
            end_user_id,
            completion_status: completion_status.map(str::to_string),
            call_disposition: call_disposition.map(str::to_string),
            voicemail: record.voicemail,
            talk_time: record.duration_s,
            recording_url: record.recording_url.clone(),
            transcript: record.transcript.clone(),
            external_id: Some(external_id),
            comment: Some(zd::CallComment {
                title: record.title.clone(),
                public: false,
                author_id: None,
            }),
        };
        match self.client.create_call(&call).await {
            Ok(made) => Ok(CallRecordStatus::Recorded {
                id: made.id.to_string(),
            }),
            Err(e @ (ZendeskError::Forbidden { .. } | ZendeskError::NotFound)) => {
                let reason = format!(
                    "Zendesk refused call records ({}): the account has no Talk Partner \
                     Edition, or its API user may not create calls; calls get the text \
                     comment (remove zendesk_app_id, or add Talk Partner Edition)",
                    match e {
                        ZendeskError::NotFound => "404",
                        _ => "403",
                    }
                );
                tracing::warn!(%reason, "writing text comments instead of call records");
                *self.calls_refused.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(reason.clone());
                Ok(CallRecordStatus::Refused { reason })
            }
            Err(ZendeskError::TicketClosed) => Ok(CallRecordStatus::Refused {
                reason: format!(
                    "ticket {tid} is closed: the call's comment went to a follow-up ticket as text"
                ),
            }),
            Err(e @ ZendeskError::Invalid { .. }) => Ok(CallRecordStatus::Refused {
                reason: format!("{e}; the text comment was written instead"),
            }),
            Err(e) => Err(helpdesk_error(e)),
        }
    }

    /// One ticket update carrying `body`; reopens the ticket when it turns out
    /// to be solved. The comment's id, or why not.
    async fn write_comment(
        &self,
        tid: u64,
        body: &str,
        comment: &NewComment,
        shape: UpdateShape,
        voice: Option<&zd::VoiceCommentInput>,
    ) -> Result<String, ZendeskError> {
        let body = zd::NewComment {
            body: body.to_string(),
            public: comment.public,
        };
        let result = self
            .client
            .add_comment(tid, &body, shape.assignee_id, shape.status, voice)
            .await;
        let mut updated = match result {
            Ok(updated) => updated,
            Err(e) => {
                if let ZendeskError::RateLimited(wait) = &e {
                    self.batches.held(tid, *wait);
                }
                return Err(e);
            }
        };
        let id = updated.comment_id().unwrap_or_default().to_string();
        if let Some(status) =
            ticket_rules::reopened_by_comment(&updated.ticket.status, comment.reopen_solved)
        {
            updated = self.client.set_status(tid, status.as_str()).await?;
        }
        self.remember_ticket(&updated.ticket);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use deskbridge_zendesk::{Auth, Budget, ClientConfig};
    use zendesk_emulator::{Emulator, EmulatorConfig};

    use super::*;

    const LOOKUP: &str = "GET /api/v2/users/search";

    #[tokio::test]
    async fn an_agent_is_looked_up_once_however_many_ask_at_once() {
        let mut cfg = EmulatorConfig::new("admin@acme.com", "emulator-token");
        // Slow enough that every ask arrives while the first lookup is out.
        cfg.latency = Duration::from_millis(100);
        let zd = Emulator::new(cfg).start("127.0.0.1:0").await.unwrap();
        let ann = zd.seed_agent("ann@acme.com", "Ann Example");
        let auth = Auth::ApiToken {
            email: "admin@acme.com".into(),
            token: "emulator-token".into(),
        };
        let client = ZendeskClient::new(
            ClientConfig::new(&zd.base_url, auth),
            Arc::new(Budget::new(6000)),
        )
        .unwrap();
        let helpdesk = ZendeskHelpdesk::new(Arc::new(client), HashMap::new(), false);

        // A failed lookup is not remembered: the next ask tries again.
        zd.set_faults(1.0, Duration::ZERO);
        assert!(matches!(
            helpdesk.agent_id("ann@acme.com").await,
            Err(HelpdeskError::Transient(_))
        ));
        zd.set_faults(0.0, Duration::from_millis(100));
        let before = zd.stats().endpoints.get(LOOKUP).copied().unwrap_or(0);

        let asks = (0..8).map(|i| {
            let email = match i % 2 {
                0 => "ann@acme.com",
                _ => "Ann@Acme.com",
            };
            helpdesk.agent_id(email)
        });
        for id in futures_util::future::join_all(asks).await {
            assert_eq!(id, Ok(Some(ann)));
        }
        let lookups = zd.stats().endpoints.get(LOOKUP).copied().unwrap_or(0) - before;
        assert_eq!(lookups, 1, "lookups for 8 concurrent asks");
        // And later asks cost nothing.
        assert_eq!(helpdesk.agent_id("ann@acme.com").await, Ok(Some(ann)));
        assert_eq!(zd.stats().endpoints.get(LOOKUP).copied(), Some(before + 1));
    }

    fn new_ticket_for(requester: u64, body: &str) -> NewTicket {
        NewTicket {
            subject: "Inbound call +14155550100".into(),
            requester_id: Some(requester.to_string()),
            priority: deskbridge_core::policy::Priority::Normal,
            ticket_type: deskbridge_core::policy::TicketType::Question,
            status: deskbridge_core::policy::TicketStatus::New,
            tags: Vec::new(),
            ticket_form: None,
            custom_fields: Vec::new(),
            assignee: None,
            comment: Some(NewComment {
                body: body.into(),
                public: false,
                reassign: None,
                reopen_solved: false,
                voice: None,
                call_record: None,
            }),
            voice: None,
            display_to: None,
        }
    }

    /// Issue 9, point 5: the create's answer was lost, and the retry rebuilds
    /// its body from a call that changed meanwhile (a recording arrived). Zendesk
    /// refuses the key with the other body; the first ticket is found by its
    /// external id, whether the retry knows it is one or not.
    #[tokio::test]
    async fn a_create_retried_with_another_body_returns_the_first_ticket() {
        let zd = Emulator::new(EmulatorConfig::new("admin@acme.com", "emulator-token"))
            .start("127.0.0.1:0")
            .await
            .unwrap();
        let caller = zd.seed_user(zendesk_emulator::SeedUser::end_user(
            "Caller",
            "+14155550100",
        ));
        let auth = Auth::ApiToken {
            email: "admin@acme.com".into(),
            token: "emulator-token".into(),
        };
        let client = ZendeskClient::new(
            ClientConfig::new(&zd.base_url, auth),
            Arc::new(Budget::new(6000)),
        )
        .unwrap();
        let helpdesk = ZendeskHelpdesk::new(Arc::new(client), HashMap::new(), false);
        let key = IdempotencyKey::for_step("support", "c1", "open_ticket");

        zd.lose_ticket_create_answers(1);
        let lost = helpdesk
            .create_ticket(&new_ticket_for(caller, "Call, no recording yet"), &key)
            .await;
        assert!(matches!(lost, Err(HelpdeskError::Transient(_))), "{lost:?}");
        let later = new_ticket_for(caller, "Call\nRecording: https://pbx/r.mp3");
        // As a first try (the key alone): Zendesk refuses it, the ticket is found.
        let again = helpdesk.create_ticket(&later, &key).await.unwrap();
        // As a retry: looked up before sending.
        let retried = helpdesk
            .create_ticket(&later, &key.clone().retried(true))
            .await
            .unwrap();
        assert_eq!(again.id, retried.id);
        let state = zd.state();
        let ours: Vec<_> = state
            .tickets
            .iter()
            .filter(|t| t.requester_id == caller)
            .collect();
        assert_eq!(ours.len(), 1, "one ticket");
        assert_eq!(ours[0].id.to_string(), again.id);
    }
}
