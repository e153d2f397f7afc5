// deskbridge's Zendesk app in Debian's Chromium, headless, with playwright-core,
// inside the emulated Zendesk's agent interface (`/__emulator/agent`: it loads
// the app's top bar location by POSTing the token it signed, and answers the
// Apps framework SDK as Zendesk does). Started by the Rust test
// `browser::the_zendesk_app_in_chromium`, which runs the emulator and
// deskbridge in-process and passes their addresses and the records' ids in the
// environment. Exits non-zero on the first failure.
import { apiOf, fail, launch, postEvents, runner, waitFor } from "./lib.mjs";

const base = process.env.DESKBRIDGE_URL;
const zendesk = process.env.EMULATOR_URL;
const ann = process.env.ANN_ID;
const grace = process.env.GRACE_ID;
const printer = process.env.PRINTER_ID;
const installation = process.env.INSTALLATION_ID;
const screenshot = process.env.SCREENSHOT;
const api = apiOf(base, process.env.DESKBRIDGE_TOKEN);

const events = (list) => postEvents(api, list);

/// What the app asked Zendesk for, as the host page recorded it.
async function zafRecords(page) {
  return page.evaluate(() => window.zafRecords);
}

const { test, results } = runner();
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const app = page.frameLocator("#app");

  await test("Ann opens Zendesk and the app signs her in, with no password", async () => {
    await page.goto(zendesk + "/__emulator/agent?user=" + ann + "&installation=" + installation);
    await app.locator("#who").filter({ hasText: "Ann Example" }).waitFor();
    await app.locator("#live[data-state='open']").waitFor();
    if (await app.locator("#signin-form").isVisible()) fail("the password form shows in Zendesk");
    const records = await zafRecords(page);
    if (!records.some((r) => r.key === "iframe.handshake")) fail("no SDK handshake: " + JSON.stringify(records));
    if (!records.some((r) => r.request === "invoke" && r.params.resize)) fail("no resize: " + JSON.stringify(records));
  });

  await test("a call rings Ann: the top bar pops open with the caller's card", async () => {
    await events([{ id: "zb-1", call_id: "zb", type: "ringing", direction: "inbound",
      from: "+14155550123", to: "+14155550199", agent: { email: "ann@acme.com" },
      attributes: { ticket_assignment: "agent" } }]);
    await app.locator("#card-name").filter({ hasText: "Grace Hopper" }).waitFor();
    await app.locator("#card-tickets").filter({ hasText: "#" + printer }).waitFor();
    await waitFor("the pane popped", async () =>
      (await zafRecords(page)).some((r) => r.request === "invoke" && r.params.popover));
    if (screenshot) await page.screenshot({ path: screenshot });
  });

  await test("a ticket link opens the ticket in Zendesk (routeTo)", async () => {
    await app.locator("#card-tickets a").filter({ hasText: "#" + printer }).click();
    await waitFor("routeTo the ticket", async () =>
      (await zafRecords(page)).some((r) => r.request === "invoke" && r.params.routeTo
        && r.params.routeTo[0] === "ticket" && String(r.params.routeTo[1]) === printer));
    if (page.frames().length !== 2) fail("the link navigated away: " + page.frames().length + " frames");
  });

  await test("Ann attaches the call to the ticket in agent mode; the call lands there", async () => {
    await events([{ id: "zb-2", call_id: "zb", type: "answered", agent: { email: "ann@acme.com" } }]);
    await app.locator("#decide").waitFor();
    await app.locator("#attach-id").fill(printer);
    await app.getByRole("button", { name: "Attach" }).click();
    await app.locator("#card-chosen").filter({ hasText: "#" + printer }).waitFor();
    await events([{ id: "zb-3", call_id: "zb", type: "ended", reason: "completed",
      recording_url: "https://recordings.example/zb.mp3" }]);
    const call = await waitFor("the call synced", async () => {
      const r = await api("GET", "/api/v1/calls/zb");
      return r.status === 200 && r.data.sync === "done" ? r.data : null;
    });
    if (call.ticket_id !== printer) fail("the call went to " + call.ticket_id);
  });

  await test("the ticket's sidebar lists the call with its recording; the user's sidebar too", async () => {
    for (const [location, record] of [["ticket_sidebar", printer], ["user_sidebar", grace]]) {
      await page.goto(zendesk + "/__emulator/agent?user=" + ann + "&installation=" + installation
        + "&location=" + location + "&record=" + record);
      const row = app.locator("#record-calls tr[data-call-id='zb']");
      await row.waitFor({ timeout: 10000 }).catch(async () => fail(location + " shows: "
        + await app.locator("body").innerText() + "; requests: " + JSON.stringify(await zafRecords(page))));
      const listen = row.getByRole("link", { name: "Listen" });
      if (await listen.getAttribute("href") !== "https://recordings.example/zb.mp3") {
        fail(location + ": the recording link is " + await listen.getAttribute("href"));
      }
      await row.filter({ hasText: "ann@acme.com" }).waitFor();
      await row.filter({ hasText: "answered" }).waitFor();
    }
  });

  await test("an end user's token signs no one in", async () => {
    const other = await browser.newContext();
    const page2 = await other.newPage();
    await page2.goto(zendesk + "/__emulator/agent?user=" + grace + "&installation=" + installation);
    const frame = page2.frameLocator("#app");
    await frame.locator("body").filter({ hasText: "unauthorized" }).waitFor();
    if (await frame.locator("#desk").count() > 0) fail("a page for a refused sign-in");
    // Asked from the frame itself (deskbridge's origin, its cookies).
    const me = await page2.frame({ name: "app" }).evaluate(async () =>
      (await fetch("/api/v1/agent/me")).status);
    if (me !== 401) fail("a session after a refused sign-in: " + me);
    await other.close();
  });
} finally {
  await browser.close();
}
console.log(results.length + " browser cases passed");
