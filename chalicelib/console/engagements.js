// The engagements list: name, status, schedule, variants, priority; filter; status actions.

import { appPath, call } from "./api.js";
import { confirmDialog, field, fill, h, select, statusBadge, toast } from "./dom.js";
import { formatDateTime, variantSummary } from "./format.js";

export const STATUSES = ["draft", "scheduled", "active", "paused", "ended"];

/** The status actions an engagement offers, with their confirmation texts. */
export function statusActions(engagement) {
  const name = engagement.name;
  const actions = [];
  if (engagement.status === "draft") {
    actions.push({
      verb: "publish",
      label: "Publish",
      title: `Publish “${name}”?`,
      message: "It becomes scheduled, or active at once if its start time has passed.",
    });
  }
  if (engagement.status === "scheduled" || engagement.status === "active") {
    actions.push({
      verb: "pause",
      label: "Pause",
      title: `Pause “${name}”?`,
      message: "Devices stop getting it from their next fetch. You can resume it later.",
    });
  }
  if (engagement.status === "paused") {
    actions.push({
      verb: "resume",
      label: "Resume",
      title: `Resume “${name}”?`,
      message: "Devices in its audience get it again from their next fetch (within its schedule).",
    });
  }
  return actions;
}

/** Asks, then runs a status action; resolves with the updated engagement or null. */
export async function runStatusAction(engagement, action) {
  const ok = await confirmDialog({
    title: action.title,
    message: action.message,
    confirmLabel: action.label,
  });
  if (!ok) return null;
  try {
    const path = appPath(`/engagements/${encodeURIComponent(engagement.engagement_id)}/${action.verb}`);
    const updated = await call("POST", path);
    toast(`“${engagement.name}” is now ${updated.status}.`, "success");
    return updated;
  } catch (error) {
    toast(error.message, "error");
    return null;
  }
}

/** Asks, then deletes; resolves true when deleted. */
export async function deleteEngagement(engagement) {
  const ok = await confirmDialog({
    title: `Delete “${engagement.name}”?`,
    message: "It is removed with its schedules and devices stop getting it. This cannot be undone.",
    confirmLabel: "Delete",
    danger: true,
  });
  if (!ok) return false;
  try {
    await call("DELETE", appPath(`/engagements/${encodeURIComponent(engagement.engagement_id)}`));
    toast(`“${engagement.name}” was deleted.`, "success");
    return true;
  } catch (error) {
    toast(error.message, "error");
    return false;
  }
}

function scheduleCell(engagement) {
  const schedule = engagement.schedule || {};
  return h(
    "span",
    { class: "schedule" },
    h("span", {}, formatDateTime(schedule.start_at)),
    h("span", { class: "muted" }, " → "),
    h("span", {}, formatDateTime(schedule.end_at)),
  );
}

export function renderEngagements(main, params, navigate) {
  const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const filter = select(
    [["", "All statuses"], ...STATUSES.map((value) => [value, value])],
    status,
    {
      id: "status-filter",
      onchange: (event) => {
        const chosen = event.target.value;
        navigate(chosen ? `#/engagements?status=${chosen}` : "#/engagements");
      },
    },
  );
  const body = h("tbody");
  const table = h(
    "table",
    { class: "list responsive-table" },
    h("caption", { class: "visually-hidden" }, "Engagements"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Name", "Status", "Schedule", "Variants", "Priority", "Actions"].map((label) =>
          h("th", { scope: "col" }, label),
        ),
      ),
    ),
    body,
  );
  table.hidden = true;
  const more = h("button", { type: "button", class: "button", hidden: true }, "Load more");
  const note = h("p", { class: "muted", role: "status" }, "Loading…");
  let cursor = null;

  const row = (engagement) => {
    const link = h(
      "a",
      { href: `#/engagements/${encodeURIComponent(engagement.engagement_id)}` },
      engagement.name,
    );
    const buttons = statusActions(engagement).map((action) =>
      h(
        "button",
        {
          type: "button",
          class: "button small",
          "aria-label": `${action.label} ${engagement.name}`,
          onclick: async () => {
            if (await runStatusAction(engagement, action)) reload();
          },
        },
        action.label,
      ),
    );
    buttons.push(
      h(
        "a",
        {
          class: "button small",
          href: `#/engagements/${encodeURIComponent(engagement.engagement_id)}/edit`,
          "aria-label": `Edit ${engagement.name}`,
        },
        "Edit",
      ),
      h(
        "button",
        {
          type: "button",
          class: "button small danger",
          "aria-label": `Delete ${engagement.name}`,
          onclick: async () => {
            if (await deleteEngagement(engagement)) reload();
          },
        },
        "Delete",
      ),
    );
    return h(
      "tr",
      { dataset: { engagementId: engagement.engagement_id } },
      h("th", { scope: "row", "data-label": "Name" }, link),
      h("td", { "data-label": "Status" }, statusBadge(engagement.status)),
      h("td", { "data-label": "Schedule" }, scheduleCell(engagement)),
      h("td", { "data-label": "Variants" }, variantSummary(engagement)),
      h("td", { "data-label": "Priority" }, String(engagement.priority ?? 5)),
      h("td", { "data-label": "Actions" }, h("div", { class: "row-actions" }, buttons)),
    );
  };

  const load = async (append) => {
    const query = new URLSearchParams({ limit: "20" });
    if (status) query.set("status", status);
    if (append && cursor) query.set("cursor", cursor);
    try {
      const page = await call("GET", `${appPath("/engagements")}?${query}`);
      if (!append) body.replaceChildren();
      body.append(...page.engagements.map(row));
      cursor = page.cursor;
      more.hidden = !cursor;
      const shown = body.children.length;
      table.hidden = shown === 0;
      fill(note, 
        shown === 0
          ? h(
              "span",
              {},
              status ? `No ${status} engagement. ` : "No engagement yet. ",
              h("a", { href: "#/engagements/new" }, "Create one"),
            )
          : `${shown} engagement${shown === 1 ? "" : "s"}${cursor ? " shown" : ""}.`,
      );
    } catch (error) {
      note.textContent = error.message;
    }
  };
  const reload = () => load(false);
  more.addEventListener("click", () => load(true));

  fill(main, 
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Engagements"),
      h("a", { class: "button primary", href: "#/engagements/new" }, "New engagement"),
    ),
    h("div", { class: "toolbar" }, field("Filter by status", filter, { className: "field inline" })),
    note,
    table,
    more,
  );
  reload();
}
