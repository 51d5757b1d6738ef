// The new / edit engagement wizard: one step per step of the original console, then Save.
// Every input carries data-path, the JSON path the API names in a 400, so the API's own messages
// are shown next to the field they concern.

import { ApiError, appPath, call, listAll } from "./api.js";
import { field, fill, h, newId, select, toast } from "./dom.js";
import { formatDateTime, localInputToIso, offsetOf, timeZoneName } from "./format.js";
import {
  activeVariants,
  buttonIds,
  copyMessage,
  emptyModel,
  evenWeights,
  MAX_VARIANTS,
  mergeDiff,
  modelFromSpec,
  nextKey,
  parentPath,
  remapPath,
  specOf,
  toBody,
} from "./model.js";
import { LAYOUTS, localized, phone } from "./preview.js";
import { conditionRow, describeCondition, describeRule, newCondition } from "./rules.js";
import { messageEditor } from "./wizard-message.js";

const STEPS = [
  { id: "basics", title: "Name" },
  { id: "experiment", title: "Type and A/B test" },
  { id: "message", title: "Message" },
  { id: "audience", title: "Audience" },
  { id: "trigger", title: "Schedule and trigger" },
  { id: "metrics", title: "Metrics" },
  { id: "review", title: "Review and save" },
];
const EVENTS = ["app_launch", "screen_view", "login", "purchase", "add_to_cart", "checkout"];

function focusable(el) {
  if (!el) return null;
  if (el.matches("input, select, textarea, button")) return el;
  return el.querySelector("input, select, textarea, button") || el;
}

export function renderWizard(main, { engagementId, navigate }) {
  const editing = Boolean(engagementId);
  const state = {
    model: emptyModel(),
    original: null,
    version: null,
    status: null,
    step: 0,
    errors: new Map(),
    problems: [],
    audiences: null,
    activeVariant: 0,
    previewLocale: {},
    samples: {},
    saving: false,
  };
  const model = () => state.model;
  const err = (path) => {
    const messages = state.errors.get(path);
    return messages ? messages.join(" ") : undefined;
  };

  /** A labelled control bound to `path` (its error shown under it). */
  const bound = (label, control, path, options = {}) => {
    control.dataset.path = path;
    return field(label, control, { ...options, error: err(path) });
  };
  const groupError = (path) => {
    const message = err(path);
    return message ? h("p", { class: "field-error", id: newId("err") }, message) : null;
  };
  const input = (value, onInput, props = {}) =>
    h("input", {
      type: "text",
      autocomplete: "off",
      ...props,
      value: value ?? "",
      oninput: (event) => onInput(event.target.value, event),
    });
  const textarea = (value, onInput, props = {}) =>
    h("textarea", {
      rows: 3,
      ...props,
      value: value ?? "",
      oninput: (event) => onInput(event.target.value, event),
    });

  // --- the frame: title, error summary, step list, one section per step ------------------------
  const title = h("h1", {}, editing ? "Edit engagement" : "New engagement");
  const summary = h("div", { class: "error-summary", tabindex: "-1", hidden: true });
  const stepButtons = STEPS.map((step, index) =>
    h(
      "button",
      { type: "button", class: "step-link", onclick: () => go(index) },
      h("span", { class: "step-number", "aria-hidden": "true" }, String(index + 1)),
      h("span", { class: "step-title" }, step.title),
      h("span", { class: "visually-hidden step-state" }),
    ),
  );
  const stepNav = h(
    "nav",
    { class: "steps", "aria-label": "Wizard steps" },
    h(
      "ol",
      {},
      stepButtons.map((button) => h("li", {}, button)),
    ),
  );
  const saveStatus = h("p", { class: "muted", role: "status" });
  const sections = STEPS.map((step, index) => {
    const headingId = `step-${step.id}-heading`;
    const content = h("div", { class: "step-content" });
    const last = index === STEPS.length - 1;
    const back =
      index > 0
        ? h("button", { type: "button", class: "button", onclick: () => go(index - 1) }, "Back")
        : null;
    const next = h(
      "button",
      { type: "submit", class: "button primary", dataset: { role: last ? "save" : "next" } },
      last ? "Save" : "Next",
    );
    const form = h(
      "form",
      {
        class: "step-form",
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          if (last) save(next);
          else go(index + 1);
        },
      },
      content,
      h("div", { class: "wizard-actions" }, back, next, last ? saveStatus : null),
    );
    const section = h(
      "section",
      {
        class: "wizard-step",
        dataset: { step: step.id },
        "aria-labelledby": headingId,
        hidden: index !== 0,
      },
      h(
        "h2",
        { id: headingId, tabindex: "-1" },
        `Step ${index + 1} of ${STEPS.length}: ${step.title}`,
      ),
      form,
    );
    return { section, content };
  });

  // --- step 1: name and description ---------------------------------------------------------
  function basics() {
    const m = model();
    return [
      h(
        "p",
        { class: "intro" },
        "Name the engagement (unique within the app) and say what it is for.",
      ),
      bound(
        "Name",
        input(m.name, (value) => (m.name = value), { maxlength: 100 }),
        "name",
        { hint: "Unique within this app, ignoring case." },
      ),
      bound(
        "Description",
        textarea(m.description, (value) => (m.description = value), { maxlength: 1000 }),
        "description",
        { hint: "Optional; only the console shows it." },
      ),
    ];
  }

  // --- step 2: type, A/B test, variants and weights, control group ---------------------------
  function experiment() {
    const m = model();
    const parts = [
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, "Engagement type"),
        h(
          "label",
          { class: "choice" },
          h("input", { type: "radio", name: "engagement-type", value: "in_app_message", checked: true }),
          " In-app message: shown inside the app while it is in use (even with push notifications off)",
        ),
      ),
    ];
    if (editing && ["active", "paused", "ended"].includes(state.status)) {
      parts.push(
        h(
          "p",
          { class: "note" },
          "If this engagement has already run, its variant keys and weights, A/B testing and control group are frozen: changing them would reassign devices in the middle of the test.",
        ),
      );
    }
    const abToggle = h("input", {
      type: "checkbox",
      checked: m.ab_test,
      dataset: { path: "ab_test" },
      onchange: (event) => {
        m.ab_test = event.target.checked;
        if (m.ab_test && m.variants.length < 2) {
          m.variants.push({ key: nextKey(m), weight: 50, message: copyMessage(m.variants[0].message) });
          evenWeights(m.variants.length).forEach((w, i) => (m.variants[i].weight = w));
        }
        renderStep(1, "ab_test");
      },
    });
    parts.push(
      h(
        "div",
        { class: "field checkbox" },
        h(
          "label",
          {},
          abToggle,
          " A/B testing: show different variants to different devices and compare them",
        ),
        groupError("ab_test"),
      ),
    );
    const control = bound(
      "Control group (%)",
      h("input", {
        type: "number",
        min: 0,
        max: 50,
        step: 1,
        class: "short",
        value: m.control_percent,
        oninput: (event) => (m.control_percent = event.target.value),
      }),
      "control_percent",
      {
        hint: "Devices held out as the baseline (0 to 50 %): they see nothing, so conversions with and without the message can be compared.",
      },
    );
    if (!m.ab_test) {
      parts.push(
        h(
          "p",
          { class: "hint" },
          "One message for everyone reached. Turn A/B testing on to compare up to 8 variants.",
        ),
        control,
      );
      return parts;
    }
    const total = h("p", { class: "total", "aria-live": "polite" });
    const updateTotal = () => {
      const sum = m.variants.reduce((acc, v) => acc + (Number(v.weight) || 0), 0);
      total.textContent =
        sum === 100 ? "Total: 100 %" : `Total: ${sum} %: the weights must add up to 100 %`;
      total.className = sum === 100 ? "total ok" : "total warn";
    };
    const rows = m.variants.map((variant, index) => {
      const key = input(variant.key, (value) => (variant.key = value), {
        maxlength: 16,
        class: "short",
      });
      const weight = h("input", {
        type: "number",
        min: 0,
        max: 100,
        step: 1,
        class: "short",
        value: variant.weight,
        oninput: (event) => {
          variant.weight = event.target.value;
          updateTotal();
        },
      });
      return h(
        "div",
        { class: "variant-row", role: "group", "aria-label": `Variant ${variant.key}` },
        bound(`Variant ${index + 1} key`, key, `variants[${index}].key`),
        bound(`Weight of variant ${index + 1} (%)`, weight, `variants[${index}].weight`),
        h(
          "button",
          {
            type: "button",
            class: "button small",
            disabled: m.variants.length <= 1,
            onclick: () => {
              m.variants.splice(index, 1);
              evenWeights(m.variants.length).forEach((w, i) => (m.variants[i].weight = w));
              state.activeVariant = 0;
              renderStep(1, `variants[${Math.max(0, index - 1)}].key`);
            },
          },
          `Remove variant ${variant.key}`,
        ),
      );
    });
    updateTotal();
    parts.push(
      h(
        "fieldset",
        { class: "group", dataset: { path: "variants" } },
        h("legend", {}, "Variants (1 to 8) and the share of devices each gets"),
        groupError("variants"),
        rows,
        total,
        h(
          "div",
          { class: "row-actions" },
          h(
            "button",
            {
              type: "button",
              class: "button small",
              disabled: m.variants.length >= MAX_VARIANTS,
              onclick: () => {
                const last = m.variants[m.variants.length - 1];
                m.variants.push({ key: nextKey(m), weight: 0, message: copyMessage(last.message) });
                evenWeights(m.variants.length).forEach((w, i) => (m.variants[i].weight = w));
                renderStep(1, `variants[${m.variants.length - 1}].key`);
              },
            },
            "+ Add a variant",
          ),
          h(
            "button",
            {
              type: "button",
              class: "button small",
              onclick: () => {
                evenWeights(m.variants.length).forEach((w, i) => (m.variants[i].weight = w));
                renderStep(1, "variants[0].weight");
              },
            },
            "Split evenly",
          ),
        ),
      ),
      control,
    );
    return parts;
  }

  // --- step 3: the message of each variant, with a live preview -------------------------------
  const { messagePanel } = messageEditor({ model, state, bound, input, textarea, groupError });

  function message() {
    const variants = activeVariants(model());
    if (state.activeVariant >= variants.length) state.activeVariant = 0;
    const redraw = (focusPath) => renderStep(2, focusPath);
    const parts = [
      h(
        "p",
        { class: "intro" },
        "What the user sees: layout, texts, image, buttons, data for the app and translations. The preview follows as you type.",
      ),
    ];
    if (variants.length === 1) {
      parts.push(messagePanel(0, redraw));
      return parts;
    }
    const tabIds = variants.map(() => newId("tab"));
    const panelIds = variants.map(() => newId("panel"));
    const tabs = variants.map((variant, index) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: tabIds[index],
          class: "tab",
          "aria-selected": index === state.activeVariant ? "true" : "false",
          "aria-controls": panelIds[index],
          tabindex: index === state.activeVariant ? "0" : "-1",
          onclick: () => {
            state.activeVariant = index;
            renderStep(2);
            tabsFocus(index);
          },
        },
        `Variant ${variant.key}`,
      ),
    );
    const tabsFocus = (index) => {
      const tab = sections[2].content.querySelectorAll('[role="tab"]')[index];
      if (tab) tab.focus();
    };
    const tablist = h(
      "div",
      {
        role: "tablist",
        class: "tabs",
        "aria-label": "Variants",
        onkeydown: (event) => {
          const keys = { ArrowRight: 1, ArrowLeft: -1, Home: "first", End: "last" };
          if (!(event.key in keys)) return;
          event.preventDefault();
          const move = keys[event.key];
          let index = state.activeVariant;
          if (move === "first") index = 0;
          else if (move === "last") index = variants.length - 1;
          else index = (index + move + variants.length) % variants.length;
          state.activeVariant = index;
          renderStep(2);
          tabsFocus(index);
        },
      },
      tabs,
    );
    parts.push(tablist);
    variants.forEach((_, index) => {
      parts.push(
        h(
          "div",
          {
            role: "tabpanel",
            id: panelIds[index],
            "aria-labelledby": tabIds[index],
            hidden: index !== state.activeVariant,
          },
          messagePanel(index, redraw),
        ),
      );
    });
    return parts;
  }

  // --- step 4: audience and percentage -------------------------------------------------------
  function audience() {
    const m = model();
    const a = m.audience;
    const radio = (value, label) =>
      h(
        "label",
        { class: "choice" },
        h("input", {
          type: "radio",
          name: "audience-mode",
          value,
          checked: a.mode === value,
          onchange: () => {
            a.mode = value;
            renderStep(3);
            const chosen = sections[3].content.querySelector(`input[name="audience-mode"][value="${value}"]`);
            if (chosen) chosen.focus();
          },
        }),
        ` ${label}`,
      );
    const parts = [
      h(
        "fieldset",
        { class: "group", dataset: { path: "audience" } },
        h("legend", {}, "Who can get it"),
        groupError("audience"),
        radio("all", "Every user of the app"),
        radio("some", "Chosen audiences, users or devices (any of them)"),
      ),
    ];
    if (a.mode === "some") {
      let choices;
      if (state.audiences === null) choices = h("p", { class: "muted" }, "Loading audiences…");
      else if (!state.audiences.length) {
        choices = h(
          "p",
          { class: "hint" },
          "No audience yet. Audiences are rules over device fields (platform, app version, locale, custom attributes): create them on the Audiences page.",
        );
      } else {
        choices = state.audiences.map((item) =>
          h(
            "label",
            { class: "choice" },
            h("input", {
              type: "checkbox",
              value: item.audience_id,
              checked: a.audience_ids.includes(item.audience_id),
              onchange: (event) => {
                const set = new Set(a.audience_ids);
                if (event.target.checked) set.add(item.audience_id);
                else set.delete(item.audience_id);
                a.audience_ids = [...set];
              },
            }),
            " ",
            h("strong", {}, item.name),
            h("span", { class: "muted" }, ` (${describeRule(item.rules)})`),
          ),
        );
      }
      parts.push(
        h(
          "fieldset",
          { class: "group", dataset: { path: "audience.audience_ids" } },
          h("legend", {}, "Audiences"),
          groupError("audience.audience_ids"),
          choices,
        ),
        bound(
          "User ids",
          textarea(a.user_ids, (value) => (a.user_ids = value), { spellcheck: "false" }),
          "audience.user_ids",
          { hint: "One per line (or comma separated): the user_id devices register with." },
        ),
        bound(
          "Device ids",
          textarea(a.device_ids, (value) => (a.device_ids = value), { spellcheck: "false" }),
          "audience.device_ids",
          { hint: "One per line (or comma separated)." },
        ),
      );
    }
    const output = h("output", { class: "percent-output" }, `${a.percent} %`);
    const slider = h("input", {
      type: "range",
      min: 0,
      max: 100,
      step: 1,
      value: a.percent,
      "aria-valuetext": `${a.percent} percent`,
      oninput: (event) => {
        a.percent = Number(event.target.value);
        output.textContent = `${a.percent} %`;
        event.target.setAttribute("aria-valuetext", `${a.percent} percent`);
      },
    });
    output.setAttribute("for", (slider.id = newId("percent")));
    parts.push(
      h(
        "div",
        { class: "percent-field" },
        bound("Share of that audience to reach", slider, "audience.percent", {
          hint: "Each user (or device) is drawn once, the same way on every fetch.",
        }),
        output,
      ),
      bound(
        "Test device ids",
        textarea(m.test_device_ids, (value) => (m.test_device_ids = value), {
          rows: 2,
          spellcheck: "false",
        }),
        "test_device_ids",
        {
          hint: "Preview on a phone: these devices get the message whatever its status, schedule, audience and caps (when the event matches), flagged as a test.",
        },
      ),
    );
    return parts;
  }

  // --- step 5: start/end, trigger event and conditions, caps, priority ------------------------
  function trigger() {
    const m = model();
    const zone = timeZoneName();
    const when = (label, key, path) => {
      const sent = h("p", { class: "hint sent-as" });
      const show = () => {
        const iso = localInputToIso(m.schedule[key]);
        sent.textContent = iso ? `Sent as ${iso}` : "Pick a date and a time.";
      };
      const control = h("input", {
        type: "datetime-local",
        value: m.schedule[key],
        oninput: (event) => {
          m.schedule[key] = event.target.value;
          show();
        },
      });
      show();
      return h("div", {}, bound(label, control, path), sent);
    };
    const eventList = newId("events");
    const conditionsPath = "trigger.conditions";
    const options = (k) => ({
      errors: err,
      onChange: () => {},
      onStructure: (focusPath) => renderStep(4, focusPath),
      onRemove: () => {
        m.trigger.conditions.splice(k, 1);
        renderStep(4, conditionsPath);
      },
    });
    const offset = offsetOf(new Date());
    return [
      h(
        "fieldset",
        { class: "group", dataset: { path: "schedule" } },
        h("legend", {}, "When"),
        h(
          "p",
          { class: "hint" },
          `Times are in your time zone, ${zone} (UTC${offset} now), and are sent with their offset.`,
        ),
        groupError("schedule"),
        h(
          "div",
          { class: "inline-fields" },
          when("Start", "start", "schedule.start_at"),
          when("End", "end", "schedule.end_at"),
        ),
      ),
      h(
        "fieldset",
        { class: "group", dataset: { path: "trigger" } },
        h("legend", {}, "On which app event"),
        groupError("trigger"),
        bound(
          "Event",
          input(m.trigger.event, (value) => (m.trigger.event = value), {
            list: eventList,
            spellcheck: "false",
          }),
          "trigger.event",
          { hint: "The event the app names when it fetches messages, e.g. app_launch." },
        ),
        h(
          "datalist",
          { id: eventList },
          EVENTS.map((name) => h("option", { value: name })),
        ),
        h(
          "div",
          { class: "conditions", dataset: { path: conditionsPath } },
          h("h3", {}, "Conditions on the event's attributes (optional, all must hold)"),
          groupError(conditionsPath),
          m.trigger.conditions.map((row, k) =>
            conditionRow(row, `${conditionsPath}[${k}]`, options(k)),
          ),
          h(
            "button",
            {
              type: "button",
              class: "button small",
              onclick: () => {
                m.trigger.conditions.push(newCondition("screen"));
                renderStep(4, `${conditionsPath}[${m.trigger.conditions.length - 1}].value`);
              },
            },
            "+ Add a condition",
          ),
        ),
      ),
      h(
        "fieldset",
        { class: "group", dataset: { path: "frequency" } },
        h("legend", {}, "How often (per user, or per device without a user id)"),
        groupError("frequency"),
        h(
          "div",
          { class: "inline-fields" },
          bound(
            "At most, in total",
            h("input", {
              type: "number",
              min: 1,
              class: "short",
              value: m.frequency.max_impressions,
              oninput: (event) => (m.frequency.max_impressions = event.target.value),
            }),
            "frequency.max_impressions",
            { hint: "Empty: no limit." },
          ),
          bound(
            "At most, per day",
            h("input", {
              type: "number",
              min: 1,
              class: "short",
              value: m.frequency.max_per_day,
              oninput: (event) => (m.frequency.max_per_day = event.target.value),
            }),
            "frequency.max_per_day",
            { hint: "In the device's time zone." },
          ),
          bound(
            "Seconds between two",
            h("input", {
              type: "number",
              min: 0,
              class: "short",
              value: m.frequency.min_interval_seconds,
              oninput: (event) => (m.frequency.min_interval_seconds = event.target.value),
            }),
            "frequency.min_interval_seconds",
            { hint: "3600 is an hour." },
          ),
        ),
      ),
      bound(
        "Priority",
        select(
          Array.from({ length: 10 }, (_, i) => [
            String(i + 1),
            i === 0 ? "1 (highest)" : i === 9 ? "10 (lowest)" : String(i + 1),
          ]),
          m.priority,
          { onchange: (event) => (m.priority = Number(event.target.value)) },
        ),
        "priority",
        { hint: "When several messages are due, the highest priority comes first." },
      ),
    ];
  }

  // --- step 6: map buttons to metrics, conversion ---------------------------------------------
  function metrics() {
    const m = model();
    const ids = buttonIds(m);
    const rows = [...ids.entries()].map(([id, labels]) =>
      bound(
        `Metric for button “${id}”`,
        input(m.metrics[id] || "", (value) => (m.metrics[id] = value), {
          placeholder: `${id}_clicked`,
          spellcheck: "false",
        }),
        `metrics.${id}`,
        { hint: `Labels: ${labels.join(" · ")}. Empty: clicks are still counted, under the button id.` },
      ),
    );
    const conversion = h("input", {
      type: "checkbox",
      checked: m.conversion.enabled,
      dataset: { path: "conversion.enabled" },
      onchange: (event) => {
        m.conversion.enabled = event.target.checked;
        renderStep(5, "conversion.enabled");
      },
    });
    return [
      h(
        "p",
        { class: "intro" },
        "Map the message's elements to the metrics they count towards, then choose how success is measured.",
      ),
      h(
        "fieldset",
        { class: "group", dataset: { path: "metrics" } },
        h("legend", {}, "Buttons → metrics"),
        groupError("metrics"),
        rows.length
          ? rows
          : h("p", { class: "hint" }, "No button yet: add buttons to the message (step 3) to map them."),
      ),
      h(
        "fieldset",
        { class: "group", dataset: { path: "conversion" } },
        h("legend", {}, "Conversion"),
        groupError("conversion"),
        h(
          "div",
          { class: "field checkbox" },
          h("label", {}, conversion, " Count conversions: an app event that follows an impression"),
        ),
        m.conversion.enabled
          ? h(
              "div",
              { class: "inline-fields" },
              bound(
                "Conversion event",
                input(m.conversion.event, (value) => (m.conversion.event = value), {
                  placeholder: "purchase",
                  spellcheck: "false",
                }),
                "conversion.event",
              ),
              bound(
                "Within (hours)",
                h("input", {
                  type: "number",
                  min: 1,
                  max: 720,
                  class: "short",
                  value: m.conversion.window_hours,
                  oninput: (event) => (m.conversion.window_hours = event.target.value),
                }),
                "conversion.window_hours",
              ),
            )
          : null,
        h(
          "p",
          { class: "hint" },
          "The performance page compares variants on conversion rate when conversions are counted, otherwise on click-through rate.",
        ),
      ),
    ];
  }

  // --- step 7: review and save ----------------------------------------------------------------
  function review() {
    const m = model();
    const { body } = toBody(m, { forCreate: !editing });
    const item = (term, ...description) => [h("dt", {}, term), h("dd", {}, description)];
    const a = body.audience;
    const who = [];
    if (a.audience_ids.length) {
      const names = a.audience_ids.map(
        (id) => (state.audiences || []).find((x) => x.audience_id === id)?.name || id,
      );
      who.push(`audiences ${names.join(", ")}`);
    }
    if (a.user_ids.length) who.push(`${a.user_ids.length} user id(s)`);
    if (a.device_ids.length) who.push(`${a.device_ids.length} device id(s)`);
    const caps = [];
    if (body.frequency.max_impressions) caps.push(`${body.frequency.max_impressions} in total`);
    if (body.frequency.max_per_day) caps.push(`${body.frequency.max_per_day} a day`);
    if (body.frequency.min_interval_seconds) {
      caps.push(`${body.frequency.min_interval_seconds} s apart`);
    }
    const list = h(
      "dl",
      { class: "review" },
      item("Name", body.name || "(none)"),
      item("Description", body.description || "—"),
      item(
        "Type",
        `In-app message, ${body.ab_test ? `A/B test of ${body.variants.length} variant(s)` : "one variant"}`,
        body.control_percent ? `, control group ${body.control_percent} %` : ", no control group",
      ),
      item(
        "Variants",
        h(
          "ul",
          {},
          body.variants.map((variant) =>
            h(
              "li",
              {},
              `${variant.key} (${variant.weight ?? "?"} %): `,
              LAYOUTS.find(([v]) => v === variant.message.layout)?.[1] || variant.message.layout,
              variant.message.title ? ` “${variant.message.title}”` : "",
              variant.message.buttons.length
                ? `, buttons ${variant.message.buttons.map((b) => b.label).join(" / ")}`
                : "",
              Object.keys(variant.message.localizations).length
                ? `, localized in ${Object.keys(variant.message.localizations).join(", ")}`
                : "",
            ),
          ),
        ),
      ),
      item("Audience", `${who.length ? who.join(" or ") : "every user"}, ${a.percent ?? "?"} % of them`),
      item("Test devices", body.test_device_ids.length ? body.test_device_ids.join(", ") : "—"),
      item(
        "Schedule",
        body.schedule.start_at && body.schedule.end_at
          ? `${formatDateTime(body.schedule.start_at)} → ${formatDateTime(body.schedule.end_at)} (${body.schedule.start_at} to ${body.schedule.end_at})`
          : "incomplete",
      ),
      item(
        "Trigger",
        `on “${body.trigger.event || "app_launch"}”`,
        body.trigger.conditions.length
          ? ` when ${body.trigger.conditions.map(describeCondition).join(" and ")}`
          : "",
      ),
      item("Frequency", caps.length ? `at most ${caps.join(", ")}` : "no cap"),
      item("Priority", String(body.priority ?? 5)),
      item(
        "Metrics",
        body.metrics.length
          ? body.metrics.map((x) => `${x.element} → ${x.metric}`).join(", ")
          : "none mapped",
      ),
      item(
        "Conversion",
        body.conversion
          ? `“${body.conversion.event}” within ${body.conversion.window_hours} h`
          : "not counted (variants compared on click-through rate)",
      ),
    );
    const previews = h(
      "div",
      { class: "review-previews" },
      body.variants.map((variant) =>
        h(
          "figure",
          { class: "mini-preview" },
          h("div", { class: "mini-frame" }, phone(localized(variant.message, ""))),
          h("figcaption", {}, `Variant ${variant.key}`),
        ),
      ),
    );
    const parts = [list, previews];
    if (!editing) {
      parts.push(
        h(
          "div",
          { class: "field checkbox" },
          h(
            "label",
            {},
            h("input", {
              type: "checkbox",
              checked: m.draft,
              onchange: (event) => (m.draft = event.target.checked),
            }),
            " Save as a draft: no device gets it until it is published",
          ),
        ),
      );
    }
    parts.push(
      h(
        "details",
        { class: "json" },
        h("summary", {}, editing ? "The JSON this saves" : "The JSON sent to the API"),
        h("pre", {}, JSON.stringify(body, null, 2)),
      ),
    );
    return parts;
  }

  const RENDERERS = [basics, experiment, message, audience, trigger, metrics, review];

  function renderStep(index, focusPath) {
    fill(sections[index].content, ...RENDERERS[index]().flat().filter(Boolean));
    if (focusPath) focusPathIn(index, focusPath);
  }

  function renderAll() {
    RENDERERS.forEach((_, index) => renderStep(index));
  }

  function findPath(path) {
    return main.querySelector(`[data-path="${CSS.escape(path)}"]`);
  }

  function focusPathIn(index, path) {
    let target = null;
    for (let p = path; p && !target; p = parentPath(p)) {
      target = sections[index].content.querySelector(`[data-path="${CSS.escape(p)}"]`);
    }
    const el = focusable(target);
    if (el) el.focus();
  }

  function updateNav() {
    stepButtons.forEach((button, index) => {
      if (index === state.step) button.setAttribute("aria-current", "step");
      else button.removeAttribute("aria-current");
      const hasError = sections[index].section.querySelector(".field-error") !== null;
      button.classList.toggle("has-error", hasError);
      button.querySelector(".step-state").textContent = hasError ? " (has problems)" : "";
    });
  }

  function go(index, focusPath) {
    state.step = index;
    renderStep(index);
    sections.forEach(({ section }, i) => {
      section.hidden = i !== index;
    });
    updateNav();
    if (focusPath) focusPathIn(index, focusPath);
    else sections[index].section.querySelector("h2").focus();
  }

  /** Shows the API's problems next to their fields, then goes to the first one. */
  function showProblems(error, remap) {
    state.errors = new Map();
    renderAll();
    const shown = [];
    for (const problem of error.problems) {
      let target = null;
      if (problem.path) {
        for (let p = remapPath(problem.path, remap); p && !target; p = parentPath(p)) {
          if (findPath(p)) target = p;
        }
      }
      if (target) {
        if (!state.errors.has(target)) state.errors.set(target, []);
        state.errors.get(target).push(problem.path === target ? problem.message : `${problem.path}: ${problem.message}`);
      }
      shown.push({ ...problem, target });
    }
    renderAll();
    fill(summary, 
      h(
        "h2",
        {},
        error.status === 409 ? "Herald could not save this (conflict)" : "Herald could not save this",
      ),
      h(
        "ul",
        {},
        shown.map((problem) =>
          h(
            "li",
            {},
            problem.target
              ? h(
                  "a",
                  {
                    href: "#",
                    onclick: (event) => {
                      event.preventDefault();
                      goToPath(problem.target);
                    },
                  },
                  problem.path ? `${problem.path}: ${problem.message}` : problem.message,
                )
              : problem.path
                ? `${problem.path}: ${problem.message}`
                : problem.message,
          ),
        ),
      ),
    );
    summary.hidden = false;
    summary.setAttribute("role", "alert");
    const first = shown.find((problem) => problem.target);
    if (first) goToPath(first.target);
    else {
      updateNav();
      summary.focus();
    }
  }

  function goToPath(path) {
    const variant = /^variants\[(\d+)\]\.message/.exec(path);
    if (variant) state.activeVariant = Number(variant[1]);
    renderStep(2);
    const el = findPath(path);
    const section = el && el.closest("section[data-step]");
    const index = section ? STEPS.findIndex((step) => step.id === section.dataset.step) : 0;
    go(index, path);
  }

  async function save(button) {
    if (state.saving) return;
    state.saving = true;
    button.disabled = true;
    summary.hidden = true;
    saveStatus.textContent = "Saving…";
    const { body, remap } = toBody(model(), { forCreate: !editing });
    try {
      let saved;
      if (editing) {
        const patch = mergeDiff(state.original, body);
        const path = appPath(`/engagements/${encodeURIComponent(engagementId)}`);
        saved = await call("PATCH", path, { body: patch, ifMatch: state.version });
      } else {
        saved = await call("POST", appPath("/engagements"), { body });
      }
      saveStatus.textContent = "";
      toast(`“${saved.name}” was saved (${saved.status}).`, "success");
      navigate(`#/engagements/${encodeURIComponent(saved.engagement_id)}`);
    } catch (error) {
      saveStatus.textContent = "";
      if (!(error instanceof ApiError)) throw error;
      showProblems(error, remap);
    } finally {
      state.saving = false;
      button.disabled = false;
    }
  }

  async function start() {
    fill(main, 
      h("div", { class: "page-head" }, title),
      h("p", { class: "muted", role: "status" }, "Loading…"),
    );
    if (editing) {
      try {
        const engagement = await call(
          "GET",
          appPath(`/engagements/${encodeURIComponent(engagementId)}`),
        );
        state.original = specOf(engagement);
        state.version = engagement.version;
        state.status = engagement.status;
        state.model = modelFromSpec(engagement);
        title.textContent = `Edit “${engagement.name}”`;
      } catch (error) {
        fill(main, h("h1", {}, "Edit engagement"), h("p", { class: "error" }, error.message));
        return;
      }
    }
    fill(main, 
      h(
        "div",
        { class: "page-head" },
        title,
        h(
          "a",
          {
            class: "button",
            href: editing ? `#/engagements/${encodeURIComponent(engagementId)}` : "#/engagements",
          },
          "Cancel",
        ),
      ),
      summary,
      h(
        "div",
        { class: "wizard" },
        stepNav,
        h(
          "div",
          { class: "wizard-body" },
          sections.map(({ section }) => section),
        ),
      ),
    );
    renderAll();
    updateNav();
    title.setAttribute("tabindex", "-1");
    title.focus();
    try {
      state.audiences = await listAll(appPath("/audiences"), "audiences");
    } catch {
      state.audiences = [];
    }
    if (state.step === 3 && document.activeElement && sections[3].section.contains(document.activeElement)) {
      return; // the user is typing in it: the list shows on the next visit
    }
    renderStep(3);
  }

  start();
}
