// A message's question, drawn as a form of native controls so that labels, focus and arrow
// keys are the browser's: radios for a rating (stars), an NPS score or one choice, checkboxes
// for several, a textarea (with a live character count) for text, in a fieldset whose legend is
// the prompt. The submit button stays disabled until the answer fits the question; submitting
// answers through the controls (once; the display then ends).

import { MAX_TEXT, NPS, RATING, answerProblem } from "./questions.js";

/** The form's rules, part of the renderer's stylesheet. */
export const QUESTION_STYLE = `
.herald-question{margin:14px 0 0;min-width:min(320px,calc(100vw - 72px))}
.herald-question fieldset{border:0;margin:0;padding:0;min-width:0}
.herald-prompt{display:block;font-weight:600;margin:0 0 8px;padding:0}
.herald-scale{display:flex;gap:4px;flex-wrap:wrap}
.herald-choice{position:relative;display:inline-flex}
.herald-choice input{position:absolute;opacity:0;inset:0;margin:0;cursor:pointer}
.herald-choice span{display:inline-flex;align-items:center;justify-content:center;min-width:36px;height:36px;padding:0 8px;border:1px solid rgba(0,0,0,.25);border-radius:8px;background:rgba(255,255,255,.7);color:#111}
.herald-nps{gap:3px}.herald-nps .herald-choice span{min-width:32px;padding:0 4px}
.herald-rating .herald-choice span{border:0;background:none;font-size:28px;min-width:36px;padding:0;color:#94a3b8}
.herald-rating .herald-choice.herald-on span{color:#f59e0b}
.herald-choice input:checked+span{background:#1d4ed8;color:#fff;border-color:#1d4ed8}
.herald-rating .herald-choice input:checked+span{background:none;color:#f59e0b}
.herald-choice input:focus-visible+span{outline:3px solid #f59e0b;outline-offset:2px}
.herald-options{display:flex;flex-direction:column;gap:6px}
.herald-option{display:flex;gap:8px;align-items:center;cursor:pointer}
.herald-option input{width:18px;height:18px;margin:0}
.herald-option input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.herald-answer-text{display:block;width:100%;min-height:72px;font:inherit;padding:8px;border:1px solid rgba(0,0,0,.3);border-radius:8px;resize:vertical}
.herald-answer-text:focus-visible{outline:3px solid #f59e0b;outline-offset:1px}
.herald-count{display:block;font-size:.85em;opacity:.75;text-align:right;margin-top:2px}
.herald-submit{margin-top:12px}
.herald-submit:disabled{opacity:.5;cursor:not-allowed}
.herald-banner .herald-question{margin:0;flex:1 1 auto}
.herald-card .herald-question{padding:0 16px}
@media (max-width:600px){.herald-nps .herald-choice span{min-width:26px;padding:0 2px}}
`;

/** @typedef {import("./dom.js").Context} Context */

/**
 * The message's question: a form that sends its answer (once, then the display ends) and keeps
 * its submit button disabled until the answer fits.
 * @param {Context} context @returns {HTMLElement | null}
 */
export function questionBlock({ message, controls, document }) {
  const question = message.message.question;
  if (!question) return null;
  /** @param {string} tag @param {string} className */
  const element = (tag, className) => {
    const made = document.createElement(tag);
    made.className = className;
    return made;
  };
  const form = /** @type {HTMLFormElement} */ (element("form", "herald-question"));
  form.dataset.heraldQuestion = question.type;
  form.noValidate = true;
  const name = `herald-answer-${message.engagement_id}`;
  const submit = /** @type {HTMLButtonElement} */ (element("button", "herald-button herald-submit"));
  submit.type = "submit";
  submit.textContent = question.submit_label || "Submit";
  /** @type {() => import("./questions.js").Answer | undefined} */
  let answer;
  if (question.type === "text") {
    const label = /** @type {HTMLLabelElement} */ (element("label", "herald-prompt"));
    const area = /** @type {HTMLTextAreaElement} */ (element("textarea", "herald-answer-text"));
    const count = element("span", "herald-count");
    const limit = question.max_length ?? MAX_TEXT;
    area.id = `${name}-text`;
    area.name = name;
    area.maxLength = limit;
    area.required = true;
    label.htmlFor = area.id;
    label.textContent = question.prompt;
    count.id = `${name}-count`;
    count.setAttribute("aria-live", "polite");
    area.setAttribute("aria-describedby", count.id);
    const counted = () => {
      count.textContent = `${[...area.value].length} / ${limit}`;
    };
    area.addEventListener("input", counted);
    counted();
    answer = () => area.value.trim();
    form.append(label, area, count);
  } else {
    const fieldset = element("fieldset", "");
    const legend = element("legend", "herald-prompt");
    legend.textContent = question.prompt;
    fieldset.append(legend);
    /** @type {{value: string, label: string, visible: string}[]} */
    let choices;
    if (question.type === "choice") {
      choices = question.options.map((option) => ({ value: option.id, label: option.label, visible: option.label }));
    } else {
      const { min, max } = question.type === "rating" ? RATING : NPS;
      choices = [];
      for (let value = min; value <= max; value += 1) {
        const visible = question.type === "rating" ? "★" : String(value);
        choices.push({ value: String(value), label: question.type === "rating" ? `${value} / ${max}` : String(value), visible });
      }
    }
    const multiple = question.type === "choice" && Boolean(question.multiple);
    const group = element("div", question.type === "choice" ? "herald-options" : `herald-scale herald-${question.type}`);
    /** @type {HTMLInputElement[]} */
    const inputs = [];
    for (const choice of choices) {
      const label = element("label", question.type === "choice" ? "herald-option" : "herald-choice");
      const input = /** @type {HTMLInputElement} */ (element("input", ""));
      input.type = multiple ? "checkbox" : "radio";
      input.name = name;
      input.value = choice.value;
      const text = element("span", "");
      text.textContent = choice.visible;
      if (choice.visible !== choice.label) {
        input.setAttribute("aria-label", choice.label);
        text.setAttribute("aria-hidden", "true");
      }
      label.append(input, text);
      group.append(label);
      inputs.push(input);
    }
    if (question.type === "rating") {
      // The stars up to the one chosen light up.
      group.addEventListener("change", () => {
        const chosen = Number(inputs.find((input) => input.checked)?.value ?? 0);
        inputs.forEach((input, index) => input.parentElement?.classList.toggle("herald-on", index < chosen));
      });
    }
    fieldset.append(group);
    form.append(fieldset);
    answer = () => {
      const checked = inputs.filter((input) => input.checked).map((input) => input.value);
      if (question.type === "choice") return multiple ? checked : checked[0];
      return checked.length ? Number(checked[0]) : undefined;
    };
  }
  const fits = () => {
    const value = answer();
    return value !== undefined && answerProblem(question, value) === null;
  };
  const update = () => {
    submit.disabled = !fits();
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = answer();
    if (value !== undefined && fits()) controls.respond(value);
  });
  update();
  form.append(submit);
  return form;
}
