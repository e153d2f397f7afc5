use std::io::Write;

use super::*;

fn load_text(text: &str) -> Result<Config, ConfigErrors> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    Config::load(Some(file.path()), Overrides::default())
}

#[test]
fn the_example_config_is_valid_and_covers_every_key() {
    // The example reads its token from the environment.
    unsafe { std::env::set_var("SUPPORT_INGEST_TOKEN", "example-token-0123456789") };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deskbridge.example.toml");
    let config = Config::load(Some(&path), Overrides::default())
        .unwrap_or_else(|e| panic!("the example config is invalid:\n{e}"));
    assert_eq!(config.groups[0].tokens, ["example-token-0123456789"]);
    assert_eq!(config.groups[0].policy().custom_fields.len(), 2);
    // Every key a group can have appears in the example.
    let text = std::fs::read_to_string(&path).unwrap();
    let group = serde_json::to_value(GroupConfig::default()).unwrap();
    for key in group.as_object().unwrap().keys() {
        assert!(
            text.contains(&format!("\n{key} ="))
                || text.contains(&format!("# {key} ="))
                || text.contains(&format!("[groups.{key}]")),
            "the example config does not show groups.{key}"
        );
    }
}

#[test]
fn every_error_is_reported_with_its_key() {
    let errors = load_text(
        r#"
[phone]
default_region = "Narnia"

[[agents]]
email = "not-an-email"

[[groups]]
name = "support"
tokens = ["short"]
backend = "nowhere"
numbers = ["12"]
create = ["contact", "tickets"]
ticket_subject = "{{ callr }}"
default_assignee = "lead"

[groups.custom_fields]
"360" = "{{ attributes.x }"

[[groups]]
name = "support"
"#,
    )
    .unwrap_err()
    .0;
    let keys: Vec<&str> = errors
        .iter()
        .map(|e| e.split(':').next().unwrap())
        .collect();
    for want in [
        "phone.default_region",
        "agents[0].email",
        "groups[0].tokens[0]",
        "groups[0].backend",
        "groups[0].numbers[0]",
        "groups[0].create",
        "groups[0].ticket_subject",
        "groups[0].custom_fields.360",
        "groups[0].default_assignee",
        "groups[1].name",
        "groups[1].tokens",
    ] {
        assert!(keys.contains(&want), "no error for {want}: {errors:#?}");
    }
}

#[test]
fn type_errors_name_the_key() {
    let e = load_text(
        "[[groups]]\nname = \"a\"\ntokens = [\"0123456789abcdefgh\"]\nticket_priority = \"asap\"\n",
    )
    .unwrap_err();
    assert!(
        e.0[0].starts_with("groups.0.ticket_priority") || e.0[0].contains("ticket_priority"),
        "{e}"
    );
    let e = load_text("[server]\nlisten = 8080\nport = 1\n").unwrap_err();
    assert!(e.to_string().contains("server"), "{e}");
}

#[test]
fn unset_environment_variables_are_errors() {
    let e = load_text("[[groups]]\nname = \"a\"\ntokens = [\"${DESKBRIDGE_TEST_NOT_SET_Z}\"]\n")
        .unwrap_err();
    assert!(
        e.0[0].starts_with("groups[0].tokens[0]: environment variable DESKBRIDGE_TEST_NOT_SET_Z"),
        "{e}"
    );
}

/// Issue 10, point 8: a value read from the environment (a secret, as a rule)
/// is never printed in an error about it; its `${NAME}` is.
#[test]
fn errors_never_print_values_read_from_the_environment() {
    // A variable of this test alone (the tests share the environment).
    unsafe { std::env::set_var("DESKBRIDGE_TEST_REDACTED_SECRET", "s3cr3t-t0ken-value") };
    let e = load_text(
        "[server]\nmax_body_bytes = \"${DESKBRIDGE_TEST_REDACTED_SECRET}\"\n\
         [[groups]]\nname = \"a\"\ntokens = [\"t\"]\nticket_priority = \"${DESKBRIDGE_TEST_REDACTED_SECRET}\"\n",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(
        text.contains("${DESKBRIDGE_TEST_REDACTED_SECRET}"),
        "{text}"
    );
}

#[test]
fn group_keys_become_the_policy() {
    let config = load_text(
        r#"
[[groups]]
name = "sales"
tokens = ["0123456789abcdefgh"]
reuse_recent_minutes = 30
missed_call = "log_only"
create = ["comment"]
ticket_assignment = "agent"
[groups.attributes]
ticket = "case_number"
"#,
    )
    .unwrap();
    let p = config.groups[0].policy();
    assert_eq!(p.reuse_recent_minutes, 30);
    assert_eq!(
        p.missed_call,
        deskbridge_core::policy::UnansweredPolicy::LogOnly
    );
    assert!(!p.create.ticket && !p.create.contact && p.create.comment);
    assert_eq!(
        p.ticket_assignment,
        deskbridge_core::policy::TicketAssignment::Agent
    );
    assert_eq!(p.attributes.ticket, "case_number");
    // Unnamed attributes keep their defaults.
    assert_eq!(p.attributes.contact, "zendesk_user");
}

#[test]
fn the_readme_examples_are_valid() {
    // The README and the guides under docs/ (set-up examples moved there).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut guides: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    guides.sort();
    for guide in guides {
        readme.push_str(&std::fs::read_to_string(guide).unwrap());
    }
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.contains("[[groups]]"))
        .collect();
    assert!(blocks.len() >= 6, "the README lost its rule examples");
    for block in blocks {
        // Give every ${NAME} a value, as an admin would in the environment. The
        // same value as the example config's test gives SUPPORT_INGEST_TOKEN: the
        // tests run in parallel and share the environment.
        for name in block
            .split("${")
            .skip(1)
            .filter_map(|s| s.split('}').next())
        {
            unsafe { std::env::set_var(name, "example-token-0123456789") };
        }
        if let Err(e) = load_text(block) {
            panic!("README example is invalid:\n{block}\n{e}");
        }
    }
}

#[test]
fn from_toml_checks_like_load_and_takes_explicit_overrides() {
    let text = "[jobs]\nretry_base_ms = 20\n\n[[groups]]\nname = \"support\"\ntokens = [\"support-token-0123456789\"]\n";
    let overrides = || Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some("/tmp/deskbridge-from-toml".into()),
        database_url: None,
    };
    let config = Config::from_toml(text, overrides()).unwrap();
    assert_eq!(config.server.listen, "127.0.0.1:0");
    assert_eq!(
        config.server.data_dir,
        Path::new("/tmp/deskbridge-from-toml")
    );
    assert_eq!(config.jobs.retry_base_ms, 20);
    assert_eq!(config.groups[0].name, "support");
    assert_eq!(config.database_url(), None);

    let errors = Config::from_toml(
        "[jobs]\nworkers = 0\n[phone]\ndefault_region = \"XX\"\n",
        overrides(),
    )
    .unwrap_err()
    .0;
    assert!(
        errors.iter().any(|e| e.starts_with("jobs.workers:")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("phone.default_region:")),
        "{errors:?}"
    );
    let errors = Config::from_toml("[jobs]\nworkers = \"four\"\n", overrides())
        .unwrap_err()
        .0;
    assert!(
        errors.iter().any(|e| e.starts_with("jobs.workers:")),
        "{errors:?}"
    );
}

#[test]
fn organization_in_create_needs_an_organization_name() {
    let group = |keys: &str| {
        format!("[[groups]]\nname = \"support\"\ntokens = [\"support-token-0123456789\"]\n{keys}\n")
    };
    for keys in [
        "create = [\"contact\", \"organization\", \"ticket\"]",
        "create = [\"contact\", \"organization\", \"ticket\"]\norganization_name = \"  \"",
    ] {
        let errors = load_text(&group(keys)).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("groups[0].organization_name: create lists \"organization\""),
            "{}",
            errors[0]
        );
        assert!(errors[0].contains("organization_name = \"{{ attributes.company }}\""));
        assert!(errors[0].contains("out of groups[0].create"));
    }
    // A name, or a template that renders empty for some calls, is fine.
    for keys in [
        "create = [\"contact\", \"organization\"]\norganization_name = \"Walk-in customers\"",
        "create = [\"contact\", \"organization\"]\norganization_name = \"{{ attributes.company }}\"",
        "create = [\"contact\", \"ticket\"]",
    ] {
        load_text(&group(keys)).unwrap_or_else(|e| panic!("{keys}: {e}"));
    }
}

#[test]
fn agent_page_keys_are_checked_with_their_key_paths() {
    let errors = Config::from_toml(
        r#"
[server]
public_url = "ftp://deskbridge.acme.com"
frame_ancestors = ["https://acme.zendesk.com", "*"]

[[agents]]
email = "ann@acme.com"
password_hash = "plain-text-password"
token = "short"
"#,
        Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "server.public_url: \"ftp://deskbridge.acme.com\" must start with https://",
        "server.frame_ancestors[1]: \"*\" is not an https origin",
        "server.frame_ancestors: a page in a frame of another site needs a SameSite=None; Secure cookie",
        "agents[0].password_hash: is not an argon2 hash",
        "deskbridge agent hash-password",
        "agents[0].token: at least 16 characters",
    ] {
        assert!(errors.contains(expected), "{expected:?} not in:\n{errors}");
    }
    let hash = crate::agent_auth::hash_password("secret").unwrap();
    let ok = Config::from_toml(
        &format!(
            r#"
[server]
public_url = "https://deskbridge.acme.com"
frame_ancestors = ["https://acme.zendesk.com"]

[[agents]]
email = "ann@acme.com"
password_hash = "{hash}"
token = "0123456789abcdef0123"
admin = true
"#
        ),
        Overrides::default(),
    );
    let config = ok.unwrap_or_else(|e| panic!("{e}"));
    assert!(config.agents[0].admin);
    assert_eq!(config.server.call_log_days, 90);
}

#[test]
fn pop_settings_that_would_do_nothing_are_refused_with_their_key() {
    let errors = load_text(
        r#"
[backends.zd]
kind = "zendesk"
subdomain = "acme"
email = "admin@acme.com"
api_token = "t"

[[groups]]
name = "support"
tokens = ["0123456789abcdefgh"]
pop_on = "ringing"
pop_action = "contact"
pop_ticket_field = "360"
zendesk_voice = true
zendesk_app_id = 735264019863524

[[groups]]
name = "sales"
backend = "zd"
tokens = ["0123456789abcdefgi"]
pop_new_ticket = "never"
pop_new_ticket_field = { id = "campaign", value = "{{ attributes.utm_source }}" }
"#,
    )
    .unwrap_err()
    .0;
    let keys: Vec<&str> = errors
        .iter()
        .map(|e| e.split(':').next().unwrap())
        .collect();
    for want in [
        // No agents: a pop could reach nobody.
        "groups[0].pop_on",
        // Only ticket_by_ani reads it.
        "groups[0].pop_ticket_field",
        // Zendesk field ids are digits.
        "groups[1].pop_new_ticket_field.id",
        // Filled only on new tickets, and the pop makes none.
        "groups[1].pop_new_ticket_field",
        // Voice comments are Zendesk's.
        "groups[0].zendesk_voice",
        // So are call records.
        "groups[0].zendesk_app_id",
    ] {
        assert!(keys.contains(&want), "no error for {want}: {errors:#?}");
    }
    let e = load_text(
        "[[groups]]\nname = \"a\"\ntokens = [\"0123456789abcdefgh\"]\npop_on = \"rining\"\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("pop_on"), "{e}");
    let e = load_text(
        "[[groups]]\nname = \"a\"\ntokens = [\"0123456789abcdefgh\"]\npop_new_ticket_field = { id = \"x\", value = \"{{ callr }}\" }\n",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("groups[0].pop_new_ticket_field.value"),
        "{e}"
    );
}

#[test]
fn chat_keys_become_the_chat_policy_and_bad_sources_name_their_key() {
    use deskbridge_core::chat::ChatFieldSource;
    let group = |keys: &str| {
        format!(
            "[[groups]]\nname = \"shop\"\ntokens = [\"shop-token-0123456789\"]\n[groups.chat]\n{keys}\n"
        )
    };
    let config = load_text(&group(
        "ticket_form = \"77\"\ntags = [\"chat\"]\n[groups.chat.fields]\n\"1\" = \"conversation_id\"\n\"2\" = \"attribute:order\"\n",
    ))
    .unwrap();
    let chat = config.groups[0].policy().chat;
    assert_eq!(chat.ticket_form.as_deref(), Some("77"));
    assert_eq!(chat.tags, ["chat"]);
    assert_eq!(chat.note_label, "Note from the chat agent");
    assert_eq!(chat.fields["1"], ChatFieldSource::ConversationId);
    assert_eq!(chat.fields["2"], ChatFieldSource::Attribute("order".into()));

    let errors = load_text(&group("[groups.chat.fields]\n\"1\" = \"order\"\n"))
        .unwrap_err()
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("groups[0].chat.fields.1: \"order\" is no source"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("attribute:NAME"));
}

#[test]
fn triggers_are_checked_with_their_keys_and_keep_secrets_hidden() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let config = load_text(&format!(
        r#"
[[groups]]
name = "support"
tokens = ["support-token-0123456789"]
[[groups.triggers]]
entity = "ticket"
action = "create"
url = "https://crm.example.com/case"
[[groups.triggers]]
entity = "contact"
action = "delete"
url = "https://crm.example.com/json"
format = "json"
secret = ["{secret}", "{secret}"]
[triggers]
allow_private_networks = true
retry_waits_seconds = [0.5, 2]
"#
    ))
    .unwrap();
    let triggers = &config.groups[0].triggers;
    assert_eq!(
        triggers[0].trigger().format,
        deskbridge_core::trigger::Format::Query
    );
    assert_eq!(triggers[1].secrets().len(), 2);
    assert!(!format!("{config:?}").contains("MfKQ9r8"));
    assert_eq!(
        config.triggers.schedule().waits,
        [
            std::time::Duration::from_millis(500),
            std::time::Duration::from_secs(2)
        ]
    );

    let errors = load_text(
        r#"
[[groups]]
name = "support"
tokens = ["support-token-0123456789"]
[[groups.triggers]]
entity = "comment"
action = "edit"
url = "https://crm.example.com/c"
[[groups.triggers]]
entity = "ticket"
action = "create"
url = "ftp://crm.example.com/c"
[[groups.triggers]]
entity = "ticket"
action = "create"
url = "https://crm.example.com/j"
format = "json"
[[groups.triggers]]
entity = "ticket"
action = "create"
url = "https://crm.example.com/j"
format = "json"
secret = "hunter2"
[triggers]
timeout_seconds = 0
"#,
    )
    .unwrap_err()
    .0;
    let text = errors.join("\n");
    for expected in [
        "groups[0].triggers[0].action: comments are created and deleted",
        "groups[0].triggers[1].url: \"ftp://crm.example.com/c\" must start with http:// or https://",
        "groups[0].triggers[2].secret: a \"json\" trigger needs a secret",
        "groups[0].triggers[3].secret: a trigger secret starts with \"whsec_\"",
        "triggers.timeout_seconds: must be at least 1",
        // One URL signs with one set of secrets.
        "groups[0].triggers[3].secret: \"https://crm.example.com/j\" is also triggers[2]'s URL, with other secrets",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("hunter2"));
    assert_eq!(errors.len(), 6, "{text}");
}

#[test]
fn a_lookup_share_outside_1_to_100_percent_is_refused_with_its_key() {
    for (percent, ok) in [(0, false), (1, true), (100, true), (101, false)] {
        let loaded = load_text(&format!(
            r#"
[backends.zd]
kind = "zendesk"
subdomain = "acme"
email = "admin@acme.com"
api_token = "t"
lookup_percent = {percent}

[[groups]]
name = "support"
backend = "zd"
tokens = ["0123456789abcdefgh"]
"#
        ));
        match loaded {
            Ok(config) => {
                assert!(ok, "{percent} accepted");
                assert_eq!(config.backends["zd"].lookup_percent, percent);
            }
            Err(e) => {
                assert!(!ok, "{percent} refused: {e}");
                assert!(
                    e.0.iter()
                        .any(|m| m.starts_with("backends.zd.lookup_percent: ")
                            && m.contains("1 to 100 percent")),
                    "{e}"
                );
            }
        }
    }
}

#[test]
fn dialer_templates_and_addresses_that_cannot_work_are_refused_with_their_key() {
    let errors = load_text(
        r#"
[[groups]]
name = "support"
tokens = ["0123456789abcdefgh"]
callback_attempts = 0
[groups.asterisk]
address = "pbx.acme.com"
username = "deskbridge"
secret = "s"
agent_channel = "PJSIP/{{ agent.extention }}"
dial_timeout_seconds = 500

[[groups]]
name = "sales"
tokens = ["0123456789abcdefgi"]
[groups.dial_webhook]
url = "ftp://api.sipgate.com/v2/sessions/calls"
method = "DELETE"
body = { callee = "{{ number }}" }
"#,
    )
    .expect_err("refused")
    .0;
    for key in [
        "groups[0].callback_attempts",
        "groups[0].asterisk.agent_channel",
        "groups[0].asterisk.dial_timeout_seconds",
        "groups[1].dial_webhook.url",
        "groups[1].dial_webhook.method",
        "groups[1].dial_webhook.body.callee",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(key)),
            "no error for {key}: {errors:#?}"
        );
    }
    let channel = errors
        .iter()
        .find(|e| e.starts_with("groups[0].asterisk.agent_channel"))
        .unwrap();
    assert!(
        channel.contains("agent, to, caller_id, call_id"),
        "{channel}"
    );
}

#[test]
fn a_groups_figure_thresholds_reach_its_calls_plan_and_out_of_range_ones_are_refused() {
    let config = load_text(
        r#"
[[groups]]
name = "support"
tokens = ["0123456789abcdefgh"]
service_level_seconds = 30
short_abandon_seconds = 5

[[groups]]
name = "sales"
tokens = ["0123456789abcdefgi"]
"#,
    )
    .expect("valid");
    let plan = |i: usize| deskbridge_core::CallPlan::of(&config.groups[i].policy()).thresholds;
    assert_eq!(
        (plan(0).service_level_seconds, plan(0).short_abandon_seconds),
        (30, 5)
    );
    assert_eq!(plan(1), deskbridge_core::policy::Thresholds::default());

    let errors = load_text(
        r#"
[[groups]]
name = "support"
tokens = ["0123456789abcdefgh"]
service_level_seconds = 0
short_abandon_seconds = 601
"#,
    )
    .expect_err("refused")
    .0;
    for (key, says) in [
        ("groups[0].service_level_seconds", "give 1 to 3600 seconds"),
        (
            "groups[0].short_abandon_seconds",
            "give 0 (no short abandons) to 600",
        ),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(key) && e.contains(says)),
            "no error for {key}: {errors:#?}"
        );
    }
}

#[test]
fn a_wallboard_token_is_long_and_no_other_tokens() {
    let errors = load_text(
        r#"
[[agents]]
email = "ann@acme.com"
token = "ann-agent-token-0123456789"

[[groups]]
name = "support"
tokens = ["0123456789abcdefgh"]
wallboard_token = "short"

[[groups]]
name = "sales"
tokens = ["sales-token-0123456789"]
wallboard_token = "0123456789abcdefgh"

[[groups]]
name = "billing"
tokens = ["billing-token-0123456789"]
wallboard_token = "ann-agent-token-0123456789"
"#,
    )
    .expect_err("refused")
    .0;
    for (key, says) in [
        ("groups[0].wallboard_token", "at least 16 characters"),
        ("groups[1].wallboard_token", "another token"),
        ("groups[2].wallboard_token", "another token"),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(key) && e.contains(says)),
            "no error for {key}: {errors:#?}"
        );
    }
}
