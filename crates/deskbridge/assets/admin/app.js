// The admin page: groups, instances, the queue, failed calls (with Retry),
// the triggers' dead letters (with Replay) and the mirror. Signed in as the
// agent page is (the same session); every unsafe request carries the
// session's CSRF token. No framework and no build step; every text goes in
// through textContent, never as HTML.
"use strict";

const api = "/api/v1";
let csrf = null;
let me = null;

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

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.append(c); else td.textContent = c === null || c === undefined ? "" : String(c);
    tr.append(td);
  }
  return tr;
}

function when(t) {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d) ? t : d.toLocaleString();
}

function seconds(s) {
  if (!s) return "—";
  if (s < 120) return s.toFixed(1) + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return Math.round(s / 3600) + " h";
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Which panel shows: "signin", "not-admin" or "console".
function show(view) {
  $("signin").hidden = view !== "signin";
  $("not-admin").hidden = view !== "not-admin";
  $("console").hidden = view !== "console";
  const signedIn = view !== "signin";
  $("signout").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("who").textContent = signedIn && me ? (me.name || me.email) : "";
}

async function start() {
  const r = await request("GET", "/agent/me");
  if (r.ok) { signedIn(r.data); } else { show("signin"); }
}

function signedIn(data) {
  csrf = data.csrf_token;
  me = data.agent;
  if (!me.admin) { show("not-admin"); return; }
  show("console");
  load();
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
  csrf = null; me = null;
  for (const id of ["groups-body", "instances-body", "queue-body", "failed-body", "dead-body"]) {
    $(id).replaceChildren();
  }
  show("signin");
}

// A refused read: signed out shows the sign-in, not an admin says so.
function refused(r) {
  if (r.status === 401) { show("signin"); return true; }
  if (r.status === 403) {
    if (r.data && r.data.message) $("not-admin-text").textContent = r.data.message;
    show("not-admin");
    return true;
  }
  return false;
}

async function load() {
  $("console-error").textContent = "";
  const r = await request("GET", "/admin/overview");
  if (!r.ok) {
    if (!refused(r)) $("console-error").textContent = (r.data && r.data.message) || "Cannot load the overview";
    return;
  }
  const o = r.data;
  $("groups-body").replaceChildren(...o.groups.map((g) =>
    row([g.name, g.backend.name, g.backend.kind, g.connectors.join(", ")])));
  $("instances-body").replaceChildren(...o.instances.instances.map((i) => {
    const tr = row([i.id + (i.id === o.instances.this_instance ? " (this one)" : ""),
      i.hostname + " (pid " + i.pid + ")", i.version, when(i.started_at), when(i.heartbeat_at),
      i.running_steps]);
    return tr;
  }));
  $("queue-body").replaceChildren(...o.queue.map((q) =>
    row([q.lane, q.waiting, seconds(q.oldest_seconds)])));
  $("failed-empty").hidden = o.failed_calls.length > 0;
  $("failed-body").replaceChildren(...o.failed_calls.map(failedRow));
  $("mirror-state").hidden = o.mirrors.length > 0;
  $("mirrors").hidden = o.mirrors.length === 0;
  $("mirrors-body").replaceChildren(...o.mirrors.map((m) => row([m.backend, m.phase,
    m.lag_seconds === null ? "loading" : m.lag_seconds < 120 ? m.lag_seconds + " s ago"
      : seconds(m.lag_seconds) + " ago", m.users, m.tickets])));
  $("dead-count").textContent = o.dead_letters.count === 0 ? "No dead letters."
    : o.dead_letters.count + (o.dead_letters.more ? "+" : "")
      + (o.dead_letters.count === 1 ? " dead letter" : " dead letters")
      + ": fix the receiver, then press Replay.";
  await loadDeadLetters();
  $("loaded").textContent = "Updated " + new Date().toLocaleTimeString();
}

function failedRow(f) {
  const state = el("span");
  setState(state, "failed", "failed");
  const retry = el("button", "Retry");
  retry.type = "button";
  retry.setAttribute("aria-label", "Retry call " + f.call_id);
  const tr = row([f.call_id, f.group, f.from || "", when(f.at || f.failed_at), f.step, f.reason || "",
    state, retry]);
  tr.dataset.call = f.call_id;
  retry.addEventListener("click", () => retryCall(f, tr, state, retry));
  return tr;
}

// Retries the call, then follows it until its work is finished.
async function retryCall(f, tr, state, button) {
  button.disabled = true;
  setState(state, "retrying", "retrying…");
  const r = await request("POST", "/calls/" + encodeURIComponent(f.call_id) + "/retry");
  if (!r.ok) {
    if (refused(r)) return;
    setState(state, "failed", (r.data && r.data.message) || "retry refused");
    button.disabled = false;
    return;
  }
  setState(state, r.data.sync, r.data.sync);
  for (let i = 0; i < 240; i++) {
    await sleep(500);
    const c = await request("GET", "/calls/" + encodeURIComponent(f.call_id));
    if (!c.ok) break;
    if (c.data.sync !== "pending") {
      setState(state, c.data.sync, c.data.sync === "failed"
        ? "failed again: " + (c.data.sync_error || "") : c.data.sync);
      button.disabled = c.data.sync !== "failed";
      return;
    }
  }
  button.disabled = false;
}

function setState(span, state, text) {
  span.dataset.state = state;
  span.className = "state " + state;
  span.textContent = text;
}

async function loadDeadLetters() {
  const r = await request("GET", "/triggers/deliveries?status=failed&limit=50");
  if (!r.ok) { if (!refused(r)) $("dead-body").replaceChildren(); return; }
  $("dead-body").replaceChildren(...r.data.deliveries.map(deadRow));
}

function deadRow(d) {
  const state = el("span");
  setState(state, d.status, d.status);
  const replay = el("button", "Replay");
  replay.type = "button";
  replay.setAttribute("aria-label", "Replay notification " + d.id);
  const tr = row([d.id, d.group, d.endpoint, d.order_key, d.attempts,
    (d.last_status ? d.last_status + " " : "") + (d.last_error || ""), state, replay]);
  tr.dataset.delivery = d.id;
  replay.addEventListener("click", () => replayDelivery(d, state, replay));
  return tr;
}

// Replays the dead letter, then follows it until it is delivered or fails again.
async function replayDelivery(d, state, button) {
  button.disabled = true;
  const r = await request("POST", "/triggers/deliveries/" + encodeURIComponent(d.id) + "/replay");
  if (!r.ok) {
    if (refused(r)) return;
    setState(state, "failed", (r.data && r.data.message) || "replay refused");
    button.disabled = false;
    return;
  }
  setState(state, r.data.status, r.data.status);
  for (let i = 0; i < 240; i++) {
    await sleep(500);
    const all = await request("GET", "/triggers/deliveries?limit=500");
    if (!all.ok) break;
    const now = all.data.deliveries.find((x) => x.id === d.id);
    if (now && now.status !== "pending") {
      setState(state, now.status, now.status);
      button.disabled = now.status !== "failed";
      return;
    }
  }
  button.disabled = false;
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("refresh").addEventListener("click", load);
  start();
});
