// The SPEC's rule language in the browser: condition rows, nested all/any groups, their JSON,
// and their reading in words. Inputs carry data-path = the JSON path the API names in errors.

import { field, h, newId, select } from "./dom.js";

export const OPS = [
  ["eq", "is"],
  ["ne", "is not"],
  ["in", "is one of"],
  ["not_in", "is none of"],
  ["gt", "is greater than"],
  ["gte", "is at least"],
  ["lt", "is less than"],
  ["lte", "is at most"],
  ["contains", "contains"],
  ["exists", "is set"],
  ["not_exists", "is not set"],
  ["version_gte", "is version at least"],
  ["version_lt", "is version below"],
];
const OP_WORDS = Object.fromEntries(OPS);
const LIST_OPS = new Set(["in", "not_in"]);
const NUMBER_OPS = new Set(["gt", "gte", "lt", "lte"]);
const PRESENCE_OPS = new Set(["exists", "not_exists"]);
const VERSION_OPS = new Set(["version_gte", "version_lt"]);
const TYPES = [
  ["string", "text"],
  ["number", "number"],
  ["boolean", "true/false"],
];
export const DEVICE_FIELDS = [
  "platform",
  "os_version",
  "app_version",
  "locale",
  "timezone",
  "user_id",
  "device_id",
];
export const MAX_DEPTH = 5;

// Behavioural conditions (audiences only): what the subject did, from the events it sent.
const EVENT_OPS = [
  ["count_gte", "was sent at least"],
  ["count_lt", "was sent fewer than"],
  ["last_within_days", "was last sent within"],
  ["last_not_within_days", "was not sent within"],
];
const ENGAGEMENT_OPS = [
  ["seen", "was seen"],
  ["not_seen", "was not seen"],
  ["clicked", "was clicked"],
  ["dismissed", "was dismissed"],
];
const BEHAVIOUR_WORDS = Object.fromEntries([...EVENT_OPS, ...ENGAGEMENT_OPS]);
const COUNT_OPS = new Set(["count_gte", "count_lt"]);

export function newBehaviour(subject = "event") {
  return subject === "event"
    ? { kind: "behaviour", subject, name: "", op: "count_gte", value: "1", within_days: "30" }
    : { kind: "behaviour", subject, name: "", op: "seen" };
}

function whole(text) {
  const raw = String(text ?? "").trim();
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

function behaviourToJson(row) {
  if (row.subject === "engagement") return { engagement: row.name.trim(), op: row.op };
  const condition = { event: row.name.trim(), op: row.op, value: whole(row.value) };
  if (COUNT_OPS.has(row.op)) condition.within_days = whole(row.within_days);
  return condition;
}

function behaviourFromJson(condition) {
  if ("engagement" in condition) {
    return { kind: "behaviour", subject: "engagement", name: condition.engagement, op: condition.op };
  }
  return {
    kind: "behaviour",
    subject: "event",
    name: condition.event,
    op: condition.op,
    value: String(condition.value ?? ""),
    within_days: String(condition.within_days ?? "30"),
  };
}

function describeBehaviour(condition) {
  if ("engagement" in condition) {
    return `engagement ${condition.engagement} ${BEHAVIOUR_WORDS[condition.op] || condition.op}`;
  }
  const words = BEHAVIOUR_WORDS[condition.op] || condition.op;
  if (COUNT_OPS.has(condition.op)) {
    return `${condition.event} ${words} ${condition.value} times in ${condition.within_days} days`;
  }
  return `${condition.event} ${words} ${condition.value} days`;
}

function typed(text, type) {
  const raw = String(text ?? "").trim();
  if (type === "number") {
    const number = Number(raw);
    return raw !== "" && Number.isFinite(number) ? number : raw;
  }
  if (type === "boolean") {
    if (raw.toLowerCase() === "true") return true;
    if (raw.toLowerCase() === "false") return false;
    return raw;
  }
  return raw;
}

/** A condition row of the editor -> its JSON. */
export function conditionToJson(row) {
  if (row.kind === "behaviour") return behaviourToJson(row);
  const condition = { attribute: String(row.attribute || "").trim(), op: row.op };
  if (PRESENCE_OPS.has(row.op)) return condition;
  if (LIST_OPS.has(row.op)) {
    condition.value = String(row.value || "")
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "")
      .map((item) => typed(item, row.type));
  } else if (NUMBER_OPS.has(row.op)) {
    condition.value = typed(row.value, "number");
  } else if (VERSION_OPS.has(row.op)) {
    condition.value = String(row.value || "").trim();
  } else {
    condition.value = typed(row.value, row.type);
  }
  return condition;
}

/** JSON -> a condition row of the editor. */
export function conditionFromJson(condition) {
  if ("event" in condition || "engagement" in condition) return behaviourFromJson(condition);
  const value = condition.value;
  const first = Array.isArray(value) ? value[0] : value;
  const type =
    typeof first === "number" ? "number" : typeof first === "boolean" ? "boolean" : "string";
  return {
    kind: "condition",
    attribute: condition.attribute || "",
    op: condition.op || "eq",
    value: Array.isArray(value) ? value.join(", ") : value === undefined ? "" : String(value),
    type,
  };
}

export function newCondition(attribute = "") {
  return { kind: "condition", attribute, op: "eq", value: "", type: "string" };
}

export function groupToJson(group) {
  return {
    [group.mode]: group.members.map((member) =>
      member.kind === "group" ? groupToJson(member) : conditionToJson(member),
    ),
  };
}

export function groupFromJson(json) {
  const mode = json && "any" in json ? "any" : "all";
  const members = (json && json[mode]) || [];
  return {
    kind: "group",
    mode,
    members: members.map((member) =>
      member && ("all" in member || "any" in member)
        ? groupFromJson(member)
        : conditionFromJson(member || {}),
    ),
  };
}

function valueWords(value) {
  if (Array.isArray(value)) return value.map((item) => JSON.stringify(item)).join(", ");
  return JSON.stringify(value);
}

export function describeCondition(condition) {
  if ("event" in condition || "engagement" in condition) return describeBehaviour(condition);
  const words = OP_WORDS[condition.op] || condition.op;
  if (PRESENCE_OPS.has(condition.op)) return `${condition.attribute} ${words}`;
  return `${condition.attribute} ${words} ${valueWords(condition.value)}`;
}

/** A rule in words: "all of (platform is "ios", app_version is version at least "2.3.0")". */
export function describeRule(json) {
  if (!json || typeof json !== "object") return "";
  const mode = "any" in json ? "any" : "all" in json ? "all" : null;
  if (!mode) return describeCondition(json);
  const parts = (json[mode] || []).map(describeRule);
  if (parts.length === 1) return parts[0];
  return `${mode === "all" ? "all of" : "any of"} (${parts.join(mode === "all" ? "; " : " | ")})`;
}

/**
 * One condition row: attribute, operator, value (and its type), remove.
 * `errors(path)` returns the message for a path or undefined; `onChange()` is called on input;
 * `onStructure()` after a change that needs the editor drawn again.
 */
export function conditionRow(row, path, { errors, onChange, onStructure, onRemove, attributes }) {
  const listId = newId("attrs");
  const attribute = h("input", {
    type: "text",
    value: row.attribute,
    list: attributes ? listId : undefined,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: attributes ? "platform or attributes.plan" : "screen",
    dataset: { path: `${path}.attribute` },
    oninput: (event) => {
      row.attribute = event.target.value;
      onChange();
    },
  });
  const op = select(OPS, row.op, {
    dataset: { path: `${path}.op` },
    onchange: (event) => {
      row.op = event.target.value;
      onStructure(`${path}.op`);
    },
  });
  const parts = [
    field("Attribute", attribute, { error: errors(`${path}.attribute`), className: "field grow" }),
    attributes
      ? h(
          "datalist",
          { id: listId },
          attributes.map((name) => h("option", { value: name })),
        )
      : null,
    field("Operator", op, { error: errors(`${path}.op`) }),
  ];
  if (!PRESENCE_OPS.has(row.op)) {
    const hint = LIST_OPS.has(row.op)
      ? "comma separated"
      : VERSION_OPS.has(row.op)
        ? "e.g. 2.3.0"
        : undefined;
    const value = h("input", {
      type: "text",
      value: row.value,
      autocomplete: "off",
      spellcheck: "false",
      dataset: { path: `${path}.value` },
      oninput: (event) => {
        row.value = event.target.value;
        onChange();
      },
    });
    parts.push(
      field("Value", value, { hint, error: errors(`${path}.value`), className: "field grow" }),
    );
    if (!NUMBER_OPS.has(row.op) && !VERSION_OPS.has(row.op)) {
      const type = select(TYPES, row.type, {
        onchange: (event) => {
          row.type = event.target.value;
          onChange();
        },
      });
      parts.push(field("Value type", type));
    }
  }
  parts.push(
    h(
      "button",
      { type: "button", class: "button small", onclick: onRemove },
      "Remove condition",
    ),
  );
  const problem = errors(path);
  return h(
    "div",
    { class: "condition-row", role: "group", "aria-label": "Condition", dataset: { path } },
    parts,
    problem ? h("p", { class: "field-error" }, problem) : null,
  );
}

/** One behavioural condition: an event's count or recency, or what was done with an engagement. */
function behaviourRow(row, path, { errors, onChange, onStructure, onRemove }) {
  const isEvent = row.subject === "event";
  const text = (value, key, props = {}) =>
    h("input", {
      type: "text",
      value,
      autocomplete: "off",
      spellcheck: "false",
      dataset: { path: `${path}.${key}` },
      ...props,
      oninput: (event) => {
        row[key === "event" || key === "engagement" ? "name" : key] = event.target.value;
        onChange();
      },
    });
  const nameKey = isEvent ? "event" : "engagement";
  const op = select(isEvent ? EVENT_OPS : ENGAGEMENT_OPS, row.op, {
    dataset: { path: `${path}.op` },
    onchange: (event) => {
      row.op = event.target.value;
      onStructure(`${path}.op`);
    },
  });
  const parts = [
    field(isEvent ? "Custom event" : "Engagement id", text(row.name, nameKey), {
      error: errors(`${path}.${nameKey}`),
      className: "field grow",
    }),
    field("Behaviour", op, { error: errors(`${path}.op`) }),
  ];
  if (isEvent) {
    const counting = COUNT_OPS.has(row.op);
    parts.push(
      field(counting ? "Times" : "Days", text(row.value, "value", { inputmode: "numeric" }), {
        error: errors(`${path}.value`),
      }),
    );
    if (counting) {
      parts.push(
        field("In the last days (1-90)", text(row.within_days, "within_days", { inputmode: "numeric" }), {
          error: errors(`${path}.within_days`),
        }),
      );
    }
  }
  parts.push(
    h("button", { type: "button", class: "button small", onclick: onRemove }, "Remove condition"),
  );
  const problem = errors(path);
  return h(
    "div",
    { class: "condition-row", role: "group", "aria-label": "Behaviour condition", dataset: { path } },
    parts,
    problem ? h("p", { class: "field-error" }, problem) : null,
  );
}

/** An all/any group with its conditions and nested groups, editable in place. */
export function groupEditor(group, path, options, depth = 1) {
  const { errors, onChange, onStructure, onRemove } = options;
  const membersPath = `${path}.${group.mode}`;
  const mode = select(
    [
      ["all", "all of these hold"],
      ["any", "any of these holds"],
    ],
    group.mode,
    {
      onchange: (event) => {
        group.mode = event.target.value;
        onStructure();
      },
    },
  );
  const members = group.members.map((member, index) => {
    const memberPath = `${membersPath}[${index}]`;
    const remove = () => {
      group.members.splice(index, 1);
      onStructure();
    };
    if (member.kind === "group") {
      return groupEditor(member, memberPath, { ...options, onRemove: remove }, depth + 1);
    }
    if (member.kind === "behaviour") {
      return behaviourRow(member, memberPath, { ...options, onRemove: remove });
    }
    return conditionRow(member, memberPath, { ...options, onRemove: remove });
  });
  const problem = errors(membersPath) || errors(path);
  const actions = [
    h(
      "button",
      {
        type: "button",
        class: "button small",
        onclick: () => {
          group.members.push(newCondition());
          onStructure(`${membersPath}[${group.members.length - 1}].attribute`);
        },
      },
      "+ Condition",
    ),
  ];
  if (options.attributes) {
    // audiences only: trigger conditions are about the event, not the subject's history
    for (const [subject, label] of [
      ["event", "+ Event behaviour"],
      ["engagement", "+ Engagement behaviour"],
    ]) {
      actions.push(
        h(
          "button",
          {
            type: "button",
            class: "button small",
            onclick: () => {
              group.members.push(newBehaviour(subject));
              const key = subject === "event" ? "event" : "engagement";
              onStructure(`${membersPath}[${group.members.length - 1}].${key}`);
            },
          },
          label,
        ),
      );
    }
  }
  if (depth < MAX_DEPTH) {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: "button small",
          onclick: () => {
            group.members.push({ kind: "group", mode: "any", members: [newCondition()] });
            onStructure(`${membersPath}[${group.members.length - 1}].any[0].attribute`);
          },
        },
        "+ Group",
      ),
    );
  }
  if (onRemove) {
    actions.push(
      h("button", { type: "button", class: "button small", onclick: onRemove }, "Remove group"),
    );
  }
  return h(
    "fieldset",
    { class: `rule-group depth-${depth}`, dataset: { path } },
    h("legend", {}, depth === 1 ? "Match devices where" : "Group"),
    field("Combine", mode, { className: "field inline" }),
    problem ? h("p", { class: "field-error" }, problem) : null,
    members.length ? members : h("p", { class: "hint" }, "No condition yet."),
    h("div", { class: "row-actions" }, actions),
  );
}
