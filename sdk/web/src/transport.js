// HTTP to Herald: one function per route the SDK calls, and errors sorted into "try again
// later" (network, 429, 5xx) and "this request can never succeed" (any other 4xx).

export const REQUEST_TIMEOUT_MS = 10_000;

/** A failed request. `retryable` says whether sending it again later may succeed. */
export class HeraldError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, retryable: boolean, retryAfterMs?: number | null,
   *          route?: string, cause?: unknown}} details
   */
  constructor(message, details) {
    super(message);
    this.name = "HeraldError";
    /** @type {number | undefined} */
    this.status = details.status;
    /** @type {string | undefined} */
    this.code = details.code;
    this.retryable = details.retryable;
    /** @type {number | null} */
    this.retryAfterMs = details.retryAfterMs ?? null;
    /** @type {string | undefined} */
    this.route = details.route;
    if (details.cause !== undefined) this.cause = details.cause;
  }
}

/**
 * `Retry-After` in milliseconds: seconds or an HTTP date; null when absent or unreadable.
 * @param {string | null} header
 * @param {number} now epoch milliseconds
 */
export function retryAfterMs(header, now) {
  if (!header) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * @typedef {object} TransportOptions
 * @property {string} url Herald's base URL
 * @property {string} appId
 * @property {string} clientKey
 * @property {typeof fetch} [fetch]
 * @property {() => number} [now]
 * @property {number} [timeoutMs]
 */

export class Transport {
  /** @param {TransportOptions} options */
  constructor(options) {
    this.base = `${options.url.replace(/\/+$/, "")}/v1/apps/${encodeURIComponent(options.appId)}`;
    this.clientKey = options.clientKey;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    /** @type {string | undefined} an enrolled test device's token, sent with its fetches */
    this.testToken = undefined;
    /** Requests sent, by route: what the benchmark and the tests count. */
    this.sent = /** @type {Record<string, number>} */ ({});
  }

  /**
   * @param {string} route a name for counting and errors
   * @param {string} method
   * @param {string} path below /v1/apps/{app_id}
   * @param {unknown} [body]
   * @param {{keepalive?: boolean, headers?: Record<string, string>}} [options]
   * @returns {Promise<any>}
   */
  async request(route, method, path, body, options = {}) {
    this.sent[route] = (this.sent[route] ?? 0) + 1;
    /** @type {Record<string, string>} */
    const headers = { "X-Client-Key": this.clientKey, ...options.headers };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const abort = typeof AbortController === "function" ? new AbortController() : null;
    const timer = abort ? setTimeout(() => abort.abort(), this.timeoutMs) : null;
    /** @type {Response} */
    let response;
    try {
      response = await this.fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        keepalive: Boolean(options.keepalive),
        credentials: "omit",
        signal: abort?.signal,
      });
    } catch (cause) {
      throw new HeraldError(`${route}: Herald could not be reached`, {
        retryable: true,
        route,
        cause,
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
    const text = await response.text().catch(() => "");
    /** @type {any} */
    let answer = null;
    try {
      answer = text ? JSON.parse(text) : null;
    } catch {
      answer = null;
    }
    if (response.ok) return answer;
    const status = response.status;
    throw new HeraldError(`${route}: ${status} ${answer?.Message ?? response.statusText}`, {
      status,
      code: answer?.Code,
      retryable: status === 429 || status >= 500,
      retryAfterMs: retryAfterMs(response.headers.get("Retry-After"), this.now()),
      route,
    });
  }

  /** @param {string} deviceId @param {Record<string, unknown>} registration */
  register(deviceId, registration) {
    return this.request("register", "PUT", `/devices/${encodeURIComponent(deviceId)}`, registration);
  }

  /** @returns {Promise<{triggers: {event: string, conditions: any[]}[], next_fetch_after: number}>} */
  triggers() {
    return this.request("triggers", "GET", "/triggers");
  }

  /**
   * @param {string} deviceId
   * @param {string} event
   * @param {Record<string, unknown>} attributes
   * @returns {Promise<{messages: any[], next_fetch_after: number}>}
   */
  messages(deviceId, event, attributes) {
    const path = `/devices/${encodeURIComponent(deviceId)}/messages`;
    const headers = this.testToken ? { "X-Herald-Test-Token": this.testToken } : undefined;
    return this.request("messages", "POST", path, { event, attributes }, { headers });
  }

  /** @param {object[]} events @param {{keepalive?: boolean}} [options] */
  events(events, options) {
    return this.request("events", "POST", "/events", { events }, options);
  }
}
