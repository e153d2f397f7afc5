// Drives the supervisors' wallboard in Debian's Chromium, headless, during a
// scripted burst of calls, as a TV on the office wall shows it: opened with
// the group's wallboard token in the URL's fragment, no one signed in.
// Started by the Rust test `browser_wallboard::the_wallboard_in_chromium`,
// which runs deskbridge in-process and passes its address and tokens in the
// environment. `SCREENSHOT=path` saves the board mid-burst (how
// `docs/wallboard.png` was made). Exits non-zero on the first failure.
import { apiOf, fail, launch, postEvents, runner, waitFor } from "./lib.mjs";

const base = process.env.DESKBRIDGE_URL;
const api = apiOf(base, process.env.DESKBRIDGE_TOKEN);
const wallboardToken = process.env.WALLBOARD_TOKEN;
const screenshot = process.env.SCREENSHOT;

const events = (list) => postEvents(api, list);
const ago = (s) => new Date(Date.now() - s * 1000).toISOString();

function ringing(callId, queue, agent, secondsAgo) {
  const e = { id: callId + "-1", call_id: callId, type: "ringing", direction: "inbound",
    from: "+1415555" + callId.replace(/\D/g, "").padStart(4, "0"), to: "+14155550199", queue,
    at: ago(secondsAgo) };
  if (agent) e.agent = { email: agent };
  return e;
}
const answered = (callId, agent) => ({ id: callId + "-2", call_id: callId, type: "answered",
  agent: { email: agent }, at: ago(0) });
const ended = (callId, reason) => ({ id: callId + "-3", call_id: callId, type: "ended", reason,
  at: ago(0) });

/// Signs an agent in by their token: the cookie and CSRF token their page
/// would hold.
async function signIn(token) {
  const res = await fetch(base + "/api/v1/agent/login", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) });
  if (res.status !== 200) fail("sign-in: " + res.status);
  const cookie = res.headers.get("set-cookie").split(";")[0];
  const { csrf_token } = await res.json();
  return async (path, body) => {
    const r = await fetch(base + path, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": csrf_token } });
    if (r.status >= 300) fail(path + ": " + r.status + " " + await r.text());
  };
}

const { test, results } = runner();
const browser = await launch();
try {
  const tv = await (await browser.newContext({ viewport: { width: 1600, height: 900 } })).newPage();
  let snapshots = 0;
  tv.on("request", (r) => { if (r.url().includes("/api/v1/wallboard?") || r.url().endsWith("/api/v1/wallboard")) snapshots += 1; });
  const row = (email) => tv.locator(`tr[data-agent="${email}"]`);
  const stateOf = (email, state) => tv.locator(`tr[data-agent="${email}"][data-state="${state}"]`);
  const waiting = (queue, n) => tv.locator(`[data-queue="${queue}"] [data-waiting="${n}"]`);

  await test("a TV opens the wallboard with its token, no one signed in", async () => {
    await tv.goto(base + "/wallboard#token=" + encodeURIComponent(wallboardToken));
    await tv.locator("#live").filter({ hasText: "Live" }).waitFor();
    await stateOf("ann@acme.com", "available").waitFor();
    await row("bob@acme.com").filter({ hasText: "Bob Example" }).waitFor();
    if ((await tv.locator("#sl").textContent()) !== "–") fail("a service level before any call");
  });

  await test("a quiet floor costs no requests: the page listens, it does not poll", async () => {
    const before = snapshots;
    await new Promise((r) => setTimeout(r, 3000));
    if (snapshots !== before) fail((snapshots - before) + " snapshot reads on a quiet floor");
  });

  await test("callers queue up; Ann's phone rings, she answers", async () => {
    await events([ringing("c1", "sales", "ann@acme.com", 25), ringing("c2", "sales", null, 10)]);
    await waiting("sales", 2).waitFor();
    await stateOf("ann@acme.com", "ringing").filter({ hasText: "Ringing" }).waitFor();
    const longest = await tv.locator('[data-queue="sales"] .longest').textContent();
    // Counted on by the page's clock from when the first caller rang.
    if (!/Longest wait: \d+:\d\d/.test(longest)) fail("the longest wait: " + longest);
    await events([answered("c1", "ann@acme.com"), ringing("c3", "support", "bob@acme.com", 2)]);
    await waiting("sales", 1).waitFor();
    await stateOf("ann@acme.com", "on_call").filter({ hasText: "On a call" }).waitFor();
    await stateOf("bob@acme.com", "ringing").waitFor();
    await waiting("support", 1).waitFor();
    if (screenshot) await tv.screenshot({ path: screenshot, fullPage: true });
  });

  await test("a caller gives up, Bob answers in time: nobody waits, the service level moves", async () => {
    await events([ended("c2", "abandoned"), answered("c3", "bob@acme.com")]);
    await waiting("sales", 0).waitFor();
    await waiting("support", 0).waitFor();
    await stateOf("bob@acme.com", "on_call").waitFor();
    // A call counts once it is over: so far one offered, abandoned.
    await tv.locator("#abandoned").filter({ hasText: "1" }).waitFor();
    await tv.locator("#sl").filter({ hasText: "0%" }).waitFor();
  });

  await test("Ann's call ends: wrap-up, then available once she wraps it up", async () => {
    await events([ended("c1", "completed")]);
    await stateOf("ann@acme.com", "wrap_up").filter({ hasText: "Wrap-up" }).waitFor();
    const ann = await signIn(process.env.ANN_TOKEN);
    await ann("/api/v1/calls/c1/wrap_up", { code: "sale" });
    await stateOf("ann@acme.com", "available").filter({ hasText: "Available" }).waitFor();
    await row("ann@acme.com").locator(".taken").filter({ hasText: "1" }).waitFor();
  });

  await test("Bob's call ends: offered 3, one answered within 20 s, a third", async () => {
    await events([ended("c3", "completed")]);
    await stateOf("bob@acme.com", "wrap_up").waitFor();
    await tv.locator("#sl").filter({ hasText: "33%" }).waitFor();
    await tv.locator("#answered").filter({ hasText: "2" }).waitFor();
  });

  await test("without a token or a supervisor's sign-in, the page says how to open it", async () => {
    const stranger = await (await browser.newContext()).newPage();
    await stranger.goto(base + "/wallboard");
    await stranger.getByRole("alert").filter({ hasText: "wallboard_token" }).waitFor();
    if (await stranger.locator("tr[data-agent]").count() !== 0) fail("agents shown to a stranger");
    await stranger.close();
  });

  await test("a supervisor signed in on the agent page sees the same board", async () => {
    const lead = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await lead.goto(base + "/agent");
    await lead.getByLabel("Agent token").fill(process.env.LEAD_TOKEN);
    await lead.getByRole("button", { name: "Sign in" }).click();
    await lead.locator("#who").waitFor();
    await lead.goto(base + "/wallboard");
    await lead.locator("#sl").filter({ hasText: "33%" }).waitFor();
    await lead.locator('tr[data-agent="ann@acme.com"][data-state="available"]').waitFor();
    await lead.close();
  });

  await test("the wallboard token reads nothing else", async () => {
    const other = await tv.evaluate(async (t) => (await fetch("/api/v1/calls",
      { headers: { "Authorization": "Bearer " + t } })).status, wallboardToken);
    if (other !== 401) fail("the calls answered " + other + " to the wallboard token");
  });
} finally {
  await browser.close();
}
console.log(results.length + " browser cases passed");
