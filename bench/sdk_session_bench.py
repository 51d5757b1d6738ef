"""HTTP requests of one scripted web session: the web SDK against a fetch-per-event client.

The session, against a local Herald over real HTTP (LocalHerald, in-process moto): start, then
50 `track` calls 100 ms apart, 3 of them matching the app's one trigger (`checkout` with
`total >= 50`); each message fetched is shown and clicked (an impression and a click). Both
clients are the SDK's own core (sdk/web/src) run by Node, with a counting `fetch`; the
fetch-per-event client asks for messages on every event, as a client without the trigger list
must. Events are batched the same way in both (flushed every 2 s and at the end).

    .venv/bin/python bench/sdk_session_bench.py
"""

import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarking import ROOT_KEY

from chalicelib.local.server import LocalHerald

SDK = Path(__file__).resolve().parents[1] / "sdk" / "web" / "src"
EVENTS = 50
MATCHING = 3

SESSION = """
import { Herald } from "%(core)s";
const [url, appId, clientKey, mode] = process.argv.slice(1);
const counts = {};
const counting = (target, init = {}) => {
  const path = new URL(String(target)).pathname;
  const route = (init.method ?? "GET") === "PUT" ? "register"
    : path.endsWith("/triggers") ? "triggers" : path.endsWith("/events") ? "events" : "messages";
  counts[route] = (counts[route] ?? 0) + 1;
  return fetch(target, init);
};
const herald = new Herald({ url, appId, clientKey, deviceId: `bench-${mode}`, renderer: null,
  navigator: null, fetch: counting, flushIntervalMs: 2000 });
if (mode === "fetch-per-event") {
  // no trigger list: ask for messages on every event
  herald.refreshTriggers = async () => {};
  herald.matches = () => true;
}
let shown = 0;
herald.on("message", (message, controls) => {
  shown += 1;
  controls.impression();
  controls.click("buy");
});
herald.on("error", (error) => { console.error(error.message); process.exitCode = 1; });
await herald.start();
const matching = new Set([7, 23, 41]);
for (let n = 0; n < %(events)d; n += 1) {
  if (matching.has(n)) await herald.track("checkout", { total: 80 + n });
  else await herald.track(n %% 2 ? "view_item" : "scroll", { n, total: 10 });
  await new Promise((resolve) => setTimeout(resolve, 100));
}
await herald.flush();
herald.destroy();
console.log(JSON.stringify({ counts, shown, pending: herald.queue.pending().length }));
"""


def call(base: str, method: str, path: str, body: dict, key: str) -> dict:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def session(herald: LocalHerald, app: dict, mode: str) -> dict:
    script = SESSION % {"core": (SDK / "core.js").as_uri(), "events": EVENTS}
    argv = ["node", "--input-type=module", "-e", script, herald.url, app["app_id"]]
    done = subprocess.run(
        [*argv, app["client_key"], mode], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        sys.exit(f"{mode} session failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    herald = LocalHerald(port=0, root_key=ROOT_KEY, mock=True)
    herald.start()
    try:
        app = call(herald.url, "POST", "/v1/apps", {"name": "Bench"}, ROOT_KEY)
        now = datetime.now(UTC).replace(microsecond=0)
        message = {
            "layout": "modal",
            "title": "Big cart",
            "buttons": [{"id": "buy", "label": "Buy", "action": {"type": "dismiss"}}],
        }
        engagement = {
            "name": "Big carts",
            "variants": [{"key": "A", "message": message}],
            "schedule": {
                "start_at": (now - timedelta(minutes=1)).isoformat(),
                "end_at": (now + timedelta(days=1)).isoformat(),
            },
            "trigger": {
                "event": "checkout",
                "conditions": [{"attribute": "total", "op": "gte", "value": 50}],
            },
        }
        call(
            herald.url,
            "POST",
            f"/v1/apps/{app['app_id']}/engagements",
            engagement,
            app["admin_key"],
        )
        results = {mode: session(herald, app, mode) for mode in ("sdk", "fetch-per-event")}
    finally:
        herald.stop()

    print(f"One session: {EVENTS} track calls, {MATCHING} matching, each shown and clicked.\n")
    print(
        "| client | registration | trigger sync | message fetches | event batches "
        "| total requests | messages shown |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, result in results.items():
        counts = result["counts"]
        row = [counts.get(route, 0) for route in ("register", "triggers", "messages", "events")]
        name = "web SDK" if mode == "sdk" else "fetch-per-event client"
        print(f"| {name} | " + " | ".join(map(str, row)) + f" | {sum(row)} | {result['shown']} |")
        if result["pending"]:
            sys.exit(f"{mode}: {result['pending']} events were not sent")
    sdk, naive = (sum(r["counts"].values()) for r in results.values())
    print(f"\nThe SDK: {sdk} requests; a fetch-per-event client: {naive} ({naive / sdk:.1f}x).")


if __name__ == "__main__":
    main()
