// The wizard's model of an engagement, and its translation to and from the API's JSON body.
// Lists the API keys by name (data, localizations, metrics) are rows here; `remap` says which row
// an error path such as `variants[0].message.data.campaign` points at.

import { dateToLocalInput, isoToLocalInput, localInputToIso, splitList } from "./format.js";
import { conditionFromJson, conditionToJson } from "./rules.js";

export const KEYS = "ABCDEFGH";
export const MAX_VARIANTS = 8;
export const READ_ONLY = [
  "engagement_id",
  "app_id",
  "status",
  "version",
  "ever_active",
  "created_at",
  "updated_at",
];

export function newMessage() {
  return {
    layout: "modal",
    title: "",
    body: "",
    image_url: "",
    custom_colours: false,
    background_color: "#ffffff",
    text_color: "#111111",
    buttons: [],
    data: [],
    localizations: [],
    question: null,
  };
}

export const QUESTION_TYPES = [
  ["rating", "Rating, 1 to 5"],
  ["nps", "Net Promoter Score, 0 to 10"],
  ["choice", "Choice among 2 to 6 options"],
  ["text", "Free text"],
];

export function newQuestion(type = "rating") {
  return {
    type,
    prompt: "",
    submit_label: "Submit",
    multiple: false,
    max_length: 500,
    options: [
      { id: "yes", label: "Yes" },
      { id: "no", label: "No" },
    ],
  };
}

function questionFromSpec(question) {
  if (!question) return null;
  return {
    ...newQuestion(question.type),
    ...question,
    options: (question.options || newQuestion().options).map((option) => ({ ...option })),
  };
}

function questionBody(question) {
  const out = { type: question.type, prompt: question.prompt, submit_label: question.submit_label };
  if (question.type === "choice") {
    out.options = question.options.map((option) => ({ id: option.id, label: option.label }));
    out.multiple = Boolean(question.multiple);
  }
  if (question.type === "text") out.max_length = num(question.max_length);
  return out;
}

export function emptyModel(now = new Date()) {
  const start = new Date(now.getTime());
  start.setSeconds(0, 0);
  const end = new Date(start.getTime() + 7 * 24 * 3600 * 1000);
  return {
    name: "",
    description: "",
    ab_test: false,
    control_percent: 0,
    variants: [{ key: "A", weight: 100, message: newMessage() }],
    audience: { mode: "all", audience_ids: [], user_ids: "", device_ids: "", percent: 100 },
    test_device_ids: "",
    schedule: { start: dateToLocalInput(start), end: dateToLocalInput(end) },
    trigger: { event: "app_launch", conditions: [] },
    frequency: { max_impressions: "", max_per_day: "", min_interval_seconds: "" },
    priority: 5,
    metrics: {},
    conversion: { enabled: false, event: "", window_hours: 24 },
    draft: false,
  };
}

const text = (value) => (value === undefined || value === null ? "" : String(value));

function messageFromSpec(message) {
  return {
    layout: message.layout || "modal",
    title: text(message.title),
    body: text(message.body),
    image_url: text(message.image_url),
    custom_colours: Boolean(message.background_color || message.text_color),
    background_color: message.background_color || "#ffffff",
    text_color: message.text_color || "#111111",
    buttons: (message.buttons || []).map((button) => ({
      ...button,
      action: { type: button.action.type, target: text(button.action.target) },
    })),
    data: Object.entries(message.data || {}).map(([key, value]) => ({ key, value: text(value) })),
    localizations: Object.entries(message.localizations || {}).map(([locale, loc]) => ({
      locale,
      title: text(loc.title),
      body: text(loc.body),
      image_url: text(loc.image_url),
      buttons: { ...(loc.buttons || {}) },
      question: {
        prompt: text((loc.question || {}).prompt),
        submit_label: text((loc.question || {}).submit_label),
        options: { ...((loc.question || {}).options || {}) },
      },
    })),
    question: questionFromSpec(message.question),
  };
}

/** An engagement from the API -> the wizard's model. */
export function modelFromSpec(spec) {
  const audience = spec.audience || {};
  const listed =
    (audience.audience_ids || []).length +
    (audience.user_ids || []).length +
    (audience.device_ids || []).length;
  const frequency = spec.frequency || {};
  return {
    name: text(spec.name),
    description: text(spec.description),
    ab_test: Boolean(spec.ab_test),
    control_percent: spec.control_percent ?? 0,
    variants: (spec.variants || []).map((variant) => ({
      key: variant.key,
      weight: variant.weight ?? 100,
      message: messageFromSpec(variant.message || {}),
    })),
    audience: {
      mode: listed ? "some" : "all",
      audience_ids: [...(audience.audience_ids || [])],
      user_ids: (audience.user_ids || []).join("\n"),
      device_ids: (audience.device_ids || []).join("\n"),
      percent: audience.percent ?? 100,
    },
    test_device_ids: (spec.test_device_ids || []).join("\n"),
    schedule: {
      start: isoToLocalInput(spec.schedule && spec.schedule.start_at),
      end: isoToLocalInput(spec.schedule && spec.schedule.end_at),
      // As read: sent back unchanged unless the user changes the field (no drift of offset).
      read: { ...(spec.schedule || {}) },
    },
    trigger: {
      event: text((spec.trigger || {}).event || "app_launch"),
      conditions: ((spec.trigger || {}).conditions || []).map(conditionFromJson),
    },
    frequency: {
      max_impressions: text(frequency.max_impressions),
      max_per_day: text(frequency.max_per_day),
      min_interval_seconds: text(frequency.min_interval_seconds),
    },
    priority: spec.priority ?? 5,
    metrics: Object.fromEntries((spec.metrics || []).map((m) => [m.element, m.metric])),
    conversion: spec.conversion
      ? { enabled: true, event: spec.conversion.event, window_hours: spec.conversion.window_hours }
      : { enabled: false, event: "", window_hours: 24 },
    draft: false,
  };
}

/** "" -> undefined (left out), a number -> that number, anything else as typed (the API says). */
export function num(value) {
  if (value === "" || value === null || value === undefined) return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : value;
}

export function activeVariants(model) {
  return model.ab_test ? model.variants : model.variants.slice(0, 1);
}

/** The button ids of the variants sent, in order of first appearance, with their labels. */
export function buttonIds(model) {
  const found = new Map();
  for (const variant of activeVariants(model)) {
    for (const button of variant.message.buttons) {
      if (!button.id) continue;
      if (!found.has(button.id)) found.set(button.id, []);
      found.get(button.id).push(`${variant.key}: “${button.label}”`);
    }
  }
  return found;
}

export function messageBody(message, prefix = "", remap = []) {
  const out = { layout: message.layout };
  if (message.title !== "") out.title = message.title;
  if (message.body !== "") out.body = message.body;
  if (message.image_url.trim()) out.image_url = message.image_url.trim();
  if (message.custom_colours) {
    out.background_color = message.background_color;
    out.text_color = message.text_color;
  }
  out.buttons = message.buttons.map((button) => {
    const action = { type: button.action.type };
    if (button.action.type !== "dismiss") action.target = button.action.target.trim();
    return { ...button, action };
  });
  const data = {};
  message.data.forEach((row, index) => {
    if (!row.key && !row.value) return;
    data[row.key] = row.value;
    remap.push([`${prefix}.data.${row.key}`, `${prefix}.data[${index}]`]);
  });
  out.data = data;
  if (message.question) out.question = questionBody(message.question);
  const localizations = {};
  message.localizations.forEach((row, index) => {
    const locale = row.locale.trim();
    const loc = {};
    if (row.title !== "") loc.title = row.title;
    if (row.body !== "") loc.body = row.body;
    if (row.image_url.trim()) loc.image_url = row.image_url.trim();
    const labels = Object.fromEntries(
      Object.entries(row.buttons).filter(([id, label]) => label && out.buttons.some((b) => b.id === id)),
    );
    if (Object.keys(labels).length) loc.buttons = labels;
    const asked = row.question || {};
    if (out.question) {
      const q = {};
      if (asked.prompt) q.prompt = asked.prompt;
      if (asked.submit_label) q.submit_label = asked.submit_label;
      const ids = (out.question.options || []).map((option) => option.id);
      const options = Object.fromEntries(
        Object.entries(asked.options || {}).filter(([id, label]) => label && ids.includes(id)),
      );
      if (Object.keys(options).length) q.options = options;
      if (Object.keys(q).length) loc.question = q;
    }
    localizations[locale] = loc;
    remap.push([`${prefix}.localizations.${locale}`, `${prefix}.localizations[${index}]`]);
  });
  out.localizations = localizations;
  return out;
}

/** The model -> the API's JSON body, and the error-path remapping of its keyed lists. */
export function toBody(model, { forCreate }) {
  const remap = [];
  const body = {
    name: model.name,
    description: model.description,
    type: "in_app_message",
    ab_test: model.ab_test,
  };
  body.control_percent = num(model.control_percent);
  body.variants = activeVariants(model).map((variant, index) => ({
    key: variant.key,
    weight: model.ab_test ? num(variant.weight) : 100,
    message: messageBody(variant.message, `variants[${index}].message`, remap),
  }));
  const audience = model.audience;
  const some = audience.mode === "some";
  body.audience = {
    audience_ids: some ? [...audience.audience_ids] : [],
    user_ids: some ? splitList(audience.user_ids) : [],
    device_ids: some ? splitList(audience.device_ids) : [],
    percent: num(audience.percent),
  };
  const when = (field, input) => {
    const read = model.schedule.read && model.schedule.read[field];
    if (read && isoToLocalInput(read) === input) return read;
    return localInputToIso(input) || undefined;
  };
  body.schedule = {
    start_at: when("start_at", model.schedule.start),
    end_at: when("end_at", model.schedule.end),
  };
  body.trigger = {
    event: model.trigger.event.trim() || undefined,
    conditions: model.trigger.conditions.map(conditionToJson),
  };
  const frequency = {};
  for (const [name, value] of Object.entries(model.frequency)) {
    if (num(value) !== undefined) frequency[name] = num(value);
  }
  body.frequency = frequency;
  body.priority = num(model.priority);
  body.metrics = [];
  for (const element of buttonIds(model).keys()) {
    const metric = String(model.metrics[element] || "").trim();
    if (!metric) continue;
    remap.push([`metrics[${body.metrics.length}]`, `metrics.${element}`]);
    body.metrics.push({ element, metric });
  }
  if (model.conversion.enabled) {
    body.conversion = {
      event: model.conversion.event.trim(),
      window_hours: num(model.conversion.window_hours),
    };
  }
  body.test_device_ids = splitList(model.test_device_ids);
  if (forCreate && model.draft) body.status = "draft";
  return { body: JSON.parse(JSON.stringify(body)), remap };
}

/** An API error path -> the wizard's path for it (keyed lists are rows in the wizard). */
export function remapPath(path, remap) {
  const ordered = [...remap].sort((a, b) => b[0].length - a[0].length);
  for (const [from, to] of ordered) {
    if (path === from || path.startsWith(`${from}.`) || path.startsWith(`${from}[`)) {
      return to + path.slice(from.length);
    }
  }
  return path;
}

/** "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" -> "". */
export function parentPath(path) {
  const index = /\[\d+\]$/.test(path) ? path.lastIndexOf("[") : path.lastIndexOf(".");
  return index > 0 ? path.slice(0, index) : "";
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** The RFC 7386 merge patch that turns `before` into `after` (null removes; lists replace). */
export function mergeDiff(before, after) {
  const patch = {};
  for (const key of Object.keys(before)) {
    if (!(key in after)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(after)) {
    if (isObject(value) && isObject(before[key])) {
      const inner = mergeDiff(before[key], value);
      if (Object.keys(inner).length) patch[key] = inner;
    } else if (JSON.stringify(value) !== JSON.stringify(before[key])) {
      patch[key] = value;
    }
  }
  return patch;
}

/** The owner's part of an engagement read from the API (what a PATCH may change). */
export function specOf(engagement) {
  const spec = { ...engagement };
  for (const name of READ_ONLY) delete spec[name];
  return spec;
}

/** Weights that sum to 100, as even as whole numbers allow. */
export function evenWeights(count) {
  const base = Math.floor(100 / count);
  return Array.from({ length: count }, (_, index) => base + (index < 100 - base * count ? 1 : 0));
}

export function nextKey(model) {
  const used = new Set(model.variants.map((variant) => variant.key));
  return [...KEYS].find((key) => !used.has(key)) || `V${model.variants.length + 1}`;
}

export function copyMessage(message) {
  return JSON.parse(JSON.stringify(message));
}
