// What every browser script shares: failing, waiting, the API as a group
// token sees it, Debian's Chromium (never a browser Playwright downloads) and
// the cases' runner.
import { chromium } from "playwright-core";

export function fail(message) { throw new Error(message); }

/// Polls `check` every 50 ms until it returns something truthy.
export async function waitFor(what, check, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) fail("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/// `api(method, path, body?, bearer?)` against `base`, signed with `token`
/// unless another bearer is given: `{status, data}` (JSON, else text).
export function apiOf(base, token) {
  return async function api(method, path, body, bearer = token) {
    const res = await fetch(base + path, {
      method,
      headers: { "Authorization": "Bearer " + bearer, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data = null;
    try { data = JSON.parse(text); } catch (_) { data = text; }
    return { status: res.status, data };
  };
}

/// Posts call events with `api`; fails unless they are accepted.
export async function postEvents(api, list) {
  const r = await api("POST", "/api/v1/events", list);
  if (r.status !== 202) fail("events refused: " + r.status + " " + JSON.stringify(r.data));
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

/// Runs the cases in order, printing `ok - name (ms)`; `results` names those
/// that passed.
export function runner() {
  const results = [];
  async function test(name, fn) {
    const started = Date.now();
    await fn();
    results.push(name);
    console.log("ok - " + name + " (" + (Date.now() - started) + " ms)");
  }
  return { test, results };
}
