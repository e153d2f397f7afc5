//! `deskbridge demo` as a newcomer runs it: it prints where to sign in, its calls
//! become tickets in its Zendesk (the emulator), the agent signed in sees pops and
//! their own calls only, an agent-mode call waits for the agent's choice, and
//! Ctrl-C (here SIGTERM) stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The demo's calls played 20 times faster: about ten seconds.
const SPEED: &str = "20";
/// The calls the demo plays (`deskbridge::demo::SCENES`).
const CALLS: usize = 7;

struct Demo {
    child: std::process::Child,
    base: String,
    token: String,
    printed: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    fn start() -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
            .args(["demo", "--listen", "127.0.0.1:0", "--speed", SPEED])
            .env_remove("DESKBRIDGE_CONFIG")
            .env_remove("DESKBRIDGE_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start deskbridge demo");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut base, mut token) = (None, None);
        let mut seen = Vec::new();
        while token.is_none() {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("the demo exited early; it printed {seen:#?}"))
                .expect("read stdout");
            if let Some(url) = line.trim().strip_prefix("Agent page:") {
                base = Some(url.trim().trim_end_matches("/agent").to_string());
            }
            if let Some(t) = line.trim().strip_prefix("Ingest token:") {
                token = Some(t.trim().to_string());
            }
            seen.push(line);
        }
        let printed = Arc::new(Mutex::new(seen));
        let keep = printed.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep.lock().unwrap().push(line);
            }
        });
        Demo {
            child,
            base: base.expect("the agent page's URL is printed"),
            token: token.expect("token"),
            printed,
        }
    }

    fn calls(&self, http: &reqwest::blocking::Client) -> Vec<Value> {
        let resp = http
            .get(format!("{}/api/v1/calls?limit=100", self.base))
            .bearer_auth(&self.token)
            .send()
            .expect("list calls");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().expect("json");
        body["calls"].as_array().cloned().unwrap_or_default()
    }

    fn printed(&self) -> String {
        self.printed.lock().unwrap().join("\n")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn from(calls: &[Value], number: &str) -> Vec<Value> {
    calls
        .iter()
        .filter(|c| c["from"] == number)
        .cloned()
        .collect()
}

#[test]
fn the_demo_shows_pops_tickets_and_the_caller_log_and_stops_on_a_signal() {
    let mut demo = Demo::start();
    let printed = demo.printed();
    assert!(
        printed.contains("Sign in as:   ann@demo.example with password demo"),
        "{printed}"
    );
    let http = reqwest::blocking::Client::new();

    // The agent's Zendesk with the app in it: the page loads the top bar by
    // POSTing the token the emulated Zendesk signed, and that signs Ann in.
    let in_zendesk = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("In Zendesk:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no Zendesk address printed: {printed}"))
        .to_string();
    let host = http.get(&in_zendesk).send().expect("the agent interface");
    assert_eq!(host.status(), 200);
    let host = host.text().expect("html");
    assert!(
        host.contains(&format!("{}/zendesk/top_bar?", demo.base)),
        "{host}"
    );
    let token = host
        .split(r#"name="token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the signed token in the page");
    let first_load = http
        .post(format!("{}/zendesk/top_bar", demo.base))
        .form(&[("token", token)])
        .send()
        .expect("the app's first load");
    assert_eq!(first_load.status(), 200);
    let app_cookie = first_load
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("the app's session cookie")
        .to_string();
    let me: Value = http
        .get(format!("{}/api/v1/agent/me", demo.base))
        .header("cookie", &app_cookie)
        .send()
        .expect("me")
        .json()
        .expect("json");
    assert_eq!(me["agent"]["email"], "ann@demo.example", "{me}");

    // The newcomer signs in as Ann on the agent page's API.
    let login = http
        .post(format!("{}/api/v1/agent/login", demo.base))
        .json(&json!({"email": "ann@demo.example", "password": "demo"}))
        .send()
        .expect("sign in");
    assert_eq!(login.status(), 200, "signing in with the printed password");
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let csrf = login.json::<Value>().expect("the signed-in agent")["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_string();

    // Ann picks "new ticket" for the agent-mode call when its card asks; then
    // every call is synced.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut decided = false;
    let calls = loop {
        let calls = demo.calls(&http);
        for call in from(&calls, "+14155550188") {
            if !decided && !call["agent_decision"]["waiting"].is_null() {
                let resp = http
                    .post(format!(
                        "{}/api/v1/calls/{}/decision",
                        demo.base,
                        call["call_id"].as_str().unwrap()
                    ))
                    .bearer_auth(&demo.token)
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
            "the demo's calls are not all synced: {calls:#?}\nprinted: {}",
            demo.printed()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(decided, "the agent-mode call waited for Ann's choice");

    // Every call has a ticket; a repeat caller is one contact.
    assert!(
        calls.iter().all(|c| c["ticket_id"].is_string()),
        "{calls:#?}"
    );
    let maria = from(&calls, "+14155550101");
    assert_eq!(maria.len(), 2);
    assert_eq!(maria[0]["contact_id"], maria[1]["contact_id"]);
    // The first-timer's missed call, and Ann's call back to them.
    let first_timer: Vec<&Value> = calls
        .iter()
        .filter(|c| c["from"] == "+14155550177" || c["to"] == "+14155550177")
        .collect();
    assert_eq!(first_timer.len(), 2, "{first_timer:#?}");
    assert_eq!(first_timer[0]["contact_id"], first_timer[1]["contact_id"]);
    let outcomes: Vec<&str> = calls.iter().filter_map(|c| c["outcome"].as_str()).collect();
    for kind in ["answered", "missed", "voicemail"] {
        assert!(outcomes.contains(&kind), "{kind} in {outcomes:?}");
    }
    let agent_mode = &from(&calls, "+14155550188")[0];
    assert_eq!(
        agent_mode["decisions"]["ticket_rules"],
        json!(["agent_new_ticket"])
    );

    // The first-timer's missed call opened a callback; Ann's call back closed
    // it by itself.
    let closed: Value = http
        .get(format!("{}/api/v1/callbacks?closed=true", demo.base))
        .header("cookie", &cookie)
        .send()
        .expect("the callbacks")
        .json()
        .expect("json");
    let callback = closed["callbacks"]
        .as_array()
        .expect("callbacks")
        .iter()
        .find(|c| c["phone"] == "+14155550177")
        .unwrap_or_else(|| panic!("no callback for the first-timer: {closed:#}"));
    assert_eq!(
        (
            &callback["closed"]["reason"]["kind"],
            &callback["closed"]["reason"]["direction"]
        ),
        (&json!("reached"), &json!("outbound")),
        "{callback:#}"
    );

    // Ann sees her calls, popped as they rang, and not Bob's.
    let mine: Value = http
        .get(format!("{}/api/v1/calls?limit=100", demo.base))
        .header("cookie", &cookie)
        .send()
        .expect("Ann's calls")
        .json()
        .expect("json");
    let mine = mine["calls"].as_array().expect("calls").clone();
    assert_eq!(mine.len(), CALLS - 1, "all but Bob's call: {mine:#?}");
    assert!(
        mine.iter()
            .all(|c| c["agent"]["email"] != "bob@demo.example"
                && c["assignee"] != "bob@demo.example")
    );
    assert!(
        mine.iter()
            .any(|c| c["pops"][0]["agent"] == "ann@demo.example" && c["pops"][0]["on"] == "ringing"),
        "{mine:#?}"
    );

    // Ann calls Maria from the page: the demo's phone system puts the dial
    // through (its dial webhook), and the call is answered and logged.
    let dialed: Value = http
        .post(format!("{}/api/v1/agent/dial", demo.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"to": "+14155550101"}))
        .send()
        .expect("dial")
        .json()
        .expect("json");
    let call_id = dialed["call_id"]
        .as_str()
        .unwrap_or_else(|| panic!("not dialed: {dialed}"))
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let call = loop {
        let call: Value = http
            .get(format!("{}/api/v1/calls/{call_id}", demo.base))
            .bearer_auth(&demo.token)
            .send()
            .expect("the dialed call")
            .json()
            .expect("json");
        if call["sync"] == "done" && call["state"] == "ended" {
            break call;
        }
        assert!(Instant::now() < deadline, "the dial never ended: {call:#}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        (
            &call["outcome"],
            &call["direction"],
            &call["agent"]["email"]
        ),
        (
            &json!("answered"),
            &json!("outbound"),
            &json!("ann@demo.example")
        ),
        "{call:#}"
    );
    assert!(call["ticket_id"].is_string(), "{call:#}");

    // Ctrl-C (SIGTERM) stops it cleanly.
    let pid = demo.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = demo.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the demo did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(demo.printed().contains("Stopping the demo."));
}
