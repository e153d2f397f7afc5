// Drives the Twilio stand-in of `tests/it/twilio_dial.rs` with Twilio's own
// Node library (npm `twilio`), once, to check that the stand-in's shapes are
// Twilio's: the client sends Create Call as it sends it to Twilio, and reads
// the stand-in's 201 and errors as it reads Twilio's. Started by the Rust test
// `twilio_dial::twilios_own_client_reads_the_stand_in_as_twilio`, which
// passes the stand-in's address, the account SID and the auth token.
import twilio from "twilio";

const base = process.env.TWILIO_BASE;
const sid = process.env.TWILIO_ACCOUNT_SID;
const token = process.env.TWILIO_AUTH_TOKEN;
let passed = 0;

function fail(message) {
  console.error("FAILED: " + message);
  process.exit(1);
}

function clientWith(authToken) {
  const client = twilio(sid, authToken);
  // The library's documented way to reach another host (its tests do this).
  client.api.baseUrl = base;
  return client;
}

const call = {
  to: "client:ann",
  from: "+14155550199",
  url: "https://deskbridge.acme.example/api/v1/twilio/support/dial/d1",
  method: "POST",
  statusCallback: "https://deskbridge.acme.example/api/v1/twilio/support?call_id=d1&leg=agent",
  statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
  statusCallbackMethod: "POST",
};

const created = await clientWith(token).calls.create(call);
if (!/^CA[0-9a-f]{32}$/.test(created.sid) || created.status !== "queued" || created.direction !== "outbound-api")
  fail("the created call reads as " + JSON.stringify(created));
console.log("ok - Create Call: " + created.sid + " " + created.status);
passed++;

try {
  await clientWith(token).calls.create({ ...call, from: "+14155550111" });
  fail("a caller id not of the account was accepted");
} catch (e) {
  if (e.code !== 21210 || e.status !== 400) fail("21210 reads as " + e);
  console.log("ok - 21210: " + e.message);
  passed++;
}

try {
  await clientWith("not-the-token").calls.create(call);
  fail("a wrong token was accepted");
} catch (e) {
  if (e.code !== 20003 || e.status !== 401) fail("20003 reads as " + e);
  console.log("ok - 20003: " + e.message);
  passed++;
}
console.log(passed + " twilio client cases passed");
