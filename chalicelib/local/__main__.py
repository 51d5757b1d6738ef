"""`make run`: serve Herald on http://127.0.0.1:$HERALD_PORT (8000) until Ctrl-C or SIGTERM."""

import logging
import os
import signal
import sys
import threading

from chalicelib.local.server import LocalHerald


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials" per client
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    port = int(os.environ.get("HERALD_PORT", "8000"))
    try:
        herald = LocalHerald(port=port, root_key=os.environ.get("HERALD_ROOT_KEY") or None)
    except ValueError as error:  # a weak HERALD_ROOT_KEY
        print(error, file=sys.stderr)
        return 2
    try:
        herald.start()
    except OSError as error:  # most likely the port is taken
        herald.stop()
        print(f"Cannot serve on {herald.url}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"Herald is serving on {herald.url}", flush=True)
    print(f"Root key: {herald.root_key}", flush=True)
    print(f"Console: {herald.url}/console (sign in with the root key)", flush=True)
    print("Schedules fire and queues are consumed locally (moto). Ctrl-C stops.", flush=True)
    stopping.wait()
    print("Stopping...", flush=True)
    herald.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
