// Audiences: named rules over device fields, built with the rule builder of rules.js.

import { ApiError, appPath, call, listAll } from "./api.js";
import { confirmDialog, field, fill, h, toast } from "./dom.js";
import { parentPath } from "./model.js";
import { DEVICE_FIELDS, describeRule, groupEditor, groupFromJson, groupToJson, newCondition } from "./rules.js";

const ATTRIBUTES = [...DEVICE_FIELDS, "attributes.country", "attributes.plan"];

export function renderAudiences(main) {
  const listBox = h("div", { class: "audience-list" });
  const editorBox = h("section", { class: "card", "aria-labelledby": "audience-editor-heading" });
  const note = h("p", { class: "muted", role: "status" });
  let audiences = [];

  const startEditing = (audience) => {
    const draft = {
      name: audience ? audience.name : "",
      description: audience ? audience.description : "",
      group: audience ? groupFromJson(audience.rules) : { kind: "group", mode: "all", members: [newCondition("platform")] },
    };
    let errors = new Map();
    const err = (path) => errors.get(path);
    const jsonView = h("pre", { class: "json-view", "aria-live": "off" });
    const problems = h("div", { class: "error-summary", hidden: true, tabindex: "-1" });
    const updateJson = () => {
      jsonView.textContent = JSON.stringify({ rules: groupToJson(draft.group) }, null, 2);
      wordsView.textContent = describeRule(groupToJson(draft.group));
    };
    const wordsView = h("p", { class: "rule-words" });
    const builder = h("div", { class: "rule-builder" });
    const drawBuilder = (focusPath) => {
      fill(builder, 
        groupEditor(draft.group, "rules", {
          errors: err,
          attributes: ATTRIBUTES,
          onChange: updateJson,
          onStructure: (path) => {
            drawBuilder(path);
            updateJson();
          },
        }),
      );
      updateJson();
      if (focusPath) {
        let target = null;
        for (let p = focusPath; p && !target; p = parentPath(p)) {
          target = builder.querySelector(`[data-path="${CSS.escape(p)}"]`);
        }
        const control = target && (target.matches("input, select") ? target : target.querySelector("input, select"));
        if (control) control.focus();
      }
    };
    const name = h("input", {
      type: "text",
      value: draft.name,
      maxlength: 100,
      autocomplete: "off",
      dataset: { path: "name" },
      oninput: (event) => (draft.name = event.target.value),
    });
    const description = h("textarea", {
      rows: 2,
      value: draft.description,
      dataset: { path: "description" },
      oninput: (event) => (draft.description = event.target.value),
    });
    const save = h("button", { type: "submit", class: "button primary" }, audience ? "Save audience" : "Create audience");
    const draw = () => {
      for (const control of [name, description]) {
        control.removeAttribute("aria-invalid");
        control.removeAttribute("aria-describedby");
      }
      fill(editorBox, 
        h("h2", { id: "audience-editor-heading", tabindex: "-1" }, audience ? `Edit “${audience.name}”` : "New audience"),
        problems,
        h(
          "form",
          {
            novalidate: true,
            onsubmit: async (event) => {
              event.preventDefault();
              save.disabled = true;
              const body = { name: draft.name, description: draft.description, rules: groupToJson(draft.group) };
              try {
                if (audience) {
                  await call("PUT", appPath(`/audiences/${encodeURIComponent(audience.audience_id)}`), {
                    body,
                    ifMatch: audience.version,
                  });
                } else {
                  await call("POST", appPath("/audiences"), { body });
                }
                toast(`Audience “${draft.name}” saved.`, "success");
                editorBox.replaceChildren();
                editorBox.hidden = true;
                load();
              } catch (error) {
                if (!(error instanceof ApiError)) throw error;
                errors = new Map();
                const unplaced = [];
                drawBuilder();
                for (const problem of error.problems) {
                  let target = null;
                  for (let p = problem.path; p && !target; p = parentPath(p)) {
                    if (editorBox.querySelector(`[data-path="${CSS.escape(p)}"]`)) target = p;
                  }
                  if (target) errors.set(target, problem.path === target ? problem.message : `${problem.path}: ${problem.message}`);
                  else unplaced.push(problem.path ? `${problem.path}: ${problem.message}` : problem.message);
                }
                draw();
                fill(problems, 
                  h("h3", {}, "Herald could not save this audience"),
                  h("ul", {}, error.problems.map((p) => h("li", {}, p.path ? `${p.path}: ${p.message}` : p.message))),
                );
                problems.hidden = false;
                problems.setAttribute("role", "alert");
                const first = editorBox.querySelector("[aria-invalid='true']");
                (first || problems).focus();
              } finally {
                save.disabled = false;
              }
            },
          },
          field("Name", name, { error: err("name"), hint: "Unique within the app." }),
          field("Description", description, { error: err("description") }),
          builder,
          h("h3", {}, "In words"),
          wordsView,
          h("details", { class: "json" }, h("summary", {}, "As JSON"), jsonView),
          h(
            "div",
            { class: "wizard-actions" },
            h(
              "button",
              {
                type: "button",
                class: "button",
                onclick: () => {
                  editorBox.replaceChildren();
                  editorBox.hidden = true;
                },
              },
              "Cancel",
            ),
            save,
          ),
        ),
      );
      drawBuilder();
    };
    editorBox.hidden = false;
    draw();
    editorBox.querySelector("h2").focus();
  };

  const remove = async (audience) => {
    const ok = await confirmDialog({
      title: `Delete the audience “${audience.name}”?`,
      message: "Engagements can no longer target it. An audience that an engagement uses cannot be deleted.",
      confirmLabel: "Delete",
      danger: true,
    });
    if (!ok) return;
    try {
      await call("DELETE", appPath(`/audiences/${encodeURIComponent(audience.audience_id)}`));
      toast(`Audience “${audience.name}” deleted.`, "success");
      load();
    } catch (error) {
      toast(error.message, "error");
    }
  };

  const load = async () => {
    note.textContent = "Loading…";
    try {
      audiences = await listAll(appPath("/audiences"), "audiences");
    } catch (error) {
      note.textContent = error.message;
      return;
    }
    note.textContent = audiences.length ? `${audiences.length} audience(s).` : "No audience yet.";
    fill(listBox, 
      ...audiences.map((audience) =>
        h(
          "article",
          { class: "card audience" },
          h("h2", {}, audience.name),
          audience.description ? h("p", {}, audience.description) : null,
          h("p", { class: "rule-words" }, describeRule(audience.rules)),
          h(
            "p",
            { class: "muted" },
            audience.used_by.length ? `Used by ${audience.used_by.length} engagement(s).` : "Not used by any engagement.",
          ),
          h(
            "div",
            { class: "row-actions" },
            h(
              "button",
              { type: "button", class: "button small", "aria-label": `Edit ${audience.name}`, onclick: () => startEditing(audience) },
              "Edit",
            ),
            h(
              "button",
              { type: "button", class: "button small danger", "aria-label": `Delete ${audience.name}`, onclick: () => remove(audience) },
              "Delete",
            ),
          ),
        ),
      ),
    );
  };

  editorBox.hidden = true;
  fill(main, 
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Audiences"),
      h("button", { type: "button", class: "button primary", onclick: () => startEditing(null) }, "New audience"),
    ),
    h(
      "p",
      { class: "intro" },
      "An audience is a rule over device fields (platform, os_version, app_version, locale, timezone, user_id) and custom attributes (attributes.<name>), sent by the app when it registers a device.",
    ),
    editorBox,
    note,
    listBox,
  );
  load();
}
