//! `GET /__emulator/agent?user=&installation=`: the agent interface of the
//! emulated Zendesk, as far as an installed app sees it. A test tool: it plays
//! Zendesk's side of a server-side app with signed URLs.
//!
//! As Zendesk does (Zendesk's "Building a server-side app" tutorial, parts 1
//! and 5, and the Apps framework SDK's `lib/client.js`, which fixes the
//! messages): it loads the app's top bar location in an iframe by POSTing the
//! token it signed in the form field `token` to the location's URL, with
//! `origin` (this page's origin) and `app_guid` in the query; it answers the
//! SDK's handshake (`iframe.handshake` → `zaf.app.registered` with the app's
//! metadata and context) and its `get`/`invoke` requests (`{id, request,
//! params}` → `{id, result: {errors: {}, ...}}`): `currentUser`,
//! `currentAccount`, `ticket.id` and `ticket.requester.id` beside a ticket
//! (`&location=ticket_sidebar&record=<ticket id>`), `user.id` beside a user
//! (`&location=user_sidebar&record=<user id>`), `routeTo`, `resize`, `popover`. Each request is recorded
//! in `window.zafRecords`, and shown on the page.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Shared;
use crate::apps::{ACCOUNT_SUBDOMAIN, claims, sign};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
        None => String::new(),
    }
}

pub(crate) async fn agent_ui(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let number = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let (Some(user_id), Some(installation_id)) = (number("user"), number("installation")) else {
        return (
            StatusCode::BAD_REQUEST,
            "give ?user=<agent id>&installation=<id>",
        )
            .into_response();
    };
    let location = q.get("location").map_or("top_bar", String::as_str);
    let Some(installation) = shared
        .apps()
        .installations
        .iter()
        .find(|i| i.id == installation_id)
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, "no such installation").into_response();
    };
    let Some(url) = installation.locations.get(location).cloned() else {
        return (StatusCode::NOT_FOUND, "the app has no such location").into_response();
    };
    let Some(user) = shared.store().user(user_id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such user").into_response();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let origin = format!("http://{host}");
    let app_guid = format!("emulated-{installation_id}-{location}");
    let token = sign(&claims(installation_id, user_id, location));
    let action = format!(
        "{url}?origin={}&app_guid={app_guid}",
        origin.replace(':', "%3A").replace('/', "%2F")
    );
    let record = number("record");
    let mut open = serde_json::Map::new();
    match (location, record) {
        ("ticket_sidebar", Some(ticket)) => {
            let requester = shared.store().tickets.get(&ticket).map(|t| t.requester_id);
            open.insert("ticket.id".into(), json!(ticket));
            open.insert("ticket.requester.id".into(), json!(requester));
        }
        ("user_sidebar", Some(user)) => {
            open.insert("user.id".into(), json!(user));
        }
        _ => {}
    }
    let mut setup = json!({
        "appOrigin": origin_of(&url),
        "metadata": {
            "appId": installation.app_id,
            "installationId": installation.id,
            "name": installation.settings.get("name").cloned().unwrap_or(json!("app")),
            "settings": installation.settings,
        },
        "context": {
            "instanceGuid": app_guid,
            "product": "support",
            "location": location,
            "account": { "subdomain": ACCOUNT_SUBDOMAIN },
        },
        "currentUser": {
            "id": user.id, "name": user.name, "email": user.email,
            "role": user.role.as_str(), "locale": "en-US",
        },
        "currentAccount": { "subdomain": ACCOUNT_SUBDOMAIN },
    });
    if let Some(setup) = setup.as_object_mut() {
        setup.extend(open);
    }
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Zendesk (emulated): agent interface</title>
<style>
body {{ margin: 0; font: 14px system-ui, sans-serif; background: #f3f4f6; }}
header {{ background: #03363d; color: #fff; padding: 8px 16px; display: flex; gap: 16px; align-items: center; }}
header .app {{ margin-left: auto; background: #17494d; padding: 4px 10px; border-radius: 4px; }}
main {{ display: flex; gap: 16px; padding: 16px; }}
#app {{ width: 440px; height: 640px; border: 1px solid #c2c8cc; background: #fff; }}
#zaf-log {{ font: 12px ui-monospace, monospace; color: #2f3941; }}
</style></head>
<body>
<header><strong>Zendesk</strong><span>acme (emulated) · {name}</span><span class="app">{location}: {app}</span></header>
<main>
<iframe id="app" name="app" title="{app}"></iframe>
<section><h2>Apps framework requests</h2><ol id="zaf-log"></ol></section>
</main>
<form id="first-load" method="POST" target="app" action="{action}">
<input type="hidden" name="token" value="{token}">
</form>
<script>
"use strict";
const setup = {setup};
window.zafRecords = [];
const frame = document.getElementById("app");
function record(entry) {{
  window.zafRecords.push(entry);
  const li = document.createElement("li");
  li.textContent = JSON.stringify(entry);
  document.getElementById("zaf-log").append(li);
}}
function reply(message) {{
  frame.contentWindow.postMessage(JSON.stringify(message), setup.appOrigin);
}}
window.addEventListener("message", (ev) => {{
  if (ev.source !== frame.contentWindow) return;
  let msg;
  try {{ msg = typeof ev.data === "string" ? JSON.parse(ev.data) : ev.data; }} catch (_) {{ return; }}
  if (msg.key === "iframe.handshake") {{
    record({{ key: msg.key }});
    reply({{ key: "zaf.app.registered", message: {{ metadata: setup.metadata, context: setup.context }} }});
    return;
  }}
  if (!msg.request) return;
  const result = {{ errors: {{}} }};
  if (msg.request === "get") {{
    for (const path of msg.params) result[path] = path in setup ? setup[path] : null;
  }} else {{
    for (const [name, args] of Object.entries(msg.params)) {{
      result[name] = null;
      if (name === "resize" && args[0]) {{
        if (args[0].width) frame.style.width = args[0].width;
        if (args[0].height) frame.style.height = args[0].height;
      }}
    }}
  }}
  record({{ request: msg.request, params: msg.params }});
  reply({{ id: msg.id, result }});
}});
document.getElementById("first-load").submit();
</script>
</body></html>
"#,
        name = escape(&user.name),
        location = escape(location),
        app = escape(
            installation
                .settings
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("app")
        ),
        action = escape(&action),
        token = escape(&token),
        setup = setup.to_string().replace("</", "<\\/"),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}
