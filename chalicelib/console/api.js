// Herald's public API, called from the console with the signed-in key as a Bearer header.
// The key lives in sessionStorage (this tab only) and never goes in a URL or a log.

// "/console" locally, "/api/console" behind API Gateway's stage: the API is beside the console.
export const BASE = location.pathname.replace(/\/console\/?$/, "");
const STORE = "herald.session";

export const session = {
  read() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE) || "null");
    } catch {
      return null;
    }
  },
  write(value) {
    sessionStorage.setItem(STORE, JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem(STORE);
  },
  /** The key the API calls use: the app's admin key, or the root key managing an app. */
  get key() {
    const current = this.read();
    return current ? current.key : null;
  },
  get app() {
    const current = this.read();
    return current ? current.app : null;
  },
};

const PATH = String.raw`[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z0-9_:-]+)*`;
const LEADING_PATH = new RegExp(`^(${PATH}): ([\\s\\S]*)$`);
const DOTTED_PATH = new RegExp(`^(${PATH}\\.[A-Za-z0-9_]+) `);

/** The field a problem names, and what it says: "variants[0].message.title: too long". */
function parseProblem(text) {
  let path = "";
  let message = text;
  let found = LEADING_PATH.exec(message);
  while (found) {
    path = path ? `${path}.${found[1]}` : found[1];
    message = found[2];
    found = LEADING_PATH.exec(message); // "variants[0].message: localizations.fr.buttons: ..."
  }
  if (!path) {
    const dotted = DOTTED_PATH.exec(text); // "schedule.end_at is in the past"
    if (dotted) path = dotted[1];
  }
  return { path, message };
}

/** Herald's Message lists problems as "path: what; path: what; and N more". */
export function parseProblems(text) {
  const problems = [];
  for (const part of String(text || "").split("; ")) {
    const problem = parseProblem(part);
    const previous = problems[problems.length - 1];
    if (!problem.path && previous && !/^and \d+ more$/.test(part)) {
      previous.message += `; ${part}`; // a "; " inside one message, not a new problem
    } else {
      problems.push(problem);
    }
  }
  return problems.filter((problem) => problem.message);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = parseProblems(message);
  }
}

/** Calls the API; resolves with the JSON answer, rejects with an ApiError. */
export async function call(method, path, { body, ifMatch, key } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = key ?? session.key;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (method !== "GET" && method !== "DELETE") headers["Content-Type"] = "application/json";
  if (ifMatch !== undefined && ifMatch !== null) headers["If-Match"] = String(ifMatch);
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new ApiError(0, "NetworkError", `Herald cannot be reached (${error.message}).`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.Message) || text || response.statusText;
    const error = new ApiError(response.status, (data && data.Code) || "Error", message);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("herald:unauthorized"));
    throw error;
  }
  return data;
}

/** The path of the signed-in app's resources: appPath("/engagements"). */
export function appPath(suffix = "") {
  const app = session.app;
  if (!app) throw new ApiError(0, "NoApp", "Choose an app first.");
  return `/v1/apps/${encodeURIComponent(app.app_id)}${suffix}`;
}

/** Every page of a list route, up to `max` items. */
export async function listAll(path, field, max = 500) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const page = await call("GET", `${path}?${query}`);
    items.push(...page[field]);
    cursor = page.cursor;
  } while (cursor && items.length < max);
  return items;
}

/** `herald_admin_<app_id>_<secret>` names its app; the root key names none. */
export function describeKey(key) {
  const admin = /^herald_admin_([a-z0-9]{1,64})_[0-9a-f]{64}$/.exec(key);
  if (admin) return { kind: "admin", appId: admin[1] };
  if (/^herald_root_[0-9a-f]{64}$/.test(key)) return { kind: "root" };
  if (/^herald_client_/.test(key)) return { kind: "client" };
  return { kind: "unknown" };
}
