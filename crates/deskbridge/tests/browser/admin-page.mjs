// Drives the admin page in Debian's Chromium, headless, with playwright-core
// (never a browser Playwright downloads). Started by the Rust test
// `browser::the_admin_page_in_chromium` (crates/deskbridge/tests/it/browser.rs),
// which runs deskbridge in-process against the Zendesk emulator and sets the
// scene first: a call that failed for good (the emulator refused to create
// its caller, and has been healed since), and a CRM trigger's notification
// that gave up (its receiver was not listening). Each case checks what an
// admin would: the page's text, then the call and the notification through
// the API. Exits non-zero on the first failure.
import http from "node:http";
import { apiOf, fail, launch, runner } from "./lib.mjs";

const base = process.env.DESKBRIDGE_URL;
const token = process.env.DESKBRIDGE_TOKEN;
const crmToken = process.env.CRM_TOKEN;
const adminPassword = process.env.ADMIN_PASSWORD;
const plainToken = process.env.PLAIN_TOKEN;
const failedCall = process.env.FAILED_CALL;
const receiverPort = Number(process.env.RECEIVER_PORT);
const screenshotDir = process.env.SCREENSHOT_DIR;

const api = apiOf(base, token);

const { test, results } = runner();
const browser = await launch();
// The trigger's receiver, listening only now: its notification is a dead
// letter until it is replayed.
const received = [];
const receiver = http.createServer((req, res) => {
  received.push(req.url);
  res.writeHead(204);
  res.end();
});
try {
  const plainContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const adminContext = await browser.newContext({ viewport: { width: 1440, height: 1100 } });
  const plain = await plainContext.newPage();
  const admin = await adminContext.newPage();

  await test("a non-admin agent is told they are not an admin", async () => {
    await plain.goto(base + "/admin");
    await plain.getByRole("heading", { name: "Sign in" }).waitFor();
    await plain.getByLabel("Agent token").fill(plainToken);
    await plain.getByRole("button", { name: "Sign in" }).click();
    await plain.getByRole("heading", { name: "Not an admin" }).waitFor();
    await plain.getByRole("alert").filter({ hasText: "admin = true" }).waitFor();
    if (await plain.locator("#console").isVisible()) fail("the console is shown to a non-admin");
    const status = await plain.evaluate(async () => (await fetch("/api/v1/admin/overview")).status);
    if (status !== 403) fail("the overview answered a non-admin with " + status);
    // The agent page offers no admin link to them.
    await plain.goto(base + "/agent");
    await plain.locator("#who").filter({ hasText: "Pat Plain" }).waitFor();
    if (await plain.getByRole("link", { name: "Admin page" }).isVisible()) fail("a non-admin has the admin link");
  });

  await test("an admin signs in and sees groups, instances, the queue and the mirror", async () => {
    await admin.goto(base + "/agent");
    await admin.getByLabel("Email").fill("ada@acme.com");
    await admin.getByLabel("Password").fill(adminPassword);
    await admin.getByRole("button", { name: "Sign in" }).click();
    // The agent page links an admin to the admin page.
    await admin.getByRole("link", { name: "Admin page" }).click();
    await admin.getByRole("heading", { name: "Groups" }).waitFor();
    await admin.locator("#groups-body tr").filter({ hasText: "support" }).filter({ hasText: "zendesk" }).waitFor();
    await admin.locator("#groups-body tr").filter({ hasText: "crm" }).filter({ hasText: "builtin" }).waitFor();
    await admin.locator("#instances-body tr").filter({ hasText: "(this one)" }).waitFor();
    await admin.locator("#queue-body tr").filter({ hasText: "live" }).waitFor();
    await admin.locator("#queue-body tr").filter({ hasText: "bulk" }).waitFor();
    await admin.locator("#mirror-state").filter({ hasText: "Not configured" }).waitFor();
  });

  await test("a failed call shows its reason, and Retry makes it done", async () => {
    const row = admin.locator("#failed-body tr[data-call='" + failedCall + "']");
    await row.filter({ hasText: "identify_caller" }).filter({ hasText: "admin role" }).waitFor();
    await admin.locator("#dead-body tr").first().waitFor();
    if (screenshotDir) {
      const path = screenshotDir + "/admin-page.png";
      await admin.screenshot({ path, fullPage: true });
      console.log("  screenshot: " + path);
    }
    await row.getByRole("button", { name: "Retry call " + failedCall }).click();
    await row.locator(".state[data-state='done']").waitFor({ timeout: 30000 });
    const call = await api("GET", "/api/v1/calls/" + failedCall);
    if (call.data.sync !== "done") fail("the call is " + JSON.stringify(call.data));
    if (!call.data.ticket_id) fail("the call has no ticket: " + JSON.stringify(call.data));
    // Refreshed, the call is no longer among the failed ones.
    await admin.getByRole("button", { name: "Refresh" }).click();
    await admin.locator("#failed-empty").filter({ hasText: "No failed calls" }).waitFor();
  });

  await test("a dead letter is replayed from the keyboard and delivered", async () => {
    await new Promise((resolve) => receiver.listen(receiverPort, "127.0.0.1", resolve));
    const row = admin.locator("#dead-body tr").first();
    await row.locator(".state[data-state='failed']").waitFor();
    const replay = row.getByRole("button", { name: /^Replay notification / });
    await replay.focus();
    await admin.keyboard.press("Enter");
    await row.locator(".state[data-state='delivered']").waitFor({ timeout: 30000 });
    if (received.length !== 1 || !received[0].startsWith("/hook?")) fail("the receiver got " + JSON.stringify(received));
    const dead = await api("GET", "/api/v1/triggers/deliveries?status=failed", undefined, crmToken);
    if (dead.data.deliveries.length !== 0) fail("dead letters left: " + JSON.stringify(dead.data));
  });

  await test("signed out, the admin page asks to sign in", async () => {
    await admin.getByRole("button", { name: "Sign out" }).click();
    await admin.getByRole("heading", { name: "Sign in" }).waitFor();
    await admin.reload();
    await admin.getByRole("heading", { name: "Sign in" }).waitFor();
    const status = await admin.evaluate(async () => (await fetch("/api/v1/admin/overview")).status);
    if (status !== 401) fail("signed out, the overview answered " + status);
  });
} finally {
  receiver.close();
  await browser.close();
}
console.log(results.length + " browser cases passed");
