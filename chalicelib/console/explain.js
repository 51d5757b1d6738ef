// Explain: for a device id and an event, why each engagement would or would not be shown now.

import { appPath, call } from "./api.js";
import { field, fill, h, statusBadge } from "./dom.js";
import { formatDateTime } from "./format.js";
import { describeCondition } from "./rules.js";

/** The explain route's reason code and numbers, in words. */
export function reasonInWords(item) {
  const d = item.detail || {};
  if (item.eligible) {
    return `Would be shown now: variant ${item.variant}${item.test ? " (this is a test device: status, schedule, audience and caps are skipped)" : ""}.`;
  }
  switch (item.reason) {
    case "not_active":
      return `Not running: its status is ${d.status || item.status}. Publish or resume it first.`;
    case "paused":
      return "Paused: no device gets it until it is resumed.";
    case "outside_window":
      return `Outside its schedule: it runs from ${formatDateTime(d.start_at)} to ${formatDateTime(d.end_at)} and it is now ${formatDateTime(d.now)}.`;
    case "event_mismatch":
      return `Shown on the event “${d.expected}”, not on “${d.received}”.`;
    case "event_conditions":
      return `The event's attributes do not meet the condition ${d.condition ? describeCondition(d.condition) : ""} (explain sends no attributes; the app sends them with its fetch).`;
    case "not_in_audience":
      return d.registered === false
        ? "Not in its audience: this device has never registered (the app registers it with PUT …/devices/{id}), so it matches no audience, user id or device id."
        : "Not in its audience: the device matches none of its audiences, user ids or device ids.";
    case "outside_percent":
      return `Not among the ${d.percent} % of the audience it reaches (each user or device is drawn once, the same way every time).`;
    case "control_group":
      return `In the control group (${d.control_percent} % held out as the baseline): shown nothing on purpose.`;
    case "capped_total":
      return `Capped: already shown ${d.impressions} time(s); the limit is ${d.max_impressions} in total.`;
    case "capped_daily":
      return `Capped for today: shown ${d.impressions_today} time(s) today (${d.timezone}); the limit is ${d.max_per_day} a day, until ${formatDateTime(d.day_ends_at)}.`;
    case "trigger_unsupported":
      return `Left out for Amplify (Pinpoint): its event filter cannot say ${d.condition ? describeCondition(d.condition) : "this trigger"} (${d.why}).`;
    case "capped_interval":
      return `Too soon: last shown ${d.seconds_since_last} s ago; at least ${d.min_interval_seconds} s must pass between two.`;
    default:
      return `Not shown (${item.reason}).`;
  }
}

export function renderExplain(main) {
  const device = h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true });
  const event = h("input", { type: "text", value: "app_launch", autocomplete: "off", spellcheck: "false" });
  const asAmplify = h("input", { type: "checkbox" });
  const results = h("div", { class: "explain-results", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Explain");
  const form = h(
    "form",
    {
      class: "card explain-form",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const id = device.value.trim();
        if (!id) {
          fill(results, h("p", { class: "error" }, "Enter a device id."));
          device.focus();
          return;
        }
        submit.disabled = true;
        fill(results, h("p", { class: "muted" }, "Asking Herald…"));
        const query = new URLSearchParams(
          asAmplify.checked ? { dialect: "pinpoint" } : { event: event.value.trim() || "app_launch" },
        );
        try {
          const answer = await call(
            "GET",
            `${appPath(`/devices/${encodeURIComponent(id)}/messages/explain`)}?${query}`,
          );
          const items = answer.engagements || [];
          fill(results, 
            h(
              "h2",
              {},
              `Device “${answer.device_id}” ${answer.dialect ? "synced by Amplify (Pinpoint), any event" : `on “${answer.event}”`}: ${items.filter((i) => i.eligible).length} of ${items.length} would be shown`,
            ),
            answer.registered === false
              ? h(
                  "p",
                  { class: "note" },
                  "This device has not registered yet: only engagements for everyone (or listing it as a test device) can reach it.",
                )
              : null,
            items.length
              ? h(
                  "ol",
                  { class: "explain-list" },
                  items.map((item) =>
                    h(
                      "li",
                      { class: item.eligible ? "eligible" : "not-eligible" },
                      h(
                        "p",
                        { class: "explain-head" },
                        h("span", { class: "mark", "aria-hidden": "true" }, item.eligible ? "✓" : "✗"),
                        h("a", { href: `#/engagements/${encodeURIComponent(item.engagement_id)}` }, item.name),
                        " ",
                        statusBadge(item.status),
                        h("span", { class: "muted" }, ` priority ${item.priority}`),
                      ),
                      h("p", {}, reasonInWords(item)),
                    ),
                  ),
                )
              : h("p", {}, "This app has no engagement yet."),
          );
        } catch (error) {
          fill(results, h("p", { class: "error" }, error.message));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h(
      "div",
      { class: "inline-fields" },
      field("Device id", device, { hint: "The id the app registers the device with." }),
      field("Event", event, { hint: "The event the app would fetch on." }),
    ),
    field("As Amplify's syncMessages sees it (the Pinpoint dialect)", asAmplify, {
      className: "field checkbox",
    }),
    h("div", { class: "wizard-actions" }, submit),
  );
  fill(main, 
    h("div", { class: "page-head" }, h("h1", {}, "Explain")),
    h(
      "p",
      { class: "intro" },
      "Why would this device get, or not get, each engagement right now? The same checks a fetch makes, in order: status, schedule, event, audience, percentage, control group, caps.",
    ),
    form,
    results,
  );
}
