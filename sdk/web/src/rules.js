// Trigger conditions, evaluated as Herald's server evaluates them (chalicelib/domain/rules.py):
// the same operators, the same coercions. sdk/shared/rule-cases.json pins the agreement; the
// Python tests and this SDK's tests both run it.

/** @typedef {string | number | boolean} Scalar */
/** @typedef {{attribute: string, op: string, value?: Scalar | Scalar[]}} Condition */

/** Absent attribute (only `not_exists` holds on it). */
const MISSING = Symbol("missing");

// Python's str.isspace() characters: float() and strip() trim these.
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TRIM = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");
const FLOAT = /^[+-]?(?:(?:\d+(?:_\d+)*)(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;
const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;
const VERSION_PREFIX = /^\d{1,9}(?:\.\d{1,9}){0,3}/;
// The code point of the digit zero of every Unicode decimal digit block (category Nd).
const DIGIT_ZEROS = [
  0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
  0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
  0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
  0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
  0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
  0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/**
 * Unicode decimal digits as ASCII digits (Python's float() and int() read any of them).
 * @param {string} text
 */
function asciiDigits(text) {
  return text.replace(/\p{Nd}/gu, (digit) => {
    const point = /** @type {number} */ (digit.codePointAt(0));
    const zero = DIGIT_ZEROS.findLast((candidate) => candidate <= point) ?? 0x30;
    return String(point - zero);
  });
}

/**
 * @param {unknown} value
 * @returns {value is number}
 */
function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/**
 * Python's `_as_number`: numbers as they are, strings as `float()` reads them, else null.
 * @param {unknown} value
 * @returns {number | null}
 */
function asNumber(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string") return null;
  const text = asciiDigits(value.replace(TRIM, ""));
  if (SPECIAL.test(text) || !FLOAT.test(text)) return null;
  const number = Number(text.replaceAll("_", ""));
  return Number.isFinite(number) ? number : null;
}

/**
 * '2.3' -> [2, 3, 0, 0]; null for anything else. Trailing labels ('2.3.0-beta') are ignored.
 * @param {unknown} value
 * @returns {number[] | null}
 */
function parseVersion(value) {
  if (typeof value !== "string") return null;
  const core = VERSION_PREFIX.exec(value.replace(TRIM, ""));
  if (!core) return null;
  const parts = core[0].split(".").map(Number);
  while (parts.length < 4) parts.push(0);
  return parts;
}

/** @param {number[]} left @param {number[]} right */
function compareVersions(left, right) {
  for (let index = 0; index < 4; index += 1) {
    if (left[index] !== right[index]) return left[index] < right[index] ? -1 : 1;
  }
  return 0;
}

/** @param {unknown} actual @param {unknown} expected */
function same(actual, expected) {
  if (typeof actual === "boolean" || typeof expected === "boolean") return actual === expected;
  if (isNumber(expected)) return asNumber(actual) === expected;
  return actual === expected;
}

/**
 * Python's str() of a scalar, for `contains` on a string.
 * @param {unknown} value
 */
function pythonText(value) {
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/**
 * Whether one condition holds on one attribute value (MISSING when absent).
 * @param {Condition} condition
 * @param {unknown} actual
 * @returns {boolean}
 */
export function holds(condition, actual) {
  const { op, value: expected } = condition;
  if (actual === MISSING || actual === null || actual === undefined) return op === "not_exists";
  switch (op) {
    case "exists":
      return true;
    case "not_exists":
      return false;
    case "eq":
      return same(actual, expected);
    case "ne":
      return !same(actual, expected);
    case "in":
      return Array.isArray(expected) && expected.some((item) => same(actual, item));
    case "not_in":
      return Array.isArray(expected) && !expected.some((item) => same(actual, item));
    case "contains":
      if (Array.isArray(actual)) return actual.some((item) => same(item, expected));
      return typeof actual === "string" && actual.includes(pythonText(expected));
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const number = asNumber(actual);
      if (number === null || !isNumber(expected)) return false;
      if (op === "gt") return number > expected;
      if (op === "gte") return number >= expected;
      if (op === "lt") return number < expected;
      return number <= expected;
    }
    case "version_gte":
    case "version_lt": {
      const version = parseVersion(actual);
      const wanted = parseVersion(expected);
      if (version === null || wanted === null) return false;
      const order = compareVersions(version, wanted);
      return op === "version_gte" ? order >= 0 : order < 0;
    }
    default:
      return false; // an operator this SDK does not know never matches
  }
}

/**
 * Whether every condition holds on an event's attributes.
 * @param {readonly Condition[]} conditions
 * @param {Record<string, unknown>} attributes
 */
export function conditionsHold(conditions, attributes) {
  return conditions.every((condition) =>
    holds(
      condition,
      Object.hasOwn(attributes, condition.attribute) ? attributes[condition.attribute] : MISSING,
    ),
  );
}

export { MISSING };
