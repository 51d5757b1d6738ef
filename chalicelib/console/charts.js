// SVG charts drawn here: horizontal bars per variant and a daily line chart. Each chart is sized
// to its container's width (text stays legible on a phone) and says what it shows in words.

import { fill, h, newId, svg } from "./dom.js";

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function titled(width, height, title, description) {
  const titleId = newId("chart");
  const descId = newId("chart");
  return svg(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
    },
    svg("title", { id: titleId }, title),
    svg("desc", { id: descId }, description),
  );
}

/**
 * Horizontal bars: items = [{label, value, text, series}] (series picks the colour class).
 */
export function barChart({ title, items, width, format }) {
  const longest = Math.max(...items.map((item) => String(item.label).length));
  const labelWidth = Math.min(width * 0.4, Math.max(48, longest * 7.5 + 14));
  const valueWidth = 70;
  const rowHeight = 34;
  const top = 8;
  const height = top + items.length * rowHeight + 24;
  const plot = Math.max(40, width - labelWidth - valueWidth - 8);
  const max = niceMax(Math.max(0, ...items.map((item) => item.value || 0)));
  const description = items.map((item) => `${item.label}: ${item.text}`).join("; ");
  const chart = titled(width, height, title, description);
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelWidth + plot * fraction;
    chart.append(
      svg("line", { class: "grid", x1: x, x2: x, y1: top, y2: height - 22 }),
      svg(
        "text",
        { class: "axis", x, y: height - 6, "text-anchor": "middle" },
        format(max * fraction),
      ),
    );
  }
  items.forEach((item, index) => {
    const y = top + index * rowHeight;
    const barWidth = Math.max(item.value > 0 ? 2 : 0, (plot * (item.value || 0)) / max);
    chart.append(
      svg(
        "text",
        { class: "label", x: labelWidth - 8, y: y + rowHeight / 2 + 4, "text-anchor": "end" },
        item.label,
      ),
      svg("rect", {
        class: `bar series-${item.series}`,
        x: labelWidth,
        y: y + 6,
        width: barWidth,
        height: rowHeight - 12,
        rx: 3,
      }),
      svg(
        "text",
        { class: "value", x: labelWidth + barWidth + 6, y: y + rowHeight / 2 + 4 },
        item.text,
      ),
    );
  });
  return chart;
}

/**
 * A line per series over days: lines = [{label, series, points: [{day, value}]}], days sorted.
 */
export function lineChart({ title, days, lines, width, format, formatDay }) {
  const height = 240;
  const left = 52;
  const right = 24;
  const top = 12;
  const bottom = 30;
  const plotWidth = Math.max(60, width - left - right);
  const plotHeight = height - top - bottom;
  const values = lines.flatMap((line) => line.points.map((point) => point.value || 0));
  const max = niceMax(Math.max(0, ...values));
  const x = (index) =>
    left + (days.length > 1 ? (plotWidth * index) / (days.length - 1) : plotWidth / 2);
  const y = (value) => top + plotHeight - (plotHeight * (value || 0)) / max;
  const description = lines
    .map(
      (line) =>
        `${line.label}: ${line.points.map((p) => `${formatDay(p.day)} ${format(p.value)}`).join(", ")}`,
    )
    .join("; ");
  const chart = titled(width, height, title, description || "No data yet.");
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const at = y(max * fraction);
    chart.append(
      svg("line", { class: "grid", x1: left, x2: left + plotWidth, y1: at, y2: at }),
      svg("text", { class: "axis", x: left - 6, y: at + 4, "text-anchor": "end" }, format(max * fraction)),
    );
  }
  const every = Math.max(1, Math.ceil(days.length / Math.max(1, Math.floor(plotWidth / 64))));
  days.forEach((day, index) => {
    if (index % every !== 0 && index !== days.length - 1) return;
    const anchor =
      days.length > 1 && index === days.length - 1 ? "end" : index === 0 && days.length > 1 ? "start" : "middle";
    chart.append(
      svg("text", { class: "axis", x: x(index), y: height - 10, "text-anchor": anchor }, formatDay(day)),
    );
  });
  for (const line of lines) {
    const byDay = new Map(line.points.map((point) => [point.day, point.value]));
    const coords = days
      .map((day, index) => (byDay.has(day) ? [x(index), y(byDay.get(day))] : null))
      .filter(Boolean);
    if (coords.length > 1) {
      chart.append(
        svg("polyline", {
          class: `line series-${line.series}`,
          points: coords.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" "),
        }),
      );
    }
    for (const [px, py] of coords) {
      chart.append(
        svg("circle", { class: `dot series-${line.series}`, cx: px.toFixed(1), cy: py.toFixed(1), r: 3.5 }),
      );
    }
  }
  return chart;
}

/** A legend in HTML (wraps on narrow screens). */
export function legend(lines) {
  return h(
    "ul",
    { class: "legend" },
    lines.map((line) =>
      h(
        "li",
        {},
        h("span", { class: `swatch series-${line.series}`, "aria-hidden": "true" }),
        line.label,
      ),
    ),
  );
}

/** Draws `draw(width)` into `box` now and again whenever the box changes width. */
export function responsive(box, draw) {
  let lastWidth = 0;
  const render = () => {
    const width = Math.max(260, Math.floor(box.clientWidth || 600));
    if (width === lastWidth) return;
    lastWidth = width;
    fill(box, draw(width));
  };
  render();
  if ("ResizeObserver" in window) new ResizeObserver(render).observe(box);
  box.redraw = () => {
    lastWidth = 0;
    render();
  };
  return box;
}
