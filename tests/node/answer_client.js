// Twilio's JavaScript SDKs (npm @twilio/conversations, twilio-sync,
// @twilio/voice-sdk) as a user's program runs them, pointed at a local
// server, for tokshim's answer tests (tests/e2e/t_answer_node.sh):
//   node answer_client.js conversations|sync TOKEN wss://HOST:PORT/v3/wsconnect [SECONDS] [--update TOKEN2]
//   node --experimental-websocket answer_client.js voice TOKEN wss://HOST:PORT/signal [SECONDS]
// The server's certificate comes through NODE_EXTRA_CA_CERTS. Prints one
// line per event the SDK reports and exits 0 after SECONDS (default 10) or
// the first final outcome. --update: calls updateToken(TOKEN2) on
// tokenAboutToExpire (the control of the refresh tests); without it the
// event is only printed (an app that ignores it).
"use strict";
const args = process.argv.slice(2);
const [sdk, token, uri] = args;
const secs = Number(args[3] && !args[3].startsWith("--") ? args[3] : 10);
const ui = args.indexOf("--update");
const update = ui >= 0 ? args[ui + 1] : null;
if (!sdk || !token || !uri) {
  console.error("usage: answer_client.js conversations|sync|voice TOKEN URI [SECONDS] [--update TOKEN2]");
  process.exit(2);
}
let done = false;
let client = null;
function finish(line) {
  if (done) return;
  done = true;
  console.log(line);
  try {
    const r = client && (client.shutdown ? client.shutdown() : client.destroy ? client.destroy() : null);
    if (r && r.catch) r.catch(() => {});
  } catch (e) { /* already down */ }
  setTimeout(() => process.exit(0), 200);
}
setTimeout(() => finish("outcome: timeout"), 1000 * secs).unref();
const stay = args.includes("--stay");

function twilsockEvents(c) {
  c.on("connectionStateChanged", (state) => {
    console.log("state: " + state);
    if (!stay && state === "connected") finish("outcome: connected");
    if (state === "denied") finish("outcome: denied");
  });
  c.on("connectionError", (e) => {
    console.log("connectionError: " + (e && e.errorCode) + " " + ((e && e.message) || ""));
    if (!stay) finish("outcome: error " + (e && e.errorCode));
  });
  c.on("tokenAboutToExpire", () => {
    console.log("tokenAboutToExpire");
    if (update) c.updateToken(update).then(() => console.log("updated"), (e) => console.log("update failed: " + e));
  });
  c.on("tokenExpired", () => finish("outcome: tokenExpired"));
}

if (sdk === "conversations") {
  const { Client } = require("@twilio/conversations");
  client = new Client(token, { logLevel: "silent", twilsock: { uri },
    retryPolicy: { min: 60000, max: 60000, randomness: 0 } });
  twilsockEvents(client);
} else if (sdk === "sync") {
  const SyncClient = require("twilio-sync").default || require("twilio-sync").SyncClient || require("twilio-sync");
  client = new SyncClient(token, { logLevel: "silent", twilsock: { uri } });
  twilsockEvents(client);
} else if (sdk === "voice") {
  // the Voice SDK is written for browsers: the few globals its Device reads
  // before it opens its signalling WebSocket (no media is used here)
  if (typeof globalThis.navigator === "undefined")
    globalThis.navigator = { userAgent: "Node.js " + process.version, platform: process.platform };
  if (typeof globalThis.window === "undefined") globalThis.window = globalThis;
  if (typeof globalThis.document === "undefined")
    globalThis.document = { createElement: () => ({ setAttribute() {}, addEventListener() {} }), addEventListener() {} };
  const { Device } = require("@twilio/voice-sdk");
  client = new Device(token, { logLevel: "silent", chunderw: uri.replace(/^wss:\/\//, "").replace(/\/signal$/, "") });
  client.on("registered", () => finish("outcome: registered"));
  client.on("error", (e) => {
    console.log("error: " + (e && e.code) + " " + ((e && e.message) || "") + (process.env.DEBUG_SDK ? " " + JSON.stringify(e && e.originalError) + " " + (e && e.stack) : ""));
    finish("outcome: error " + (e && e.code));
  });
  // register() rejects also when finish() destroys the Device: said only before
  client.register().catch((e) => { if (!done) console.log("register: " + (e && (e.code || e.message))); });
} else {
  console.error("unknown sdk " + sdk);
  process.exit(2);
}
