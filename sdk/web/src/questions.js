// What answers a message's question, as Herald checks it (chalicelib/domain/questions.py): the
// shared table sdk/shared/answer-cases.json pins both. The SDK refuses a misfit before queueing
// it, since Herald would refuse the whole batch it travels in.

export const RATING = { min: 1, max: 5 };
export const NPS = { min: 0, max: 10 };
export const MAX_TEXT = 500;

/**
 * @typedef {{id: string, label: string}} ChoiceOption
 * @typedef {{type: "rating" | "nps", prompt: string, submit_label?: string}} ScaleQuestion
 * @typedef {{type: "choice", prompt: string, submit_label?: string, options: ChoiceOption[],
 *            multiple?: boolean}} ChoiceQuestion
 * @typedef {{type: "text", prompt: string, submit_label?: string, max_length?: number}}
 *            TextQuestion
 * @typedef {ScaleQuestion | ChoiceQuestion | TextQuestion} Question
 * @typedef {number | string | string[]} Answer
 */

/**
 * Why `value` cannot answer `question`, or null when it can.
 * @param {Question} question
 * @param {unknown} value
 * @returns {string | null}
 */
export function answerProblem(question, value) {
  if (question.type === "rating" || question.type === "nps") {
    const { min, max } = question.type === "rating" ? RATING : NPS;
    if (!Number.isInteger(value) || /** @type {number} */ (value) < min || /** @type {number} */ (value) > max) {
      return `a ${question.type} answer is a whole number from ${min} to ${max}`;
    }
    return null;
  }
  if (question.type === "choice") {
    const ids = question.options.map((option) => option.id);
    /** @type {unknown[]} */
    let chosen;
    if (question.multiple) {
      if (!Array.isArray(value) || value.length === 0) return `a list of one or more option ids among ${ids.join(", ")}`;
      if (new Set(value).size !== value.length) return "an option is chosen once";
      chosen = value;
    } else {
      if (typeof value !== "string") return `one option id among ${ids.join(", ")}`;
      chosen = [value];
    }
    const unknown = chosen.find((item) => typeof item !== "string" || !ids.includes(item));
    if (unknown !== undefined) return `unknown option ${JSON.stringify(unknown)}: use one of ${ids.join(", ")}`;
    return null;
  }
  const limit = /** @type {TextQuestion} */ (question).max_length ?? MAX_TEXT;
  if (typeof value !== "string" || !value.trim()) return "a text answer is a non-empty string";
  const length = [...value].length; // characters (code points), as Herald counts them
  if (length > limit) return `a text answer is at most ${limit} characters, got ${length}`;
  return null;
}
