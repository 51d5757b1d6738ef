// The DOM renderer: draws one message in one of the six layouts and reports through the
// controls the core gives it. Text is set as text (never HTML); colours go through the CSSOM
// (no inline style markup, so a strict Content-Security-Policy is fine); images that fail are
// reported as render_error and the message stays, without the image. Modal, card, full-screen
// and image-only messages are dialogs (labelled, focus kept inside, Escape closes, focus goes
// back where it was); banners never take focus. Each part is built by one function, so a new
// block is one more builder in BLOCKS (a question's form is questionform.js).

import { QUESTION_STYLE, questionBlock } from "./questionform.js";

const STYLE = `
.herald-layer{position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;justify-content:center;background:rgba(15,23,42,.55);animation:herald-in .18s ease-out}
.herald-message{box-sizing:border-box;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#fff;color:#111;border-radius:12px;box-shadow:0 12px 40px rgba(0,0,0,.25);padding:20px;position:relative;max-width:min(440px,calc(100vw - 32px));max-height:calc(100vh - 32px);overflow:auto}
.herald-message *{box-sizing:border-box}
.herald-banner{position:fixed;left:12px;right:12px;z-index:2147483000;max-width:none;display:flex;gap:12px;align-items:center;padding:12px 44px 12px 14px;animation:herald-in .18s ease-out}
.herald-banner_top{top:12px}.herald-banner_bottom{bottom:12px}
.herald-banner .herald-image{width:48px;height:48px;object-fit:cover;border-radius:8px;margin:0}
.herald-banner .herald-buttons{margin:0 0 0 auto;flex:none}
@media (max-width:600px){.herald-banner{flex-wrap:wrap}.herald-banner .herald-text{flex:1 1 60%}.herald-banner .herald-buttons{width:100%}}
.herald-full_screen{width:100vw;height:100vh;max-width:none;max-height:none;border-radius:0;display:flex;flex-direction:column;justify-content:center;align-items:center;text-align:center;padding:48px 24px}
.herald-card{width:min(360px,calc(100vw - 32px));padding:0 0 16px}
.herald-card .herald-image{width:100%;border-radius:12px 12px 0 0;margin:0 0 12px}
.herald-card .herald-text,.herald-card .herald-buttons{padding:0 16px}
.herald-image_only{padding:0;background:transparent;box-shadow:none}
.herald-image_only .herald-image{display:block;max-width:min(440px,calc(100vw - 32px));max-height:calc(100vh - 32px);margin:0;border-radius:12px;cursor:pointer}
.herald-image_only.herald-image-failed{background:#fff;padding:20px 44px 20px 20px;box-shadow:0 12px 40px rgba(0,0,0,.25)}
.herald-image{display:block;max-width:100%;height:auto;margin:0 0 12px;border-radius:8px}
.herald-title{font-size:1.15em;font-weight:650;margin:0 0 6px}
.herald-body{margin:0;white-space:pre-line}
.herald-buttons{display:flex;gap:8px;flex-wrap:wrap;margin-top:14px;justify-content:flex-end}
.herald-button{font:inherit;border:0;border-radius:8px;padding:8px 14px;cursor:pointer;background:#1d4ed8;color:#fff}
.herald-button+.herald-button{background:#e2e8f0;color:#111}
.herald-close{position:absolute;top:6px;right:6px;width:32px;height:32px;border:0;border-radius:16px;background:rgba(0,0,0,.06);color:inherit;font:20px/1 system-ui,sans-serif;cursor:pointer}
.herald-button:focus-visible,.herald-close:focus-visible,.herald-image:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
${QUESTION_STYLE}
@keyframes herald-in{from{opacity:0;transform:translateY(6px)}to{opacity:1;transform:none}}
@media (prefers-reduced-motion: reduce){.herald-layer,.herald-banner,.herald-message{animation:none!important;transition:none!important}}
`;

const DIALOG_LAYOUTS = new Set(["modal", "full_screen", "card", "image_only"]);
const FOCUSABLE = "button:not(:disabled), [href], input:not(:disabled), textarea, [tabindex]:not([tabindex='-1'])";

/**
 * @typedef {import("./core.js").Message} Message
 * @typedef {import("./core.js").Controls} Controls
 * @typedef {import("./core.js").Renderer} Renderer
 * @typedef {{message: Message, controls: Controls, document: Document, close: () => void}} Context
 */

/**
 * The controls Tab reaches, in order: of a radio group only the checked radio (or the first,
 * when none is), as browsers do.
 * @param {HTMLElement} root @returns {HTMLElement[]}
 */
function tabbable(root) {
  const found = /** @type {HTMLElement[]} */ ([...root.querySelectorAll(FOCUSABLE)]);
  return found.filter((candidate) => {
    const input = /** @type {HTMLInputElement} */ (candidate);
    if (input.tagName !== "INPUT" || input.type !== "radio") return true;
    const group = found.filter((other) => /** @type {HTMLInputElement} */ (other).name === input.name);
    const checked = group.find((other) => /** @type {HTMLInputElement} */ (other).checked);
    return checked ? checked === input : group[0] === input;
  });
}

/** @param {Document} document @param {string} tag @param {string} className */
function element(document, tag, className) {
  const made = document.createElement(tag);
  made.className = className;
  return made;
}

/** @param {Context} context @returns {HTMLElement | null} */
function imageBlock({ message, controls, document }) {
  const content = message.message;
  if (!content.image_url) return null;
  const image = /** @type {HTMLImageElement} */ (element(document, "img", "herald-image"));
  image.alt = content.layout === "image_only" ? content.title || content.body || "" : "";
  image.addEventListener(
    "error",
    () => {
      controls.renderError();
      const root = image.parentElement;
      image.remove();
      if (content.layout === "image_only" && root) {
        // Nothing left to see but the text: show it (and the button) instead of an empty box.
        root.classList.add("herald-image-failed");
        root.prepend(textElements(message, document, content.title || content.body || "—"));
        const first = content.buttons?.[0];
        if (first) root.insertBefore(buttonRow(document, [first], controls), root.lastChild);
      }
    },
    { once: true },
  );
  const first = content.buttons?.[0];
  if (content.layout === "image_only" && first) {
    image.tabIndex = 0;
    image.setAttribute("role", "button");
    image.setAttribute("aria-label", first.label);
    const activate = () => controls.click(first.id);
    image.addEventListener("click", activate);
    image.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        activate();
      }
    });
  }
  image.src = content.image_url;
  return image;
}

/** @param {Context} context @returns {HTMLElement | null} */
function textBlock({ message, document }) {
  const content = message.message;
  if (content.layout === "image_only" && content.image_url) return null;
  if (!content.title && !content.body) return null;
  return textElements(message, document);
}

/**
 * @param {Message} message @param {Document} document @param {string} [fallback]
 * @returns {HTMLElement}
 */
function textElements(message, document, fallback) {
  const content = message.message;
  const text = element(document, "div", "herald-text");
  if (!content.title && !content.body && fallback) {
    const body = element(document, "p", "herald-body");
    body.textContent = fallback;
    text.append(body);
  }
  if (content.title) {
    const title = element(document, "h2", "herald-title");
    title.id = `herald-title-${message.engagement_id}`;
    title.textContent = content.title;
    text.append(title);
  }
  if (content.body) {
    const body = element(document, "p", "herald-body");
    body.textContent = content.body;
    text.append(body);
  }
  return text;
}

/** @param {Context} context @returns {HTMLElement | null} */
function buttonsBlock({ message, controls, document }) {
  const buttons = message.message.buttons ?? [];
  if (buttons.length === 0 || message.message.layout === "image_only") return null;
  return buttonRow(document, buttons.slice(0, 2), controls);
}

/**
 * @param {Document} document @param {import("./core.js").Button[]} buttons
 * @param {Controls} controls @returns {HTMLElement}
 */
function buttonRow(document, buttons, controls) {
  const row = element(document, "div", "herald-buttons");
  for (const button of buttons) {
    const made = /** @type {HTMLButtonElement} */ (element(document, "button", "herald-button"));
    made.type = "button";
    made.textContent = button.label;
    made.dataset.heraldElement = button.id;
    if (button.background_color) made.style.backgroundColor = button.background_color;
    if (button.text_color) made.style.color = button.text_color;
    made.addEventListener("click", () => controls.click(button.id));
    row.append(made);
  }
  return row;
}

/** @param {Context} context @returns {HTMLElement} */
function closeBlock({ controls, document }) {
  const close = /** @type {HTMLButtonElement} */ (element(document, "button", "herald-close"));
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Close");
  close.addEventListener("click", () => controls.dismiss());
  return close;
}

/** The blocks of a message, in order; each returns an element or null. */
export const BLOCKS = [imageBlock, textBlock, questionBlock, buttonsBlock, closeBlock];

/**
 * @param {{document?: Document, stylesheet?: boolean}} [options]
 * @returns {Renderer}
 */
export function createDomRenderer(options = {}) {
  const document = options.document ?? globalThis.document;
  /** @type {(() => void) | null} */
  let closeCurrent = null;
  let styled = false;

  function addStyle() {
    if (styled || options.stylesheet === false) return;
    styled = true;
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    } catch {
      const style = document.createElement("style");
      style.textContent = STYLE;
      document.head.append(style);
    }
  }

  /** @param {Message} message @param {Controls} controls */
  function show(message, controls) {
    addStyle();
    const content = message.message;
    const dialog = DIALOG_LAYOUTS.has(content.layout);
    const root = element(document, "div", `herald-message herald-${content.layout}`);
    root.dataset.heraldEngagement = message.engagement_id;
    root.dataset.heraldVariant = message.variant;
    if (content.background_color) root.style.backgroundColor = content.background_color;
    if (content.text_color) root.style.color = content.text_color;
    const returnFocus = /** @type {HTMLElement | null} */ (document.activeElement);

    /** @param {KeyboardEvent} event */
    const onKey = (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        context.controls.dismiss();
      } else if (event.key === "Tab" && dialog) {
        const focusable = tabbable(root);
        if (focusable.length === 0) return;
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        const active = document.activeElement;
        if (event.shiftKey && (active === first || !root.contains(active))) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && (active === last || !root.contains(active))) {
          event.preventDefault();
          first.focus();
        }
      }
    };
    const close = () => {
      document.removeEventListener("keydown", onKey, true);
      outer.remove();
      if (closeCurrent === close) closeCurrent = null;
      if (dialog && returnFocus && returnFocus.isConnected && typeof returnFocus.focus === "function") {
        returnFocus.focus();
      }
    };
    /** @type {Context} */
    const context = { message, controls: wrap(controls, close), document, close };
    for (const block of BLOCKS) {
      const made = block(context);
      if (made) root.append(made);
    }
    let outer = root;
    if (dialog) {
      root.setAttribute("role", "dialog");
      root.setAttribute("aria-modal", "true");
      const title = root.querySelector(".herald-title");
      if (title) root.setAttribute("aria-labelledby", title.id);
      else root.setAttribute("aria-label", content.title || content.body || content.question?.prompt || "Message");
      if (content.layout === "full_screen") {
        outer = root;
        root.classList.add("herald-layer");
      } else {
        outer = element(document, "div", "herald-layer");
        outer.append(root);
      }
    } else {
      root.classList.add("herald-banner");
      root.setAttribute("role", "status");
      root.setAttribute("aria-live", "polite");
    }
    document.body.append(outer);
    document.addEventListener("keydown", onKey, true);
    closeCurrent = close;
    context.controls.impression();
    if (dialog) {
      // The first control: the question's first answer when it asks, else the first button.
      tabbable(root)[0]?.focus();
    }
  }

  /**
   * The core's controls, also closing this display when it ends.
   * @param {Controls} controls @param {() => void} close @returns {Controls}
   */
  function wrap(controls, close) {
    return {
      impression: () => controls.impression(),
      renderError: () => controls.renderError(),
      dismiss: () => {
        close();
        controls.dismiss();
      },
      click: (elementId) => {
        close();
        controls.click(elementId);
      },
      respond: (value) => {
        const taken = controls.respond(value);
        if (taken) close();
        return taken;
      },
    };
  }

  return {
    show,
    destroy: () => closeCurrent?.(),
  };
}
