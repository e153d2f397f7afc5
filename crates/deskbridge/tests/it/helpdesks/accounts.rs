//! Each emulated helpdesk account read in the same words: its contacts, its
//! tickets and their comments (Zendesk's comments; Freshdesk's description
//! and notes), and seeded the same way.

use std::time::Duration;

use crate::common::TestApp;

use crate::zendesk::TOKEN;

/// A ticket as an agent sees it.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub(crate) requester: String,
    pub(crate) assignee: Option<String>,
    pub(crate) subject: String,
    /// `open`, `pending`, `solved` or `closed`.
    pub(crate) status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub(crate) priority: String,
    /// The helpdesk group's id.
    pub(crate) group: Option<String>,
    /// The product's id (Freshdesk).
    pub(crate) product: Option<String>,
    pub(crate) tags: Vec<String>,
    /// Custom field id (as the group's config names it) → value.
    pub(crate) fields: Vec<(String, String)>,
}

/// A comment (Zendesk) or the description and notes (Freshdesk), in order.
#[derive(Debug, Clone)]
pub(crate) struct Comment {
    pub(crate) text: String,
    pub(crate) public: bool,
}

/// A helpdesk account behind its emulator, with one agent, Ann
/// (`ann@acme.com`).
pub(crate) trait Account: Sized {
    fn start() -> Self;
    /// deskbridge on this account: group "support" (token [`TOKEN`]) with
    /// `group_keys`.
    fn app(&self, group_keys: &str) -> TestApp {
        self.app_with("", group_keys)
    }
    /// [`Account::app`] with `backend_keys` added to `[backends.desk]`.
    fn app_with(&self, backend_keys: &str, group_keys: &str) -> TestApp;
    /// Searches of the account's contacts so far (its search index).
    fn searches(&self) -> u64;
    /// Makes what was seeded visible to a mirror's first load at once (it
    /// stands for data that has been in the account a while).
    fn settle_for_mirror(&self) {}
    fn seed_contact(&self, name: &str, phone: &str) -> String;
    /// A contact with an email and no number (a chat's visitor).
    fn seed_visitor(&self, name: &str, email: &str) -> String;
    fn seed_ticket(&self, requester: &str, subject: &str) -> String;
    /// A text ticket field: its id as `[groups.custom_fields]` names it.
    fn seed_text_field(&self, label: &str) -> String;
    fn close_ticket(&self, id: &str);
    fn ticket(&self, id: &str) -> Ticket;
    fn comments(&self, ticket: &str) -> Vec<Comment>;
    fn contacts_with_phone(&self, e164: &str) -> usize;
    /// A group of agents, for `ticket_group`: its id.
    fn seed_group(&self, name: &str) -> String;
    /// A company (Zendesk: organization) already in the account.
    fn seed_company(&self, name: &str) -> String;
    /// The company of a contact, if any.
    fn company_of(&self, contact: &str) -> Option<String>;
    /// Every company's name.
    fn companies(&self) -> Vec<String>;
    /// Requests deskbridge sent so far.
    fn requests(&self) -> u64;
    /// The requests a new ticket carrying a call's private comment costs:
    /// Zendesk takes a private first comment with the ticket; Freshdesk shows a
    /// ticket's description to its requester, so the call is a note after it.
    fn writes_per_new_ticket(&self) -> u64;
}

fn group(backend: &str, agents: &str, group_keys: &str) -> String {
    format!(
        "{backend}\n{agents}\n[[groups]]\nname = \"support\"\nbackend = \"desk\"\ntokens = [\"{TOKEN}\"]\n{group_keys}\n"
    )
}

pub(crate) struct ZendeskAccount {
    zd: crate::zendesk::Zd,
    ann: u64,
}

impl Account for ZendeskAccount {
    fn start() -> Self {
        let (zd, ann) = crate::zendesk::Zd::with_ann();
        ZendeskAccount { zd, ann }
    }

    fn app_with(&self, backend_keys: &str, group_keys: &str) -> TestApp {
        let backend = crate::zendesk::backend(&self.zd.emu.base_url)
            .replace("[backends.zendesk]", "[backends.desk]")
            + backend_keys;
        let agents = "[[agents]]\nemail = \"ann@acme.com\"\nname = \"Ann Example\"\n";
        TestApp::with_config(&group(&backend, agents, group_keys), TOKEN)
    }

    fn seed_contact(&self, name: &str, phone: &str) -> String {
        self.zd
            .emu
            .seed_user(zendesk_emulator::SeedUser::end_user(name, phone))
            .to_string()
    }

    fn seed_visitor(&self, name: &str, email: &str) -> String {
        let mut user = zendesk_emulator::SeedUser::end_user(name, "");
        user.phone = None;
        user.email = Some(email.to_string());
        self.zd.emu.seed_user(user).to_string()
    }

    fn seed_ticket(&self, requester: &str, subject: &str) -> String {
        self.zd
            .emu
            .seed_ticket(zendesk_emulator::SeedTicket::new(
                requester.parse().unwrap(),
                subject,
            ))
            .to_string()
    }

    fn seed_text_field(&self, label: &str) -> String {
        let id = 360_000_000 + label.len() as u64 * 7 + label.bytes().map(u64::from).sum::<u64>();
        self.zd
            .emu
            .seed_ticket_field(zendesk_emulator::SeedTicketField::new(id, "text", label));
        id.to_string()
    }

    fn close_ticket(&self, id: &str) {
        let closed = reqwest::blocking::Client::new()
            .put(format!("{}/api/v2/tickets/{id}.json", self.zd.emu.base_url))
            .basic_auth("admin@acme.com/token", Some("emulator-token"))
            .json(&serde_json::json!({"ticket": {"status": "closed"}}))
            .send()
            .unwrap();
        assert!(closed.status().is_success());
    }

    fn ticket(&self, id: &str) -> Ticket {
        let state = self.zd.emu.state();
        let t = state
            .tickets
            .iter()
            .find(|t| t.id.to_string() == id)
            .unwrap_or_else(|| panic!("no ticket {id}"));
        let assignee = t.assignee_id.map(|a| match a == self.ann {
            true => "ann@acme.com".to_string(),
            false => a.to_string(),
        });
        Ticket {
            requester: t.requester_id.to_string(),
            assignee,
            subject: t.subject.clone().unwrap_or_default(),
            status: format!("{:?}", t.status).to_lowercase(),
            priority: t.priority.map_or("normal", |p| p.as_str()).to_string(),
            group: t.group_id.map(|g| g.to_string()),
            product: None,
            tags: t.tags.clone(),
            fields: t
                .custom_fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
        }
    }

    fn comments(&self, ticket: &str) -> Vec<Comment> {
        self.zd
            .emu
            .state()
            .comments
            .iter()
            .filter(|c| c.ticket_id.to_string() == ticket)
            .map(|c| Comment {
                text: c.body.clone(),
                public: c.public,
            })
            .collect()
    }

    fn contacts_with_phone(&self, e164: &str) -> usize {
        self.zd
            .emu
            .state()
            .users
            .iter()
            .filter(|u| u.phone.as_deref() == Some(e164))
            .count()
    }

    fn seed_group(&self, name: &str) -> String {
        // The emulator keeps no groups and takes any `group_id` (Zendesk
        // refuses an unknown one): an id in Zendesk's form, from the name.
        (360_000_000 + name.bytes().map(u64::from).sum::<u64>()).to_string()
    }

    fn seed_company(&self, name: &str) -> String {
        // The emulator seeds none: made as an admin would, through the API.
        let made: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!(
                "{}/api/v2/organizations.json",
                self.zd.emu.base_url
            ))
            .basic_auth("admin@acme.com/token", Some("emulator-token"))
            .json(&serde_json::json!({"organization": {"name": name}}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        made["organization"]["id"].to_string()
    }

    fn company_of(&self, contact: &str) -> Option<String> {
        let state = self.zd.emu.state();
        let user = state.users.iter().find(|u| u.id.to_string() == contact)?;
        user.organization_id.map(|o| o.to_string())
    }

    fn companies(&self) -> Vec<String> {
        let state = self.zd.emu.state();
        state.organizations.iter().map(|o| o.name.clone()).collect()
    }

    fn requests(&self) -> u64 {
        self.zd.emu.stats().endpoints.values().sum()
    }

    fn writes_per_new_ticket(&self) -> u64 {
        1
    }

    fn searches(&self) -> u64 {
        let stats = self.zd.emu.stats();
        stats
            .endpoints
            .get("GET /api/v2/search")
            .copied()
            .unwrap_or(0)
    }

    fn settle_for_mirror(&self) {
        // Zendesk's exports leave out the last minute.
        self.zd.emu.set_export_lag(Duration::ZERO);
    }
}

pub(crate) struct FreshdeskAccount {
    emu: freshdesk_emulator::RunningEmulator,
    ann: u64,
    _rt: tokio::runtime::Runtime,
}

impl FreshdeskAccount {
    /// The account, its emulator set up by `setup` after the defaults.
    pub(crate) fn start_with(setup: impl FnOnce(&mut freshdesk_emulator::EmulatorConfig)) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut cfg = freshdesk_emulator::EmulatorConfig::new("freshdesk-key");
        // Freshdesk's search index lags writes ("may take a few minutes").
        cfg.search_lag = Duration::from_secs(120);
        setup(&mut cfg);
        let emu = rt
            .block_on(freshdesk_emulator::Emulator::new(cfg).start("127.0.0.1:0"))
            .unwrap();
        let ann = emu.seed_agent("ann@acme.com", "Ann Example");
        FreshdeskAccount { emu, ann, _rt: rt }
    }

    /// Moves a contact to Freshdesk's trash, as an agent deleting it.
    pub(crate) fn delete_contact(&self, id: &str) {
        self.emu.delete_contact(id.parse().unwrap());
    }

    /// The next `n` writes are made, then answered `status` (a lost answer).
    pub(crate) fn fail_next_after_write(&self, n: usize, status: u16) {
        self.emu.fail_next_after_write(n, status);
    }

    /// The contacts holding `e164` in `phone` or `mobile`: id and name.
    pub(crate) fn contacts_of(&self, e164: &str) -> Vec<(String, String)> {
        self.emu
            .state()
            .contacts
            .iter()
            .filter(|c| c.phone.as_deref() == Some(e164) || c.mobile.as_deref() == Some(e164))
            .map(|c| (c.id.to_string(), c.name.clone()))
            .collect()
    }

    /// A product (Admin > Multiple Products), for `ticket_product`: its id.
    pub(crate) fn seed_product(&self, name: &str) -> String {
        self.emu.seed_product(name).to_string()
    }
}

impl Account for FreshdeskAccount {
    fn start() -> Self {
        FreshdeskAccount::start_with(|_| {})
    }

    fn app_with(&self, backend_keys: &str, group_keys: &str) -> TestApp {
        let backend = format!(
            "[backends.desk]\nkind = \"freshdesk\"\nbase_url = \"{}\"\napi_key = \"freshdesk-key\"\nplan = \"enterprise\"\n{backend_keys}\n",
            self.emu.base_url
        );
        let agents = "[[agents]]\nemail = \"ann@acme.com\"\nname = \"Ann Example\"\n";
        TestApp::with_config(&group(&backend, agents, group_keys), TOKEN)
    }

    fn seed_contact(&self, name: &str, phone: &str) -> String {
        self.emu
            .seed_contact(freshdesk_emulator::SeedContact::with_phone(name, phone))
            .to_string()
    }

    fn seed_visitor(&self, name: &str, email: &str) -> String {
        self.emu
            .seed_contact(freshdesk_emulator::SeedContact::new(name).email(email))
            .to_string()
    }

    fn seed_ticket(&self, requester: &str, subject: &str) -> String {
        self.emu
            .seed_ticket(freshdesk_emulator::SeedTicket::new(
                requester.parse().unwrap(),
                subject,
            ))
            .to_string()
    }

    fn seed_text_field(&self, label: &str) -> String {
        let name = format!(
            "cf_{}",
            label
                .to_ascii_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        self.emu
            .seed_ticket_field(freshdesk_emulator::SeedTicketField::text(&name, label));
        name
    }

    fn close_ticket(&self, id: &str) {
        self.emu.close_ticket(id.parse().unwrap());
    }

    fn ticket(&self, id: &str) -> Ticket {
        let state = self.emu.state();
        let t = state
            .tickets
            .iter()
            .find(|t| t.id.to_string() == id)
            .unwrap_or_else(|| panic!("no ticket {id}"));
        let agent_email = |a: u64| {
            state
                .agents
                .iter()
                .find(|g| g.id == a)
                .map_or(a.to_string(), |g| g.email.clone())
        };
        let _ = self.ann;
        Ticket {
            requester: t.requester_id.to_string(),
            assignee: t.responder_id.map(agent_email),
            subject: t.subject.clone(),
            // "Status" table: 2 open, 3 pending, 4 resolved, 5 closed.
            status: match t.status {
                2 => "open",
                4 => "solved",
                5 => "closed",
                _ => "pending",
            }
            .to_string(),
            // "Priority" table: 1 low, 2 medium, 3 high, 4 urgent.
            priority: match t.priority {
                1 => "low",
                3 => "high",
                4 => "urgent",
                _ => "normal",
            }
            .to_string(),
            group: t.group_id.map(|g| g.to_string()),
            product: t.product_id.map(|p| p.to_string()),
            tags: t.tags.clone(),
            fields: t
                .custom_fields
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
        }
    }

    fn comments(&self, ticket: &str) -> Vec<Comment> {
        let state = self.emu.state();
        let Some(t) = state.tickets.iter().find(|t| t.id.to_string() == ticket) else {
            return Vec::new();
        };
        // The description is the ticket's first comment, as in Zendesk, and
        // its requester can read it (the portal, the new-ticket email). One
        // that only repeats the subject on a ticket deskbridge made (its key
        // tag) says what the ticket is for; the call is in a note.
        let made_by_deskbridge = t.tags.iter().any(|t| t.starts_with("deskbridge-"));
        let mut all = Vec::new();
        if !(made_by_deskbridge && t.description_text == t.subject) {
            all.push(Comment {
                text: t.description_text.clone(),
                public: true,
            });
        }
        all.extend(
            state
                .notes
                .iter()
                .filter(|n| n.ticket_id == t.id)
                .map(|n| Comment {
                    text: n.body_text.clone(),
                    public: !n.private,
                }),
        );
        all
    }

    fn contacts_with_phone(&self, e164: &str) -> usize {
        self.emu
            .state()
            .contacts
            .iter()
            .filter(|c| c.phone.as_deref() == Some(e164) || c.mobile.as_deref() == Some(e164))
            .count()
    }

    fn seed_group(&self, name: &str) -> String {
        self.emu.seed_group(name).to_string()
    }

    fn seed_company(&self, name: &str) -> String {
        self.emu.seed_company(name).to_string()
    }

    fn company_of(&self, contact: &str) -> Option<String> {
        let state = self.emu.state();
        let c = state
            .contacts
            .iter()
            .find(|c| c.id.to_string() == contact)?;
        c.company_id.map(|c| c.to_string())
    }

    fn companies(&self) -> Vec<String> {
        let state = self.emu.state();
        state.companies.iter().map(|c| c.name.clone()).collect()
    }

    fn requests(&self) -> u64 {
        self.emu.stats().total
    }

    fn writes_per_new_ticket(&self) -> u64 {
        2
    }

    fn searches(&self) -> u64 {
        let stats = self.emu.stats();
        stats
            .endpoints
            .get("GET /api/v2/search/contacts")
            .copied()
            .unwrap_or(0)
    }
}
