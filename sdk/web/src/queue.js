// The events queue: every event is stored (localStorage) before it is sent and removed only once
// Herald accepted it, so a reload, a crash or an offline spell loses nothing; an event's id is
// made once, so sending it again never counts twice. Batches hold at most 100 events and stay
// under the route's size limit; a failed batch is retried with exponential backoff and full
// jitter, never sooner than Retry-After.

export const MAX_BATCH_EVENTS = 100;
export const MAX_BATCH_BYTES = 200 * 1024; // the route accepts 256 KiB
export const KEEPALIVE_BYTES = 60 * 1024; // browsers cap keepalive bodies at 64 KiB in total
export const MAX_STORED_EVENTS = 1000; // the oldest are dropped beyond this
export const BASE_DELAY_MS = 1000;
export const MAX_DELAY_MS = 5 * 60 * 1000;
const STORAGE_KEY = "events";

/**
 * The wait before retry number `attempt` (1 for the first retry): a random point of
 * [0, min(max, base * 2^(attempt-1))], and never less than the server's Retry-After.
 * @param {number} attempt
 * @param {number | null} retryAfter milliseconds
 * @param {() => number} random
 */
export function backoffDelay(attempt, retryAfter, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, retryAfter ?? 0);
}

/**
 * The longest prefix of `events` that fits one batch.
 * @param {object[]} events
 * @param {number} maxBytes
 */
export function takeBatch(events, maxBytes = MAX_BATCH_BYTES) {
  const batch = [];
  let bytes = 14; // {"events":[]}
  for (const event of events.slice(0, MAX_BATCH_EVENTS)) {
    const size = new TextEncoder().encode(JSON.stringify(event)).length + 1;
    if (batch.length > 0 && bytes + size > maxBytes) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}

/**
 * @typedef {object} QueueOptions
 * @property {import("./storage.js").Storage} storage
 * @property {(events: object[], options: {keepalive?: boolean}) => Promise<unknown>} send
 * @property {(error: unknown) => void} onError
 * @property {number} [flushIntervalMs]
 * @property {() => number} [random]
 * @property {(callback: () => void, ms: number) => any} [setTimer]
 * @property {(timer: any) => void} [clearTimer]
 */

export class EventQueue {
  /** @param {QueueOptions} options */
  constructor(options) {
    this.storage = options.storage;
    this.send = options.send;
    this.onError = options.onError;
    this.flushIntervalMs = options.flushIntervalMs ?? 3000;
    this.random = options.random ?? Math.random;
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer));
    /** @type {Promise<void> | null} */
    this.sending = null;
    this.timer = null;
    this.failures = 0;
    this.blockedUntil = 0;
    this.stopped = false;
  }

  /** @returns {object[]} the events not yet accepted, oldest first */
  pending() {
    const stored = /** @type {unknown} */ (this.storage.read(STORAGE_KEY, []));
    return Array.isArray(stored) ? stored.filter((event) => event && event.id) : [];
  }

  /** @param {object} event with its id */
  add(event) {
    const events = this.pending();
    events.push(event);
    const kept = events.slice(-MAX_STORED_EVENTS);
    this.storage.write(STORAGE_KEY, kept);
    this.schedule(this.flushIntervalMs);
  }

  /** @param {Set<string>} ids */
  forget(ids) {
    const left = this.pending().filter((event) => !ids.has(/** @type {any} */ (event).id));
    this.storage.write(STORAGE_KEY, left);
  }

  /** @param {number} ms */
  schedule(ms) {
    if (this.stopped || this.timer !== null) return;
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.flush().catch(() => {});
    }, ms);
  }

  /**
   * Send everything queued now, batch after batch; resolves when the queue is empty or a batch
   * failed (then a retry is scheduled). `keepalive` (page hiding) sends one small batch.
   * @param {{keepalive?: boolean, force?: boolean}} [options]
   * @returns {Promise<void>}
   */
  flush(options = {}) {
    if (this.sending && !options.keepalive) return this.sending;
    if (options.force) this.blockedUntil = 0;
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    const run = this.drain(options).finally(() => {
      if (this.sending === run) this.sending = null;
    });
    if (!options.keepalive) this.sending = run;
    return run;
  }

  /** @param {{keepalive?: boolean, force?: boolean}} options */
  async drain(options) {
    for (;;) {
      const waiting = this.blockedUntil - Date.now();
      if (waiting > 0 && !options.keepalive) {
        this.schedule(waiting);
        return;
      }
      const batch = takeBatch(this.pending(), options.keepalive ? KEEPALIVE_BYTES : undefined);
      if (batch.length === 0) return;
      try {
        await this.send(batch, { keepalive: options.keepalive });
      } catch (error) {
        const failure = /** @type {any} */ (error);
        if (failure && failure.retryable === false) {
          // Herald refused the batch for good (a 4xx): keeping it would block the queue forever.
          this.forget(new Set(batch.map((event) => /** @type {any} */ (event).id)));
          this.onError(error);
          continue;
        }
        this.failures += 1;
        const delay = backoffDelay(this.failures, failure?.retryAfterMs ?? null, this.random);
        this.blockedUntil = Date.now() + delay;
        this.onError(error);
        if (!options.keepalive) this.schedule(delay);
        return;
      }
      this.failures = 0;
      this.blockedUntil = 0;
      this.forget(new Set(batch.map((event) => /** @type {any} */ (event).id)));
      if (options.keepalive) return;
      // Events that came while this batch was out wait for the next tick (so they batch),
      // unless the caller asked for everything now or a full batch is ready.
      const left = this.pending().length;
      if (!options.force && left > 0 && left < MAX_BATCH_EVENTS) {
        this.schedule(this.flushIntervalMs);
        return;
      }
    }
  }

  stop() {
    this.stopped = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }
}
