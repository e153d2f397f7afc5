// The agent page: sign-in, the live caller card, agent-mode decisions and the
// caller log. No framework and no build step; every text goes in through
// textContent, never as HTML.
"use strict";

const api = "/api/v1";
let csrf = null;
let me = null;
let events = null;
let current = null; // { call, card, pop }
// The call id of the agent's last dial, followed on the stream.
let dialing = null;
// The latest view of the agent's recent calls, by id: a dial's first events
// can arrive on the stream before the dial's own answer names its call.
const latest = new Map();
// Calls whose card was withdrawn here: a colleague answered them.
const withdrawn = new Set();
// The call being wrapped up here (its view), and the countdown's timer.
let wrapping = null;
let wrapTimer = null;

const $ = (id) => document.getElementById(id);

async function request(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const res = await fetch(api + path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  return { ok: res.ok, status: res.status, data };
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// Links only to this server or to http(s) addresses.
function link(href, text) {
  const a = el("a", text);
  if (typeof href === "string" && (href.startsWith("/") || /^https?:\/\//.test(href))) {
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
  }
  return a;
}

function show(signedIn) {
  $("signin").hidden = signedIn;
  $("desk").hidden = !signedIn;
  $("signout").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("who").textContent = signedIn && me ? (me.name || me.email) : "";
  // Admins (`admin = true`) get a link to the admin page.
  $("admin-link").hidden = !(signedIn && me && me.admin);
  if (!signedIn) setLive(null);
}

// Whether calls reach this page now: "open" (pops arrive), "lost" (the browser
// is reconnecting) or null (signed out).
function setLive(state) {
  const live = $("live");
  live.hidden = state === null;
  live.dataset.state = state || "";
  live.textContent = state === "open" ? "Connected: calls appear as the phone rings"
    : state === "lost" ? "Reconnecting…"
    : state === "elsewhere" ? "Open in other tabs: reload this one to take over here" : "";
}

async function start() {
  const r = await request("GET", "/agent/me");
  if (r.ok) { signedIn(r.data); } else { show(false); }
}

function signedIn(data) {
  csrf = data.csrf_token;
  me = data.agent;
  show(true);
  listen();
  loadCalls();
  loadCallbacks();
  loadQueue();
}

async function signIn(ev) {
  ev.preventDefault();
  $("signin-error").textContent = "";
  const token = $("token").value.trim();
  const body = token ? { token } : { email: $("email").value.trim(), password: $("password").value };
  const r = await request("POST", "/agent/login", body);
  if (!r.ok) {
    $("signin-error").textContent = (r.data && r.data.message) || "Sign-in failed";
    return;
  }
  $("password").value = "";
  $("token").value = "";
  signedIn(r.data);
}

async function signOut() {
  await request("POST", "/agent/logout");
  if (events) { events.close(); events = null; }
  csrf = null; me = null; current = null;
  renderCard();
  $("calls-body").replaceChildren();
  show(false);
}

function listen() {
  if (events) events.close();
  events = new EventSource(api + "/agent/stream");
  // The server says hello once it listens for this agent's calls.
  events.addEventListener("hello", () => setLive("open"));
  events.addEventListener("pop", (e) => {
    const data = JSON.parse(e.data);
    current = { call: data.call, card: data.card, pop: data.pop, ticketLink: data.ticket_link };
    renderCard();
    // Inside Zendesk, the top bar's pane opens (assets/zendesk/app.js).
    window.dispatchEvent(new CustomEvent("deskbridge:pop", { detail: data }));
  });
  // A colleague answered a call that popped here: the card goes, saying who
  // took it, and the call does not come back as a card of this agent's.
  events.addEventListener("withdrawn", (e) => {
    const data = JSON.parse(e.data);
    withdrawn.add(data.call_id);
    if (current && current.call.call_id === data.call_id) {
      const who = data.taken_by.name || data.taken_by.email || "A colleague";
      const from = current.call.from ? " from " + current.call.from : "";
      current = null;
      renderCard();
      const note = $("card-withdrawn");
      note.textContent = who + " took the call" + from + ".";
      note.hidden = false;
    }
  });
  events.addEventListener("call", (e) => {
    const call = JSON.parse(e.data);
    latest.delete(call.call_id);
    latest.set(call.call_id, call);
    if (latest.size > 50) latest.delete(latest.keys().next().value);
    onDialed(call);
    onCall(call);
    offerWrapUp(call);
    loadCalls();
  });
  // An agent of my groups paused or resumed: mine is shown again.
  events.addEventListener("queue", (e) => {
    const data = JSON.parse(e.data);
    if (me && data.agent.toLowerCase() === me.email.toLowerCase()) loadQueue();
  });
  // Changes were missed (the server fell behind, or reconnected to its
  // database): read the calls again.
  events.addEventListener("lagged", () => { loadCalls(); loadCallbacks(); loadQueue(); });
  // A callback of one of the agent's groups opened, changed or closed.
  events.addEventListener("callbacks", () => loadCallbacks());
  // Newer pages of this session took the stream's place: stop here rather than
  // reconnect and take theirs.
  events.addEventListener("closed", () => {
    events.close();
    events = null;
    setLive("elsewhere");
  });
  events.addEventListener("error", () => {
    setLive("lost");
    // The browser reconnects by itself; a signed-out session stops here.
    request("GET", "/agent/me").then((r) => { if (r.status === 401) signOut(); });
  });
}

async function onCall(call) {
  if (withdrawn.has(call.call_id)) return;
  if (current && current.call.call_id === call.call_id) {
    if (newer(current.call, call)) return;
    current.call = call;
    if (call.contact_id && current.card && current.card.contact_id !== call.contact_id) {
      current.card = await lookup(call);
    }
    renderCard();
    return;
  }
  // A live call of mine without a pop: show the caller's card from the lookup.
  if (call.state !== "ended" && (!current || current.call.state === "ended")) {
    const card = await lookup(call);
    // The pop (or another call) may have arrived while the lookup ran: it wins.
    if (current && current.call.call_id === call.call_id) return;
    if (current && current.call.state !== "ended") return;
    current = { call, card, pop: null };
    renderCard();
  }
}

// Whether `a` is a newer view of the call than `b`.
function newer(a, b) {
  return Date.parse(a.updated_at) > Date.parse(b.updated_at);
}

async function lookup(call) {
  const phone = call.direction === "outbound" ? call.to : call.from;
  if (!phone || phone === "anonymous") return { phone, tickets: [], other_contacts: [] };
  const r = await request("GET", "/lookup?phone=" + encodeURIComponent(phone) + "&group=" + encodeURIComponent(call.group));
  return r.ok ? r.data : { phone, tickets: [], other_contacts: [] };
}

function renderCard() {
  const body = $("card-body");
  // A new card replaces the note of a withdrawn one.
  if (current) $("card-withdrawn").hidden = true;
  $("card").classList.toggle("live", !!current && current.call.state !== "ended");
  if (!current) { body.hidden = true; $("card-empty").hidden = false; return; }
  body.hidden = false;
  $("card-empty").hidden = true;
  const { call, card, pop } = current;
  // Whether the card came from a screen pop made for this agent, or from the
  // lookup of a call of theirs.
  $("card").dataset.source = pop ? "pop" : "lookup";
  $("card-name").textContent = (card && card.name)
    || (card && card.shared_number ? "Shared number: " + card.other_contacts.length + " contacts" : "Unknown caller");
  $("card-phone").textContent = (card && card.phone) || call.from || "";
  $("card-state").textContent = call.state + (call.outcome ? " — " + call.outcome : "") + (call.queue ? " · queue " + call.queue : "");
  $("card-org").textContent = card && card.organization ? "Organization: " + card.organization : "";
  const chosen = $("card-chosen");
  chosen.replaceChildren();
  const choice = call.agent_decision && call.agent_decision.choice;
  const attached = choice && choice.action === "attach" ? choice.ticket_id : null;
  const ticket = call.ticket_id || attached || (pop && pop.ticket_id);
  if (ticket) {
    chosen.append("Ticket: ");
    const href = (current.ticketLink) || (card && (card.tickets || []).filter((t) => t.id === ticket).map((t) => t.link)[0]) || ("/api/v1/crm/tickets/" + ticket);
    chosen.append(link(href, "#" + ticket));
  }
  const list = $("card-tickets");
  list.replaceChildren();
  const options = $("attach-options");
  options.replaceChildren();
  for (const t of (card && card.tickets) || []) {
    const li = el("li");
    li.append(el("span", t.status, "status"), link(t.link, "#" + t.id), el("span", t.subject || ""));
    list.append(li);
    const o = el("option"); o.value = t.id; o.textContent = "#" + t.id + " " + (t.subject || t.status);
    options.append(o);
  }
  if (!list.children.length) list.append(el("li", "No open tickets", "muted"));
  const waiting = call.agent_decision && call.agent_decision.waiting && !call.agent_decision.choice;
  const wasHidden = $("decide").hidden;
  $("decide").hidden = !waiting;
  // Others sharing the caller's number are offered at once.
  if (waiting && wasHidden && card && (card.other_contacts || []).length) showContacts(card.other_contacts);
}

async function decide(body) {
  $("decide-error").textContent = "";
  if (!current) return;
  const r = await request("POST", "/calls/" + encodeURIComponent(current.call.call_id) + "/decision", body);
  if (!r.ok) {
    $("decide-error").textContent = (r.data && r.data.message) || "The decision was refused";
    return;
  }
  // The stream may have brought a newer view of the call already.
  if (!(newer(current.call, r.data))) current.call = r.data;
  else current.call.agent_decision = r.data.agent_decision;
  renderCard();
}

async function searchContacts() {
  const q = $("contact-q").value.trim();
  const results = $("contact-results");
  results.replaceChildren();
  if (q.length < 2) return;
  const group = current ? "&group=" + encodeURIComponent(current.call.group) : "";
  const r = await request("GET", "/contacts?q=" + encodeURIComponent(q) + group);
  if (!r.ok) { $("decide-error").textContent = (r.data && r.data.message) || "Search failed"; return; }
  showContacts(r.data.contacts);
}

// Contacts the agent can say the caller is: search results, or the others
// sharing the caller's number.
function showContacts(contacts) {
  const results = $("contact-results");
  results.replaceChildren();
  for (const c of contacts) {
    const li = el("li");
    const pick = el("button", "This is " + c.name);
    pick.type = "button";
    pick.dataset.contact = c.id;
    pick.addEventListener("click", () => decide({ action: "contact", contact_id: c.id, add_phone: $("add-phone").checked }));
    li.append(pick, el("span", (c.phones || []).join(", "), "muted"));
    results.append(li);
  }
  if (!results.children.length) results.append(el("li", "Nobody found", "muted"));
}

async function loadCalls() {
  const missed = $("only-missed").checked ? "&missed=true&done=false" : "";
  const r = await request("GET", "/agent/calls?limit=50" + missed);
  if (!r.ok) return;
  $("paused-today").textContent = pausedToday(r.data.paused_today || []);
  const rows = $("calls-body");
  rows.replaceChildren();
  for (const c of r.data.calls) {
    const tr = el("tr");
    const isMissed = c.direction === "inbound" && c.outcome && c.outcome !== "answered";
    if (isMissed && !c.done_at) tr.className = "missed";
    tr.dataset.call = c.call_id;
    const select = el("td");
    if (isMissed && !c.done_at) {
      const box = el("input"); box.type = "checkbox"; box.value = c.call_id;
      box.setAttribute("aria-label", "Select call " + c.call_id);
      select.append(box);
    }
    const when = new Date(c.started_at);
    const ticket = el("td");
    if (c.ticket_id) ticket.append("#" + c.ticket_id);
    const done = el("td");
    if (c.done_at) { done.textContent = "done"; }
    else if (isMissed) {
      const b = el("button", "Mark done"); b.type = "button";
      b.addEventListener("click", () => markDone([c.call_id]));
      done.append(b);
    } else if (owesWrapUp(c)) {
      const b = el("button", "Wrap up"); b.type = "button";
      b.addEventListener("click", () => { wrapping = c; renderWrapUp(); });
      done.append(b);
    } else if (c.wrap_up && c.wrap_up.done && c.wrap_up.done.code) {
      done.textContent = c.wrap_up.done.code.label;
    }
    tr.append(select, el("td", when.toLocaleString()), el("td", c.direction === "outbound" ? c.to : c.from),
      el("td", c.outcome || c.state), el("td", c.queue || ""), ticket, done);
    rows.append(tr);
  }
}

// Click-to-call: deskbridge rings the agent's phone, then the customer. From
// a ticket (a callback's), the call is logged on it; else on a new ticket.
async function dialNumber(to, ticketId) {
  const status = $("dial-status");
  if (!to) { status.textContent = "Give the number to call"; return; }
  status.textContent = "Calling " + to + "…";
  const body = ticketId ? { to, ticket_id: ticketId, log: "ticket" } : { to, log: "new_ticket" };
  const r = await request("POST", "/agent/dial", body);
  if (!r.ok) {
    dialing = null;
    status.textContent = "Not placed: " + ((r.data && r.data.message) || ("error " + r.status));
    return;
  }
  dialing = r.data.call_id;
  status.dataset.call = dialing;
  status.textContent = "Your phone rings: answer it to call " + r.data.to;
  // What the phone system said while the dial was being answered.
  if (latest.has(dialing)) onDialed(latest.get(dialing));
}

// What became of the agent's dial, as the phone system reports it.
function onDialed(call) {
  if (!dialing || call.call_id !== dialing) return;
  const status = $("dial-status");
  const failure = call.attributes && call.attributes.dial_failure;
  if (failure) status.textContent = "Not placed: " + failure;
  else if (call.state === "answered") status.textContent = "On the call with " + call.to;
  else if (call.state === "ended") status.textContent = "Call to " + call.to + " ended: " + (call.outcome || "ended");
}

// How long a customer has waited, and whether past the group's target.
function waited(cb) {
  const mins = Math.floor(cb.age_seconds / 60);
  const text = mins < 60 ? mins + " min" : Math.floor(mins / 60) + " h " + (mins % 60) + " min";
  return cb.overdue ? text + " (over target)" : text;
}

// The open callbacks of the agent's groups, oldest first: claim one, close it
// with a reason, or give it back.
async function loadCallbacks() {
  const r = await request("GET", "/callbacks");
  if (!r.ok) return;
  const rows = $("callbacks-body");
  rows.replaceChildren();
  const list = r.data.callbacks;
  $("callbacks-empty").hidden = list.length > 0;
  $("callbacks-table").hidden = list.length === 0;
  for (const cb of list) {
    const tr = el("tr");
    tr.dataset.callback = String(cb.id);
    if (cb.overdue) tr.className = "overdue";
    const mine = cb.claim && me && cb.claim.agent.toLowerCase() === me.email.toLowerCase();
    const who = el("td", cb.claim ? (mine ? "You" : cb.claim.name) : "", "claim");
    const actions = el("td");
    if (!cb.claim || mine) {
      if (!mine) {
        const claim = el("button", "Claim"); claim.type = "button";
        claim.addEventListener("click", () => callbackAction(cb.id, "claim"));
        actions.append(claim);
      } else {
        const release = el("button", "Give back"); release.type = "button";
        release.addEventListener("click", () => callbackAction(cb.id, "release"));
        actions.append(release);
      }
      const call = el("button", "Call"); call.type = "button";
      call.addEventListener("click", () => dialNumber(cb.phone, cb.ticket_id));
      actions.append(call);
      const reason = el("input"); reason.type = "text"; reason.placeholder = "reason";
      reason.setAttribute("aria-label", "Why close the callback for " + cb.phone);
      const close = el("button", "Close"); close.type = "button";
      close.addEventListener("click", () => callbackAction(cb.id, "close", { reason: reason.value }));
      actions.append(reason, close);
    }
    tr.append(el("td", cb.phone, "phone"), el("td", String(cb.missed), "missed"),
      el("td", waited(cb)), el("td", cb.queue || ""), el("td", cb.ticket_id ? "#" + cb.ticket_id : ""),
      who, actions);
    rows.append(tr);
  }
}

async function callbackAction(id, action, body) {
  $("callbacks-error").textContent = "";
  const r = await request("POST", "/callbacks/" + id + "/" + action, body);
  if (!r.ok) $("callbacks-error").textContent = (r.data && r.data.message) || "Not done";
  loadCallbacks();
}

// Whether I answered the call, it is over, and it has no wrap-up yet.
function owesWrapUp(call) {
  if (!call.wrap_up || call.wrap_up.done || call.state !== "ended" || !me) return false;
  return (call.agents || []).some((a) => a.email && a.email.toLowerCase() === me.email.toLowerCase());
}

// A call of mine ended: the wrap-up is offered. A newer view of the call
// being wrapped up keeps what the agent chose and typed (the call changes as
// its steps run); another call's end does not take the form from an agent
// who started filling it in (its wrap-up stays in My calls).
function offerWrapUp(call) {
  if (wrapping && wrapping.call_id === call.call_id) {
    if (call.wrap_up && call.wrap_up.done) { wrapping = null; renderWrapUp(); }
    else wrapping = call;
    return;
  }
  if (!owesWrapUp(call)) return;
  if (wrapping && ($("wrapup-code").value || $("wrapup-note").value)) return;
  wrapping = call;
  renderWrapUp();
}

function renderWrapUp() {
  const panel = $("wrapup");
  if (wrapTimer) { clearInterval(wrapTimer); wrapTimer = null; }
  if (!wrapping) { panel.hidden = true; return; }
  panel.hidden = false;
  $("wrapup-error").textContent = "";
  $("wrapup-status").textContent = "";
  const call = wrapping;
  const who = call.direction === "outbound" ? call.to : call.from;
  $("wrapup-call").textContent = "Call " + (call.direction === "outbound" ? "to " : "from ") + (who || "unknown")
    + (call.outcome ? " — " + call.outcome : "");
  const select = $("wrapup-code");
  select.replaceChildren();
  if (!call.wrap_up.required) {
    const none = el("option", "(no code)"); none.value = ""; select.append(none);
  }
  for (const c of call.wrap_up.codes) {
    const o = el("option", c.label); o.value = c.code; select.append(o);
  }
  $("wrapup-note").value = "";
  const left = $("wrapup-left");
  const due = call.wrap_up.due_at ? Date.parse(call.wrap_up.due_at) : null;
  const tick = () => {
    if (!due) { left.textContent = ""; return; }
    const secs = Math.max(0, Math.round((due - Date.now()) / 1000));
    left.textContent = secs > 0 ? "The ticket waits " + secs + " s for your wrap-up"
      : "The call is on the ticket; your wrap-up is added to it";
  };
  tick();
  if (due) wrapTimer = setInterval(tick, 1000);
}

async function saveWrapUp(ev) {
  ev.preventDefault();
  if (!wrapping) return;
  const code = $("wrapup-code").value;
  const note = $("wrapup-note").value.trim();
  const body = {};
  if (code) body.code = code;
  if (note) body.note = note;
  const r = await request("POST", "/calls/" + encodeURIComponent(wrapping.call_id) + "/wrap_up", body);
  if (!r.ok) {
    $("wrapup-error").textContent = (r.data && r.data.message) || "The wrap-up was refused";
    return;
  }
  const done = r.data.wrap_up && r.data.wrap_up.done;
  wrapping = null;
  renderWrapUp();
  $("wrapup").hidden = false;
  $("wrapup-form").hidden = true;
  $("wrapup-status").textContent = "Wrapped up" + (done && done.code ? ": " + done.code.label : "");
  setTimeout(() => { if (!wrapping) { $("wrapup").hidden = true; } $("wrapup-form").hidden = false; }, 3000);
  loadCalls();
}

function minutes(secs) {
  return secs < 60 ? secs + " s" : Math.round(secs / 60) + " min";
}

function pausedToday(list) {
  if (!list.length) return "";
  return "Paused today: " + list.map((p) => p.reason + " " + minutes(p.seconds)).join(", ");
}

function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// Where I stand in my queues: paused (why, since when) or taking calls.
async function loadQueue() {
  const r = await request("GET", "/agent/queue");
  if (!r.ok) return;
  const group = r.data.groups.find((g) => g.can_pause);
  $("queue").hidden = !group;
  if (!group) return;
  const p = group.paused;
  const state = $("queue-state");
  state.dataset.paused = p ? "true" : "false";
  state.textContent = !p ? "Taking queue calls"
    : "Paused: " + (p.reason || "no reason") + " since " + clock(p.started_at)
      + (p.until ? " (until " + clock(p.until) + ")" : "");
  const select = $("pause-reason");
  const chosen = select.value;
  select.replaceChildren();
  for (const reason of group.reasons) {
    const o = el("option", reason); o.value = reason; select.append(o);
  }
  if (chosen) select.value = chosen;
  $("pause").disabled = !!p;
  $("resume").disabled = !p;
  $("paused-today").textContent = pausedToday(r.data.paused_today);
}

async function queueAction(path, body) {
  $("queue-error").textContent = "";
  const r = await request("POST", path, body);
  if (!r.ok) $("queue-error").textContent = (r.data && r.data.message) || "Not done";
  loadQueue();
}

async function markDone(ids) {
  if (!ids.length) return;
  await request("POST", "/calls/done", { call_ids: ids });
  loadCalls();
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("dial-form").addEventListener("submit", (e) => { e.preventDefault(); dialNumber($("dial-to").value.trim(), null); });
  $("signout").addEventListener("click", signOut);
  $("wrapup-form").addEventListener("submit", saveWrapUp);
  $("pause-form").addEventListener("submit", (e) => { e.preventDefault(); queueAction("/agent/pause", { reason: $("pause-reason").value }); });
  $("resume").addEventListener("click", () => queueAction("/agent/resume", {}));
  $("new-ticket").addEventListener("click", () => decide({ action: "new_ticket" }));
  $("attach-form").addEventListener("submit", (e) => { e.preventDefault(); decide({ action: "attach", ticket_id: $("attach-id").value.trim() }); });
  $("contact-form").addEventListener("submit", (e) => { e.preventDefault(); searchContacts(); });
  $("contact-search").addEventListener("click", searchContacts);
  $("only-missed").addEventListener("change", loadCalls);
  $("mark-selected").addEventListener("click", () => {
    const ids = [...document.querySelectorAll("#calls-body input[type=checkbox]:checked")].map((b) => b.value);
    markDone(ids);
  });
  start();
});
