// Dates in the user's time zone, percentages, p-values: how numbers are written in the console.

const pad = (number) => String(number).padStart(2, "0");

export function timeZoneName() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  } catch {
    return "local time";
  }
}

/** "+01:00" for a Date in the user's zone (the offset in force on that date). */
export function offsetOf(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A datetime-local value ("2026-12-01T09:00") -> ISO 8601 with the user's offset, or "". */
export function localInputToIso(value) {
  if (!value) return "";
  const date = new Date(value); // a date-time without offset is read as local time
  if (Number.isNaN(date.getTime())) return "";
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${day}T${time}${offsetOf(date)}`;
}

/** ISO 8601 -> a datetime-local value in the user's zone (seconds only when there are some). */
export function isoToLocalInput(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "";
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const seconds = date.getSeconds() ? `:${pad(date.getSeconds())}` : "";
  return `${day}T${pad(date.getHours())}:${pad(date.getMinutes())}${seconds}`;
}

/** A Date -> datetime-local value, to the minute. */
export function dateToLocalInput(date) {
  return isoToLocalInput(date.toISOString());
}

export function formatDateTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "—";
  return new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(date);
}

export function formatDay(day) {
  const date = new Date(`${day}T00:00:00`);
  if (Number.isNaN(date.getTime())) return String(day);
  return new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" }).format(date);
}

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/** 0.253 -> "25.3 %". */
export function rate(value) {
  return isNumber(value) ? `${(value * 100).toFixed(1)} %` : "—";
}

/** 0.41 -> "+41.0 %". */
export function lift(value) {
  if (!isNumber(value)) return "—";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${Math.abs(value * 100).toFixed(1)} %`;
}

export function pValue(value) {
  if (!isNumber(value)) return "—";
  if (value < 0.001) return "< 0.001";
  return value.toFixed(3);
}

export function count(value) {
  return isNumber(value) ? new Intl.NumberFormat().format(value) : "—";
}

/** "A 50 % · B 50 %". */
export function variantSummary(engagement) {
  const variants = engagement.variants || [];
  if (variants.length === 1) return `${variants[0].key} (single message)`;
  return variants.map((variant) => `${variant.key} ${variant.weight ?? "?"} %`).join(" · ");
}

/** A free-text list typed one per line or comma separated -> trimmed, non-empty items. */
export function splitList(text) {
  return String(text || "")
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}
