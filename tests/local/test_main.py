"""`python -m chalicelib.local` (what `make run` runs): prints how to reach it, stops on Ctrl-C."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from chalicelib.domain import keys

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_serves_prints_the_url_and_root_key_and_stops_cleanly_on_sigint():
    root_key = keys.new_root_key()
    env = {**os.environ, "HERALD_PORT": "0", "HERALD_ROOT_KEY": root_key}
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    try:
        printed = []
        deadline = time.monotonic() + 30
        while not any(line.startswith("Root key:") for line in printed):
            printed.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=20)
    finally:
        process.kill()
        process.wait()

    assert printed[0].startswith("Herald is serving on http://127.0.0.1:")
    assert printed[1].strip() == f"Root key: {root_key}"
    assert process.returncode == 0, errors
    assert "Traceback" not in errors
