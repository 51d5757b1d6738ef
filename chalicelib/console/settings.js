// Settings: the app's id and name, and the Pinpoint dialect's switch (an admin PATCH of the app).

import { BASE, appPath, call } from "./api.js";
import { field, fill, h, toast } from "./dom.js";

/** What an Amplify app configures to reach this Herald (docs/MIGRATING-FROM-PINPOINT.md). */
function amplifyConfig(appId) {
  const host = location.host;
  return [
    "Amplify.configure({ Notifications: { InAppMessaging: { Pinpoint: {",
    `  appId: "${appId}",`,
    `  region: "<your domain>#",  // Amplify then calls https://pinpoint.<your domain>/v1/apps/...`,
    "} } } });",
    `// pinpoint.<your domain> must serve this Herald's API (here: ${host}${BASE}).`,
  ].join("\n");
}

export async function renderSettings(main) {
  const app = await call("GET", appPath());
  const enabled = h("input", { type: "checkbox", checked: Boolean(app.pinpoint && app.pinpoint.enabled) });
  const state = h("p", { class: "muted", "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "button primary" }, "Save");
  const describe = (on) => {
    state.textContent = on
      ? "On: Pinpoint's UpdateEndpoint, GetInAppMessages and PutEvents are answered for this app id (no key: the app id is the credential)."
      : "Off: Pinpoint's routes answer 403 ForbiddenException for this app.";
  };
  describe(enabled.checked);
  const form = h(
    "form",
    {
      class: "card",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        save.disabled = true;
        try {
          const saved = await call("PATCH", appPath(), { body: { pinpoint: { enabled: enabled.checked } } });
          enabled.checked = saved.pinpoint.enabled;
          describe(saved.pinpoint.enabled);
          toast(saved.pinpoint.enabled ? "The Pinpoint dialect is on." : "The Pinpoint dialect is off.", "success");
        } catch (error) {
          toast(error.message, "error");
        } finally {
          save.disabled = false;
        }
      },
    },
    h("h2", {}, "Amazon Pinpoint dialect"),
    h(
      "p",
      {},
      "Apps built on Amplify's in-app messaging (aws-amplify/in-app-messaging) can use this Herald without a code change: turn the dialect on and point Amplify at Herald.",
    ),
    field("Answer Amplify's Pinpoint requests for this app", enabled, { className: "field checkbox" }),
    state,
    h("pre", { class: "code" }, amplifyConfig(app.app_id)),
    h("div", { class: "wizard-actions" }, save),
  );
  fill(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Settings")),
    h("div", { class: "card" }, h("h2", {}, app.name), h("p", { class: "muted" }, `App id: ${app.app_id}`)),
    form,
  );
}
