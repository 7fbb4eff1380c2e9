// The real Twilio Conversations SDK (npm @twilio/conversations) as a user's
// program runs it, pointed at a local Twilsock server:
//   node conversations_client.js TOKEN wss://127.0.0.1:PORT/v3/wsconnect [SECONDS]
// The server's certificate comes through NODE_EXTRA_CA_CERTS. Prints one line
// per event the SDK reports (connection states, errors), and exits 0 after the
// first connected/denied outcome, or after SECONDS (default 10).
"use strict";
const { Client } = require("@twilio/conversations");

const [token, uri, secs] = process.argv.slice(2);
if (!token || !uri) {
  console.error("usage: conversations_client.js TOKEN WSS_URI [SECONDS]");
  process.exit(2);
}
let done = false;
function finish(line) {
  if (done) return;
  done = true;
  console.log(line);
  try { client.shutdown().catch(() => {}); } catch (e) { /* already down */ }
  setTimeout(() => process.exit(0), 200);
}

const client = new Client(token, {
  logLevel: "silent",
  twilsock: { uri },
  // no retries: one connection, one outcome
  retryPolicy: { min: 60000, max: 60000, randomness: 0 },
});
client.on("connectionStateChanged", (state) => {
  console.log("state: " + state);
  if (state === "connected") finish("outcome: connected");
  if (state === "denied") finish("outcome: denied");
});
client.on("connectionError", (e) => {
  console.log("connectionError: " + (e && e.errorCode) + " " + ((e && e.message) || ""));
  finish("outcome: error " + (e && e.errorCode));
});
client.on("initFailed", ({ error }) => {
  console.log("initFailed: " + ((error && error.message) || ""));
});
client.on("tokenExpired", () => finish("outcome: tokenExpired"));
setTimeout(() => finish("outcome: timeout"), 1000 * Number(secs || 10)).unref();
