// The message step of the wizard: per variant, the message's fields, its buttons, data,
// localizations and question, next to a live preview that renders templates with sample values.

import { field, fill, h, select } from "./dom.js";
import { messageBody, newQuestion, QUESTION_TYPES } from "./model.js";
import { LAYOUTS, localized, phone, rendered } from "./preview.js";
import { variables } from "./templates.js";

const ACTIONS = [
  ["dismiss", "Close the message"],
  ["deep_link", "Open a screen of the app (deep link)"],
  ["url", "Open a web page"],
];

/** The template variables a message uses, in its texts and localizations. */
export function usedVariables(message) {
  const texts = [message.title, message.body, ...message.buttons.map((b) => b.label)];
  for (const row of message.localizations) {
    texts.push(row.title, row.body, ...Object.values(row.buttons || {}));
    if (row.question) texts.push(row.question.prompt);
  }
  if (message.question) texts.push(message.question.prompt);
  return [...new Set(texts.flatMap((text) => variables(text)))].sort();
}

/** Sample values keyed "user_id" / "attributes.NAME" / "event.NAME" -> the renderer's values. */
export function sampleValues(samples) {
  const values = { user_id: samples.user_id ?? null, attributes: {}, event: {} };
  for (const [name, value] of Object.entries(samples)) {
    const [root, ...rest] = name.split(".");
    if (rest.length && (root === "attributes" || root === "event") && value !== "") {
      values[root][rest.join(".")] = value;
    }
  }
  if (values.user_id === "") values.user_id = null;
  return values;
}

/** The editor's functions, bound to the wizard's state and field helpers. */
export function messageEditor({ model, state, bound, input, textarea, groupError }) {
  function previewPane(index) {
    const variant = model().variants[index];
    // Its own "input" handler runs before the panel's (which redraws the preview with it).
    const localeSelect = h("select", {
      class: "preview-locale",
      oninput: (event) => {
        state.previewLocale[index] = event.target.value;
      },
    });
    const frame = h("div", { class: "preview-frame" });
    // Sample values for the message's {{ … }} variables, shared by every variant's preview.
    const samplesBox = h("div", { class: "preview-samples" });
    const drawSamples = () => {
      const names = usedVariables(variant.message);
      const have = [...samplesBox.querySelectorAll("input")].map((el) => el.dataset.variable);
      if (JSON.stringify(have) === JSON.stringify(names)) return;
      fill(
        samplesBox,
        names.length
          ? h("p", { class: "hint" }, "Sample values for the preview (not saved):")
          : null,
        names.map((name) =>
          field(
            `Sample ${name}`,
            h("input", {
              type: "text",
              value: state.samples[name] ?? "",
              dataset: { variable: name },
              oninput: (event) => {
                state.samples[name] = event.target.value;
              },
            }),
            { className: "field inline" },
          ),
        ),
      );
    };
    const caption = h("p", { class: "hint preview-caption" });
    const drawPreview = () => {
      const message = messageBody(variant.message);
      const locales = Object.keys(message.localizations).filter(Boolean);
      const wanted = state.previewLocale[index] || "";
      const current = locales.includes(wanted) ? wanted : "";
      const options = ["", ...locales];
      const have = [...localeSelect.options].map((option) => option.value);
      if (JSON.stringify(have) !== JSON.stringify(options)) {
        fill(localeSelect, 
          ...options.map((locale) =>
            h("option", { value: locale }, locale ? locale : "Default texts"),
          ),
        );
      }
      localeSelect.value = current;
      fill(frame, phone(rendered(localized(message, current), sampleValues(state.samples))));
      drawSamples();
      const layout = LAYOUTS.find(([value]) => value === message.layout);
      caption.textContent = `${layout ? layout[1] : message.layout}${current ? `, as a device in ${current} sees it` : ""}.`;
    };
    drawPreview();
    return {
      pane: h(
        "aside",
        { class: "preview", "aria-label": `Live preview of variant ${variant.key}` },
        h("h3", {}, `Preview of variant ${variant.key}`),
        field("Preview locale", localeSelect, { className: "field inline" }),
        samplesBox,
        frame,
        caption,
      ),
      drawPreview,
    };
  }

  function buttonEditor(message, prefix, j, redraw) {
    const button = message.buttons[j];
    const path = `${prefix}.buttons[${j}]`;
    const parts = [
      bound(
        "Id",
        input(button.id, (value) => (button.id = value), { maxlength: 32, class: "short" }),
        `${path}.id`,
        { hint: "Letters, digits, _ or -; clicks are counted per id." },
      ),
      bound(
        "Label",
        input(button.label, (value) => (button.label = value), { maxlength: 40 }),
        `${path}.label`,
      ),
      bound(
        "When tapped",
        select(ACTIONS, button.action.type, {
          onchange: (event) => {
            button.action.type = event.target.value;
            redraw(`${path}.action.type`);
          },
        }),
        `${path}.action.type`,
      ),
    ];
    if (button.action.type !== "dismiss") {
      parts.push(
        bound(
          button.action.type === "url" ? "Web address" : "Deep link",
          input(button.action.target, (value) => (button.action.target = value), {
            placeholder: button.action.type === "url" ? "https://example.com/sale" : "myapp://sale",
            spellcheck: "false",
          }),
          `${path}.action.target`,
        ),
      );
    }
    parts.push(groupError(`${path}.action`));
    parts.push(
      h(
        "button",
        {
          type: "button",
          class: "button small",
          onclick: () => {
            message.buttons.splice(j, 1);
            redraw(`${prefix}.buttons`);
          },
        },
        `Remove button ${j + 1}`,
      ),
    );
    return h(
      "fieldset",
      { class: "subgroup", dataset: { path } },
      h("legend", {}, `Button ${j + 1}`),
      groupError(path),
      parts,
    );
  }

  function questionEditor(message, prefix, redraw) {
    const path = `${prefix}.question`;
    const asks = h("input", {
      type: "checkbox",
      checked: Boolean(message.question),
      dataset: { path: `${path}.asked` },
      onchange: (event) => {
        message.question = event.target.checked ? newQuestion() : null;
        redraw(`${path}.asked`);
      },
    });
    const parts = [h("div", { class: "field checkbox" }, h("label", {}, asks, " Ask a question"))];
    const question = message.question;
    if (question) {
      parts.push(
        bound(
          "Question type",
          select(QUESTION_TYPES, question.type, {
            onchange: (event) => {
              question.type = event.target.value;
              redraw(`${path}.type`);
            },
          }),
          `${path}.type`,
        ),
        bound(
          "Question",
          input(question.prompt, (value) => (question.prompt = value), { maxlength: 1200 }),
          `${path}.prompt`,
          { hint: "May use {{ user_id }}, {{ attributes.NAME }}, {{ event.NAME }}." },
        ),
        bound(
          "Submit label",
          input(question.submit_label, (value) => (question.submit_label = value), {
            maxlength: 40,
          }),
          `${path}.submit_label`,
        ),
      );
      if (question.type === "text") {
        parts.push(
          bound(
            "Longest answer (characters)",
            input(question.max_length, (value) => (question.max_length = value), {
              type: "number",
              min: 1,
              max: 500,
              class: "short",
            }),
            `${path}.max_length`,
          ),
        );
      }
      if (question.type === "choice") {
        const multiple = h("input", {
          type: "checkbox",
          checked: question.multiple,
          onchange: (event) => (question.multiple = event.target.checked),
          dataset: { path: `${path}.multiple` },
        });
        parts.push(
          h("div", { class: "field checkbox" }, h("label", {}, multiple, " Several answers")),
          groupError(`${path}.options`),
          question.options.map((option, k) =>
            h(
              "div",
              { class: "inline-fields", dataset: { path: `${path}.options[${k}]` } },
              bound(
                "Option id",
                input(option.id, (value) => (option.id = value), { class: "short" }),
                `${path}.options[${k}].id`,
              ),
              bound(
                "Option label",
                input(option.label, (value) => (option.label = value), { maxlength: 80 }),
                `${path}.options[${k}].label`,
              ),
              question.options.length > 2
                ? h(
                    "button",
                    {
                      type: "button",
                      class: "button small",
                      onclick: () => {
                        question.options.splice(k, 1);
                        redraw(`${path}.options`);
                      },
                    },
                    `Remove option ${k + 1}`,
                  )
                : null,
            ),
          ),
          question.options.length < 6
            ? h(
                "button",
                {
                  type: "button",
                  class: "button small",
                  onclick: () => {
                    question.options.push({ id: `option${question.options.length + 1}`, label: "" });
                    redraw(`${path}.options[${question.options.length - 1}].label`);
                  },
                },
                "+ Add an option",
              )
            : null,
        );
      }
    }
    return h(
      "fieldset",
      { class: "group", dataset: { path } },
      h("legend", {}, "Question (feedback)"),
      groupError(path),
      parts,
    );
  }

  function messagePanel(index, redraw) {
    const variant = model().variants[index];
    const message = variant.message;
    const prefix = `variants[${index}].message`;
    const { pane, drawPreview } = previewPane(index);
    const form = [];
    form.push(
      groupError(prefix),
      bound("Layout", select(LAYOUTS, message.layout, {
        onchange: (event) => (message.layout = event.target.value),
      }), `${prefix}.layout`),
      bound(
        "Title",
        input(message.title, (value) => (message.title = value), { maxlength: 120 }),
        `${prefix}.title`,
      ),
      bound(
        "Body",
        textarea(message.body, (value) => (message.body = value), { maxlength: 1000 }),
        `${prefix}.body`,
      ),
      bound(
        "Image address",
        input(message.image_url, (value) => (message.image_url = value), {
          type: "url",
          placeholder: "https://cdn.example.com/sale.png",
          spellcheck: "false",
        }),
        `${prefix}.image_url`,
        { hint: "An https address; required for the image-only layout." },
      ),
    );
    const colours = h("input", {
      type: "checkbox",
      checked: message.custom_colours,
      onchange: (event) => {
        message.custom_colours = event.target.checked;
        redraw(`${prefix}.custom_colours`);
      },
      dataset: { path: `${prefix}.custom_colours` },
    });
    form.push(h("div", { class: "field checkbox" }, h("label", {}, colours, " Custom colours")));
    if (message.custom_colours) {
      form.push(
        h(
          "div",
          { class: "inline-fields" },
          bound(
            "Background colour",
            h("input", {
              type: "color",
              value: message.background_color,
              oninput: (event) => (message.background_color = event.target.value),
            }),
            `${prefix}.background_color`,
          ),
          bound(
            "Text colour",
            h("input", {
              type: "color",
              value: message.text_color,
              oninput: (event) => (message.text_color = event.target.value),
            }),
            `${prefix}.text_color`,
          ),
        ),
      );
    }
    form.push(
      h(
        "fieldset",
        { class: "group", dataset: { path: `${prefix}.buttons` } },
        h("legend", {}, "Buttons (up to 2)"),
        groupError(`${prefix}.buttons`),
        message.buttons.map((_, j) => buttonEditor(message, prefix, j, redraw)),
        message.buttons.length < 2
          ? h(
              "button",
              {
                type: "button",
                class: "button small",
                onclick: () => {
                  const ids = new Set(message.buttons.map((b) => b.id));
                  const id = ["primary", "secondary", "other"].find((name) => !ids.has(name));
                  message.buttons.push({
                    id,
                    label: message.buttons.length ? "Later" : "OK",
                    action: { type: "dismiss", target: "" },
                  });
                  redraw(`${prefix}.buttons[${message.buttons.length - 1}].id`);
                },
              },
              "+ Add a button",
            )
          : null,
      ),
    );
    form.push(
      h(
        "fieldset",
        { class: "group", dataset: { path: `${prefix}.data` } },
        h("legend", {}, "Custom data for the app (key = value)"),
        groupError(`${prefix}.data`),
        message.data.map((row, k) =>
          h(
            "div",
            { class: "inline-fields", dataset: { path: `${prefix}.data[${k}]` } },
            bound("Key", input(row.key, (value) => (row.key = value), { class: "short" }), `${prefix}.data[${k}].key`),
            bound("Value", input(row.value, (value) => (row.value = value)), `${prefix}.data[${k}].value`),
            h(
              "button",
              {
                type: "button",
                class: "button small",
                onclick: () => {
                  message.data.splice(k, 1);
                  redraw(`${prefix}.data`);
                },
              },
              `Remove data ${k + 1}`,
            ),
            groupError(`${prefix}.data[${k}]`),
          ),
        ),
        h(
          "button",
          {
            type: "button",
            class: "button small",
            onclick: () => {
              message.data.push({ key: "", value: "" });
              redraw(`${prefix}.data[${message.data.length - 1}].key`);
            },
          },
          "+ Add data",
        ),
      ),
    );
    form.push(questionEditor(message, prefix, redraw));
    form.push(
      h(
        "fieldset",
        { class: "group", dataset: { path: `${prefix}.localizations` } },
        h("legend", {}, "Localizations"),
        h(
          "p",
          { class: "hint" },
          "A device whose locale matches (fr-BE takes fr-BE, then fr) gets these texts; the others get the default ones. Empty fields keep the default.",
        ),
        groupError(`${prefix}.localizations`),
        message.localizations.map((row, k) => {
          const path = `${prefix}.localizations[${k}]`;
          return h(
            "fieldset",
            { class: "subgroup", dataset: { path } },
            h("legend", {}, `Localization ${k + 1}`),
            groupError(path),
            bound(
              "Locale",
              input(row.locale, (value) => (row.locale = value), {
                class: "short",
                placeholder: "fr or fr-BE",
              }),
              `${path}.locale`,
            ),
            bound("Title", input(row.title, (value) => (row.title = value), { maxlength: 120 }), `${path}.title`),
            bound("Body", textarea(row.body, (value) => (row.body = value), { rows: 2 }), `${path}.body`),
            bound(
              "Image address",
              input(row.image_url, (value) => (row.image_url = value), { type: "url" }),
              `${path}.image_url`,
            ),
            message.question
              ? [
                  bound(
                    "Question",
                    input(row.question.prompt, (value) => (row.question.prompt = value), {
                      placeholder: message.question.prompt,
                    }),
                    `${path}.question.prompt`,
                  ),
                  bound(
                    "Submit label",
                    input(row.question.submit_label, (value) => (row.question.submit_label = value), {
                      placeholder: message.question.submit_label,
                    }),
                    `${path}.question.submit_label`,
                  ),
                  message.question.type === "choice"
                    ? message.question.options.map((option) =>
                        bound(
                          `Label of option “${option.id}”`,
                          input(
                            row.question.options[option.id] || "",
                            (value) => (row.question.options[option.id] = value),
                            { placeholder: option.label },
                          ),
                          `${path}.question.options.${option.id}`,
                        ),
                      )
                    : null,
                ]
              : null,
            message.buttons.map((button) =>
              bound(
                `Label of button “${button.id}”`,
                input(row.buttons[button.id] || "", (value) => (row.buttons[button.id] = value), {
                  maxlength: 40,
                  placeholder: button.label,
                }),
                `${path}.buttons.${button.id}`,
              ),
            ),
            h(
              "button",
              {
                type: "button",
                class: "button small",
                onclick: () => {
                  message.localizations.splice(k, 1);
                  redraw(`${prefix}.localizations`);
                },
              },
              `Remove localization ${k + 1}`,
            ),
          );
        }),
        h(
          "button",
          {
            type: "button",
            class: "button small",
            onclick: () => {
              message.localizations.push({
                locale: "",
                title: "",
                body: "",
                image_url: "",
                buttons: {},
                question: { prompt: "", submit_label: "", options: {} },
              });
              redraw(`${prefix}.localizations[${message.localizations.length - 1}].locale`);
            },
          },
          "+ Add a localization",
        ),
      ),
    );
    const editor = h(
      "fieldset",
      { class: "message-editor", dataset: { path: prefix } },
      h("legend", {}, `Message of variant ${variant.key}`),
      form,
    );
    // Any edit in the panel redraws its preview: the model is already up to date.
    const panel = h("div", { class: "message-panel" }, editor, pane);
    panel.addEventListener("input", drawPreview);
    panel.addEventListener("change", drawPreview);
    return panel;
  }

  return { messagePanel };
}
