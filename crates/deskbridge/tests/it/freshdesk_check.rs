//! `deskbridge check` on a Freshdesk backend: the config's own checks of a
//! Freshdesk group (custom fields named `cf_...`, no Zendesk keys), and
//! `check --online` against the Freshdesk emulator (the API key, the
//! directory's agents, the custom ticket fields the group fills). Each finding
//! names the key to change.

use deskbridge::check::{Finding, Severity};
use deskbridge::config::{Config, Overrides};
use freshdesk_emulator::{Emulator, EmulatorConfig, RunningEmulator, SeedTicketField};

const KEY: &str = "freshdesk-key";

struct Fd {
    emu: RunningEmulator,
    rt: tokio::runtime::Runtime,
}

/// An account with Ann as an agent and four custom fields: a text field, a
/// dropdown, a number field and a text field required for agents.
fn account() -> Fd {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(Emulator::new(EmulatorConfig::new(KEY)).start("127.0.0.1:0"))
        .unwrap();
    emu.seed_agent("ann@acme.com", "Ann Example");
    emu.seed_ticket_field(SeedTicketField::text("cf_utm_source", "UTM source"));
    emu.seed_ticket_field(SeedTicketField::dropdown(
        "cf_kind",
        "Kind",
        ["Sales", "Support"],
    ));
    emu.seed_ticket_field(SeedTicketField::number("cf_count", "Count"));
    emu.seed_ticket_field(SeedTicketField::text("cf_order", "Order").required());
    Fd { emu, rt }
}

fn config_text(base_url: &str, api_key: &str, agents: &[&str], group_keys: &str) -> String {
    let agents: String = agents
        .iter()
        .map(|a| format!("[[agents]]\nemail = \"{a}\"\n\n"))
        .collect();
    format!(
        "[backends.desk]\nkind = \"freshdesk\"\nbase_url = \"{base_url}\"\napi_key = \"{api_key}\"\n\n\
         {agents}[[groups]]\nname = \"support\"\nbackend = \"desk\"\ntokens = [\"support-token-0123456789\"]\n{group_keys}"
    )
}

fn config(text: &str) -> Config {
    Config::from_toml(text, Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

impl Fd {
    fn online(&self, api_key: &str, agents: &[&str], group_keys: &str) -> Vec<Finding> {
        let config = config(&config_text(
            &self.emu.base_url,
            api_key,
            agents,
            group_keys,
        ));
        self.rt.block_on(deskbridge::check::online(&config))
    }
}

/// The finding with this key, which must be the only one with it.
fn finding<'a>(findings: &'a [Finding], key: &str) -> &'a Finding {
    let with_key: Vec<&Finding> = findings.iter().filter(|f| f.key == key).collect();
    assert_eq!(with_key.len(), 1, "one finding for {key} in {findings:#?}");
    with_key[0]
}

const GOOD_GROUP: &str = r#"
[groups.custom_fields]
"cf_utm_source" = "{{ attributes.utm_source }}"
"cf_kind" = "Support"
"cf_order" = "{{ attributes.order_id }}"
"#;

#[test]
fn check_online_on_freshdesk_passes_a_config_that_fits_the_account() {
    let fd = account();
    let findings = fd.online(KEY, &["ann@acme.com"], GOOD_GROUP);
    assert!(findings.is_empty(), "{findings:#?}");
    // One request each: the key, the agent, the fields.
    let stats = fd.emu.stats();
    assert_eq!(stats.requests_to("GET /api/v2/agents/me"), 1);
    assert_eq!(stats.requests_to("GET /api/v2/ticket_fields"), 1);
}

#[test]
fn check_online_on_freshdesk_names_the_key_of_each_problem() {
    let fd = account();
    let group = r#"
default_assignee = "lead@acme.com"
pop_on = "ringing"
pop_action = "ticket_by_ani"
pop_ticket_field = "cf_caller"
[groups.custom_fields]
"cf_utm_source" = "{{ attributes.utm_source }}"
"cf_kind" = "Refunds"
"cf_count" = "{{ attributes.count }}"
"cf_campaign" = "{{ attributes.campaign }}"
"#;
    let findings = fd.online(KEY, &["ann@acme.com", "nobody@acme.com"], group);
    assert_eq!(findings.len(), 7, "{findings:#?}");
    assert!(
        findings.iter().all(|f| f.severity == Severity::Error),
        "{findings:#?}"
    );
    let message = |key: &str| finding(&findings, key).message.clone();

    let m = message("agents[1].email");
    assert!(
        m.starts_with("no Freshdesk agent has the email nobody@acme.com")
            && m.contains("fix the email"),
        "{m}"
    );
    let m = message("groups[0].default_assignee");
    assert!(
        m.starts_with("no Freshdesk agent has the email lead@acme.com")
            && m.contains("name an agent of the account"),
        "{m}"
    );
    let m = message("groups[0].custom_fields.cf_kind");
    assert!(
        m.starts_with(r#""Refunds" is not a choice of the dropdown cf_kind (Sales, Support)"#)
            && m.contains("use one of them"),
        "{m}"
    );
    let m = message("groups[0].custom_fields.cf_count");
    assert!(
        m.starts_with("ticket field cf_count is a number field")
            && m.contains("use a text, paragraph or dropdown field"),
        "{m}"
    );
    let m = message("groups[0].custom_fields.cf_campaign");
    assert!(
        m.starts_with("no custom ticket field cf_campaign in this Freshdesk account (it has cf_utm_source, cf_kind, cf_count, cf_order)")
            && m.contains("Admin > Ticket Fields"),
        "{m}"
    );
    let m = message("groups[0].pop_ticket_field");
    assert!(m.starts_with("no custom ticket field cf_caller"), "{m}");
    let m = message("groups[0].custom_fields");
    assert!(
        m.starts_with("Freshdesk requires ticket field cf_order (Order) on every ticket")
            && m.contains(r#"add "cf_order" = "<template>" under [groups.custom_fields]"#),
        "{m}"
    );
}

#[test]
fn check_online_on_freshdesk_warns_that_a_templated_dropdown_value_must_be_a_choice() {
    let fd = account();
    let group = GOOD_GROUP.replace(r#""cf_kind" = "Support""#, r#""cf_kind" = "{{ queue }}""#);
    let findings = fd.online(KEY, &["ann@acme.com"], &group);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = finding(&findings, "groups[0].custom_fields.cf_kind");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.message
            .contains("is a dropdown: each value must be one of its choices (Sales, Support)"),
        "{f}"
    );
}

#[test]
fn check_online_on_freshdesk_reports_a_wrong_key_and_an_address_with_no_account() {
    let fd = account();
    let findings = fd.online("not-the-key", &["ann@acme.com"], GOOD_GROUP);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].key, "backends.desk.api_key");
    assert!(
        findings[0]
            .message
            .starts_with("Freshdesk refused the API key (401)")
            && findings[0]
                .message
                .contains("Profile settings > View API key"),
        "{}",
        findings[0]
    );

    // Nothing listens there: the address is what to change.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = config(&config_text(&url, KEY, &[], GOOD_GROUP));
    let findings = fd.rt.block_on(deskbridge::check::online(&config));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].key, "backends.desk.base_url");
    assert!(
        findings[0]
            .message
            .starts_with(&format!("cannot reach {url}"))
            && findings[0].message.contains("check the account's address"),
        "{}",
        findings[0]
    );
}

#[test]
fn a_freshdesk_group_names_its_fields_cf_and_takes_no_zendesk_keys() {
    let group = r#"
ticket_form = "360000001"
zendesk_voice = true
zendesk_app_id = 42
pop_on = "ringing"
pop_action = "ticket_by_ani"
pop_ticket_field = "360000002"
[groups.custom_fields]
"utm_source" = "{{ attributes.utm_source }}"
"cf_order" = "{{ attributes.order_id }}"
[groups.chat]
ticket_form = "7"
[groups.chat.fields]
"order" = "attribute:order_id"
"#;
    let text = config_text("https://acme.freshdesk.com", KEY, &["ann@acme.com"], group);
    let errors = Config::from_toml(&text, Overrides::default())
        .expect_err("Zendesk keys on a Freshdesk group")
        .0;
    let error = |key: &str| {
        let with_key: Vec<&String> = errors
            .iter()
            .filter(|e| e.starts_with(&format!("{key}: ")))
            .collect();
        assert_eq!(with_key.len(), 1, "one error for {key} in {errors:#?}");
        with_key[0].clone()
    };
    assert_eq!(errors.len(), 7, "{errors:#?}");
    assert_eq!(
        error("groups[0].custom_fields.utm_source"),
        r#"groups[0].custom_fields.utm_source: "utm_source" is not a Freshdesk custom field; Freshdesk names them cf_... (the field's name in Admin > Ticket Fields, or GET /api/v2/ticket_fields), e.g. "cf_utm_source""#
    );
    let e = error("groups[0].pop_ticket_field");
    assert!(
        e.contains(r#""360000002" is not a Freshdesk custom field"#)
            && e.contains(r#"e.g. "cf_utm_source""#),
        "{e}"
    );
    let e = error("groups[0].chat.fields.order");
    assert!(e.contains(r#"e.g. "cf_order""#), "{e}");
    assert_eq!(
        error("groups[0].ticket_form"),
        "groups[0].ticket_form: ticket forms are Zendesk's; a Freshdesk ticket is made without one (remove ticket_form; the fields to fill go under [groups.custom_fields])"
    );
    assert!(
        error("groups[0].chat.ticket_form").contains("go under [groups.chat.fields]"),
        "{errors:#?}"
    );
    assert_eq!(
        error("groups[0].zendesk_app_id"),
        "groups[0].zendesk_app_id: call records are Zendesk's (Talk Partner Edition); this group's backend is Freshdesk, where a call is a private note (remove zendesk_app_id, or set backend to a Zendesk backend)"
    );
    assert!(
        error("groups[0].zendesk_voice").contains("this group's backend is Freshdesk"),
        "{errors:#?}"
    );
}

/// `ticket_group` and `ticket_product` take the helpdesk's ids: a name is
/// refused with where to find the number, a template is taken as it is (it
/// renders an id per call); Zendesk has no products, the built-in CRM neither
/// groups nor products.
#[test]
fn a_tickets_group_and_product_are_ids_of_a_helpdesk_that_has_them() {
    let on_freshdesk = |keys: &str| {
        let text = config_text("https://acme.freshdesk.com", KEY, &[], keys);
        Config::from_toml(&text, Overrides::default()).map_err(|e| e.0)
    };
    let taken = on_freshdesk(
        "ticket_group = \"{% if queue == 'billing' %}12{% endif %}\"\nticket_product = \"7\"\n",
    )
    .expect("an id and a template");
    let policy = taken.groups[0].policy();
    assert_eq!(policy.ticket_product, "7");
    assert!(policy.ticket_group.contains("queue == 'billing'"));
    let errors = on_freshdesk("ticket_group = \"Billing\"\n").expect_err("a name");
    assert_eq!(
        errors,
        [
            r#"groups[0].ticket_group: "Billing" is not a Freshdesk group id; give the group's number (from Admin > Groups), or a template over call data that renders one"#
        ]
    );

    let zendesk = "[backends.zd]\nkind = \"zendesk\"\nsubdomain = \"acme\"\nemail = \"admin@acme.com\"\napi_token = \"zendesk-token-0123456789\"\n\n\
        [[groups]]\nname = \"support\"\nbackend = \"zd\"\ntokens = [\"support-token-0123456789\"]\nticket_group = \"360000012\"\nticket_product = \"7\"\n";
    let errors = Config::from_toml(zendesk, Overrides::default())
        .expect_err("a product on Zendesk")
        .0;
    assert_eq!(
        errors,
        ["groups[0].ticket_product: Zendesk has no ticket products; remove ticket_product"]
    );
    let builtin = "[[groups]]\nname = \"support\"\ntokens = [\"support-token-0123456789\"]\nticket_group = \"12\"\n";
    let errors = Config::from_toml(builtin, Overrides::default())
        .expect_err("a group on the built-in CRM")
        .0;
    assert_eq!(
        errors,
        ["groups[0].ticket_group: the built-in CRM has no ticket groups; remove ticket_group"]
    );
}
