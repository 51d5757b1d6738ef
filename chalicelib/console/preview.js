// The live preview: a message drawn in a phone frame the way each layout shows it in an app.

import { fill, h } from "./dom.js";
import { render } from "./templates.js";

export const LAYOUTS = [
  ["modal", "Modal (centred box)"],
  ["banner_top", "Banner at the top"],
  ["banner_bottom", "Banner at the bottom"],
  ["full_screen", "Full screen"],
  ["card", "Card"],
  ["image_only", "Image only"],
];

/** The message as a device with `locale` shows it (same rule as the API's localization). */
export function localized(message, locale) {
  const chosen = (locale && (message.localizations || {})[locale]) || {};
  const shown = { ...message };
  for (const name of ["title", "body", "image_url"]) {
    if (chosen[name]) shown[name] = chosen[name];
  }
  const labels = chosen.buttons || {};
  shown.buttons = (message.buttons || []).map((button) => ({
    ...button,
    label: labels[button.id] || button.label,
  }));
  if (message.question) {
    const asked = chosen.question || {};
    const options = asked.options || {};
    shown.question = {
      ...message.question,
      prompt: asked.prompt || message.question.prompt,
      submit_label: asked.submit_label || message.question.submit_label,
      options: (message.question.options || []).map((option) => ({
        ...option,
        label: options[option.id] || option.label,
      })),
    };
  }
  return shown;
}

/** The message with its templates rendered from sample values, as the fetch would render it;
 * a text whose template is invalid is shown as written (the API names the problem on save). */
export function rendered(message, values) {
  const safe = (text, limit) => {
    try {
      return render(text, values, limit);
    } catch {
      return text;
    }
  };
  const shown = { ...message };
  if (shown.title) shown.title = safe(shown.title, 120);
  if (shown.body) shown.body = safe(shown.body, 1000);
  shown.buttons = (shown.buttons || []).map((b) => ({ ...b, label: safe(b.label, 40) }));
  if (shown.question) shown.question = { ...shown.question, prompt: safe(shown.question.prompt, 300) };
  return shown;
}

function question(message) {
  const asked = message.question;
  if (!asked) return null;
  let answer;
  if (asked.type === "rating") {
    answer = h(
      "div",
      { class: "msg-scale" },
      [1, 2, 3, 4, 5].map((n) => h("span", { class: "msg-choice", title: `${n} of 5` }, "★")),
    );
  } else if (asked.type === "nps") {
    answer = h(
      "div",
      { class: "msg-scale nps" },
      [...Array(11).keys()].map((n) => h("span", { class: "msg-choice" }, String(n))),
    );
  } else if (asked.type === "choice") {
    answer = h(
      "div",
      { class: "msg-options" },
      (asked.options || []).map((option) =>
        h("span", { class: "msg-option" }, `${asked.multiple ? "☐" : "○"} ${option.label || option.id}`),
      ),
    );
  } else {
    answer = h("span", { class: "msg-text-answer" }, `Up to ${asked.max_length || 500} characters`);
  }
  return h(
    "div",
    { class: "msg-question", dataset: { question: asked.type } },
    h("p", { class: "msg-prompt" }, asked.prompt || "(no prompt)"),
    answer,
    h("span", { class: "msg-button primary" }, asked.submit_label || "Submit"),
  );
}

function image(url, className) {
  const box = h("div", { class: `msg-image ${className || ""}` });
  const placeholder = (text) => fill(box, h("span", { class: "msg-image-text" }, text));
  if (/^https:\/\//i.test(url || "")) {
    const img = h("img", { src: url, alt: "", referrerpolicy: "no-referrer", loading: "lazy" });
    img.addEventListener("error", () => placeholder("Image (not reachable from here)"));
    box.append(img);
  } else if (url) {
    placeholder("Image (only https images are previewed)");
  } else {
    placeholder("No image");
  }
  return box;
}

function buttons(message) {
  const list = message.buttons || [];
  if (!list.length) return null;
  return h(
    "div",
    { class: "msg-buttons" },
    list.map((button, index) => {
      const look = {};
      if (button.background_color) look.backgroundColor = button.background_color;
      if (button.text_color) look.color = button.text_color;
      return h(
        "span",
        { class: index === 0 ? "msg-button primary" : "msg-button", style: look },
        button.label || "(no label)",
      );
    }),
  );
}

function colours(message) {
  const look = {};
  if (message.background_color) look.backgroundColor = message.background_color;
  if (message.text_color) look.color = message.text_color;
  return look;
}

function texts(message) {
  if (!message.title && !message.body) {
    return h("p", { class: "msg-body msg-empty" }, "Type a title or a body.");
  }
  return [
    message.title ? h("p", { class: "msg-title" }, message.title) : null,
    message.body ? h("p", { class: "msg-body" }, message.body) : null,
  ];
}

function fakeApp() {
  return h(
    "div",
    { class: "fake-app", "aria-hidden": "true" },
    h("div", { class: "fake-bar" }),
    h("div", { class: "fake-block" }),
    h("div", { class: "fake-line" }),
    h("div", { class: "fake-line short" }),
    h("div", { class: "fake-block" }),
    h("div", { class: "fake-line" }),
  );
}

function close() {
  return h("span", { class: "msg-close", "aria-hidden": "true" }, "×");
}

/** A phone frame showing `message` (already localized) in its layout. */
export function phone(message) {
  const layout = message.layout || "modal";
  let overlay;
  if (layout === "banner_top" || layout === "banner_bottom") {
    overlay = h(
      "div",
      {
        class: `msg msg-banner ${layout === "banner_top" ? "top" : "bottom"}`,
        style: colours(message),
      },
      message.image_url ? image(message.image_url, "thumb") : null,
      h("div", { class: "msg-texts" }, texts(message), question(message), buttons(message)),
      close(),
    );
  } else if (layout === "full_screen") {
    overlay = h(
      "div",
      { class: "msg msg-full", style: colours(message) },
      close(),
      message.image_url ? image(message.image_url, "wide") : null,
      texts(message),
      question(message),
      buttons(message),
    );
  } else if (layout === "image_only") {
    overlay = h(
      "div",
      { class: "msg-backdrop" },
      h(
        "div",
        { class: "msg msg-image-only" },
        close(),
        image(message.image_url, "tall"),
        buttons(message),
      ),
    );
  } else {
    const kind = layout === "card" ? "msg-card" : "msg-modal";
    overlay = h(
      "div",
      { class: "msg-backdrop" },
      h(
        "div",
        { class: `msg ${kind}`, style: colours(message) },
        close(),
        message.image_url || layout === "card"
          ? image(message.image_url, layout === "card" ? "wide" : "")
          : null,
        texts(message),
        question(message),
        buttons(message),
      ),
    );
  }
  return h(
    "div",
    { class: "phone" },
    h("div", { class: "phone-screen", dataset: { layout } }, fakeApp(), overlay),
  );
}
