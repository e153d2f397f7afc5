// Drives the agent page in Debian's Chromium, headless, with playwright-core
// (never a browser Playwright downloads). Started by the Rust test
// `browser::the_agent_page_in_chromium` (crates/deskbridge/tests/it/browser.rs),
// which runs deskbridge in-process and passes its address, a group token and
// the agents' credentials in the environment. Each case checks what an agent
// or an admin would: the card on screen, and the ticket and comment through the
// API. Exits non-zero on the first failure.
import { apiOf, fail, launch, postEvents, runner, waitFor } from "./lib.mjs";

const base = process.env.DESKBRIDGE_URL;
const token = process.env.DESKBRIDGE_TOKEN;
const annPassword = process.env.ANN_PASSWORD;
const bobToken = process.env.BOB_TOKEN;
const screenshot = process.env.SCREENSHOT;

const api = apiOf(base, token);

const events = (list) => postEvents(api, list);

function ringing(callId, from, agent, attributes = {}) {
  return [
    { id: callId + "-1", call_id: callId, type: "ringing", direction: "inbound", from,
      to: "+14155550199", queue: "support", agent: { email: agent }, attributes },
    { id: callId + "-2", call_id: callId, type: "answered", agent: { email: agent } },
  ];
}

async function end(callId) {
  await events([{ id: callId + "-3", call_id: callId, type: "ended", reason: "completed",
    recording_url: "https://recordings.example/" + callId + ".mp3" }]);
}

async function synced(callId) {
  return waitFor("call " + callId + " synced", async () => {
    const r = await api("GET", "/api/v1/calls/" + callId);
    return r.status === 200 && r.data.sync === "done" ? r.data : null;
  });
}

async function commentsOf(ticketId) {
  const r = await api("GET", "/api/v1/crm/tickets/" + ticketId + "/comments");
  if (r.status !== 200) fail("comments of " + ticketId + ": " + r.status);
  return r.data.items;
}

// The call's comment (its outcome and recording) is on the ticket.
async function callLoggedOn(ticketId, callId) {
  const comments = await commentsOf(ticketId);
  const logged = comments.filter((c) => c.body.includes("Outcome: answered")
    && c.body.includes("https://recordings.example/" + callId + ".mp3"));
  if (logged.length !== 1) fail("the call's comment on " + ticketId + ": " + JSON.stringify(comments));
}

async function create(path, body) {
  const r = await api("POST", path, body);
  if (r.status !== 201) fail("create " + path + ": " + r.status + " " + JSON.stringify(r.data));
  return r.data;
}

const { test, results } = runner();
const browser = await launch();
try {
  const annContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const bobContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const ann = await annContext.newPage();
  const bob = await bobContext.newPage();

  await test("sign in (password and token)", async () => {
    await ann.goto(base + "/agent");
    await ann.getByLabel("Email").fill("ann@acme.com");
    await ann.getByLabel("Password").fill("wrong");
    await ann.getByRole("button", { name: "Sign in" }).click();
    await ann.getByRole("alert").filter({ hasText: "wrong email or password" }).waitFor();
    await ann.getByLabel("Password").fill(annPassword);
    await ann.getByRole("button", { name: "Sign in" }).click();
    await ann.locator("#who").filter({ hasText: "Ann Example" }).waitFor();
    await bob.goto(base + "/agent");
    await bob.getByLabel("Agent token").fill(bobToken);
    await bob.getByRole("button", { name: "Sign in" }).click();
    await bob.locator("#who").filter({ hasText: "Bob Example" }).waitFor();
    // Both pages listen for calls before the first call.
    await ann.locator("#live[data-state='open']").waitFor();
    await bob.locator("#live[data-state='open']").waitFor();
  });

  await test("an inbound call pops the caller's card within a second (a screen pop)", async () => {
    const contact = await create("/api/v1/crm/contacts",
      { name: "Paula Popped", phones: ["+14155550160"] });
    await create("/api/v1/crm/tickets",
      { subject: "Router keeps rebooting", requester_id: contact.id, status: "open" });
    const sent = Date.now();
    await events(ringing("br-pop", "+14155550160", "ann@acme.com"));
    await ann.locator("#card[data-source='pop'] #card-name").filter({ hasText: "Paula Popped" })
      .waitFor({ timeout: 5000 });
    const took = Date.now() - sent;
    console.log("  card shown " + took + " ms after the event");
    if (took > 1000) fail("the card took " + took + " ms");
    await ann.locator("#card-tickets").filter({ hasText: "Router keeps rebooting" }).waitFor();
    await end("br-pop");
    await synced("br-pop");
  });

  await test("an agent does not see another agent's call", async () => {
    // Bob's page never showed Paula's call, and his log has none of Ann's calls.
    if (!(await bob.locator("#card-empty").isVisible())) fail("Bob's card shows a call");
    await bob.reload();
    await bob.locator("#who").filter({ hasText: "Bob Example" }).waitFor();
    await bob.locator("#live[data-state='open']").waitFor();
    const rows = await bob.locator("#calls-body tr").count();
    if (rows !== 0) fail("Bob sees " + rows + " calls");
    const seen = await bob.evaluate(async () => (await fetch("/api/v1/calls/br-pop")).status);
    if (seen !== 404) fail("Bob read Ann's call: " + seen);
  });

  await test("a page opened while the phone rings still shows the pop", async () => {
    await create("/api/v1/crm/contacts", { name: "Rita Reconnect", phones: ["+14155550165"] });
    await events(ringing("br-late", "+14155550165", "bob@acme.com"));
    await waitFor("br-late popped for Bob", async () => {
      const r = await api("GET", "/api/v1/calls/br-late");
      return r.status === 200 && r.data.pops.length > 0 ? r.data : null;
    });
    // Bob's page (re)opens after the pop was made.
    await bob.reload();
    await bob.locator("#card[data-source='pop'] #card-name").filter({ hasText: "Rita Reconnect" })
      .waitFor({ timeout: 5000 });
    await end("br-late");
    await synced("br-late");
  });

  await test("agent mode: new ticket lands the comment on a new ticket", async () => {
    await events(ringing("br-new", "+14155550161", "ann@acme.com", { ticket_assignment: "agent" }));
    await ann.getByRole("button", { name: "New ticket" }).click();
    await ann.locator("#card-chosen").filter({ hasText: "Ticket: #" }).waitFor();
    await end("br-new");
    const call = await synced("br-new");
    if (!call.decisions.ticket_rules.includes("agent_new_ticket")) fail(JSON.stringify(call.decisions));
    await callLoggedOn(call.ticket_id, "br-new");
  });

  let attachTicket = null;
  await test("agent mode: attach lands the comment on the chosen ticket", async () => {
    const contact = await create("/api/v1/crm/contacts",
      { name: "Arthur Attach", phones: ["+14155550162"] });
    attachTicket = await create("/api/v1/crm/tickets",
      { subject: "Billing question", requester_id: contact.id, status: "open" });
    await events(ringing("br-att", "+14155550162", "ann@acme.com", { ticket_assignment: "agent" }));
    await ann.locator("#card-tickets").filter({ hasText: "Billing question" }).waitFor();
    if (screenshot) {
      await ann.getByLabel("Attach to ticket").fill(attachTicket.id);
      await ann.screenshot({ path: screenshot, fullPage: true });
      console.log("  screenshot: " + screenshot);
    }
    await ann.getByLabel("Attach to ticket").fill(attachTicket.id);
    await ann.getByRole("button", { name: "Attach", exact: true }).click();
    await ann.locator("#card-chosen").filter({ hasText: "#" + attachTicket.id }).waitFor();
    await end("br-att");
    const call = await synced("br-att");
    if (call.ticket_id !== attachTicket.id) fail("the call went to " + call.ticket_id);
    await callLoggedOn(attachTicket.id, "br-att");
  });

  await test("agent mode: choose contact (and add the number) lands the call on their ticket", async () => {
    const carol = await create("/api/v1/crm/contacts",
      { name: "Carol Chooser", phones: ["+14155550999"] });
    await events(ringing("br-con", "+14155550163", "ann@acme.com", { ticket_assignment: "agent" }));
    await ann.getByRole("button", { name: "New ticket" }).waitFor();
    await ann.getByLabel("This caller is").fill("Carol");
    await ann.getByRole("button", { name: "Search" }).click();
    await ann.getByLabel("Add the caller's number to this contact").check();
    await ann.getByRole("button", { name: "This is Carol Chooser" }).click();
    await end("br-con");
    const call = await synced("br-con");
    if (call.contact_id !== carol.id) fail("the call's contact is " + call.contact_id);
    const ticket = (await api("GET", "/api/v1/crm/tickets/" + call.ticket_id)).data;
    if (ticket.requester_id !== carol.id) fail("the ticket's requester is " + ticket.requester_id);
    await callLoggedOn(call.ticket_id, "br-con");
    const phones = (await api("GET", "/api/v1/crm/contacts/" + carol.id)).data.phones;
    if (!phones.includes("+14155550163")) fail("the number was not added: " + phones);
  });

  await test("a queue call rings Ann and Bob; Bob answers and Ann's card is withdrawn", async () => {
    await create("/api/v1/crm/contacts", { name: "Rita Ringall", phones: ["+14155550165"] });
    await events([
      { id: "br-all-1", call_id: "br-all", type: "ringing", direction: "inbound",
        from: "+14155550165", to: "+14155550199", queue: "support", agent: { email: "ann@acme.com" } },
      { id: "br-all-2", call_id: "br-all", type: "ringing", agent: { email: "bob@acme.com" } },
    ]);
    await ann.locator("#card[data-source='pop'] #card-name").filter({ hasText: "Rita Ringall" }).waitFor();
    await bob.locator("#card[data-source='pop'] #card-name").filter({ hasText: "Rita Ringall" }).waitFor();
    await events([{ id: "br-all-a", call_id: "br-all", type: "answered", agent: { email: "bob@acme.com" } }]);
    await ann.locator("#card-withdrawn").filter({ hasText: "Bob Example took the call from +14155550165" }).waitFor();
    if (await ann.locator("#card-body").isVisible()) fail("Ann still shows the call's card");
    await bob.locator("#card-state").filter({ hasText: "answered" }).waitFor();
    await end("br-all");
    await synced("br-all");
  });

  await test("a missed call is marked done", async () => {
    await events([
      { id: "br-miss-1", call_id: "br-miss", type: "ringing", direction: "inbound",
        from: "+14155550164", to: "+14155550199", queue: "support", agent: { email: "ann@acme.com" } },
      { id: "br-miss-2", call_id: "br-miss", type: "ended", reason: "no_answer" },
    ]);
    await ann.getByLabel("Missed and not done only").check();
    const row = ann.locator("#calls-body tr[data-call='br-miss']");
    await row.getByRole("button", { name: "Mark done" }).click();
    await waitFor("br-miss marked done", async () => {
      const r = await api("GET", "/api/v1/calls/br-miss");
      return r.data.done_at ? r.data : null;
    });
    await waitFor("br-miss to leave the not-done list",
      async () => (await ann.locator("#calls-body tr[data-call='br-miss']").count()) === 0);
  });

  await test("a callback: Ann claims it, Bob sees she has it, her answered call out closes it", async () => {
    await events([
      { id: "br-cb-1", call_id: "br-cb", type: "ringing", direction: "inbound",
        from: "+14155550166", to: "+14155550199", queue: "support" },
      { id: "br-cb-2", call_id: "br-cb", type: "ended", reason: "no_answer" },
    ]);
    const annRow = ann.locator("#callbacks-body tr").filter({ hasText: "+14155550166" });
    const bobRow = bob.locator("#callbacks-body tr").filter({ hasText: "+14155550166" });
    await annRow.getByRole("button", { name: "Claim" }).click();
    await annRow.locator("td.claim").filter({ hasText: "You" }).waitFor();
    await bobRow.locator("td.claim").filter({ hasText: "Ann Example" }).waitFor();
    if (await bobRow.getByRole("button", { name: "Claim" }).count() !== 0) fail("Bob may claim Ann's callback");
    await events([
      { id: "br-cbo-1", call_id: "br-cb-out", type: "ringing", direction: "outbound",
        from: "+14155550199", to: "+14155550166", agent: { email: "ann@acme.com", name: "Ann" } },
      { id: "br-cbo-2", call_id: "br-cb-out", type: "answered", agent: { email: "ann@acme.com", name: "Ann" } },
      { id: "br-cbo-3", call_id: "br-cb-out", type: "ended", reason: "completed" },
    ]);
    await waitFor("the callback to leave Ann's list", async () => (await annRow.count()) === 0);
    await waitFor("the callback to leave Bob's list", async () => (await bobRow.count()) === 0);
    const call = await synced("br-cb-out");
    const comments = await commentsOf(call.ticket_id);
    if (!comments.some((c) => c.body.includes("Called back by Ann <ann@acme.com>") && c.body.includes("reached after 1 missed call")))
      fail("no callback line on the ticket: " + JSON.stringify(comments));
  });

  await test("a callback closed by Bob with a reason", async () => {
    await events([
      { id: "br-cb2-1", call_id: "br-cb2", type: "ringing", direction: "inbound",
        from: "+14155550167", to: "+14155550199", queue: "support" },
      { id: "br-cb2-2", call_id: "br-cb2", type: "ended", reason: "abandoned" },
    ]);
    const row = bob.locator("#callbacks-body tr").filter({ hasText: "+14155550167" });
    await row.getByLabel("Why close the callback for +14155550167").fill("wrote in by email");
    await row.getByRole("button", { name: "Close" }).click();
    await waitFor("the callback to leave Bob's list", async () => (await row.count()) === 0);
    const closed = (await api("GET", "/api/v1/callbacks?closed=true")).data.callbacks
      .find((c) => c.phone === "+14155550167");
    if (!closed || closed.closed.reason.kind !== "by_agent" || closed.closed.reason.reason !== "wrote in by email")
      fail("closed as: " + JSON.stringify(closed));
  });

  await test("a dial from a callback's ticket: Ann calls, the PBX puts it through, the callback closes on that ticket", async () => {
    await create("/api/v1/crm/contacts", { name: "Dora Dialed", phones: ["+14155550168"] });
    await events([
      { id: "br-cb3-1", call_id: "br-cb3", type: "ringing", direction: "inbound",
        from: "+14155550168", to: "+14155550199", queue: "support" },
      { id: "br-cb3-2", call_id: "br-cb3", type: "ended", reason: "no_answer" },
    ]);
    const missed = await synced("br-cb3");
    const row = ann.locator("#callbacks-body tr").filter({ hasText: "+14155550168" });
    await row.getByRole("button", { name: "Claim" }).click();
    await row.locator("td.claim").filter({ hasText: "You" }).waitFor();
    await row.getByRole("button", { name: "Call", exact: true }).click();
    await ann.locator("#dial-status").filter({ hasText: "ended: answered" }).waitFor();
    await waitFor("the callback to leave Ann's list", async () => (await row.count()) === 0);
    const dialed = await synced(await ann.locator("#dial-status").getAttribute("data-call"));
    if (dialed.ticket_id !== missed.ticket_id)
      fail("the dial was logged on " + dialed.ticket_id + ", not the callback's ticket " + missed.ticket_id);
    const comments = await commentsOf(missed.ticket_id);
    if (!comments.some((c) => c.body.includes("Outbound call answered") && c.body.includes("reached after 1 missed call")))
      fail("no dialed call on the ticket: " + JSON.stringify(comments));
  });

  await test("a wrap-up code chosen after the call lands on its ticket", async () => {
    await events(ringing("br-wrap", "+14155550169", "ann@acme.com"));
    await end("br-wrap");
    await ann.locator("#wrapup").waitFor();
    await ann.locator("#wrapup-call").filter({ hasText: "+14155550169" }).waitFor();
    await ann.getByLabel("Wrap-up code").selectOption({ label: "Complaint" });
    await ann.getByLabel("Note").fill("wants a refund");
    await ann.getByRole("button", { name: "Save wrap-up" }).click();
    await ann.locator("#wrapup-status").filter({ hasText: "Wrapped up: Complaint" }).waitFor();
    const call = await waitFor("the wrap-up on the ticket", async () => {
      const r = await api("GET", "/api/v1/calls/br-wrap");
      return r.data.wrap_up && r.data.wrap_up.on_ticket ? r.data : null;
    });
    const ticket = (await api("GET", "/api/v1/crm/tickets/" + call.ticket_id)).data;
    if (!ticket.tags.includes("wrap_up_complaint")) fail("the ticket's tags: " + ticket.tags);
    const comments = await commentsOf(call.ticket_id);
    if (!comments.some((c) => c.body.includes("Wrap-up: Complaint (Ann Example): wants a refund")))
      fail("no wrap-up line on the ticket: " + JSON.stringify(comments));
    // The log (all calls, not only the missed ones) shows the code.
    await ann.getByLabel("Missed and not done only").uncheck();
    await ann.locator("#calls-body tr[data-call='br-wrap']").filter({ hasText: "Complaint" }).waitFor();
  });

  await test("Ann pauses for lunch and resumes; her paused time shows in her log", async () => {
    await ann.locator("#queue-state").filter({ hasText: "Taking queue calls" }).waitFor();
    await ann.getByLabel("Pause reason").selectOption("Lunch");
    await ann.getByRole("button", { name: "Pause", exact: true }).click();
    await ann.locator("#queue-state[data-paused='true']").filter({ hasText: "Paused: Lunch" }).waitFor();
    const paused = (await ann.evaluate(async () => (await fetch("/api/v1/agent/queue")).json()));
    if (!paused.groups[0].paused || paused.groups[0].paused.reason !== "Lunch")
      fail("the queue state: " + JSON.stringify(paused));
    await new Promise((r) => setTimeout(r, 1100));
    await ann.getByRole("button", { name: "Resume" }).click();
    await ann.locator("#queue-state").filter({ hasText: "Taking queue calls" }).waitFor();
    await ann.locator("#paused-today").filter({ hasText: "Paused today: Lunch" }).waitFor();
  });

  await test("signed out gets nothing", async () => {
    await ann.getByRole("button", { name: "Sign out" }).click();
    await ann.getByRole("heading", { name: "Sign in" }).waitFor();
    const status = await ann.evaluate(async () => (await fetch("/api/v1/agent/calls")).status);
    if (status !== 401) fail("signed out, the log answered " + status);
    const stream = await ann.evaluate(async () => (await fetch("/api/v1/agent/stream")).status);
    if (stream !== 401) fail("signed out, the stream answered " + stream);
    if (await ann.locator("#calls-body tr").count() !== 0) fail("the log is still on screen");
  });
} finally {
  await browser.close();
}
console.log(results.length + " browser cases passed");
