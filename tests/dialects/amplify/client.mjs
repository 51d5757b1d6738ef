// An app using the real aws-amplify in-app messaging client, pointed at a local Herald.
//
// Configured as docs/MIGRATING-FROM-PINPOINT.md says: region "herald.example.org#", so Amplify
// calls https://pinpoint.herald.example.org/v1/apps/...; a fetch wrapper stands in for that
// DNS name and sends the request to HERALD_URL, recording what Amplify sent and received.
// Credentials come from a fake provider: Herald does not check SigV4 signatures.
//
// Amplify makes its ids (endpoint id, event ids) with uuid's v4, which uses node:crypto's
// randomUUID. With ID_SEED set, randomUUID is replaced, before Amplify is loaded, by a
// deterministic sequence derived from the seed: two runs with one seed send the same endpoint
// and the same event ids, as a client resending its buffer would.
//
// Prints one JSON object: the messages received per dispatched event and every request sent.

import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";

const { HERALD_URL, APP_ID, USER_ID, ID_SEED } = process.env;
const REGION = "herald.example.org#";
const PINPOINT_HOST = "pinpoint.herald.example.org";

if (ID_SEED) {
  let counter = 0;
  crypto.randomUUID = () => {
    const hex = crypto.createHash("sha256").update(`${ID_SEED}:${counter++}`).digest("hex");
    const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
  syncBuiltinESMExports();
}

const sent = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.host !== PINPOINT_HOST) {
    throw new Error(`unexpected request to ${url.href}`);
  }
  const target = HERALD_URL + url.pathname + url.search;
  const response = await realFetch(target, init);
  const text = await response.clone().text();
  sent.push({
    method: init.method,
    path: url.pathname,
    body: init.body ? JSON.parse(init.body) : null,
    status: response.status,
    answer: text ? JSON.parse(text) : null,
    signed: String((init.headers || {}).authorization || "").startsWith("AWS4-HMAC-SHA256"),
  });
  return response;
};

const { Amplify } = await import("aws-amplify");
const inApp = await import("aws-amplify/in-app-messaging");
const { flushEvents } = await import("@aws-amplify/core/internals/providers/pinpoint");

const credentials = {
  accessKeyId: "AKIDFAKEFAKEFAKE",
  secretAccessKey: "fake-secret",
  sessionToken: "fake-session",
};
const identityId = "herald.example.org:00000000-0000-0000-0000-000000000000";
Amplify.configure(
  { Notifications: { InAppMessaging: { Pinpoint: { appId: APP_ID, region: REGION } } } },
  {
    Auth: {
      credentialsProvider: {
        getCredentialsAndIdentityId: async () => ({ credentials, identityId }),
        clearCredentialsAndIdentityId: () => {},
      },
    },
  },
);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const received = [];
inApp.initializeInAppMessaging();
inApp.onMessageReceived((message) => received.push(message));

await inApp.identifyUser({
  userId: USER_ID,
  userProfile: {
    demographic: { locale: "fr-FR", timezone: "Europe/Paris", platform: "ios" },
    customProperties: { plan: ["gold"] },
  },
});
await inApp.syncMessages();

const dispatched = {};
for (const [label, event] of [
  ["non_matching", { name: "checkout", attributes: { screen: "home" } }],
  ["matching", { name: "checkout", attributes: { screen: "cart" } }],
]) {
  const before = received.length;
  await inApp.dispatchEvent(event);
  await sleep(20);
  dispatched[label] = received.slice(before);
}

const [message] = dispatched.matching;
if (message) {
  // Each interaction is recorded asynchronously; one at a time keeps the id order fixed.
  for (const type of ["messageDisplayed", "messageActionTaken", "messageDismissed"]) {
    inApp.notifyMessageInteraction({ type, message });
    await sleep(100);
  }
  const wanted = 3;
  const deadline = Date.now() + 10_000;
  const eventsSent = () =>
    sent
      .filter((r) => r.path.endsWith("/events") && r.status === 202)
      .reduce((n, r) => n + Object.values(r.body.BatchItem).reduce((m, b) => m + Object.keys(b.Events).length, 0), 0);
  while (eventsSent() < wanted && Date.now() < deadline) {
    flushEvents({ appId: APP_ID, region: REGION, credentials, identityId });
    await sleep(200);
  }
}

process.stdout.write(JSON.stringify({ dispatched, sent }));
process.exit(0);
