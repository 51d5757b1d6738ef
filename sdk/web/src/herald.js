// Herald's web SDK: `import { init } from "<herald>/sdk/herald.js"`. The core (core.js and its
// parts) does identity, triggers, fetching and events; the DOM renderer (dom.js) draws messages
// unless a `message` handler takes over. No runtime dependency, no build step.

import { Herald } from "./core.js";
import { createDomRenderer } from "./dom.js";

export { Herald, isWebLink } from "./core.js";
export { parseEnrolmentLink } from "./device.js";
export { answerProblem } from "./questions.js";
export { createDomRenderer } from "./dom.js";
export { HeraldError } from "./transport.js";
export { conditionsHold } from "./rules.js";

export const VERSION = "0.1.0";

/**
 * Start Herald on this page: registers the device and loads the app's triggers. Resolves once
 * both were tried; failures (offline, Herald down, a wrong key) go to `on("error")` handlers and
 * never reject, so the page works without Herald.
 * @param {import("./core.js").HeraldOptions} options
 * @returns {Promise<Herald>}
 */
export async function init(options) {
  const renderer =
    options.renderer !== undefined
      ? options.renderer
      : globalThis.document
        ? createDomRenderer()
        : null;
  const herald = new Herald({ ...options, renderer });
  await herald.start();
  return herald;
}
