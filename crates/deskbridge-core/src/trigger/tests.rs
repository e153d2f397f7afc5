use std::net::IpAddr;
use std::time::Duration;

use chrono::TimeZone;
use serde_json::json;

use super::*;

fn ids(account: &str, case: &str, followup: &str, task: &str) -> Ids {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ids {
        account: some(account),
        case: some(case),
        followup: some(followup),
        task: some(task),
        callback: None,
    }
}

fn change(entity: Entity, action: Action, ids: Ids) -> Change {
    Change {
        entity,
        action,
        ids,
        data: json!({"id": "7", "subject": "Router"}),
        at: Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap(),
    }
}

fn trigger(entity: Entity, action: Action, url: &str, format: Format) -> Trigger {
    Trigger {
        entity,
        action,
        url: url.into(),
        format,
    }
}

fn get_url(n: &Notification) -> &str {
    match &n.request {
        Request::Get { url } => url,
        other => panic!("not a GET: {other:?}"),
    }
}

#[test]
fn each_record_gets_the_classic_query_string() {
    let base = "https://crm.example/hook";
    let cases = [
        (Entity::Contact, ids("aaa", "", "", ""), "?AccountID=aaa"),
        (
            Entity::Ticket,
            ids("aaa", "ccc", "", ""),
            "?AccountID=aaa&CaseID=ccc",
        ),
        (
            Entity::Comment,
            ids("aaa", "ccc", "fff", ""),
            "?AccountID=aaa&CaseID=ccc&FollowupID=fff",
        ),
        (
            Entity::Task,
            ids("aaa", "", "", "ttt"),
            "?AccountID=aaa&TaskID=ttt",
        ),
        (
            Entity::Callback,
            Ids {
                callback: Some("bbb".into()),
                ..ids("aaa", "ccc", "", "")
            },
            "?AccountID=aaa&CaseID=ccc&CallbackID=bbb",
        ),
    ];
    for (entity, ids, query) in cases {
        let url = query::url(base, entity, &ids);
        assert_eq!(url, format!("{base}{query}"), "{entity:?}");
    }
}

#[test]
fn a_url_with_a_query_gets_an_ampersand_and_values_are_encoded() {
    let ids = ids("a b&c=d", "1/2?", "", "");
    assert_eq!(
        query::url("https://crm.example/h?key=x", Entity::Ticket, &ids),
        "https://crm.example/h?key=x&AccountID=a+b%26c%3Dd&CaseID=1%2F2%3F"
    );
    assert_eq!(
        query::url("https://crm.example/h?", Entity::Contact, &ids),
        "https://crm.example/h?AccountID=a+b%26c%3Dd"
    );
    assert_eq!(
        query::url("https://crm.example/h?key=x&", Entity::Contact, &ids),
        "https://crm.example/h?key=x&AccountID=a+b%26c%3Dd"
    );
    assert_eq!(
        query::url("https://crm.example/h#top", Entity::Contact, &ids),
        "https://crm.example/h?AccountID=a+b%26c%3Dd#top"
    );
    // Unicode is sent as UTF-8, percent-encoded.
    assert_eq!(
        query::url(
            "https://crm.example/h",
            Entity::Contact,
            &self::ids("Zoë", "", "", "")
        ),
        "https://crm.example/h?AccountID=Zo%C3%AB"
    );
}

#[test]
fn an_unknown_id_is_sent_empty() {
    let url = query::url(
        "https://crm.example/h",
        Entity::Ticket,
        &ids("", "42", "", ""),
    );
    assert_eq!(url, "https://crm.example/h?AccountID=&CaseID=42");
}

#[test]
fn only_the_triggers_of_the_entity_and_action_hear_of_a_change() {
    let triggers = [
        trigger(
            Entity::Ticket,
            Action::Create,
            "https://a.example/new",
            Format::Query,
        ),
        trigger(
            Entity::Ticket,
            Action::Edit,
            "https://a.example/edit",
            Format::Query,
        ),
        trigger(
            Entity::Contact,
            Action::Create,
            "https://a.example/c",
            Format::Query,
        ),
        trigger(
            Entity::Ticket,
            Action::Create,
            "https://b.example/json",
            Format::Json,
        ),
    ];
    let created = change(Entity::Ticket, Action::Create, ids("5", "7", "", ""));
    let sent = notifications(&triggers, &created);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        get_url(&sent[0]),
        "https://a.example/new?AccountID=5&CaseID=7"
    );
    assert_eq!(sent[0].endpoint, "https://a.example/new");
    assert_eq!(sent[0].order_key, "ticket:7");
    let Request::Post { url, body } = &sent[1].request else {
        panic!("json is a POST");
    };
    assert_eq!(url, "https://b.example/json");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        json!({
            "type": "ticket.created",
            "timestamp": "2026-11-29T10:00:00.000Z",
            "data": {"id": "7", "subject": "Router"},
        })
    );
    let deleted = change(Entity::Ticket, Action::Delete, ids("5", "7", "", ""));
    assert!(notifications(&triggers, &deleted).is_empty());
}

#[test]
fn json_types_name_the_entity_and_the_past_action() {
    let t = |e, a| [trigger(e, a, "https://x.example/", Format::Json)];
    for (entity, action, ty) in [
        (Entity::Contact, Action::Edit, "contact.updated"),
        (Entity::Comment, Action::Delete, "comment.deleted"),
        (Entity::Task, Action::Create, "task.created"),
        (Entity::Callback, Action::Edit, "callback.updated"),
    ] {
        let sent = notifications(&t(entity, action), &change(entity, action, Ids::default()));
        let Request::Post { body, .. } = &sent[0].request else {
            panic!("json is a POST");
        };
        assert!(body.contains(&format!("\"type\":\"{ty}\"")), "{body}");
    }
}

#[test]
fn the_specifications_published_example_signs_alike() {
    // The Standard Webhooks specification's example (also in every reference
    // library's tests): this secret, id, timestamp and body sign to this value.
    let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body = br#"{"test": 2432232314}"#;
    assert_eq!(
        secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[test]
fn while_rotating_both_secrets_sign() {
    let old = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let new = Secret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let header = signature::header(&[old.clone(), new.clone()], "msg_1", 10, b"{}");
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(
        parts,
        [old.sign("msg_1", 10, b"{}"), new.sign("msg_1", 10, b"{}")]
    );
    assert_ne!(parts[0], parts[1]);
}

#[test]
fn secrets_say_what_is_wrong_and_never_print() {
    assert_eq!(
        Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        Err(SecretError::NoPrefix)
    );
    assert!(matches!(
        Secret::parse("whsec_not base64!"),
        Err(SecretError::NotBase64(_))
    ));
    assert_eq!(Secret::parse("whsec_c2hvcnQ="), Err(SecretError::Length(5)));
    let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(format!("{secret:?}"), "Secret(***)");
}

#[test]
fn the_default_schedule_runs_from_seconds_to_hours_over_about_a_day() {
    let schedule = RetrySchedule::default();
    let total: Duration = schedule.waits.iter().sum();
    assert!(total > Duration::from_secs(20 * 3600) && total < Duration::from_secs(28 * 3600));
    assert_eq!(schedule.waits[0], Duration::from_secs(5));
    assert!(schedule.waits.windows(2).all(|w| w[0] <= w[1]));
    let failed = Attempt::Answered {
        status: 500,
        retry_after: None,
    };
    assert_eq!(
        schedule.judge(1, &failed),
        Verdict::RetryIn(Duration::from_secs(5))
    );
    assert_eq!(
        schedule.judge(2, &Attempt::NoAnswer),
        Verdict::RetryIn(Duration::from_secs(30))
    );
    let last = schedule.max_attempts();
    assert_eq!(
        schedule.judge(last - 1, &failed),
        Verdict::RetryIn(Duration::from_secs(8 * 3600))
    );
    assert_eq!(schedule.judge(last, &failed), Verdict::DeadLetter);
}

#[test]
fn retry_after_is_honoured_on_429_and_503_only() {
    let schedule = RetrySchedule::default();
    let answer = |status, secs| Attempt::Answered {
        status,
        retry_after: Some(Duration::from_secs(secs)),
    };
    assert_eq!(
        schedule.judge(1, &answer(429, 120)),
        Verdict::RetryIn(Duration::from_secs(120))
    );
    assert_eq!(
        schedule.judge(1, &answer(503, 60)),
        Verdict::RetryIn(Duration::from_secs(60))
    );
    // Shorter than the schedule: the schedule's wait.
    assert_eq!(
        schedule.judge(3, &answer(429, 1)),
        Verdict::RetryIn(Duration::from_secs(120))
    );
    // Not on other statuses.
    assert_eq!(
        schedule.judge(1, &answer(500, 600)),
        Verdict::RetryIn(Duration::from_secs(5))
    );
    // Bounded.
    assert_eq!(
        schedule.judge(1, &answer(429, 10 * 86400)),
        Verdict::RetryIn(retry::MAX_RETRY_AFTER)
    );
    assert_eq!(schedule.judge(1, &answer(204, 0)), Verdict::Delivered);
    assert_eq!(
        schedule.judge(1, &Attempt::AddressRefused),
        Verdict::DeadLetter
    );
}

#[test]
fn private_and_special_addresses_are_refused_unless_allowed() {
    let refused = [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fd00::1",
        "fe80::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "2001:db8::1",
    ];
    for ip in refused {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(!may_reach(ip, false), "{ip} was allowed");
        assert!(
            may_reach(ip, true),
            "{ip} refused though private networks are allowed"
        );
    }
    for ip in [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(may_reach(ip, false), "{ip} was refused");
    }
}

/// The IPv6 ranges that reach IPv4 through a translator or a tunnel, and the
/// 6to4 relay's IPv4 range: each embedding a private, loopback and public IPv4
/// address. The well-known NAT64 prefix is judged by the IPv4 address in it;
/// the others are refused whatever they carry.
#[test]
fn transition_ranges_that_reach_ipv4_are_refused() {
    // (address, what it embeds, may a notification go there)
    let table = [
        // 64:ff9b::/96, well-known NAT64 (RFC 6052): the last 32 bits.
        ("64:ff9b::7f00:1", "127.0.0.1", false),
        ("64:ff9b::a00:5", "10.0.0.5", false),
        ("64:ff9b::c0a8:101", "192.168.1.1", false),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254", false),
        ("64:ff9b::808:808", "8.8.8.8", true),
        // 64:ff9b:1::/48, local-use NAT64 (RFC 8215): refused whole.
        ("64:ff9b:1::7f00:1", "127.0.0.1", false),
        ("64:ff9b:1:a00:5::", "10.0.0.5 (/64 layout)", false),
        ("64:ff9b:1::808:808", "8.8.8.8", false),
        // 2002::/16, 6to4 (RFC 3056): the IPv4 address in bits 16-48.
        ("2002:7f00:1::1", "127.0.0.1", false),
        ("2002:a00:5::1", "10.0.0.5", false),
        ("2002:c0a8:101::1", "192.168.1.1", false),
        ("2002:808:808::1", "8.8.8.8", false),
        // 2001::/32, Teredo (RFC 4380): server, then the client obfuscated.
        ("2001:0:7f00:1::80ff:fffe", "127.0.0.1", false),
        ("2001:0:a00:5:0:0:f5ff:fffa", "10.0.0.5", false),
        ("2001:0:808:808::f7f7:f7f7", "8.8.8.8", false),
        // ::ffff:0:0:0/96, IPv4-translated (SIIT, RFC 2765).
        ("::ffff:0:7f00:1", "127.0.0.1", false),
        ("::ffff:0:a00:5", "10.0.0.5", false),
        // 192.88.99.0/24, the 6to4 relay anycast (deprecated, RFC 7526).
        ("192.88.99.1", "-", false),
        ("192.88.99.254", "-", false),
        // Neighbours that are ordinary public addresses.
        ("2001:4860:4860::8888", "-", true),
        ("2003::1", "-", true),
        ("192.88.98.1", "-", true),
    ];
    for (ip, embeds, allowed) in table {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(
            may_reach(ip, false),
            allowed,
            "{ip} (embedding {embeds}) should be {}",
            if allowed { "allowed" } else { "refused" }
        );
        assert!(
            may_reach(ip, true),
            "{ip} refused though private networks are allowed"
        );
    }
}

#[test]
fn a_trigger_is_checked_with_a_message_that_says_what_to_change() {
    let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let ok = trigger(
        Entity::Ticket,
        Action::Create,
        "https://a.example/",
        Format::Json,
    );
    assert_eq!(ok.check(std::slice::from_ref(&secret)), Ok(()));
    assert_eq!(ok.check(&[]), Err(TriggerError::MissingSecret));
    let query = trigger(
        Entity::Ticket,
        Action::Create,
        "http://a.example/",
        Format::Query,
    );
    assert_eq!(query.check(&[]), Ok(()));
    assert_eq!(query.check(&[secret]), Err(TriggerError::UnusedSecret));
    let ftp = trigger(
        Entity::Ticket,
        Action::Create,
        "ftp://a.example/",
        Format::Query,
    );
    assert!(matches!(ftp.check(&[]), Err(TriggerError::NotHttp { .. })));
    let bad = trigger(Entity::Ticket, Action::Create, "not a url", Format::Query);
    assert!(matches!(bad.check(&[]), Err(TriggerError::NotUrl { .. })));
    let edit = trigger(
        Entity::Comment,
        Action::Edit,
        "https://a.example/",
        Format::Query,
    );
    assert_eq!(edit.check(&[]), Err(TriggerError::CommentEdit));
    // Callbacks are kept: a delete would never be heard, so it is refused
    // with what to use instead.
    let delete = trigger(
        Entity::Callback,
        Action::Delete,
        "https://a.example/",
        Format::Query,
    );
    assert_eq!(delete.check(&[]), Err(TriggerError::CallbackDelete));
    assert!(
        TriggerError::CallbackDelete
            .to_string()
            .contains("use action \"edit\""),
        "{}",
        TriggerError::CallbackDelete
    );
    for action in [Action::Create, Action::Edit] {
        let ok = trigger(
            Entity::Callback,
            action,
            "https://a.example/",
            Format::Query,
        );
        assert_eq!(ok.check(&[]), Ok(()), "{action:?}");
    }
}

#[test]
fn a_record_without_its_id_is_ordered_with_its_ticket() {
    let comment = change(Entity::Comment, Action::Create, ids("5", "7", "", ""));
    assert_eq!(comment.order_key(), "ticket:7");
    let known = change(Entity::Comment, Action::Create, ids("5", "7", "9", ""));
    assert_eq!(known.order_key(), "comment:9");
    let contact_only = change(Entity::Task, Action::Create, ids("5", "", "", ""));
    assert_eq!(contact_only.order_key(), "contact:5");
    // A callback is ordered by itself, not by the ticket it names.
    let callback = change(
        Entity::Callback,
        Action::Edit,
        Ids {
            callback: Some("3".into()),
            ..ids("5", "7", "", "")
        },
    );
    assert_eq!(callback.order_key(), "callback:3");
}
