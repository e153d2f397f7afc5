// The Zendesk app's sidebars: the calls of the ticket (and its requester's
// other calls) beside a ticket, the user's calls beside a user. Zendesk says
// which record is open (the Apps framework's `ticket.id`, `user.id`);
// deskbridge's API lists its calls (`GET /api/v1/calls?ticket_id=` or
// `?contact_id=`), signed in by the session the first load opened.
"use strict";

const $ = (id) => document.getElementById(id);

function text(tag, value) {
  const el = document.createElement(tag);
  el.textContent = value == null ? "" : String(value);
  return el;
}

function talk(seconds) {
  if (seconds == null) return "";
  const s = Math.round(seconds);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function row(call) {
  const tr = document.createElement("tr");
  tr.dataset.callId = call.call_id;
  const agent = call.agent ? (call.agent.name || call.agent.email || call.agent.extension) : "";
  tr.append(
    text("td", new Date(call.started_at).toLocaleString()),
    text("td", call.direction),
    text("td", agent),
    text("td", call.outcome || call.state),
    text("td", talk(call.duration_s)),
  );
  const rec = document.createElement("td");
  if (typeof call.recording_url === "string" && /^https?:\/\//.test(call.recording_url)) {
    const a = text("a", "Listen");
    a.href = call.recording_url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    rec.append(a);
  }
  tr.append(rec);
  return tr;
}

async function calls(query) {
  const res = await fetch("/api/v1/calls?limit=20&" + query);
  if (res.status === 401) throw new Error("Open deskbridge from Zendesk again to sign in.");
  if (!res.ok) throw new Error("deskbridge answered " + res.status);
  return (await res.json()).calls;
}

function show(which, list) {
  $(which + "-calls").replaceChildren(...list.map(row));
  $(which + "-empty").hidden = list.length > 0;
}

async function load(client, context) {
  if (context.location === "ticket_sidebar") {
    $("record-title").textContent = "Calls on this ticket";
    const got = await client.get(["ticket.id", "ticket.requester.id"]);
    const ticket = got["ticket.id"];
    const requester = got["ticket.requester.id"];
    const onTicket = await calls("ticket_id=" + encodeURIComponent(ticket));
    show("record", onTicket);
    if (requester != null) {
      const seen = new Set(onTicket.map((c) => c.call_id));
      const theirs = (await calls("contact_id=" + encodeURIComponent(requester)))
        .filter((c) => !seen.has(c.call_id));
      $("requester").hidden = false;
      show("requester", theirs);
    }
  } else {
    $("record-title").textContent = "This user's calls";
    const got = await client.get("user.id");
    show("record", await calls("contact_id=" + encodeURIComponent(got["user.id"])));
  }
  client.invoke("resize", { width: "100%", height: document.body.scrollHeight + "px" });
}

// The SDK served here (2.0.11) hands the callback the registration message,
// `{metadata, context}`; later SDKs hand it the context itself.
const client = window.ZAFClient && window.ZAFClient.init((registered) => {
  const context = registered && registered.context ? registered.context : registered;
  load(client, context).catch((e) => { $("sidebar-error").textContent = e.message; });
});
if (!client) $("sidebar-error").textContent = "Open this page from Zendesk.";
