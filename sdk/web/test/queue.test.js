// The events queue alone: persistence, batching limits, backoff and Retry-After.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  BASE_DELAY_MS,
  EventQueue,
  KEEPALIVE_BYTES,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_DELAY_MS,
  backoffDelay,
  takeBatch,
} from "../src/queue.js";
import { Storage, memoryStore } from "../src/storage.js";
import { HeraldError, retryAfterMs } from "../src/transport.js";

const event = (n, size = 0) => ({ id: `e-${n}`, type: "custom", name: "x", pad: "p".repeat(size) });

function queueWith(send, store = memoryStore()) {
  const timers = [];
  const queue = new EventQueue({
    storage: new Storage(store, "herald:app:"),
    send,
    onError: () => {},
    random: () => 1,
    setTimer: (callback, ms) => (timers.push({ callback, ms }), timers.length),
    clearTimer: () => {},
  });
  return { queue, timers, store };
}

test("the backoff doubles from one second up to five minutes, with full jitter", () => {
  const ceilings = [1, 2, 3, 4, 5, 10, 20].map((attempt) => backoffDelay(attempt, null, () => 0.999999));
  assert.deepEqual(ceilings, [999, 1999, 3999, 7999, 15999, MAX_DELAY_MS - 1, MAX_DELAY_MS - 1]);
  assert.equal(backoffDelay(3, null, () => 0), 0);
  assert.equal(BASE_DELAY_MS, 1000);
});

test("Retry-After is a floor under the jittered delay", () => {
  assert.equal(backoffDelay(1, 30_000, () => 0.5), 30_000);
  assert.equal(backoffDelay(12, 1_000, () => 0.5), 150_000);
});

test("Retry-After is read as seconds or as an HTTP date", () => {
  const now = Date.parse("2026-12-01T10:00:00Z");
  assert.equal(retryAfterMs("7", now), 7000);
  assert.equal(retryAfterMs("Tue, 01 Dec 2026 10:00:30 GMT", now), 30_000);
  assert.equal(retryAfterMs("Tue, 01 Dec 2026 09:00:00 GMT", now), 0);
  assert.equal(retryAfterMs("soon", now), null);
  assert.equal(retryAfterMs(null, now), null);
});

test("a batch holds at most 100 events and stays under the size limit", () => {
  const many = Array.from({ length: 250 }, (_, n) => event(n));
  assert.equal(takeBatch(many).length, MAX_BATCH_EVENTS);
  const big = Array.from({ length: 10 }, (_, n) => event(n, 50_000));
  const batch = takeBatch(big);
  assert.equal(batch.length, 4);
  assert.ok(JSON.stringify({ events: batch }).length <= MAX_BATCH_BYTES);
  assert.equal(takeBatch(big, KEEPALIVE_BYTES).length, 1);
  assert.equal(takeBatch([event(0, 300_000)]).length, 1, "one huge event still goes (the server says 413)");
});

test("events are stored before sending and removed only once accepted", async () => {
  const sent = [];
  let fail = true;
  const { queue, store } = queueWith(async (events) => {
    sent.push(events.map((e) => e.id));
    if (fail) throw new HeraldError("offline", { retryable: true });
  });
  queue.add(event(1));
  queue.add(event(2));
  assert.deepEqual(JSON.parse(store.getItem("herald:app:events")).map((e) => e.id), ["e-1", "e-2"]);
  await queue.flush({ force: true });
  assert.equal(queue.pending().length, 2, "a failed batch stays stored");

  const reloaded = queueWith(async (events) => sent.push(events.map((e) => e.id)), store).queue;
  fail = false;
  await reloaded.flush({ force: true });
  assert.deepEqual(sent, [["e-1", "e-2"], ["e-1", "e-2"]], "the same ids are sent again");
  assert.equal(reloaded.pending().length, 0);
});

test("a retryable failure schedules the next try after the backoff or Retry-After", async () => {
  const { queue, timers } = queueWith(async () => {
    throw new HeraldError("busy", { status: 503, retryable: true, retryAfterMs: 42_000 });
  });
  queue.add(event(1));
  timers.length = 0;
  await queue.flush({ force: true });
  assert.deepEqual(timers.map((t) => t.ms), [42_000]);
  assert.equal(queue.failures, 1);
});

test("a refused batch (4xx) is dropped, reported, and the rest still goes", async () => {
  const errors = [];
  const sent = [];
  const store = memoryStore();
  const queue = new EventQueue({
    storage: new Storage(store, "p:"),
    send: async (events) => {
      sent.push(events.length);
      if (sent.length === 1) throw new HeraldError("bad", { status: 400, retryable: false });
    },
    onError: (error) => errors.push(error.status),
    setTimer: () => 1,
    clearTimer: () => {},
  });
  for (let n = 0; n < 150; n += 1) queue.add(event(n));
  await queue.flush({ force: true });
  assert.deepEqual(sent, [100, 50]);
  assert.deepEqual(errors, [400]);
  assert.equal(queue.pending().length, 0);
});

test("a full storage keeps events in memory instead of losing them", async () => {
  const full = { getItem: () => null, setItem: () => { throw new Error("QuotaExceededError"); }, removeItem: () => {} };
  const sent = [];
  const { queue } = queueWith(async (events) => sent.push(...events.map((e) => e.id)), full);
  queue.add(event(1));
  await queue.flush({ force: true });
  assert.deepEqual(sent, ["e-1"]);
});
