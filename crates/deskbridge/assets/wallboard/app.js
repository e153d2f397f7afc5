// The wallboard: reads the group's snapshot, and again a little over a
// second after the stream says something changed (the server makes one
// snapshot a second for every screen, so waiting longer than that gets one
// made after the change). Waits and states count on by this page's clock.
"use strict";

const params = new URLSearchParams(location.hash.slice(1));
const search = new URLSearchParams(location.search);
const token = params.get("token") || search.get("token");
const group = params.get("group") || search.get("group");
/// A little over the server's one second, so the snapshot read is newer
/// than the change heard.
const SETTLE_MS = 1100;

let board = null;
let skewMs = 0;
let pending = null;
let reading = false;

function query() {
  const q = new URLSearchParams();
  if (group) q.set("group", group);
  if (token) q.set("token", token);
  const s = q.toString();
  return s ? "?" + s : "";
}

const STATES = {
  available: ["✓", "Available"],
  ringing: ["☎", "Ringing"],
  on_call: ["●", "On a call"],
  wrap_up: ["✎", "Wrap-up"],
  paused: ["Ⅱ", "Paused"],
};

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function duration(sinceIso) {
  if (!sinceIso) return "–";
  const s = Math.max(0, Math.floor((Date.now() - skewMs - Date.parse(sinceIso)) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function seconds(v) { return v === null || v === undefined ? "–" : Math.round(v) + " s"; }
function percent(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + "%"; }

function render() {
  if (!board) return;
  document.getElementById("group").textContent = board.group;
  document.getElementById("today").hidden = false;
  const t = board.today;
  document.getElementById("sl").textContent = percent(t.service_level);
  document.getElementById("sl").title = "answered within " + board.service_level_seconds + " s";
  for (const k of ["offered", "answered", "missed", "abandoned"]) document.getElementById(k).textContent = t[k];
  document.getElementById("asa").textContent = seconds(t.average_speed_of_answer_s);
  document.getElementById("talk").textContent = seconds(t.average_talk_s);

  const queues = document.getElementById("queues");
  queues.replaceChildren(...board.queues.map((q) => {
    const name = q.queue || "No queue";
    const tile = el("article", { class: "queue" + (q.waiting ? " busy" : ""), "data-queue": name });
    tile.append(el("h3", {}, name));
    tile.append(el("div", { class: "waiting", "data-waiting": String(q.waiting) },
      q.waiting + (q.waiting === 1 ? " waiting" : " waiting")));
    tile.append(el("div", { class: "line longest" }, "Longest wait: " + duration(q.longest_waiting_since)));
    const f = q.today;
    tile.append(el("div", { class: "line" },
      `Today: ${f.offered} offered · ${f.answered} answered · ${f.missed} missed · ${f.abandoned} abandoned`));
    tile.append(el("div", { class: "line" },
      `Service level ${percent(f.service_level)} · answer ${seconds(f.average_speed_of_answer_s)} · talk ${seconds(f.average_talk_s)}`));
    return tile;
  }));
  if (!board.queues.length) queues.replaceChildren(el("p", { class: "line" }, "Nobody waiting, no calls yet today."));

  const rows = document.getElementById("agents");
  rows.replaceChildren(...board.agents.map((a) => {
    const [icon, word] = STATES[a.state] || ["?", a.state];
    const tr = el("tr", { "data-agent": a.email, "data-state": a.state });
    tr.append(el("td", {}, a.name || a.email));
    tr.append(el("td", { class: "state state-" + a.state }, `${icon} ${word}${a.reason ? " (" + a.reason + ")" : ""}`));
    tr.append(el("td", { class: "since" }, duration(a.since)));
    tr.append(el("td", { class: "taken" }, String(a.calls_today)));
    return tr;
  }));
}

async function read() {
  if (reading) { later(); return; }
  reading = true;
  try {
    const headers = {};
    const res = await fetch("/api/v1/wallboard" + query(), { headers, credentials: "same-origin" });
    const data = await res.json();
    if (!res.ok) { problem(data.message || ("error " + res.status)); return; }
    board = data;
    skewMs = Date.now() - Date.parse(board.at);
    wakeAtWrapUpsEnd();
    document.getElementById("problem").hidden = true;
    render();
  } catch (e) {
    live("Cannot reach the server; retrying");
    later();
  } finally {
    reading = false;
  }
}

/// A wrap-up that runs out is no change anyone announces: read again then.
let wake = null;
function wakeAtWrapUpsEnd() {
  if (wake) clearTimeout(wake);
  const ends = board.agents.filter((a) => a.until).map((a) => Date.parse(a.until) + skewMs);
  if (!ends.length) return;
  wake = setTimeout(() => { wake = null; later(); }, Math.max(0, Math.min(...ends) - Date.now()));
}

function later() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; read(); }, SETTLE_MS);
}

function problem(text) {
  const p = document.getElementById("problem");
  p.textContent = text + " — sign in on the agent page (/agent) as a supervisor, or open this page as /wallboard#token=<the group's wallboard_token>.";
  p.hidden = false;
}

function live(text) { document.getElementById("live").textContent = text; }

function listen() {
  const events = new EventSource("/api/v1/wallboard/stream" + query());
  // Read on every (re)connection: changes while disconnected were not heard.
  events.onopen = () => { live("Live"); read(); };
  events.addEventListener("changed", later);
  events.addEventListener("closed", () => { events.close(); live("Opened elsewhere; reload to show here"); });
  events.onerror = () => {
    live("Reconnecting…");
    // Refused (no sign-in, a wrong token): the snapshot's answer says why.
    if (!board) read();
  };
}

listen();
setInterval(render, 1000);
