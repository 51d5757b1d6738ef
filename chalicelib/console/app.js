// The Herald console: sign-in, navigation and the router (#/… addresses; keys never in them).

import { ApiError, call, describeKey, session } from "./api.js";
import { renderAudiences } from "./audiences.js";
import { renderDetails } from "./details.js";
import { field, fill, focusHeading, h, toast } from "./dom.js";
import { renderEngagements } from "./engagements.js";
import { renderExplain } from "./explain.js";
import { renderSettings } from "./settings.js";
import { renderTestDevices } from "./testdevices.js";
import { renderWizard } from "./wizard.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function signOut(message) {
  session.clear();
  navigate("#/signin");
  if (message) toast(message, "error");
}

function drawChrome() {
  const current = session.read();
  nav.hidden = !current;
  who.replaceChildren();
  if (!current) return;
  const links = [];
  if (current.app) {
    links.push(
      ["#/engagements", "Engagements"],
      ["#/engagements/new", "New engagement"],
      ["#/audiences", "Audiences"],
      ["#/explain", "Explain"],
      ["#/settings", "Settings"],
      ["#/test-devices", "Test devices"],
    );
  }
  if (current.root) links.push(["#/apps", "Apps"]);
  const here = location.hash.split("?")[0];
  fill(nav, 
    h(
      "ul",
      {},
      links.map(([href, label]) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href,
              "aria-current":
                here === href || (href === "#/engagements" && /^#\/engagements\/(?!new)/.test(here))
                  ? "page"
                  : undefined,
            },
            label,
          ),
        ),
      ),
    ),
  );
  who.append(
    current.app
      ? h(
          "span",
          { class: "app-name" },
          h("strong", {}, current.app.name),
          h("small", { class: "muted" }, current.app.app_id),
        )
      : h("span", { class: "muted" }, "Root key: no app chosen"),
    h("button", { type: "button", class: "button small", onclick: () => signOut() }, "Sign out"),
  );
}

// --- sign in -------------------------------------------------------------------------------------

function renderSignIn() {
  const key = h("input", {
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
  });
  const problem = h("p", { class: "field-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card signin",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const value = key.value.trim();
        problem.hidden = true;
        const kind = describeKey(value);
        const fail = (message) => {
          problem.textContent = message;
          problem.hidden = false;
          key.setAttribute("aria-invalid", "true");
          key.focus();
        };
        if (!value) return fail("Paste a key.");
        if (kind.kind === "client") {
          return fail("That is a client key (for the mobile app). The console needs the admin key.");
        }
        submit.disabled = true;
        try {
          if (kind.kind === "admin") {
            const app = await call("GET", `/v1/apps/${kind.appId}`, { key: value });
            session.write({ key: value, app: { app_id: app.app_id, name: app.name }, root: null });
            navigate("#/engagements");
          } else {
            // The root key (or a custom one from HERALD_ROOT_KEY): it is checked when used.
            session.write({ key: value, app: null, root: value });
            navigate("#/apps");
          }
        } catch (error) {
          fail(error instanceof ApiError && error.status === 401 ? "Herald refused this key." : error.message);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("h1", {}, "Sign in to Herald"),
    h(
      "p",
      {},
      "Paste an app's admin key (herald_admin_…) to manage its engagements, or the deployment's root key (printed by make run) to create an app.",
    ),
    field("Key", key, {
      hint: "Kept in this tab only (session storage) and sent as an Authorization header.",
    }),
    problem,
    h("div", { class: "wizard-actions" }, submit),
  );
  fill(main, form);
  key.focus();
}

// --- apps (root key) -----------------------------------------------------------------------------

function renderApps() {
  const current = session.read();
  if (!current || !current.root) return navigate("#/signin");
  const name = h("input", { type: "text", autocomplete: "off", maxlength: 100 });
  const created = h("div", { "aria-live": "polite" });
  const createProblem = h("p", { class: "field-error", hidden: true });
  const appId = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  const openProblem = h("p", { class: "field-error", hidden: true });

  const keyField = (label, value) => {
    const out = h("input", { type: "text", readonly: true, value, class: "key", spellcheck: "false" });
    return h(
      "div",
      { class: "key-row" },
      field(label, out, { className: "field grow" }),
      h(
        "button",
        {
          type: "button",
          class: "button small",
          onclick: async () => {
            out.select();
            try {
              await navigator.clipboard.writeText(value);
              toast(`${label} copied.`, "success");
            } catch {
              toast("Select the key and copy it (Ctrl+C).", "info");
            }
          },
        },
        `Copy ${label.toLowerCase()}`,
      ),
    );
  };

  const useApp = (app, key) => {
    session.write({ key, app: { app_id: app.app_id, name: app.name }, root: current.root });
    navigate("#/engagements");
  };

  fill(main, 
    h("div", { class: "page-head" }, h("h1", {}, "Apps")),
    h(
      "form",
      {
        class: "card",
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          createProblem.hidden = true;
          try {
            const app = await call("POST", "/v1/apps", { body: { name: name.value }, key: current.root });
            fill(created, 
              h(
                "div",
                { class: "card keys-once" },
                h("h2", {}, `“${app.name}” was created`),
                h(
                  "p",
                  { class: "warning" },
                  "Copy these keys now: Herald stores only their hashes and will not show them again (rotate them to get new ones).",
                ),
                keyField("Admin key", app.admin_key),
                keyField("Client key", app.client_key),
                h("p", { class: "hint" }, `App id: ${app.app_id}. The client key goes in the mobile app; the admin key signs in here.`),
                h(
                  "button",
                  { type: "button", class: "button primary", onclick: () => useApp(app, app.admin_key) },
                  `Open “${app.name}” with its admin key`,
                ),
              ),
            );
            name.value = "";
            created.querySelector("h2").setAttribute("tabindex", "-1");
            created.querySelector("h2").focus();
          } catch (error) {
            createProblem.textContent =
              error.status === 401 ? "This is not the deployment's root key: sign out and use an admin key." : error.message;
            createProblem.hidden = false;
          }
        },
      },
      h("h2", {}, "Create an app"),
      field("App name", name, { hint: "A tenant: its own engagements, audiences, devices and keys." }),
      createProblem,
      h("div", { class: "wizard-actions" }, h("button", { type: "submit", class: "button primary" }, "Create app")),
    ),
    created,
    h(
      "form",
      {
        class: "card",
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          openProblem.hidden = true;
          try {
            const app = await call("GET", `/v1/apps/${encodeURIComponent(appId.value.trim())}`, { key: current.root });
            useApp(app, current.root);
          } catch (error) {
            openProblem.textContent = error.message;
            openProblem.hidden = false;
          }
        },
      },
      h("h2", {}, "Open an existing app"),
      field("App id", appId, { hint: "The root key can manage any app." }),
      openProblem,
      h("div", { class: "wizard-actions" }, h("button", { type: "submit", class: "button" }, "Open app")),
    ),
  );
}

// --- router ------------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/signin$/, () => renderSignIn(), "Sign in", false],
  [/^#\/apps$/, () => renderApps(), "Apps", false],
  [/^#\/engagements\/new$/, () => renderWizard(main, { navigate }), "New engagement", true],
  [
    /^#\/engagements\/([a-z0-9]+)\/edit$/,
    (m) => renderWizard(main, { engagementId: m[1], navigate }),
    "Edit engagement",
    true,
  ],
  [/^#\/engagements\/([a-z0-9]+)$/, (m) => renderDetails(main, { engagementId: m[1], navigate }), "Engagement", true],
  [
    /^#\/engagements(?:\?(.*))?$/,
    (m) => renderEngagements(main, new URLSearchParams(m[1] || ""), navigate),
    "Engagements",
    true,
  ],
  [/^#\/audiences$/, () => renderAudiences(main), "Audiences", true],
  [/^#\/explain$/, () => renderExplain(main), "Explain", true],
  [/^#\/settings$/, () => renderSettings(main), "Settings", true],
  [/^#\/test-devices$/, () => renderTestDevices(main), "Test devices", true],
];

function route() {
  const current = session.read();
  const hash = location.hash || "";
  if (!current && hash !== "#/signin") return navigate("#/signin");
  for (const [pattern, render, title, needsApp] of ROUTES) {
    const found = pattern.exec(hash);
    if (!found) continue;
    if (needsApp && !(current && current.app)) return navigate(current ? "#/apps" : "#/signin");
    document.title = `${title} · Herald console`;
    drawChrome();
    const result = render(found);
    if (title !== "Sign in") focusHeading(main);
    if (result && typeof result.catch === "function") result.catch((error) => toast(error.message, "error"));
    return undefined;
  }
  if (hash.startsWith("#/") || hash === "" || hash === "#") {
    return navigate(current && current.app ? "#/engagements" : current ? "#/apps" : "#/signin");
  }
  return undefined; // an in-page anchor such as #main
}

window.addEventListener("hashchange", route);
window.addEventListener("herald:unauthorized", () => {
  if (session.read()) signOut("Herald refused the key: sign in again.");
});
document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
route();
