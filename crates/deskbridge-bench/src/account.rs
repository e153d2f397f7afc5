//! The helpdesk account a trace replay plays into (`--helpdesk`): the Zendesk
//! emulator or the Freshdesk emulator, seeded alike (agents, the known callers
//! with an open ticket each), counted alike (requests per endpoint, 429s),
//! configured as deskbridge's backend `desk`.

use std::collections::BTreeMap;
use std::time::Duration;

use deskbridge_bench::trace::Trace;

/// `--helpdesk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Helpdesk {
    Zendesk,
    Freshdesk,
}

/// What the account counted.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub endpoints: BTreeMap<String, u64>,
    pub rate_limited: u64,
    pub during_retry_after: u64,
}

/// What the account is asked for, besides the trace's numbers.
pub struct Plan {
    /// Zendesk: the account's requests a minute. Freshdesk: ignored (the plan's).
    pub rpm: u32,
    /// Freshdesk's plan: its per-minute and per-endpoint limits.
    pub freshdesk_plan: &'static str,
    /// Freshdesk: a call's private comment as a new ticket's description
    /// (`call_in_description`), instead of a note after the create.
    pub call_in_description: bool,
}

pub enum Account {
    Zendesk(zendesk_emulator::RunningEmulator),
    Freshdesk(freshdesk_emulator::RunningEmulator),
}

/// The ticket field the bench's wrap-up codes go into (seeded: both helpdesks
/// refuse a field they do not have).
const ZENDESK_WRAP_UP_FIELD: u64 = 360_000_777;
const FRESHDESK_WRAP_UP_FIELD: &str = "cf_wrap_up_code";

impl Account {
    pub async fn start(helpdesk: Helpdesk, plan: &Plan) -> anyhow::Result<Account> {
        Ok(match helpdesk {
            Helpdesk::Zendesk => {
                let mut cfg =
                    zendesk_emulator::EmulatorConfig::new("admin@acme.com", "bench-token");
                cfg.requests_per_minute = Some(plan.rpm);
                cfg.search_lag = Duration::from_secs(120);
                Account::Zendesk(
                    zendesk_emulator::Emulator::new(cfg)
                        .start("127.0.0.1:0")
                        .await?,
                )
            }
            Helpdesk::Freshdesk => {
                let mut cfg = freshdesk_emulator::EmulatorConfig::new("bench-key");
                cfg.plan =
                    freshdesk_emulator::Plan::parse(plan.freshdesk_plan).ok_or_else(|| {
                        anyhow::anyhow!("no Freshdesk plan {:?}", plan.freshdesk_plan)
                    })?;
                // "Updates may take a few minutes to get indexed".
                cfg.search_lag = Duration::from_secs(120);
                Account::Freshdesk(
                    freshdesk_emulator::Emulator::new(cfg)
                        .start("127.0.0.1:0")
                        .await?,
                )
            }
        })
    }

    /// Agents, and callers who already exist with an open ticket each (the
    /// tickets the IVR numbers point at): the agents' ids, the tickets by the
    /// trace's number index.
    pub fn seed(
        &self,
        trace: &Trace,
        agents: usize,
        known_share: f64,
        typed: bool,
    ) -> (Vec<u64>, BTreeMap<usize, u64>) {
        let ids = (0..agents)
            .map(|i| {
                let (email, name) = (format!("agent{i}@acme.com"), format!("Agent {i}"));
                match self {
                    Account::Zendesk(emu) => emu.seed_agent(&email, &name),
                    Account::Freshdesk(emu) => emu.seed_agent(&email, &name),
                }
            })
            .collect();
        let known = (trace.numbers.len() as f64 * known_share).round() as usize;
        let mut tickets = BTreeMap::new();
        for (n, number) in trace.numbers.iter().enumerate().take(known) {
            let stored = match typed {
                true => typed_form(n, number),
                false => number.clone(),
            };
            let (name, subject) = (format!("Customer {n}"), format!("Order question {n}"));
            let ticket = match self {
                Account::Zendesk(emu) => {
                    let user = emu.seed_user(zendesk_emulator::SeedUser::end_user(name, stored));
                    emu.seed_ticket(zendesk_emulator::SeedTicket::new(user, subject))
                }
                Account::Freshdesk(emu) => {
                    let contact =
                        emu.seed_contact(freshdesk_emulator::SeedContact::with_phone(name, stored));
                    emu.seed_ticket(freshdesk_emulator::SeedTicket::new(contact, subject))
                }
            };
            tickets.insert(n, ticket);
        }
        (ids, tickets)
    }

    /// The wrap-up codes' ticket field, seeded; its id as the group names it.
    pub fn seed_wrap_up_field(&self) -> String {
        match self {
            Account::Zendesk(emu) => {
                emu.seed_ticket_field(zendesk_emulator::SeedTicketField::new(
                    ZENDESK_WRAP_UP_FIELD,
                    "text",
                    "Wrap-up code",
                ));
                ZENDESK_WRAP_UP_FIELD.to_string()
            }
            Account::Freshdesk(emu) => {
                emu.seed_ticket_field(freshdesk_emulator::SeedTicketField::text(
                    FRESHDESK_WRAP_UP_FIELD,
                    "Wrap-up code",
                ));
                FRESHDESK_WRAP_UP_FIELD.to_string()
            }
        }
    }

    pub fn counts(&self) -> Counts {
        match self {
            Account::Zendesk(emu) => {
                let s = emu.stats();
                Counts {
                    endpoints: s.endpoints,
                    rate_limited: s.rate_limited,
                    during_retry_after: s.requests_during_retry_after,
                }
            }
            Account::Freshdesk(emu) => {
                let s = emu.stats();
                Counts {
                    endpoints: s.endpoints,
                    rate_limited: s.throttled,
                    during_retry_after: s.during_retry_after,
                }
            }
        }
    }

    /// The requests the mirror's load made (not counted in the runs).
    pub fn mirror_load_requests(&self) -> u64 {
        let counts = self.counts();
        let loading = |k: &String| match self {
            Account::Zendesk(_) => k.contains("/incremental/"),
            Account::Freshdesk(_) => k == "GET /api/v2/contacts" || k == "GET /api/v2/tickets",
        };
        counts
            .endpoints
            .iter()
            .filter(|(k, _)| loading(k))
            .map(|(_, n)| n)
            .sum()
    }

    /// Before the mirror loads: the seeded account stands for data that has
    /// been there a while (Zendesk's exports leave out the last minute).
    pub fn settle_for_mirror(&self) {
        if let Account::Zendesk(emu) = self {
            emu.set_export_lag(Duration::ZERO);
        }
    }

    /// deskbridge's `[backends.desk]` and the agents' directory lines.
    pub fn backend(&self, plan: &Plan, ticket_updates: u64, mirror: bool) -> String {
        match self {
            Account::Zendesk(emu) => format!(
                "[backends.desk]\nkind = \"zendesk\"\nbase_url = \"{}\"\nemail = \"admin@acme.com\"\n\
                 api_token = \"bench-token\"\nrequests_per_minute = {}\nticket_updates_per_minute = {ticket_updates}\n\
                 mirror = {mirror}\n",
                emu.base_url, plan.rpm
            ),
            Account::Freshdesk(emu) => format!(
                "[backends.desk]\nkind = \"freshdesk\"\nbase_url = \"{}\"\napi_key = \"bench-key\"\n\
                 plan = \"{}\"\nmirror = {mirror}\ncall_in_description = {}\n",
                emu.base_url, plan.freshdesk_plan, plan.call_in_description
            ),
        }
    }

    /// An agent's directory key naming their id in this helpdesk, if it has one.
    pub fn agent_id_key(&self, id: u64) -> String {
        match self {
            Account::Zendesk(_) => format!("zendesk_id = \"{id}\"\n"),
            Account::Freshdesk(_) => String::new(),
        }
    }

    /// The helpdesk's name, for the report.
    pub fn name(&self) -> &'static str {
        match self {
            Account::Zendesk(_) => "Zendesk",
            Account::Freshdesk(_) => "Freshdesk",
        }
    }
}

/// A North American number (`+1` and ten digits) as a person might have typed it.
fn typed_form(n: usize, e164: &str) -> String {
    let d = e164.trim_start_matches("+1");
    if d.len() != 10 {
        return e164.to_string();
    }
    let (area, exchange, line) = (&d[..3], &d[3..6], &d[6..]);
    match n % 4 {
        0 => format!("({area}) {exchange}-{line}"),
        1 => format!("{area}-{exchange}-{line}"),
        2 => format!("+1 {area} {exchange} {line}"),
        _ => format!("1 {area} {exchange} {line}"),
    }
}
