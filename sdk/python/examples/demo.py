"""`make demo`: from nothing to a significant A/B result in the console, in under two minutes.

It starts its own local Herald (`python -m chalicelib.local`, as `make run` does) on a free port,
or reuses a running one named by HERALD_URL and HERALD_ROOT_KEY; creates an app; applies a
YAML file declaring an audience and an A/B engagement with a control group; simulates a fleet
of devices whose true rates make variant B the better one; prints the metrics, the console's
address and the admin key to sign in with; then keeps the server running for the console
until Ctrl-C (`--exit` stops at once instead).

Only the `herald` command and the SDK are used here, as a user would; nothing imports the
server's code (the server runs in its own process).
"""

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from herald_sdk.cli.main import app as herald
from rich.console import Console

REPO = Path(__file__).resolve().parents[3]
READY_SECONDS = 90
console = Console(highlight=False)

DEMO_YAML = """\
audiences:
  - name: Mobile users
    description: iOS and Android (the web app shows no modals)
    rules:
      any:
        - {{attribute: platform, op: eq, value: ios}}
        - {{attribute: platform, op: eq, value: android}}

engagements:
  - name: Spring sale
    description: Which modal sells more? A plain offer, or a treat.
    ab_test: true
    control_percent: 20
    variants:
      - key: A
        weight: 50
        message:
          layout: modal
          title: Spring sale
          body: 20 % off today
          buttons:
            - {{id: buy, label: Shop now, action: {{type: deep_link, target: "shop://sale"}}}}
      - key: B
        weight: 50
        message:
          layout: modal
          title: A spring treat, just for you
          body: 20 % off everything, today only
          buttons:
            - {{id: buy, label: Treat me, action: {{type: deep_link, target: "shop://sale"}}}}
    audience:
      audiences: [Mobile users]
    schedule:
      start_at: {start}
      end_at: {end}
    frequency: {{max_per_day: 1}}
    metrics:
      - {{element: buy, metric: sale_tapped}}
    conversion: {{event: purchase, window_hours: 24}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return httpx.get(url + "/v1/openapi.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_server() -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    root_key = "herald_root_" + secrets.token_hex(32)
    env = {**os.environ, "HERALD_PORT": str(port), "HERALD_ROOT_KEY": root_key}
    log = open(Path(tempfile.gettempdir()) / f"herald-demo-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_SECONDS
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"the local Herald did not start; see {log.name}")
        time.sleep(0.25)
    return process, url, root_key


def run(*args: str) -> None:
    """`herald ARGS`, shown and run as a user would type it."""
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    console.print(f"\n[bold cyan]$ herald {shown}[/bold cyan]")
    code = herald(list(args), standalone_mode=False)
    if code not in (None, 0):
        sys.exit(f"herald {args[0]} failed ({code})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=400)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--exit", action="store_true", help="stop the server at the end")
    options = parser.parse_args()
    began = time.monotonic()

    process = None
    url, root_key = os.environ.get("HERALD_URL"), os.environ.get("HERALD_ROOT_KEY")
    if url and root_key and answers(url):
        console.print(f"Using the Herald running at {url}")
    else:
        console.print("Starting a local Herald (moto in-process, as `make run`)...")
        process, url, root_key = start_server()
        console.print(f"Herald is serving on {url} ({time.monotonic() - began:.1f} s)")

    workdir = Path(tempfile.mkdtemp(prefix="herald-demo-"))
    os.environ.update(
        HERALD_URL=url, HERALD_ROOT_KEY=root_key, HERALD_CONFIG=str(workdir / "config.toml")
    )
    for name in ("HERALD_ADMIN_KEY", "HERALD_CLIENT_KEY", "HERALD_APP_ID", "HERALD_PROFILE"):
        os.environ.pop(name, None)
    now = datetime.now(UTC).replace(microsecond=0)
    spec = workdir / "demo.yaml"
    spec.write_text(
        DEMO_YAML.format(
            start=(now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            end=(now + timedelta(days=14)).isoformat().replace("+00:00", "Z"),
        )
    )
    try:
        run("apps", "create", "Demo shop", "--save-profile", "default")
        run("plan", "-f", str(spec))
        run("apply", "-f", str(spec), "--yes")
        run(
            "simulate", "--engagement", "Spring sale", "--devices", str(options.devices),
            "--ctr", "A=0.04,B=0.12", "--conversion", "A=0.05,B=0.2,control=0.04",
            "--seed", str(options.seed), "--concurrency", "6",
        )  # fmt: skip
        run("metrics", "Spring sale")
        elapsed = time.monotonic() - began
        admin_key = _profile_value(workdir / "config.toml", "admin_key")
        console.print(
            f"\n[bold green]Done in {elapsed:.0f} s[/bold green] ({options.devices} devices)."
        )
        console.print(f"Console:   {url}/console", markup=False)
        console.print(f"Admin key: {admin_key}", markup=False, soft_wrap=True)
        console.print(
            f"Profile:   HERALD_CONFIG={workdir / 'config.toml'} herald ...",
            markup=False,
            soft_wrap=True,
        )
        if process and not options.exit:
            console.print("Sign in with the admin key to see the A/B test. Ctrl-C stops Herald.")
            process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if process:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


def _profile_value(path: Path, name: str) -> str:
    import tomllib

    return tomllib.loads(path.read_text())["default"][name]


if __name__ == "__main__":
    raise SystemExit(main())
