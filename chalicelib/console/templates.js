// Message templates in the preview: the same small language as the server's
// (chalicelib/domain/templates.py), pinned by tests/cases/templates.json, which both pass.
// {{ user_id }}, {{ attributes.NAME }}, {{ event.NAME }}, each optionally | default: "text".

export const MAX_VALUE_CHARS = 256;
const MAX_TAGS = 20;
const TAG = /^\s*([^\s|]+)\s*(?:\|\s*([A-Za-z_]+)\s*(?::\s*("(?:[^"\\]|\\.)*")?)?\s*)?$/s;
const VARIABLE = /^(?:user_id|(attributes|event)\.([A-Za-z0-9_.:-]{1,64}))$/;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

export class TemplateError extends Error {}

function tag(inner, at) {
  const match = TAG.exec(inner);
  if (!match) {
    throw new TemplateError(
      `the tag at character ${at} must be {{ variable }} or {{ variable | default: "text" }}`,
    );
  }
  const [, variable, filter, argument] = match;
  const found = VARIABLE.exec(variable);
  if (!found) {
    throw new TemplateError(
      `unknown variable '${variable}' at character ${at}: use user_id, attributes.NAME or event.NAME`,
    );
  }
  let fallback = "";
  if (filter !== undefined) {
    if (filter !== "default") {
      throw new TemplateError(
        `unknown filter '${filter}' at character ${at}: the only filter is default: "text"`,
      );
    }
    if (argument === undefined) {
      throw new TemplateError(`default at character ${at} needs a quoted text: default: "…"`);
    }
    fallback = argument.slice(1, -1).replace(/\\(.)/gs, "$1");
  }
  return { root: variable === "user_id" ? "user_id" : found[1], name: found[2], fallback };
}

/** The literal texts and tags of a template; throws TemplateError. */
export function parse(text) {
  const parts = [];
  let position = 0;
  let tags = 0;
  for (;;) {
    const opening = text.indexOf("{{", position);
    const closing = text.indexOf("}}", position);
    if (opening < 0) {
      if (closing >= 0) throw new TemplateError(`'}}' at character ${closing + 1} closes no '{{'`);
      parts.push(text.slice(position));
      break;
    }
    if (closing >= 0 && closing < opening) {
      throw new TemplateError(`'}}' at character ${closing + 1} closes no '{{'`);
    }
    const end = text.indexOf("}}", opening + 2);
    const inner = end < 0 ? "" : text.slice(opening + 2, end);
    if (end < 0 || inner.includes("{{")) {
      throw new TemplateError(`'{{' at character ${opening + 1} is never closed by '}}'`);
    }
    tags += 1;
    if (tags > MAX_TAGS) throw new TemplateError(`at most ${MAX_TAGS} {{ … }} tags in one text`);
    parts.push(text.slice(position, opening), tag(inner, opening + 1));
    position = end + 2;
  }
  return parts.filter((part) => part !== "");
}

function asText(value) {
  if (typeof value === "boolean") return value ? "true" : "false";
  return String(value);
}

function cut(text, limit) {
  const chars = [...text];
  return chars.length <= limit ? text : chars.slice(0, limit - 1).join("") + "…";
}

/** `text` with its tags replaced from values {user_id, attributes, event}, at most `limit`. */
export function render(text, values, limit) {
  if (!text || !text.includes("{{")) return text;
  const out = [];
  for (const part of parse(text)) {
    if (typeof part === "string") {
      out.push(part);
      continue;
    }
    const source =
      part.root === "user_id" ? values.user_id : ((values[part.root] || {})[part.name] ?? null);
    const value = source === undefined || source === null ? "" : asText(source);
    out.push(value === "" ? part.fallback : cut(value.replace(CONTROL, ""), MAX_VALUE_CHARS));
  }
  return cut(out.join(""), limit);
}

/** The variables a text uses, as "user_id", "attributes.NAME" or "event.NAME"; [] if invalid. */
export function variables(text) {
  try {
    return parse(text || "")
      .filter((part) => typeof part !== "string")
      .map((part) => (part.root === "user_id" ? "user_id" : `${part.root}.${part.name}`));
  } catch {
    return [];
  }
}
