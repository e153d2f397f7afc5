//! `deskbridge demo --helpdesk freshdesk`, in this process: the demo's calls
//! become contacts, tickets and private notes in its emulated Freshdesk, the
//! known callers (numbers typed by hand) are found, the agent-mode call waits
//! for the agent's choice, and Ann sees her calls popped as they rang.

use std::time::{Duration, Instant};

use deskbridge::demo::{Account, Demo, Helpdesk, Options};
use serde_json::{Value, json};

/// The demo's calls, played 20 times faster: about ten seconds.
const SPEED: f64 = 20.0;
/// The calls the demo plays (`deskbridge::demo::SCENES`).
const CALLS: usize = 7;

fn from(calls: &[Value], number: &str) -> Vec<Value> {
    calls
        .iter()
        .filter(|c| c["from"] == number)
        .cloned()
        .collect()
}

fn id(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an id: {v}"))
}

#[test]
fn the_demo_on_freshdesk_files_every_call_in_its_emulated_freshdesk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let options = Options {
        listen: "127.0.0.1:0".into(),
        speed: SPEED,
        data_dir: Some(dir.path().join("data")),
        helpdesk: Helpdesk::Freshdesk,
    };
    let demo = rt.block_on(Demo::start(&options)).expect("the demo starts");
    let (base, token) = (demo.base.clone(), demo.token.clone());
    let player = rt.spawn({
        let (base, token) = (base.clone(), token.clone());
        async move { deskbridge::demo::play(&base, &token, SPEED).await }
    });
    let http = reqwest::blocking::Client::new();
    let list = || -> Vec<Value> {
        let body: Value = http
            .get(format!("{base}/api/v1/calls?limit=100"))
            .bearer_auth(&token)
            .send()
            .expect("list calls")
            .json()
            .expect("json");
        body["calls"].as_array().cloned().unwrap_or_default()
    };

    // The agent picks "new ticket" for the agent-mode call when its card
    // asks; then every call is synced.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut decided = false;
    let calls = loop {
        let calls = list();
        for call in from(&calls, "+14155550188") {
            if !decided && !call["agent_decision"]["waiting"].is_null() {
                let resp = http
                    .post(format!(
                        "{base}/api/v1/calls/{}/decision",
                        call["call_id"].as_str().unwrap()
                    ))
                    .bearer_auth(&token)
                    .json(&json!({"action": "new_ticket"}))
                    .send()
                    .expect("decide");
                assert!(resp.status().is_success(), "{:?}", resp.text());
                decided = true;
            }
        }
        if calls.len() == CALLS && calls.iter().all(|c| c["sync"] == "done") {
            break calls;
        }
        assert!(
            Instant::now() < deadline,
            "the demo's calls are not all synced: {calls:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(decided, "the agent-mode call waited for Ann's choice");
    assert!(rt.block_on(player).unwrap().expect("every event sent"));

    let Account::Freshdesk(freshdesk) = &demo.account else {
        panic!("the demo runs on Freshdesk");
    };
    let state = freshdesk.state();
    let ann = state
        .agents
        .iter()
        .find(|a| a.email == "ann@demo.example")
        .expect("Ann is a Freshdesk agent")
        .id;

    // Maria, typed "(415) 555-0101" in Freshdesk, is found for both her calls,
    // and both land on her open ticket as private notes.
    let maria = from(&calls, "+14155550101");
    assert_eq!(maria.len(), 2);
    let maria_contact = state
        .contacts
        .iter()
        .find(|c| c.email.as_deref() == Some("maria.garcia@example.com"))
        .expect("the seeded Maria");
    let open = state
        .tickets
        .iter()
        .find(|t| t.requester_id == maria_contact.id && t.source != 3)
        .expect("Maria's seeded ticket");
    for call in &maria {
        assert_eq!(id(&call["contact_id"]), maria_contact.id, "{call:#}");
        assert_eq!(id(&call["ticket_id"]), open.id, "{call:#}");
    }
    let notes: Vec<_> = state
        .notes
        .iter()
        .filter(|n| n.ticket_id == open.id)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(
        notes
            .iter()
            .all(|n| n.private && n.body_text.contains("deskbridge ref: ")),
        "{notes:#?}"
    );

    // The first-timer became one contact with the number's external id.
    let first_timer = state
        .contacts
        .iter()
        .filter(|c| c.unique_external_id.as_deref() == Some("deskbridge:phone:+14155550177"))
        .count();
    assert_eq!(first_timer, 1, "{:#?}", state.contacts);

    // Every call has a ticket; the ones deskbridge made are phone tickets
    // carrying the call as their description, the agent-mode one Ann's.
    for call in &calls {
        let ticket = state
            .ticket(id(&call["ticket_id"]))
            .unwrap_or_else(|| panic!("no ticket for {call:#}"));
        if ticket.source == 3 {
            assert!(
                !ticket.description_text.trim().is_empty()
                    && ticket.tags.iter().any(|t| t.starts_with("deskbridge-")),
                "{ticket:#?}"
            );
        }
    }
    let agent_mode = &from(&calls, "+14155550188")[0];
    assert_eq!(
        agent_mode["decisions"]["ticket_rules"],
        json!(["agent_new_ticket"])
    );
    let ticket = state.ticket(id(&agent_mode["ticket_id"])).unwrap();
    assert_eq!((ticket.source, ticket.responder_id), (3, Some(ann)));

    // Ann signs in with the printed password and sees her calls, popped on
    // the agent page as they rang, and not Bob's.
    let login = http
        .post(format!("{base}/api/v1/agent/login"))
        .json(&json!({"email": "ann@demo.example", "password": deskbridge::demo::PASSWORD}))
        .send()
        .expect("sign in");
    assert_eq!(login.status(), 200);
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let mine: Value = http
        .get(format!("{base}/api/v1/calls?limit=100"))
        .header("cookie", &cookie)
        .send()
        .expect("Ann's calls")
        .json()
        .expect("json");
    let mine = mine["calls"].as_array().expect("calls").clone();
    assert_eq!(mine.len(), CALLS - 1, "all but Bob's call: {mine:#?}");
    assert!(
        mine.iter()
            .any(|c| c["pops"][0]["agent"] == "ann@demo.example" && c["pops"][0]["on"] == "ringing"),
        "{mine:#?}"
    );

    rt.block_on(demo.stop()).expect("the demo stops cleanly");
}
