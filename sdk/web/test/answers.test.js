// Answers to a message's question through the core: checked before they are queued, one
// `response` event per display whose id is made once (a retry sends the same id), and the
// display ends with the answer; herald.respond does the same for apps that render themselves.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Herald } from "../src/core.js";
import { fakeHerald, message, options } from "./fakes.js";

const RATING = { type: "rating", prompt: "How was it?", submit_label: "Send" };
const PICK = {
  type: "choice", prompt: "Which?", submit_label: "Send", multiple: true,
  options: [{ id: "red", label: "Red" }, { id: "blue", label: "Blue" }],
};

async function showing(server, questions) {
  const herald = new Herald(options(server));
  await herald.start();
  const shown = [];
  herald.on("message", (item, controls) => shown.push({ item, controls }));
  herald.present(questions.map((question, index) => {
    const made = message(`e${index}`, index + 1);
    made.message.question = question;
    return made;
  }));
  return { herald, shown };
}

const sentEvents = (server) =>
  server.requests.filter((r) => r.route === "events").flatMap((r) => r.body.events).filter((e) => e.type !== "custom");

test("an answer is queued once per display, as a response event, and ends the display", async () => {
  const server = fakeHerald();
  const { herald, shown } = await showing(server, [RATING, PICK]);
  const errors = [];
  herald.on("error", (error) => errors.push(error.message));
  shown[0].controls.impression();
  assert.equal(shown[0].controls.respond(7), false, "a rating of 7 does not fit");
  assert.match(errors[0], /whole number from 1 to 5/);
  assert.equal(shown.length, 1, "a refused answer leaves the display open");
  assert.equal(shown[0].controls.respond(4), true);
  assert.equal(shown[0].controls.respond(5), false, "once per display");
  shown[0].controls.dismiss(); // the display ended with the answer
  assert.equal(shown.length, 2, "the next message comes");
  assert.equal(herald.respond(shown[0].item, 3), false, "not showing any more");
  assert.equal(herald.respond(shown[1].item, ["blue", "red"]), true, "the same through herald.respond");
  await herald.flush();
  const sent = sentEvents(server).map(({ type, engagement_id, variant, value }) => [type, engagement_id, variant, value]);
  assert.deepEqual(sent, [
    ["impression", "e0", "A", undefined],
    ["response", "e0", "A", 4],
    ["response", "e1", "A", ["blue", "red"]],
  ]);
  herald.destroy();
});

test("a message without a question takes no answer", async () => {
  const server = fakeHerald();
  const { herald, shown } = await showing(server, [undefined]);
  const errors = [];
  herald.on("error", (error) => errors.push(error.message));
  assert.equal(shown[0].controls.respond(3), false);
  assert.match(errors[0], /asks no question/);
  await herald.flush();
  assert.deepEqual(sentEvents(server), []);
  herald.destroy();
});

test("an answer that fails to send is sent again with the same id, and counted once", async () => {
  let calls = 0;
  const server = fakeHerald({
    events: ({ body }) => {
      calls += 1;
      return calls === 1 ? new TypeError("Failed to fetch") : server.answer(202, { accepted: body.events.length });
    },
  });
  const { herald, shown } = await showing(server, [RATING]);
  shown[0].controls.respond(5);
  await herald.flush();
  assert.equal(herald.queue.pending().length, 1, "kept until Herald took it");
  herald.queue.blockedUntil = 0;
  await herald.flush();
  const [first, second] = server.requests.filter((r) => r.route === "events").map((r) => r.body.events);
  assert.deepEqual(first, second, "the retry is the same event, the same id");
  assert.equal(herald.queue.pending().length, 0);
  herald.destroy();
});
