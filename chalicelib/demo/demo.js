// The demo shop: connects the SDK to the app named in the URL and logs what it does.
import { init } from "/sdk/herald.js";

const params = new URLSearchParams(location.search);
const $ = (selector) => document.querySelector(selector);

function log(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("#log").prepend(item);
}

function showTriggers(herald) {
  const list = $("#triggers");
  list.replaceChildren();
  for (const trigger of herald.triggers) {
    const item = document.createElement("li");
    const conditions = (trigger.conditions || [])
      .map((c) => `${c.attribute} ${c.op} ${JSON.stringify(c.value ?? "")}`)
      .join(" and ");
    item.textContent = trigger.event + (conditions ? ` when ${conditions}` : "");
    list.append(item);
  }
  if (!list.children.length) list.textContent = "none: no engagement can show now";
}

async function start(appId, clientKey, locale) {
  $("#shop").hidden = false;
  const herald = await init({
    url: location.origin,
    appId,
    clientKey,
    locale: locale || undefined,
    deviceId: params.get("device") || undefined,
    enrolFromUrl: true, // a tester opens the demo with #herald-test://enrol?… to see test content
  });
  herald.on("error", (error) => log(`error: ${error.message}`));
  herald.on("action", (button) => log(`action: ${button.id} → ${button.action.type} ${button.action.target ?? ""}`));
  const testing = herald.testDevice ? " (an enrolled test device: test content shows)" : "";
  $("#status").textContent = `App ${appId}, device ${herald.deviceId}${testing}.`;
  showTriggers(herald);
  const track = async (event, attributes) => {
    const matching = herald.matches(event, attributes);
    log(`track ${event} ${JSON.stringify(attributes)}${matching ? " (matches a trigger: fetching)" : ""}`);
    await herald.track(event, attributes);
    showTriggers(herald);
  };
  for (const button of document.querySelectorAll("[data-track]")) {
    button.addEventListener("click", () => {
      const attributes = {};
      if (button.dataset.screen) attributes.screen = button.dataset.screen;
      if (button.dataset.sku) attributes.sku = button.dataset.sku;
      if (button.dataset.price) attributes.price = Number(button.dataset.price);
      track(button.dataset.track, attributes);
    });
  }
  $("#custom").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = new FormData(event.target).get("event").trim();
    if (name) track(name, {});
  });
  window.herald = herald; // for trying things in the console
  track("app_launch", {});
}

const appId = params.get("app");
const clientKey = params.get("key");
if (appId && clientKey) {
  start(appId, clientKey, params.get("locale"));
} else {
  const form = $("#connect");
  form.hidden = false;
  if (appId) form.elements.app.value = appId;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams({ app: data.get("app").trim(), key: data.get("key").trim() });
    if (data.get("locale").trim()) next.set("locale", data.get("locale").trim());
    location.search = next.toString();
  });
}
