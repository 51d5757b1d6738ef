// An engagement's details and performance: per-variant and control figures, the significance
// verdict, a bar chart per variant and a daily line chart, all from GET …/metrics.

import { BASE, appPath, call, session } from "./api.js";
import { barChart, legend, lineChart, responsive } from "./charts.js";
import { field, fill, h, select, statusBadge } from "./dom.js";
import { deleteEngagement, runStatusAction, statusActions } from "./engagements.js";
import { count, formatDateTime, formatDay, lift, pValue, rate } from "./format.js";
import { LAYOUTS } from "./preview.js";
import { describeCondition, describeRule } from "./rules.js";

const SERIES_METRICS = [
  ["impressions", "Impressions"],
  ["clicks", "Clicks"],
  ["conversions", "Conversions"],
  ["ctr", "Click-through rate"],
];
const DAY_FIELDS = ["date", "day", "bucket", "period", "start", "timestamp"];
const COUNT_FIELDS = ["impressions", "clicks", "conversions", "dismissals", "unique_devices"];

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

function dayOf(point) {
  for (const name of DAY_FIELDS) {
    if (typeof point[name] === "string" && point[name].length >= 10) return point[name].slice(0, 10);
  }
  return null;
}

function counts(point) {
  const out = {};
  for (const name of COUNT_FIELDS) if (isNumber(point[name])) out[name] = point[name];
  return out;
}

/**
 * The daily series, whatever its exact shape: a list of points each naming its variant, points
 * each holding every variant, or one list of points per variant. -> {days, perVariant: {key: {day:
 * counts}}}.
 */
export function normalizeSeries(series) {
  const perVariant = {};
  const days = new Set();
  const add = (key, day, values) => {
    if (!key || !day) return;
    days.add(day);
    perVariant[key] = perVariant[key] || {};
    const slot = (perVariant[key][day] = perVariant[key][day] || {});
    for (const [name, value] of Object.entries(values)) slot[name] = (slot[name] || 0) + value;
  };
  for (const item of Array.isArray(series) ? series : []) {
    if (!item || typeof item !== "object") continue;
    const day = dayOf(item);
    const inner = item.points || item.days || item.series;
    if (Array.isArray(inner)) {
      for (const point of inner) add(item.key || item.variant, dayOf(point), counts(point));
    } else if (item.variants && typeof item.variants === "object") {
      const entries = Array.isArray(item.variants)
        ? item.variants.map((v) => [v.key || v.variant, v])
        : Object.entries(item.variants);
      for (const [key, values] of entries) add(key, day, counts(values || {}));
    } else {
      add(item.variant || item.key, day, counts(item));
    }
  }
  return { days: [...days].sort(), perVariant };
}

function describeAudience(engagement) {
  const audience = engagement.audience || {};
  const parts = [];
  if ((audience.audience_ids || []).length) parts.push(`${audience.audience_ids.length} audience(s)`);
  if ((audience.user_ids || []).length) parts.push(`${audience.user_ids.length} user id(s)`);
  if ((audience.device_ids || []).length) parts.push(`${audience.device_ids.length} device id(s)`);
  return `${parts.length ? parts.join(" or ") : "every user"}, ${audience.percent ?? 100} % of them`;
}

function summaryList(engagement, audiences) {
  const item = (term, ...description) => [h("dt", {}, term), h("dd", {}, description)];
  const frequency = engagement.frequency || {};
  const caps = [];
  if (frequency.max_impressions) caps.push(`${frequency.max_impressions} in total`);
  if (frequency.max_per_day) caps.push(`${frequency.max_per_day} a day`);
  if (frequency.min_interval_seconds) caps.push(`${frequency.min_interval_seconds} s apart`);
  const trigger = engagement.trigger || {};
  const audienceNames = (engagement.audience?.audience_ids || []).map((id) => {
    const found = audiences.find((a) => a.audience_id === id);
    return found ? `${found.name} (${describeRule(found.rules)})` : id;
  });
  return h(
    "dl",
    { class: "review" },
    item("Description", engagement.description || "—"),
    item(
      "Schedule",
      `${formatDateTime(engagement.schedule?.start_at)} → ${formatDateTime(engagement.schedule?.end_at)}`,
    ),
    item(
      "Variants",
      h(
        "ul",
        {},
        (engagement.variants || []).map((variant) =>
          h(
            "li",
            {},
            `${variant.key} (${variant.weight} %): `,
            LAYOUTS.find(([v]) => v === variant.message.layout)?.[1] || variant.message.layout,
            variant.message.title ? ` “${variant.message.title}”` : "",
          ),
        ),
      ),
    ),
    item("Control group", `${engagement.control_percent || 0} %`),
    item("Audience", describeAudience(engagement)),
    audienceNames.length ? item("Audiences", audienceNames.join("; ")) : null,
    item(
      "Trigger",
      `on “${trigger.event || "app_launch"}”`,
      (trigger.conditions || []).length
        ? ` when ${trigger.conditions.map(describeCondition).join(" and ")}`
        : "",
    ),
    item("Frequency", caps.length ? `at most ${caps.join(", ")}` : "no cap"),
    item("Priority", String(engagement.priority ?? 5)),
    item(
      "Metrics",
      (engagement.metrics || []).length
        ? engagement.metrics.map((m) => `${m.element} → ${m.metric}`).join(", ")
        : "none mapped",
    ),
    item(
      "Conversion",
      engagement.conversion
        ? `“${engagement.conversion.event}” within ${engagement.conversion.window_hours} h`
        : "not counted",
    ),
    item("Test devices", (engagement.test_device_ids || []).join(", ") || "—"),
    item("Version", `${engagement.version}, updated ${formatDateTime(engagement.updated_at)}`),
  );
}

/** How the variants are compared: the goal metric and the baseline. */
export function comparison(engagement, report) {
  const byConversion = report.goal ? report.goal === "conversion_rate" : Boolean(engagement.conversion);
  const hasControl =
    byConversion && (engagement.control_percent || 0) > 0 && report.control !== null && report.control !== undefined;
  const first = report.variants[0];
  return {
    goal: byConversion ? "conversion rate" : "click-through rate",
    goalField: byConversion ? "conversion_rate" : "ctr",
    baseline: hasControl ? "control" : "first",
    baselineName: hasControl ? "the control group" : first ? `variant ${first.key}` : "",
    liftField: hasControl ? "lift_vs_control" : "lift_vs_first",
  };
}

function verdictOf(variant, index, compare, variantCount) {
  if (compare.baseline === "first" && index === 0) {
    return variantCount > 1 ? { text: "Baseline", kind: "baseline" } : { text: "—", kind: "none" };
  }
  if (variant.significant === true) {
    const better = (variant[compare.liftField] ?? 0) >= 0;
    return { text: `Significant: ${better ? "better" : "worse"}`, kind: better ? "good" : "bad" };
  }
  return { text: "Not yet", kind: "pending" };
}

function overallVerdict(engagement, report, compare) {
  const variants = report.variants;
  const impressions = variants.reduce((sum, v) => sum + (v.impressions || 0), 0);
  if (!impressions) {
    return {
      kind: "pending",
      text: "No data yet: figures appear once devices report impressions (events are counted within seconds).",
    };
  }
  if (variants.length < 2 && compare.baseline === "first") {
    return {
      kind: "none",
      text: `One variant and no control group: nothing to compare. Its ${compare.goal} is ${rate(variants[0][compare.goalField])}.`,
    };
  }
  const winners = variants.filter(
    (variant, index) => variant.significant === true && !(compare.baseline === "first" && index === 0),
  );
  if (winners.length) {
    const sentences = winners.map((variant) => {
      const value = variant[compare.liftField] ?? 0;
      const p = pValue(variant.p_value);
      return `Variant ${variant.key} is significantly ${value >= 0 ? "better" : "worse"} than ${compare.baselineName} on ${compare.goal} (${lift(value)}, p ${p.startsWith("<") ? p : `= ${p}`}).`;
    });
    return { kind: "good", text: sentences.join(" ") };
  }
  return {
    kind: "pending",
    text: `Not significant yet: no variant differs from ${compare.baselineName} on ${compare.goal} at p < 0.05. Keep the test running.`,
  };
}

function figuresTable(engagement, report, compare) {
  const headings = [
    "Variant",
    "Impressions",
    "Unique devices",
    "Clicks",
    "CTR",
    "Conversions",
    "Conversion rate",
    `Lift vs ${compare.baseline === "control" ? "control" : "first"}`,
    "p-value",
    "Verdict",
  ];
  const rows = report.variants.map((variant, index) => {
    const verdict = verdictOf(variant, index, compare, report.variants.length);
    const cells = [
      count(variant.impressions),
      count(variant.unique_devices),
      count(variant.clicks),
      rate(variant.ctr),
      count(variant.conversions),
      rate(variant.conversion_rate),
      lift(variant[compare.liftField]),
      pValue(variant.p_value),
    ];
    return h(
      "tr",
      { dataset: { variant: variant.key } },
      h("th", { scope: "row", "data-label": headings[0] }, `Variant ${variant.key}`),
      cells.map((text, i) => h("td", { "data-label": headings[i + 1] }, text)),
      h(
        "td",
        { "data-label": "Verdict" },
        h("span", { class: `verdict ${verdict.kind}` }, verdict.text),
      ),
    );
  });
  const control = report.control;
  if (control && (engagement.control_percent || 0) > 0) {
    const cells = [
      "—",
      count(control.assigned ?? control.unique_devices),
      "—",
      "—",
      count(control.conversions),
      rate(control.conversion_rate),
      "—",
      "—",
    ];
    rows.push(
      h(
        "tr",
        { dataset: { variant: "control" } },
        h("th", { scope: "row", "data-label": headings[0] }, `Control (${engagement.control_percent} % held out)`),
        cells.map((text, i) =>
          h("td", { "data-label": i === 1 ? "Devices assigned" : headings[i + 1] }, text),
        ),
        h(
          "td",
          { "data-label": "Verdict" },
          h(
            "span",
            { class: "verdict baseline" },
            compare.baseline === "control" ? "Baseline" : "—",
          ),
        ),
      ),
    );
  }
  return h(
    "table",
    { class: "figures responsive-table" },
    h("caption", {}, `Per variant${control && engagement.control_percent ? " and control" : ""}`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headings.map((label) => h("th", { scope: "col" }, label)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function elementsTable(report) {
  const elements = new Set();
  const metricNames = new Set();
  for (const variant of report.variants) {
    Object.keys(variant.clicks_by_element || {}).forEach((name) => elements.add(name));
    Object.keys(variant.metrics || {}).forEach((name) => metricNames.add(name));
  }
  const rows = [];
  for (const variant of report.variants) {
    rows.push(
      h(
        "tr",
        {},
        h("th", { scope: "row", "data-label": "Variant" }, `Variant ${variant.key}`),
        h("td", { "data-label": "Dismissals" }, count(variant.dismissals)),
        h("td", { "data-label": "Render errors" }, count(variant.render_errors)),
        h(
          "td",
          { "data-label": "Clicks by button" },
          [...elements].map((name) => `${name}: ${count((variant.clicks_by_element || {})[name] || 0)}`).join(", ") || "—",
        ),
        h(
          "td",
          { "data-label": "Metrics" },
          [...metricNames].map((name) => `${name}: ${count((variant.metrics || {})[name] || 0)}`).join(", ") || "—",
        ),
      ),
    );
  }
  return h(
    "table",
    { class: "figures responsive-table" },
    h("caption", {}, "Buttons, metrics and other counts"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Variant", "Dismissals", "Render errors", "Clicks by button", "Metrics"].map((label) =>
          h("th", { scope: "col" }, label),
        ),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function charts(engagement, report, compare) {
  const items = report.variants.map((variant, index) => ({
    label: `Variant ${variant.key}`,
    value: variant[compare.goalField] || 0,
    text: rate(variant[compare.goalField]),
    series: index,
  }));
  if (compare.goalField === "conversion_rate" && report.control && (engagement.control_percent || 0) > 0) {
    items.push({
      label: "Control",
      value: report.control.conversion_rate || 0,
      text: rate(report.control.conversion_rate),
      series: "control",
    });
  }
  const goalTitle = `${compare.goal[0].toUpperCase()}${compare.goal.slice(1)} per variant`;
  const bars = responsive(h("div", { class: "chart-box" }), (width) =>
    barChart({ title: goalTitle, items, width, format: (value) => `${Number((value * 100).toFixed(2))} %` }),
  );
  const { days, perVariant } = normalizeSeries(report.series);
  const lineBox = h("div", { class: "chart-box" });
  const keys = report.variants.map((variant) => variant.key);
  let metric = "impressions";
  const lines = () =>
    keys.map((key, index) => ({
      label: `Variant ${key}`,
      series: index,
      points: days
        .filter((day) => perVariant[key] && perVariant[key][day])
        .map((day) => {
          const values = perVariant[key][day];
          const value =
            metric === "ctr"
              ? values.impressions
                ? (values.clicks || 0) / values.impressions
                : 0
              : values[metric] || 0;
          return { day, value };
        }),
    }));
  const formatValue = (value) =>
    metric === "ctr" ? `${Number((value * 100).toFixed(2))} %` : String(Number(value.toFixed(2)));
  const metricSelect = select(SERIES_METRICS, metric, {
    onchange: (event) => {
      metric = event.target.value;
      lineBox.redraw();
    },
  });
  responsive(lineBox, (width) => {
    if (!days.length) return h("p", { class: "muted" }, "No daily figures yet.");
    const label = SERIES_METRICS.find(([value]) => value === metric)[1];
    return lineChart({
      title: `${label} per day`,
      days,
      lines: lines(),
      width,
      format: formatValue,
      formatDay,
    });
  });
  const legendLines = keys.map((key, index) => ({ label: `Variant ${key}`, series: index }));
  return [
    h(
      "figure",
      { class: "chart-figure" },
      h("figcaption", {}, goalTitle),
      bars,
      h("p", { class: "hint" }, "Longer is better. Significance is in the table above."),
    ),
    h(
      "figure",
      { class: "chart-figure" },
      h("figcaption", {}, "Per day"),
      field("Show", metricSelect, { className: "field inline" }),
      lineBox,
      legend(legendLines),
    ),
  ];
}

const ANSWER_KINDS = { rating: "Rating", nps: "NPS", choice: "Choice", text: "Text" };

/** Per variant that asks a question: its answers as a bar chart of the distribution. */
function answersCharts(engagement, report) {
  const asked = report.variants.filter((variant) => "responses" in variant);
  if (!asked.length) return [];
  const labelsOf = (key) => {
    const variant = (engagement.variants || []).find((v) => v.key === key) || {};
    const options = ((variant.message || {}).question || {}).options || [];
    return Object.fromEntries(options.map((option) => [option.id, option.label]));
  };
  return asked.map((variant) => {
    const labels = labelsOf(variant.key);
    const total = variant.responses || 0;
    const items = Object.entries(variant.distribution || {}).map(([value, n], index) => ({
      label: labels[value] || value,
      value: n,
      text: `${count(n)}${total ? ` (${Math.round((100 * n) / total)} %)` : ""}`,
      series: variant.question === "choice" ? index % 8 : 0,
    }));
    const facts = [
      `${count(total)} answers`,
      `response rate ${rate(variant.response_rate)}`,
      variant.mean !== null && variant.mean !== undefined ? `mean ${variant.mean}` : null,
      variant.nps !== null && variant.nps !== undefined ? `NPS ${variant.nps}` : null,
    ].filter(Boolean);
    const title = `Answers to variant ${variant.key} (${ANSWER_KINDS[variant.question] || "question"})`;
    return h(
      "figure",
      { class: "chart-figure", dataset: { answers: variant.key } },
      h("figcaption", {}, title),
      h("p", { class: "hint" }, facts.join(" · ")),
      items.length
        ? responsive(h("div", { class: "chart-box" }), (width) =>
            barChart({ title, items, width, format: (value) => String(Math.round(value)) }),
          )
        : h("p", { class: "muted" }, "Free-text answers: listed below."),
    );
  });
}

/** The text answers, newest first, a page at a time. */
function textAnswers(path) {
  const list = h("ol", { class: "answers", dataset: { testid: "text-answers" } });
  const more = h("button", { type: "button", class: "button small", hidden: true }, "More answers");
  const status = h("p", { class: "muted", role: "status" });
  let cursor = null;
  const load = async () => {
    const query = cursor ? `?limit=20&cursor=${encodeURIComponent(cursor)}` : "?limit=20";
    try {
      const page = await call("GET", `${path}/responses${query}`);
      for (const answer of page.responses) {
        list.append(
          h(
            "li",
            {},
            h("p", { class: "answer-text" }, answer.value),
            h("p", { class: "muted" }, `Variant ${answer.variant} · ${formatDateTime(answer.at)}`),
          ),
        );
      }
      cursor = page.cursor;
      more.hidden = !cursor;
      status.textContent = list.children.length ? "" : "No text answers yet.";
    } catch (error) {
      status.textContent = `No answers: ${error.message}`;
    }
  };
  more.addEventListener("click", load);
  load();
  return h("section", { class: "text-answers" }, h("h3", {}, "Text answers"), status, list, more);
}

export function renderDetails(main, { engagementId, navigate }) {
  const path = appPath(`/engagements/${encodeURIComponent(engagementId)}`);
  const heading = h("h1", {}, "Engagement");
  const badge = h("span");
  const actions = h("div", { class: "row-actions" });
  const summaryBox = h("section", { class: "card", "aria-labelledby": "summary-heading" });
  const performance = h("section", { class: "card", "aria-labelledby": "performance-heading" });
  const updated = h("p", { class: "muted", role: "status" });
  let audiences = [];

  const drawPerformance = async (engagement) => {
    let report;
    try {
      report = await call("GET", `${path}/metrics?granularity=day`);
    } catch (error) {
      fill(performance, 
        h("h2", { id: "performance-heading" }, "Performance"),
        h("p", { class: "error" }, `No figures: ${error.message}`),
      );
      return;
    }
    report.variants = report.variants || [];
    const compare = comparison(engagement, report);
    const verdict = overallVerdict(engagement, report, compare);
    fill(performance, 
      h("h2", { id: "performance-heading" }, "Performance"),
      h(
        "p",
        { class: "hint" },
        `Goal: ${compare.goal}. Each variant is compared with ${compare.baselineName || "the first variant"} (two-proportion z-test; significant when p < 0.05).`,
      ),
      h("p", { class: `verdict-banner ${verdict.kind}`, dataset: { testid: "verdict" } }, verdict.text),
      figuresTable(engagement, report, compare),
      h("div", { class: "charts" }, charts(engagement, report, compare)),
      elementsTable(report),
      h("div", { class: "charts" }, answersCharts(engagement, report)),
      report.variants.some((variant) => variant.question === "text") ? textAnswers(path) : null,
    );
  };

  const load = async () => {
    updated.textContent = "Loading…";
    let engagement;
    try {
      engagement = await call("GET", path);
    } catch (error) {
      fill(main, h("h1", {}, "Engagement"), h("p", { class: "error" }, error.message));
      return;
    }
    heading.textContent = engagement.name;
    document.title = `${engagement.name} · Herald console`;
    fill(badge, statusBadge(engagement.status));
    const buttons = statusActions(engagement).map((action) =>
      h(
        "button",
        {
          type: "button",
          class: "button",
          onclick: async () => {
            if (await runStatusAction(engagement, action)) load();
          },
        },
        action.label,
      ),
    );
    fill(actions, 
      h(
        "a",
        { class: "button primary", href: `#/engagements/${encodeURIComponent(engagementId)}/edit` },
        "Edit",
      ),
      ...buttons,
      h("button", { type: "button", class: "button", onclick: () => load() }, "Refresh"),
      h(
        "a",
        {
          class: "button",
          href: `${BASE}/demo?app=${encodeURIComponent(session.app?.app_id || "")}`,
          target: "_blank",
          rel: "noopener",
          title: "The demo shop page, using the web SDK with this app (it asks for the client key)",
        },
        "Try it in the browser",
      ),
      h(
        "button",
        {
          type: "button",
          class: "button danger",
          onclick: async () => {
            if (await deleteEngagement(engagement)) navigate("#/engagements");
          },
        },
        "Delete",
      ),
    );
    try {
      audiences = (engagement.audience?.audience_ids || []).length
        ? (await call("GET", `${appPath("/audiences")}?limit=100`)).audiences
        : [];
    } catch {
      audiences = [];
    }
    fill(summaryBox, 
      h("h2", { id: "summary-heading" }, "Details"),
      summaryList(engagement, audiences),
    );
    await drawPerformance(engagement);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  };

  fill(main, 
    h("p", { class: "breadcrumb" }, h("a", { href: "#/engagements" }, "← Engagements")),
    h("div", { class: "page-head" }, h("div", { class: "title-line" }, heading, badge), actions),
    updated,
    performance,
    summaryBox,
  );
  return load();
}
