// Building the page with DOM APIs only: text always goes in as text nodes, never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";
const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "multiple"]);

function applyProps(el, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.setAttribute("class", value);
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style") Object.assign(el.style, value); // CSSOM, allowed by the CSP
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (PROPERTIES.has(name)) el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("p", {class: "hint"}, "text", otherNode). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  return appendAll(el, children);
}

/** An SVG element, attributes set as given. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  }
  return appendAll(el, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Replaces the children of `el`; null, undefined and false children are left out. */
export function fill(el, ...children) {
  el.replaceChildren();
  return appendAll(el, children);
}

let uid = 0;
/** A fresh id for label/aria wiring. */
export function newId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Ask before doing something: a modal <dialog>, Escape or Cancel answers no. */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const titleId = newId("dlg");
    const textId = newId("dlg");
    const cancel = h("button", { type: "submit", value: "cancel", class: "button" }, "Cancel");
    const confirm = h(
      "button",
      { type: "submit", value: "confirm", class: danger ? "button danger" : "button primary" },
      confirmLabel,
    );
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId, "aria-describedby": textId },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: titleId }, title),
        h("p", { id: textId }, message),
        h("div", { class: "actions" }, cancel, confirm),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

let toastTimer = null;
/** A short message read out by screen readers. */
export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  box.className = `toast ${kind}`;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 5000);
}

/** A labelled form control with optional hint; `control` gets the id and aria links. */
export function field(label, control, { hint, error, className = "field" } = {}) {
  const id = control.id || newId("in");
  control.id = id;
  const described = [];
  const parts = [h("label", { for: id }, label)];
  if (hint) {
    const hintId = `${id}-hint`;
    described.push(hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  parts.push(control);
  if (error) {
    const errorId = `${id}-error`;
    described.push(errorId);
    parts.push(h("p", { class: "field-error", id: errorId }, error));
    control.setAttribute("aria-invalid", "true");
  }
  if (described.length) control.setAttribute("aria-describedby", described.join(" "));
  return h("div", { class: className }, parts);
}

/** A <select> of [value, label] pairs. */
export function select(options, value, props = {}) {
  return h(
    "select",
    props,
    options.map(([optionValue, label]) =>
      h("option", { value: optionValue, selected: String(optionValue) === String(value) }, label),
    ),
  );
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, status);
}

/** Moves keyboard focus to a page's heading after navigation (announced by screen readers). */
export function focusHeading(root) {
  const heading = root.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}
