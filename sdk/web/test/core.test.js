// The core against a fake Herald: one trigger request per session, a fetch only for a matching
// event, messages one at a time by priority, events once each with ids made once, safe links,
// and a page that never breaks when Herald cannot be reached.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Herald } from "../src/core.js";
import { fakeHerald, message, options } from "./fakes.js";

const CHECKOUT = { event: "checkout", conditions: [{ attribute: "total", op: "gte", value: 50 }] };

async function started(server, extra) {
  const herald = new Herald(options(server, extra));
  await herald.start();
  return herald;
}

test("a session of many events costs one trigger request and one fetch per matching event", async () => {
  const server = fakeHerald({ triggers: () => ({ triggers: [CHECKOUT], next_fetch_after: 300 }) });
  const herald = await started(server);
  for (let n = 0; n < 20; n += 1) await herald.track("scroll", { n });
  await herald.track("checkout", { total: 20 }); // the event matches, its condition does not
  await herald.track("checkout", { total: "75" }); // numeric strings compare as numbers
  assert.equal(server.count("triggers"), 1);
  assert.equal(server.count("register"), 1);
  assert.equal(server.count("messages"), 1);
  const fetched = server.requests.find((r) => r.route === "messages");
  assert.deepEqual(fetched.body, { event: "checkout", attributes: { total: "75" } });
  await herald.flush();
  assert.equal(server.count("events"), 1);
  const sent = server.requests.find((r) => r.route === "events").body.events;
  assert.equal(sent.length, 22);
  assert.ok(sent.every((e) => e.type === "custom" && e.device_id === "d-1"));
  assert.equal(new Set(sent.map((e) => e.id)).size, 22, "every event has its own id");
  herald.destroy();
});

test("the trigger list is asked again only once next_fetch_after has run out", async (t) => {
  t.mock.timers.enable({ apis: ["Date", "setTimeout"], now: Date.parse("2026-12-01T10:00:00Z") });
  const server = fakeHerald({ triggers: () => ({ triggers: [CHECKOUT], next_fetch_after: 60 }) });
  const herald = await started(server);
  await herald.track("a");
  t.mock.timers.tick(59_000);
  await herald.track("b");
  assert.equal(server.count("triggers"), 1);
  t.mock.timers.tick(2_000);
  await herald.track("c");
  assert.equal(server.count("triggers"), 2);
  herald.destroy();
});

test("register carries the user and, when given, the user token", async () => {
  const server = fakeHerald();
  const herald = await started(server, { locale: "fr-FR", timezone: "Europe/Paris", attributes: { plan: "gold" } });
  await herald.identify("u-42", { userToken: "abc123", attributes: { vip: true } });
  const [first, second] = server.requests.filter((r) => r.route === "register");
  assert.deepEqual(first.body, { platform: "web", locale: "fr-FR", timezone: "Europe/Paris", attributes: { plan: "gold" } });
  assert.deepEqual(second.body, {
    platform: "web", locale: "fr-FR", timezone: "Europe/Paris",
    attributes: { plan: "gold", vip: true }, user_id: "u-42", user_token: "abc123",
  });
  await herald.setAttributes({ plan: null, seats: 3 });
  const third = server.requests.filter((r) => r.route === "register")[2];
  assert.deepEqual(third.body.attributes, { vip: true, seats: 3 });
  assert.equal(second.path, "/devices/d-1");
  assert.equal(second.headers["X-Client-Key"], "herald_client_app-1_x");
  herald.destroy();
});

test("messages show one at a time, highest priority first, each engagement once", async () => {
  const server = fakeHerald({
    triggers: () => ({ triggers: [{ event: "go", conditions: [] }], next_fetch_after: 300 }),
    messages: () => ({ messages: [message("low", 8), message("high", 1), message("mid", 4)], next_fetch_after: 300 }),
  });
  const herald = await started(server);
  const shown = [];
  herald.on("message", (item, controls) => shown.push({ id: item.engagement_id, controls }));
  await herald.track("go");
  await herald.track("go"); // the same engagements again: already waiting or showing
  assert.deepEqual(shown.map((s) => s.id), ["high"]);
  shown[0].controls.impression();
  shown[0].controls.impression(); // once per display
  shown[0].controls.dismiss();
  assert.deepEqual(shown.map((s) => s.id), ["high", "mid"]);
  shown[1].controls.click("buy");
  shown[1].controls.dismiss(); // the display ended with the click
  assert.deepEqual(shown.map((s) => s.id), ["high", "mid", "low"]);
  await herald.flush();
  const kinds = server.requests.filter((r) => r.route === "events").flatMap((r) => r.body.events)
    .filter((e) => e.type !== "custom").map((e) => [e.type, e.engagement_id, e.element]);
  assert.deepEqual(kinds, [["impression", "high", undefined], ["dismiss", "high", undefined], ["click", "mid", "buy"]]);
  herald.destroy();
});

test("links: http(s) only; deep links go to the action handler; javascript: is never followed", async () => {
  const followed = [];
  const navigator = { assign: (url) => followed.push(["assign", url]), open: (url) => followed.push(["open", url]) };
  const herald = await started(fakeHerald(), { navigator });
  const item = message("e", 5);
  item.message.buttons.push({ id: "web", label: "Web", action: { type: "deep_link", target: "https://shop.example/a" } });
  item.message.buttons.push({ id: "site", label: "Site", action: { type: "url", target: "https://shop.example/b" } });
  herald.act(item.message.buttons[0], item); // shop://sale without handler: nothing
  herald.act(item.message.buttons[1], item); // javascript: url: nothing
  herald.act(item.message.buttons[2], item);
  herald.act(item.message.buttons[3], item);
  assert.deepEqual(followed, [["assign", "https://shop.example/a"], ["open", "https://shop.example/b"]]);
  const actions = [];
  herald.on("action", (button) => actions.push(button.action.target));
  herald.act(item.message.buttons[0], item);
  herald.act(item.message.buttons[2], item); // with a handler, the handler decides deep links
  assert.deepEqual(actions, ["shop://sale", "https://shop.example/a"]);
  assert.equal(followed.length, 2);
  herald.destroy();
});

test("offline or Herald down: nothing throws, errors reach on('error'), events wait", async () => {
  const server = fakeHerald({
    register: () => new TypeError("Failed to fetch"),
    triggers: () => new TypeError("Failed to fetch"),
    events: () => new TypeError("Failed to fetch"),
  });
  const herald = new Herald(options(server));
  const errors = [];
  herald.on("error", (error) => errors.push(error.message));
  herald.on("error", () => {
    throw new Error("a broken handler is ignored");
  });
  await herald.start();
  await herald.track("anything", { a: 1 });
  await herald.flush();
  assert.ok(errors.some((m) => m.includes("could not be reached")));
  assert.equal(herald.queue.pending().length, 1);
  await herald.track("bad name!");
  assert.ok(errors.some((m) => m.includes("event name")));
  herald.destroy();
});

test("a 429 or 503 is retried no sooner than Retry-After and the events count once", async () => {
  let calls = 0;
  const server = fakeHerald({
    events: ({ body }) => {
      calls += 1;
      return calls === 1
        ? server.answer(503, { Code: "ServiceUnavailable", Message: "queue" }, { "Retry-After": "5" })
        : server.answer(202, { accepted: body.events.length });
    },
  });
  const herald = await started(server);
  await herald.track("one");
  await herald.flush();
  assert.ok(herald.queue.blockedUntil - Date.now() >= 4_000);
  herald.queue.blockedUntil = 0; // as if 5 s had passed
  await herald.flush();
  const batches = server.requests.filter((r) => r.route === "events").map((r) => r.body.events.map((e) => e.id));
  assert.equal(batches.length, 2);
  assert.deepEqual(batches[0], batches[1], "the retry sends the same ids");
  assert.equal(herald.queue.pending().length, 0);
  herald.destroy();
});

test("a stored random device id is reused across sessions", async () => {
  const server = fakeHerald();
  const first = new Herald(options(server, { deviceId: undefined }));
  const storage = first.storage.store;
  const second = new Herald(options(server, { deviceId: undefined, storage }));
  assert.match(first.deviceId, /^web-[0-9a-f-]{36}$/);
  assert.equal(second.deviceId, first.deviceId);
  assert.throws(() => new Herald(options(server, { deviceId: "bad id" })), /deviceId/);
  assert.throws(() => new Herald(options(server, { clientKey: "" })), /clientKey/);
  first.destroy();
  second.destroy();
});
