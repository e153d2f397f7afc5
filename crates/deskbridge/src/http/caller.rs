//! Who is asking: a connector group's bearer token, or an agent signed in to the
//! agent page. One extractor for every `/api/v1/` endpoint that both may use, so
//! what each may see is decided here and in [`Caller`]'s methods, not in each
//! handler.
//!
//! CSRF: a browser sends the session cookie with any request to this origin, so
//! an unsafe request (anything but GET, HEAD, OPTIONS) authenticated by the
//! cookie must also carry the session's own CSRF token in `X-CSRF-Token`, which
//! only the page (same origin, reading the sign-in answer) knows. A bearer token
//! is never sent by a browser on its own, so token requests need no such header.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};

use super::{ApiError, GroupAuth};
use crate::agent_auth::{credential_fingerprint, same_secret, session_hash};
use crate::state::{AppState, Group};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "deskbridge_session";
/// The header an unsafe request signed in by the cookie carries.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The credentials of a request.
pub enum Caller {
    /// A connector group's token: that group's calls and records.
    Group(GroupAuth),
    /// A signed-in agent: their own calls and pops, in any group.
    Agent(AgentSession),
}

/// A signed-in agent's session.
#[derive(Debug, Clone)]
pub struct AgentSession {
    /// Lowercase, as in the directory.
    pub email: String,
    pub csrf_token: String,
    /// SHA-256 of the cookie's value (to sign out).
    pub id_hash: String,
    /// `admin = true` in the directory: may read any call (the admin page
    /// follows the calls it retries).
    pub admin: bool,
}

impl Caller {
    /// The groups whose calls the caller may read: the token's, or every group
    /// for an agent (whose calls are then narrowed to their own by
    /// [`Caller::agent`]).
    pub fn groups(&self, state: &AppState) -> Vec<Arc<Group>> {
        match self {
            Caller::Group(auth) => auth.0.clone(),
            Caller::Agent(_) => state.groups.clone(),
        }
    }

    /// The groups whose callers and records the caller may look up (`/lookup`,
    /// `/route`, contact search, the built-in CRM): the token's, or the
    /// agent's groups (`[[agents]] groups`; left out, the only group when there
    /// is one, else none).
    pub fn reach(&self, state: &AppState) -> Vec<Arc<Group>> {
        match self {
            Caller::Group(auth) => auth.0.clone(),
            Caller::Agent(a) => {
                let named = state
                    .agent_page
                    .agent(&a.email)
                    .map(|agent| agent.groups)
                    .unwrap_or_default();
                match (named.is_empty(), state.groups.len()) {
                    (false, _) => state
                        .groups
                        .iter()
                        .filter(|g| named.contains(&g.name))
                        .cloned()
                        .collect(),
                    (true, 1) => state.groups.clone(),
                    (true, _) => Vec::new(),
                }
            }
        }
    }

    /// The groups whose contact-center figures the caller may read
    /// (`GET /api/v1/stats`): a group token's; every group for an
    /// admin; a supervisor's own groups ([`Caller::reach`]). `None` for
    /// another agent: a colleague's figures are not theirs to read.
    pub fn figure_groups(&self, state: &AppState) -> Option<Vec<Arc<Group>>> {
        match self {
            Caller::Group(auth) => Some(auth.0.clone()),
            Caller::Agent(a) if a.admin => Some(state.groups.clone()),
            Caller::Agent(a) if state.agent_page.is_supervisor(&a.email) => Some(self.reach(state)),
            Caller::Agent(_) => None,
        }
    }

    /// The agent whose calls only are visible, for a signed-in agent.
    pub fn agent(&self) -> Option<&str> {
        match self {
            Caller::Group(_) => None,
            Caller::Agent(a) => Some(&a.email),
        }
    }

    /// Whether the caller may see this call: a group token sees its group's
    /// calls (the caller read only those); an agent, the calls they answered or
    /// were popped for.
    pub fn may_see(&self, call: &deskbridge_core::Interaction) -> bool {
        match self {
            Caller::Group(auth) => auth.get(&call.group).is_some(),
            Caller::Agent(a) => call.agent_emails().iter().any(|e| e == &a.email),
        }
    }
}

impl Caller {
    /// Whether the caller may read this call (`GET /api/v1/calls/{id}`): what
    /// [`Caller::may_see`] allows, and any call for an admin, whose admin page
    /// follows the calls it retries. Acting on a call (an agent's decision)
    /// stays with `may_see`.
    pub fn may_read(&self, call: &deskbridge_core::Interaction) -> bool {
        matches!(self, Caller::Agent(a) if a.admin) || self.may_see(call)
    }
}

/// The session id of the request's cookie, if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message.to_string(),
    )
}

/// `zendesk:{account}:{user_id}`, a session Zendesk signed in
/// ([`crate::http::zendesk_credential`]): the account and user.
fn zendesk_session(credential: &str) -> Option<(&str, u64)> {
    let (account, user_id) = credential.strip_prefix("zendesk:")?.rsplit_once(':')?;
    Some((account, user_id.parse().ok()?))
}

/// Whether Zendesk user `user_id` of `account` is still the agent `email`: as
/// the directory last listed them, else (another instance signed them in, or
/// this one restarted) as Zendesk answers now.
async fn still_zendesk_agent(state: &AppState, email: &str, account: &str, user_id: u64) -> bool {
    let listed = state.agent_page.zendesk_agent(email);
    if listed
        .as_ref()
        .is_some_and(|a| a.user_id == user_id && a.account == account)
    {
        return true;
    }
    let Some(zendesk) = state.zendesk.account(account) else {
        return false;
    };
    match zendesk.confirm(user_id).await {
        Ok(Some(agent)) if agent.email == email => {
            state.keep_zendesk_agent(agent);
            true
        }
        Ok(_) => false,
        Err(e) => {
            // Zendesk down: the session stands (it was Zendesk's word when
            // it began); the next check asks again.
            tracing::warn!(error = %e, "cannot confirm a Zendesk agent's session; keeping it");
            true
        }
    }
}

impl FromRequestParts<Arc<AppState>> for AgentSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(id) = session_cookie(&parts.headers) else {
            return Err(unauthorized(
                "sign in to the agent page first (POST /api/v1/agent/login)",
            ));
        };
        let id_hash = session_hash(&id);
        let Some(session) = state.store.session(&id_hash, chrono::Utc::now()).await? else {
            return Err(unauthorized(
                "the session has expired or was signed out; sign in again",
            ));
        };
        match zendesk_session(&session.credential) {
            // Signed in by Zendesk: still an agent there.
            Some((account, user_id)) => {
                if !still_zendesk_agent(state, &session.agent_email, account, user_id).await {
                    state.store.delete_session(&id_hash).await?;
                    return Err(unauthorized(
                        "you are no longer an agent in Zendesk; ask a Zendesk admin",
                    ));
                }
            }
            None => {
                // An agent removed from the directory is signed out.
                let Some(agent) = state.agent_page.configured(&session.agent_email) else {
                    return Err(unauthorized("the agent is no longer in the directory"));
                };
                // So is one whose password or token changed since this sign-in.
                let now_known =
                    credential_fingerprint(agent.password_hash.as_deref(), agent.token.as_deref());
                if !same_secret(&session.credential, &now_known) {
                    return Err(unauthorized(
                        "the agent's password or token changed since this sign-in; sign in again",
                    ));
                }
            }
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same_secret(sent, &session.csrf_token) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "a request signed in by the session cookie must carry the session's \
                     X-CSRF-Token header (the agent page sends it)",
                ));
            }
        }
        Ok(AgentSession {
            admin: state.agent_page.is_admin(&session.agent_email),
            email: session.agent_email,
            csrf_token: session.csrf_token,
            id_hash,
        })
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // A bearer token wins: it is what a PBX or script sends, never a browser
        // on its own.
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return GroupAuth::from_request_parts(parts, state)
                .await
                .map(Caller::Group);
        }
        if session_cookie(&parts.headers).is_some() {
            return AgentSession::from_request_parts(parts, state)
                .await
                .map(Caller::Agent);
        }
        Err(unauthorized(
            "send Authorization: Bearer <group token>, or sign in to the agent page",
        ))
    }
}

/// A signed-in agent as the directory knows them: their name and the
/// extension their phone rings on (a dial rings it; a phone system names the
/// agent of a call by it).
pub fn agent_ref(state: &AppState, email: &str) -> deskbridge_core::AgentRef {
    let known = state
        .directory
        .agents()
        .iter()
        .find(|a| a.email.eq_ignore_ascii_case(email))
        .cloned();
    deskbridge_core::AgentRef {
        email: Some(email.to_string()),
        name: known.as_ref().and_then(|a| a.name.clone()),
        extension: known.and_then(|a| a.extension),
    }
}
