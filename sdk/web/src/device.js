// Which device this browser is: the id given to init, else an enrolled test device's, else a
// random one kept in storage; and an enrolled test device's token, which goes only with the
// device it was made for. An enrolment is the console's link
// (`herald-test://enrol?app_id=…&device_id=…&test_token=…`), given to enrol() or read from the
// page URL's fragment, and kept in storage until unenrol().

export const DEVICE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const TEST_TOKEN = /^herald_test_[A-Za-z0-9_-]{16,200}$/;
const ENROLMENT_LINK = "herald-test://enrol?";
const DEVICE = "device";
const ENROLMENT = "test-device";

/** @typedef {{appId: string, deviceId: string, testToken: string}} Enrolment */

/** @returns {string} */
export function randomId() {
  const crypto = globalThis.crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let index = 0; index < 16; index += 1) bytes[index] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The enrolment in a test-device link as the console shows it, also inside a page URL's
 * fragment and percent-encoded; null when `link` holds none (the cases the Python SDK reads
 * alike are in sdk/shared/enrolment-links.json).
 * @param {unknown} link
 * @returns {Enrolment | null}
 */
export function parseEnrolmentLink(link) {
  if (typeof link !== "string") return null;
  let text = link;
  if (!text.includes(ENROLMENT_LINK)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return null;
    }
  }
  const at = text.indexOf(ENROLMENT_LINK);
  if (at < 0) return null;
  const query = new URLSearchParams(text.slice(at + ENROLMENT_LINK.length));
  if (["app_id", "device_id", "test_token"].some((name) => query.getAll(name).length !== 1)) return null;
  const appId = query.get("app_id");
  const deviceId = query.get("device_id");
  const testToken = query.get("test_token");
  if (!appId || !deviceId || !DEVICE_ID.test(deviceId) || !testToken || !TEST_TOKEN.test(testToken)) {
    return null;
  }
  return { appId, deviceId, testToken };
}

/** @param {Enrolment} enrolment */
function linkOf(enrolment) {
  const query = new URLSearchParams({
    app_id: enrolment.appId, device_id: enrolment.deviceId, test_token: enrolment.testToken,
  });
  return ENROLMENT_LINK + query;
}

export class DeviceIdentity {
  /**
   * @param {{storage: import("./storage.js").Storage, appId: string, deviceId?: string,
   *          testToken?: string, enrolFromUrl?: boolean}} options
   */
  constructor(options) {
    if (options.deviceId !== undefined && !DEVICE_ID.test(options.deviceId)) {
      throw new TypeError("Herald: deviceId must match [A-Za-z0-9_.:-]{1,128}");
    }
    if (options.testToken !== undefined && !TEST_TOKEN.test(String(options.testToken))) {
      throw new TypeError("Herald: testToken must be the herald_test_… token the device was enrolled with");
    }
    this.storage = options.storage;
    this.appId = options.appId;
    this.givenId = options.deviceId;
    this.givenToken = options.testToken;
    /** @type {Error[]} what the caller reports once it can (no handler is set yet) */
    this.problems = [];
    if (options.enrolFromUrl) this.enrolFromPage();
    const stored = parseEnrolmentLink(this.storage.read(ENROLMENT, null));
    /** @type {Enrolment | null} */
    this.enrolment = stored && stored.appId === this.appId ? stored : null;
    this.deviceId = "";
    /** @type {string | undefined} */
    this.testToken = undefined;
    this.resolve();
    if (this.enrolment && !this.testToken) {
      this.problems.push(new TypeError(
        `Herald: the test-device enrolment is for ${this.enrolment.deviceId}, not deviceId ${this.deviceId}: its token is not sent`,
      ));
    }
  }

  /** Work out the device id and test token; whether the device id changed. */
  resolve() {
    const before = this.deviceId;
    this.deviceId = this.givenId ?? this.enrolment?.deviceId ?? this.ownId();
    const enrolled = this.enrolment?.deviceId === this.deviceId ? this.enrolment.testToken : undefined;
    this.testToken = this.givenToken ?? enrolled;
    return this.deviceId !== before;
  }

  /** This browser's own random device id, made once and kept. */
  ownId() {
    const stored = this.storage.read(DEVICE, null);
    if (typeof stored === "string" && DEVICE_ID.test(stored)) return stored;
    const made = `web-${randomId()}`;
    this.storage.write(DEVICE, made);
    return made;
  }

  /**
   * Keep the enrolment of `link` (a TypeError when it is none, or for another app or another
   * given deviceId); whether the device id changed.
   * @param {string} link
   */
  enrol(link) {
    const enrolment = parseEnrolmentLink(link);
    const problem = this.problemOf(enrolment);
    if (problem) throw problem;
    const enrolled = /** @type {Enrolment} */ (enrolment);
    this.storage.write(ENROLMENT, linkOf(enrolled));
    this.enrolment = enrolled;
    return this.resolve();
  }

  /** Forget the enrolment; whether the device id changed (back to the browser's own). */
  unenrol() {
    this.storage.remove(ENROLMENT);
    this.enrolment = null;
    return this.resolve();
  }

  /** `enrolFromUrl`: keep the enrolment link in the page URL's fragment, then take it out of the
   * address bar (and so of history and bookmarks), whether it was valid or not. */
  enrolFromPage() {
    const location = globalThis.location;
    const fragment = location?.hash ?? "";
    if (!fragment.includes("herald-test")) return;
    try {
      globalThis.history?.replaceState(globalThis.history.state, "", location.pathname + location.search);
    } catch {
      // a sandboxed page may refuse: the enrolment still counts
    }
    const enrolment = parseEnrolmentLink(fragment.slice(1));
    const problem = this.problemOf(enrolment);
    if (problem) this.problems.push(problem);
    else this.storage.write(ENROLMENT, linkOf(/** @type {Enrolment} */ (enrolment)));
  }

  /** @param {Enrolment | null} enrolment @returns {TypeError | null} */
  problemOf(enrolment) {
    if (!enrolment) {
      return new TypeError("Herald: not an enrolment link (herald-test://enrol?app_id=…&device_id=…&test_token=…)");
    }
    if (enrolment.appId !== this.appId) {
      return new TypeError(`Herald: the enrolment is for app ${enrolment.appId}, not ${this.appId}`);
    }
    if (this.givenId !== undefined && this.givenId !== enrolment.deviceId) {
      return new TypeError(`Herald: the enrolment is for device ${enrolment.deviceId}, not deviceId ${this.givenId}`);
    }
    return null;
  }
}
