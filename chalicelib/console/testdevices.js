// Test devices: enrolled, not named (SPEC §7.2). Lists the app's enrolled devices, enrols one
// (its test token is shown once, with a link to open on the device), withdraws one.

import { appPath, call } from "./api.js";
import { confirmDialog, field, fill, h, toast } from "./dom.js";
import { formatDateTime } from "./format.js";

/** The link to open on an enrolled device: the app (its debug build, or the web SDK) reads the
 * device id and test token from it and sends the token as X-Herald-Test-Token. */
export function enrolmentLink(appId, deviceId, token) {
  const query = new URLSearchParams({ app_id: appId, device_id: deviceId, test_token: token });
  return `herald-test://enrol?${query}`;
}

export async function renderTestDevices(main) {
  const list = h("div", { "aria-live": "polite" });
  const enrolled = h("div", { "aria-live": "polite" });
  const deviceId = h("input", { type: "text", autocomplete: "off", spellcheck: "false", maxlength: 128 });
  const label = h("input", { type: "text", autocomplete: "off", maxlength: 100 });
  const problem = h("p", { class: "field-error", role: "alert", hidden: true });

  const refresh = async () => {
    const answer = await call("GET", appPath("/test-devices"));
    const devices = answer.test_devices || [];
    fill(
      list,
      devices.length
        ? h(
            "table",
            { class: "figures test-devices" },
            h("thead", {}, h("tr", {}, ["Device id", "Label", "Enrolled", ""].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              devices.map((device) =>
                h(
                  "tr",
                  { "data-device": device.device_id },
                  h("td", { "data-label": "Device id" }, h("code", {}, device.device_id)),
                  h("td", { "data-label": "Label" }, device.label),
                  h("td", { "data-label": "Enrolled" }, formatDateTime(device.enrolled_at)),
                  h(
                    "td",
                    {},
                    h(
                      "button",
                      {
                        type: "button",
                        class: "button small danger",
                        "aria-label": `Withdraw ${device.device_id}`,
                        onclick: async () => {
                          const ok = await confirmDialog({
                            title: `Withdraw “${device.device_id}”?`,
                            message: "Its test token stops working at once; it sees only what any device sees.",
                            confirmLabel: "Withdraw",
                            danger: true,
                          });
                          if (!ok) return;
                          await call("DELETE", appPath(`/test-devices/${encodeURIComponent(device.device_id)}`));
                          toast(`${device.device_id} withdrawn.`, "success");
                          await refresh();
                        },
                      },
                      "Withdraw",
                    ),
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, "No test device is enrolled yet."),
    );
  };

  const form = h(
    "form",
    {
      class: "card",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        problem.hidden = true;
        try {
          const body = { device_id: deviceId.value.trim(), label: label.value.trim() };
          const device = await call("POST", appPath("/test-devices"), { body });
          const appId = appPath("").split("/").pop();
          const link = enrolmentLink(decodeURIComponent(appId), device.device_id, device.test_token);
          const linkOut = h("input", { type: "text", readonly: true, value: link, class: "key", spellcheck: "false" });
          fill(
            enrolled,
            h(
              "div",
              { class: "card keys-once" },
              h("h2", { tabindex: "-1" }, `“${device.device_id}” is enrolled`),
              h("p", { class: "warning" }, "Open this link on the device now: Herald keeps only a hash of its test token and will not show it again."),
              field("Enrolment link", linkOut, {
                hint: "The app reads test_token from it and sends it as X-Herald-Test-Token with its fetches.",
              }),
              h("p", {}, h("a", { href: link, class: "enrolment-link" }, "Open the enrolment link")),
            ),
          );
          enrolled.querySelector("h2").focus();
          deviceId.value = "";
          label.value = "";
          await refresh();
        } catch (error) {
          problem.textContent = error.message;
          problem.hidden = false;
        }
      },
    },
    h("h2", {}, "Enrol a test device"),
    h(
      "div",
      { class: "inline-fields" },
      field("Device id", deviceId, { hint: "The id the app registers the device with." }),
      field("Label", label, { hint: "Whose device it is, e.g. “Ana's iPhone”." }),
    ),
    problem,
    h("div", { class: "wizard-actions" }, h("button", { type: "submit", class: "button primary" }, "Enrol")),
  );

  fill(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Test devices")),
    h(
      "p",
      { class: "intro" },
      "An engagement's test devices see it whatever its status, schedule, audience and caps. A device id is not secret, so only an enrolled device with its test token gets test content.",
    ),
    form,
    enrolled,
    h("h2", {}, "Enrolled devices"),
    list,
  );
  await refresh();
}
