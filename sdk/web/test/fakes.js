// A fake Herald for the core's tests: answers the SDK's routes from a script and records requests.
import { memoryStore } from "../src/storage.js";

/**
 * @param {Record<string, (request: {method: string, path: string, body: any}) => any>} [routes]
 */
export function fakeHerald(routes = {}) {
  const requests = [];
  const answer = (status, body, headers = {}) =>
    new Response(body === undefined ? "" : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    });
  const defaults = {
    register: () => answer(201, {}),
    triggers: () => answer(200, { triggers: [], next_fetch_after: 300 }),
    messages: () => answer(200, { messages: [], next_fetch_after: 300 }),
    events: ({ body }) => answer(202, { accepted: body.events.length }),
  };
  const handlers = { ...defaults, ...routes };
  /** @type {typeof fetch} */
  const fetch = async (url, init = {}) => {
    const path = new URL(String(url)).pathname.replace(/^\/v1\/apps\/[^/]+/, "");
    const method = init.method ?? "GET";
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    const route =
      method === "PUT" ? "register" : path === "/triggers" ? "triggers" : path === "/events" ? "events" : "messages";
    const request = { route, method, path, body, headers: init.headers, keepalive: init.keepalive };
    requests.push(request);
    const made = handlers[route](request);
    if (made instanceof Error) throw made;
    return made instanceof Response ? made : answer(200, made);
  };
  return { fetch, requests, answer, count: (route) => requests.filter((r) => r.route === route).length };
}

export function options(server, extra = {}) {
  return {
    url: "https://herald.test",
    appId: "app-1",
    clientKey: "herald_client_app-1_x",
    deviceId: "d-1",
    renderer: null,
    navigator: null,
    fetch: server.fetch,
    storage: memoryStore(),
    flushIntervalMs: 60_000,
    random: () => 0.5,
    ...extra,
  };
}

export const message = (id, priority = 5, extra = {}) => ({
  engagement_id: id,
  variant: "A",
  priority,
  test: false,
  message: {
    layout: "modal",
    title: `Title ${id}`,
    buttons: [
      { id: "buy", label: "Buy", action: { type: "deep_link", target: "shop://sale" } },
      { id: "evil", label: "Evil", action: { type: "url", target: "javascript:alert(1)" } },
    ],
  },
  metrics: {},
  expires_at: "2030-01-01T00:00:00Z",
  ...extra,
});
