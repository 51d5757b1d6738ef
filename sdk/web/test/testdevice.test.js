// Enrolled test devices: the token goes as X-Herald-Test-Token with the fetch (and with no other
// request), only for the device it was made for; an enrolment link (the console's
// herald-test://enrol?…), given to enrol() or in the page URL's fragment, is kept in storage;
// a test device asks Herald on every event, since drafts are not in the trigger list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { Herald } from "../src/core.js";
import { parseEnrolmentLink } from "../src/device.js";
import { memoryStore } from "../src/storage.js";
import { fakeHerald, options } from "./fakes.js";

const TOKEN = `herald_test_${"ab".repeat(32)}`;
const LINK = `herald-test://enrol?app_id=app-1&device_id=qa-web-1&test_token=${TOKEN}`;
const headersOf = (server, route) => server.requests.filter((r) => r.route === route).map((r) => r.headers);

test("parseEnrolmentLink reads the console's link, also in a fragment and percent-encoded", () => {
  const enrolment = { appId: "app-1", deviceId: "qa-web-1", testToken: TOKEN };
  assert.deepEqual(parseEnrolmentLink(LINK), enrolment);
  assert.deepEqual(parseEnrolmentLink(`https://shop.example/page?x=1#${LINK}`), enrolment);
  assert.deepEqual(parseEnrolmentLink(encodeURIComponent(LINK)), enrolment);
  for (const bad of [
    "https://shop.example/", "herald-test://enrol?app_id=app-1&device_id=qa-web-1",
    LINK.replace("qa-web-1", "bad id"), LINK.replace(TOKEN, "herald_test_x"), "%E0%A4%A", 42, null,
  ]) {
    assert.equal(parseEnrolmentLink(bad), null, String(bad));
  }
});

const LINK_CASES = JSON.parse(
  readFileSync(new URL("../../shared/enrolment-links.json", import.meta.url), "utf8"),
).cases;

for (const { name, link, enrolment } of LINK_CASES) {
  test(`shared enrolment link case: ${name}`, () => {
    const expected = enrolment && {
      appId: enrolment.app_id,
      deviceId: enrolment.device_id,
      testToken: enrolment.test_token,
    };
    assert.deepEqual(parseEnrolmentLink(link), expected);
  });
}

test("a testToken goes with every fetch and no other request; a test device fetches on any event", async () => {
  const server = fakeHerald({ triggers: () => ({ triggers: [], next_fetch_after: 300 }) });
  const herald = new Herald(options(server, { deviceId: "qa-web-1", testToken: TOKEN }));
  await herald.start();
  await herald.track("opened_settings"); // no trigger matches: a test device still asks
  await herald.flush();
  assert.deepEqual(headersOf(server, "messages").map((h) => h["X-Herald-Test-Token"]), [TOKEN]);
  for (const route of ["register", "triggers", "events"]) {
    assert.ok(headersOf(server, route).every((h) => !("X-Herald-Test-Token" in h)), route);
  }
  assert.deepEqual(herald.testDevice, { deviceId: "qa-web-1" });
  herald.destroy();

  const plain = fakeHerald();
  const normal = new Herald(options(plain));
  await normal.start();
  await normal.track("opened_settings");
  assert.equal(plain.count("messages"), 0, "an ordinary device fetches only for a trigger");
  assert.equal(normal.testDevice, null);
  assert.throws(() => new Herald(options(plain, { testToken: "x\nInjected: 1" })), /testToken/);
  normal.destroy();
});

test("enrol() keeps the link: the device becomes the enrolled one, across sessions, until unenrol()", async () => {
  const server = fakeHerald();
  const storage = memoryStore();
  const herald = new Herald(options(server, { deviceId: undefined, storage }));
  await herald.start();
  const before = herald.deviceId;
  await assert.rejects(herald.enrol(LINK.replace("app-1", "app-2")), /for app app-2/);
  await assert.rejects(herald.enrol("https://shop.example/"), /not an enrolment link/);
  assert.deepEqual(await herald.enrol(LINK), { deviceId: "qa-web-1" });
  assert.equal(herald.deviceId, "qa-web-1");
  assert.deepEqual(server.requests.filter((r) => r.route === "register").map((r) => r.path), [
    `/devices/${before}`, "/devices/qa-web-1",
  ]);
  herald.destroy();

  const next = new Herald(options(server, { deviceId: undefined, storage }));
  assert.equal(next.deviceId, "qa-web-1");
  assert.equal(next.transport.testToken, TOKEN);
  await next.unenrol();
  assert.equal(next.deviceId, before, "back to the device it was");
  assert.equal(next.testDevice, null);
  next.destroy();
  assert.equal(new Herald(options(server, { deviceId: undefined, storage })).testDevice, null);
});

test("a kept enrolment for another device than the given deviceId sends no token, and says so", async () => {
  const server = fakeHerald();
  const storage = memoryStore();
  const first = new Herald(options(server, { deviceId: undefined, storage }));
  await first.enrol(LINK);
  first.destroy();
  const herald = new Herald(options(server, { deviceId: "d-1", storage }));
  assert.equal(herald.identity.testToken, undefined);
  await assert.rejects(herald.enrol(LINK), /for device qa-web-1, not deviceId d-1/);
  const errors = [];
  herald.on("error", (error) => errors.push(error.message));
  await herald.start();
  assert.ok(errors.some((m) => m.includes("its token is not sent")));
  herald.destroy();
});

test("enrolFromUrl reads the link in the fragment and takes it out of the address bar", async (t) => {
  const replaced = [];
  const location = { hash: `#${LINK}`, pathname: "/shop", search: "?a=1" };
  const history = { state: null, replaceState: (_state, _title, url) => replaced.push(url) };
  Object.assign(globalThis, { location, history });
  t.after(() => {
    delete globalThis.location;
    delete globalThis.history;
  });
  const server = fakeHerald();
  const ignoring = new Herald(options(server, { deviceId: undefined }));
  assert.equal(ignoring.testDevice, null, "off unless asked");
  assert.deepEqual(replaced, []);
  const herald = new Herald(options(server, { deviceId: undefined, enrolFromUrl: true }));
  assert.equal(herald.deviceId, "qa-web-1");
  assert.equal(herald.identity.testToken, TOKEN);
  assert.deepEqual(replaced, ["/shop?a=1"]);
  location.hash = `#${LINK.replace("app-1", "app-9")}`;
  const other = new Herald(options(server, { deviceId: undefined, enrolFromUrl: true }));
  assert.equal(other.testDevice, null, "another app's link is refused");
  assert.equal(replaced.length, 2, "and taken out of the address bar too");
  for (const made of [ignoring, herald, other]) made.destroy();
});
