// The SDK's core, without any DOM: the device (which one it is, and an enrolled test device's
// token: device.js) and its registration, the trigger list (one request per session, refreshed
// when next_fetch_after runs out), matching tracked events against it, fetching messages only
// for a match (a test device on every event), one message on screen at a time (the rest wait by
// priority), answers to a message's question, and the events queue. A renderer (dom.js, or a
// React Native one) only draws.

import { conditionsHold } from "./rules.js";
import { answerProblem } from "./questions.js";
import { DeviceIdentity, randomId } from "./device.js";
import { EventQueue, backoffDelay } from "./queue.js";
import { Storage, defaultStore } from "./storage.js";
import { Transport } from "./transport.js";

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const LOCALE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$/;
const SAFE_LINK = /^https?:\/\//i;

/**
 * @typedef {{type: "dismiss" | "deep_link" | "url", target?: string}} ButtonAction
 * @typedef {{id: string, label: string, action: ButtonAction, background_color?: string,
 *            text_color?: string}} Button
 * @typedef {{layout: "banner_top" | "banner_bottom" | "modal" | "full_screen" | "card" |
 *            "image_only", title?: string, body?: string, image_url?: string,
 *            background_color?: string, text_color?: string, buttons: Button[],
 *            data?: Record<string, string>, question?: Question}} MessageContent
 * @typedef {{engagement_id: string, variant: string, priority: number, test: boolean,
 *            message: MessageContent, metrics: Record<string, string>, expires_at: string}}
 *            Message
 * @typedef {import("./questions.js").Question} Question
 * @typedef {import("./questions.js").Answer} Answer
 * @typedef {{impression: () => void, click: (elementId: string) => void, dismiss: () => void,
 *            renderError: () => void, respond: (value: Answer) => boolean}} Controls
 * @typedef {{show: (message: Message, controls: Controls) => void, destroy: () => void}}
 *            Renderer
 * @typedef {(message: Message, controls: Controls) => void} MessageHandler
 * @typedef {(button: Button, message: Message) => void} ActionHandler
 * @typedef {(error: Error) => void} ErrorHandler
 * @typedef {{event: string, conditions: import("./rules.js").Condition[]}} Trigger
 */

/**
 * @typedef {object} HeraldOptions
 * @property {string} url Herald's base URL, e.g. https://herald.example.org/api
 * @property {string} appId
 * @property {string} clientKey the app's client key (public by design)
 * @property {string} [deviceId] else a random id kept in localStorage
 * @property {string} [locale] default: the browser's language
 * @property {string} [timezone] default: the browser's time zone
 * @property {"web" | "ios" | "android"} [platform] default "web"
 * @property {string} [appVersion]
 * @property {Record<string, string | number | boolean>} [attributes] device attributes
 * @property {Renderer | null} [renderer] how messages are drawn when no `message` handler is set
 * @property {number} [flushIntervalMs] how long events wait to be batched (default 3000)
 * @property {string} [testToken] an enrolled test device's token, sent as X-Herald-Test-Token
 *   with its fetches (its deviceId must be the enrolled one)
 * @property {boolean} [enrolFromUrl] read a test-device enrolment link from the page URL's
 *   fragment (`#herald-test://enrol?…`), keep it, and take it out of the address bar (default false)
 * @property {typeof fetch} [fetch]
 * @property {import("./storage.js").KeyValueStore} [storage] default localStorage
 * @property {() => number} [random]
 * @property {{assign: (url: string) => void, open: (url: string) => void} | null} [navigator]
 *   how links are followed (default: location.assign, window.open)
 */

/** @param {unknown} target */
export function isWebLink(target) {
  if (typeof target !== "string" || !SAFE_LINK.test(target)) return false;
  try {
    const url = new URL(target);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function browserLocale() {
  const language = globalThis.navigator?.language;
  return typeof language === "string" && LOCALE.test(language) ? language : undefined;
}

function browserTimezone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}

function defaultNavigator() {
  const location = globalThis.location;
  if (!location) return null;
  return {
    /** @param {string} url */
    assign: (url) => location.assign(url),
    /** @param {string} url */
    open: (url) => void globalThis.open?.(url, "_blank", "noopener,noreferrer"),
  };
}

export class Herald {
  /** @param {HeraldOptions} options */
  constructor(options) {
    for (const name of /** @type {const} */ (["url", "appId", "clientKey"])) {
      if (typeof options?.[name] !== "string" || !options[name]) {
        throw new TypeError(`Herald: init needs ${name}`);
      }
    }
    this.options = options;
    this.random = options.random ?? Math.random;
    this.storage = new Storage(options.storage ?? defaultStore(), `herald:${options.appId}:`);
    this.transport = new Transport({ url: options.url, appId: options.appId,
      clientKey: options.clientKey, fetch: options.fetch });
    this.identity = new DeviceIdentity({ storage: this.storage, appId: options.appId,
      deviceId: options.deviceId, testToken: options.testToken, enrolFromUrl: options.enrolFromUrl });
    this.deviceId = this.identity.deviceId;
    this.transport.testToken = this.identity.testToken;
    /** @type {Record<string, unknown>} */
    this.registration = {
      platform: options.platform ?? "web",
      locale: options.locale ?? browserLocale(),
      timezone: options.timezone ?? browserTimezone(),
      app_version: options.appVersion,
      attributes: { ...(options.attributes ?? {}) },
    };
    this.renderer = options.renderer ?? null;
    this.navigator = options.navigator === undefined ? defaultNavigator() : options.navigator;
    /** @type {{message: Set<MessageHandler>, action: Set<ActionHandler>, error: Set<ErrorHandler>}} */
    this.handlers = { message: new Set(), action: new Set(), error: new Set() };
    /** @type {Trigger[]} */
    this.triggerList = [];
    this.triggersExpireAt = 0;
    this.triggerFailures = 0;
    /** @type {Promise<void> | null} */
    this.triggersLoading = null;
    /** @type {Promise<void> | null} */
    this.registering = null;
    this.registered = false;
    this.registerFailures = 0;
    this.registerRetryAt = 0;
    /** @type {Message[]} waiting to be shown, by priority */
    this.waiting = [];
    /** @type {Message | null} */
    this.showing = null;
    /** @type {Controls | null} the controls of the message showing */
    this.showingControls = null;
    this.destroyed = false;
    this.queue = new EventQueue({
      storage: this.storage,
      send: (events, sendOptions) => this.transport.events(events, sendOptions),
      onError: (error) => this.report(error),
      flushIntervalMs: options.flushIntervalMs,
      random: this.random,
    });
    this.listeners = this.listen();
  }

  /** Register and load the triggers; never rejects (failures go to `on("error")`). */
  async start() {
    for (const problem of this.identity.problems.splice(0)) this.report(problem);
    await Promise.all([this.register(), this.refreshTriggers()]);
    if (this.queue.pending().length > 0) this.queue.flush().catch(() => {});
  }

  // --- public surface ------------------------------------------------------------------------

  /**
   * Make this browser the enrolled test device of an enrolment link (the console's
   * `herald-test://enrol?…`): its device id and test token are kept in localStorage and the
   * token goes with every fetch, so test content shows. Throws a TypeError for a link that is
   * not one, or is for another app or another (given) deviceId.
   * @param {string} link
   * @returns {Promise<{deviceId: string}>}
   */
  async enrol(link) {
    await this.switchDevice(this.identity.enrol(link));
    return { deviceId: this.deviceId };
  }

  /** Forget the enrolment: back to the device id (and test token) this browser had before. */
  async unenrol() {
    await this.switchDevice(this.identity.unenrol());
  }

  /** Whether this device sends a test token (an enrolled test device), and which device it is. */
  get testDevice() {
    return this.identity.testToken ? { deviceId: this.deviceId } : null;
  }

  /** After an enrolment changed: the device id and token it means, registered if new.
   * @param {boolean} changed whether the device id changed */
  async switchDevice(changed) {
    this.deviceId = this.identity.deviceId;
    this.transport.testToken = this.identity.testToken;
    if (!changed || this.destroyed) return;
    this.registered = false;
    await this.register();
  }

  /**
   * Who the user is: registers the device with `user_id` (and `user_token` when the app
   * requires verified users).
   * @param {string | null} userId
   * @param {{userToken?: string, attributes?: Record<string, string | number | boolean>}} [details]
   */
  async identify(userId, details = {}) {
    if (this.destroyed) return;
    this.registration.user_id = userId ?? undefined;
    this.registration.user_token = userId ? details.userToken : undefined;
    if (details.attributes) {
      this.registration.attributes = { ...(/** @type {object} */ (this.registration.attributes)), ...details.attributes };
    }
    this.registered = false;
    await this.register();
  }

  /** @param {Record<string, string | number | boolean | null>} attributes null removes one */
  async setAttributes(attributes) {
    if (this.destroyed) return;
    const merged = /** @type {Record<string, unknown>} */ ({ ...(/** @type {object} */ (this.registration.attributes)) });
    for (const [name, value] of Object.entries(attributes ?? {})) {
      if (value === null) delete merged[name];
      else merged[name] = value;
    }
    this.registration.attributes = merged;
    this.registered = false;
    await this.register();
  }

  /**
   * Report an app event (a `custom` event, what conversions count) and, when it matches one of
   * the app's triggers, fetch the messages it shows. Never rejects.
   * @param {string} event
   * @param {Record<string, string | number | boolean>} [attributes]
   */
  async track(event, attributes = {}) {
    if (this.destroyed) return;
    if (typeof event !== "string" || !NAME.test(event)) {
      this.report(new TypeError(`Herald: track needs an event name matching [A-Za-z0-9_.:-]{1,64}, got ${String(event)}`));
      return;
    }
    this.enqueue({ type: "custom", name: event, attributes });
    try {
      if (Date.now() >= this.triggersExpireAt) await this.refreshTriggers();
      // The trigger list leaves out drafts and test-only engagements: a test device asks Herald
      // on every event (Herald still checks the trigger), so what it tests does show.
      if (!this.identity.testToken && !this.matches(event, attributes)) return;
      if (!this.registered) await this.register();
      const answer = await this.transport.messages(this.deviceId, event, attributes);
      if (this.destroyed) return;
      this.present(answer?.messages ?? []);
    } catch (error) {
      this.report(error);
    }
  }

  /**
   * @overload
   * @param {"message"} type
   * @param {MessageHandler} handler
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"action"} type
   * @param {ActionHandler} handler
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"error"} type
   * @param {ErrorHandler} handler
   * @returns {() => void}
   */
  /**
   * Add a handler; returns the function that removes it.
   * @param {"message" | "action" | "error"} type
   * @param {Function} handler
   * @returns {() => void}
   */
  on(type, handler) {
    const set = /** @type {Set<Function>} */ (this.handlers[type]);
    if (!set || typeof handler !== "function") throw new TypeError(`Herald: no event ${type}`);
    set.add(handler);
    return () => void set.delete(handler);
  }

  /**
   * Answer the question of the message showing (for apps that render it themselves; the same as
   * its controls' `respond`). Queued as a `response` event once per display, after checking it
   * fits the question; ends the display. Returns whether the answer was taken.
   * @param {Message} message
   * @param {Answer} value
   */
  respond(message, value) {
    if (!this.showingControls || this.showing?.engagement_id !== message?.engagement_id) {
      this.report(new TypeError("Herald: respond answers the message showing"));
      return false;
    }
    return this.showingControls.respond(value);
  }

  /** Send every queued event now (resolves once sent, or once a retry is scheduled). */
  flush() {
    return this.queue.flush({ force: true });
  }

  /** Stop: no more requests, timers, listeners or DOM; stored events wait for the next init. */
  destroy() {
    this.destroyed = true;
    this.queue.stop();
    this.listeners();
    this.renderer?.destroy();
    this.waiting = [];
    this.showing = null;
    this.showingControls = null;
  }

  /** The trigger list in force (a copy). */
  get triggers() {
    return this.triggerList.map((trigger) => ({ ...trigger }));
  }

  // --- triggers and registration ------------------------------------------------------------

  /** @param {string} event @param {Record<string, unknown>} attributes */
  matches(event, attributes) {
    return this.triggerList.some(
      (trigger) => trigger.event === event && conditionsHold(trigger.conditions ?? [], attributes),
    );
  }

  refreshTriggers() {
    if (!this.triggersLoading) {
      this.triggersLoading = this.loadTriggers().finally(() => {
        this.triggersLoading = null;
      });
    }
    return this.triggersLoading;
  }

  async loadTriggers() {
    try {
      const answer = await this.transport.triggers();
      this.triggerList = Array.isArray(answer?.triggers) ? answer.triggers : [];
      const seconds = Number(answer?.next_fetch_after);
      this.triggersExpireAt = Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 300) * 1000;
      this.triggerFailures = 0;
    } catch (error) {
      // Keep the list we had; ask again after a backoff rather than on every event.
      this.triggerFailures += 1;
      const retryAfter = /** @type {any} */ (error)?.retryAfterMs ?? null;
      this.triggersExpireAt = Date.now() + backoffDelay(this.triggerFailures, retryAfter, this.random);
      this.report(error);
    }
  }

  register() {
    if (this.registering) return this.registering;
    if (!this.registered && this.registerFailures > 0 && Date.now() < this.registerRetryAt) {
      return Promise.resolve();
    }
    const body = Object.fromEntries(
      Object.entries(this.registration).filter(([, value]) => value !== undefined && value !== null),
    );
    this.registering = this.transport
      .register(this.deviceId, body)
      .then(() => {
        this.registered = true;
        this.registerFailures = 0;
      })
      .catch((error) => {
        this.registerFailures += 1;
        this.registerRetryAt = Date.now() + backoffDelay(this.registerFailures, error?.retryAfterMs ?? null, this.random);
        this.report(error);
      })
      .finally(() => {
        this.registering = null;
      });
    return this.registering;
  }

  // --- messages on screen ---------------------------------------------------------------------

  /**
   * Queue what a fetch returned (an engagement already showing or waiting is not queued
   * twice), then show the highest priority one if nothing is on screen.
   * @param {Message[]} messages
   */
  present(messages) {
    for (const message of messages) {
      if (!message || typeof message.engagement_id !== "string" || !message.message) continue;
      const busy = [this.showing, ...this.waiting].some(
        (other) => other && other.engagement_id === message.engagement_id,
      );
      if (!busy) this.waiting.push(message);
    }
    this.waiting.sort((left, right) => (left.priority ?? 5) - (right.priority ?? 5));
    this.showNext();
  }

  showNext() {
    if (this.showing || this.destroyed) return;
    const message = this.waiting.shift();
    if (!message) return;
    this.showing = message;
    const controls = this.controlsFor(message);
    this.showingControls = controls;
    try {
      if (this.handlers.message.size > 0) {
        for (const handler of this.handlers.message) handler(message, controls);
      } else if (this.renderer) {
        this.renderer.show(message, controls);
      } else {
        this.finish(message);
      }
    } catch (error) {
      this.report(error);
      this.finish(message);
    }
  }

  /** @param {Message} message */
  finish(message) {
    if (this.showing !== message) return;
    this.showing = null;
    this.showingControls = null;
    this.showNext();
  }

  /**
   * What a renderer calls: each event is reported once per display; a click or a dismissal
   * ends the display (then the next waiting message is shown).
   * @param {Message} message
   * @returns {Controls}
   */
  controlsFor(message) {
    const done = new Set();
    const once = (/** @type {string} */ kind) => {
      if (done.has(kind) || this.showing !== message) return false;
      done.add(kind);
      return true;
    };
    const about = { engagement_id: message.engagement_id, variant: message.variant };
    return {
      impression: () => {
        if (once("impression")) this.enqueue({ type: "impression", ...about });
      },
      renderError: () => {
        if (once("render_error")) this.enqueue({ type: "render_error", ...about });
      },
      dismiss: () => {
        if (!once("end")) return;
        this.enqueue({ type: "dismiss", ...about });
        this.finish(message);
      },
      click: (elementId) => {
        const button = (message.message.buttons ?? []).find((candidate) => candidate.id === elementId);
        if (!button || !once("end")) return;
        this.enqueue({ type: "click", element: button.id, ...about });
        this.finish(message);
        this.act(button, message);
      },
      respond: (value) => {
        const question = message.message.question;
        const problem = question ? answerProblem(question, value) : "the message asks no question";
        if (problem) {
          this.report(new TypeError(`Herald: ${problem}`));
          return false;
        }
        if (!once("end")) return false;
        this.enqueue({ type: "response", value, ...about });
        this.finish(message);
        return true;
      },
    };
  }

  /** @param {Button} button @param {Message} message */
  act(button, message) {
    for (const handler of this.handlers.action) {
      try {
        handler(button, message);
      } catch (error) {
        this.report(error);
      }
    }
    const { type, target } = button.action ?? {};
    if (!isWebLink(target) || !this.navigator) return; // javascript:, data:, app schemes: never
    if (type === "url") this.navigator.open(/** @type {string} */ (target));
    else if (type === "deep_link" && this.handlers.action.size === 0) {
      this.navigator.assign(/** @type {string} */ (target));
    }
  }

  // --- events -----------------------------------------------------------------------------------

  /** @param {Record<string, unknown>} fields */
  enqueue(fields) {
    this.queue.add({
      id: randomId(),
      device_id: this.deviceId,
      timestamp: new Date().toISOString(),
      ...fields,
    });
  }

  /** @param {unknown} error */
  report(error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    for (const handler of this.handlers.error) {
      try {
        handler(failure);
      } catch {
        // an error handler that throws is ignored: the page must not break
      }
    }
  }

  /** pagehide / hidden: send what is queued with keepalive; online: send now. */
  listen() {
    const target = typeof globalThis.addEventListener === "function" ? globalThis : null;
    if (!target) return () => {};
    const hide = () => void this.queue.flush({ keepalive: true }).catch(() => {});
    const hidden = () => {
      if (globalThis.document?.visibilityState === "hidden") hide();
    };
    const online = () => void this.queue.flush({ force: true }).catch(() => {});
    target.addEventListener("pagehide", hide);
    target.addEventListener("online", online);
    globalThis.document?.addEventListener?.("visibilitychange", hidden);
    return () => {
      target.removeEventListener("pagehide", hide);
      target.removeEventListener("online", online);
      globalThis.document?.removeEventListener?.("visibilitychange", hidden);
    };
  }
}
