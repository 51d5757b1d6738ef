"""The `herald` command against a real local Herald: settings from flags, environment and
profile; every command; bad input as one clear line and a non-zero exit, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT_KEY, engagement_spec, wait_for

HERALD = Path(sys.executable).with_name("herald")


def test_apps_create_saves_a_profile_the_next_commands_use(herald_cli, server, tmp_path):
    made = herald_cli(
        "--url",
        server.url,
        "--root-key",
        ROOT_KEY,
        "apps",
        "create",
        "Shop",
        "--save-profile",
        "shop",
    )
    assert made.exit_code == 0, made.stderr
    assert "admin key:  herald_admin_" in made.stdout
    profile = (tmp_path / "herald.toml").read_text()
    assert '["shop"]' in profile and f'url = "{server.url}"' in profile
    assert oct((tmp_path / "herald.toml").stat().st_mode & 0o777) == "0o600"

    shown = herald_cli("--profile", "shop", "apps", "get", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == "Shop"
    from_env = herald_cli("apps", "get", HERALD_PROFILE="shop")
    assert from_env.exit_code == 0 and "Shop (app" in from_env.stdout
    origins = herald_cli(
        "--profile",
        "shop",
        "apps",
        "update",
        "--web-origin",
        "https://a.example",
        "--web-origin",
        "https://b.example",
    )
    assert "web origins: https://a.example, https://b.example" in origins.stdout
    cleared = herald_cli("--profile", "shop", "apps", "update", "--no-web-origins")
    assert "web origins: none" in cleared.stdout


def test_engagements_list_get_pause_resume_delete(herald_cli, shop):
    shop.admin.create_engagement(engagement_spec("Spring sale"))
    env = {"HERALD_URL": shop.url, "HERALD_ADMIN_KEY": shop.created.admin_key}

    listed = herald_cli("engagements", "list", **env)
    assert listed.exit_code == 0, listed.stderr
    assert "Spring sale" in listed.stdout and "A 50%, B 50%" in listed.stdout
    assert "1 engagement(s)" in listed.stdout
    got = json.loads(herald_cli("engagements", "get", "spring sale", **env).stdout)
    assert got["status"] == "active"

    paused = herald_cli("engagements", "pause", "Spring sale", **env)
    assert "Spring sale: active -> paused" in paused.stdout
    resumed = herald_cli("engagements", "resume", "Spring sale", **env)
    assert "paused -> active" in resumed.stdout
    again = herald_cli("engagements", "resume", "Spring sale", **env)
    assert again.exit_code == 1
    assert "409 ConflictError: only a paused engagement can be resumed" in again.stderr

    kept = herald_cli("engagements", "delete", "Spring sale", input="n\n", **env)
    assert kept.exit_code == 1 and "not deleted" in kept.stderr
    deleted = herald_cli("engagements", "delete", "Spring sale", "--yes", **env)
    assert deleted.exit_code == 0, deleted.stderr
    assert list(shop.admin.iter_engagements()) == []


def test_metrics_table_verdict_and_json(herald_cli, shop):
    made = shop.admin.create_engagement(engagement_spec("Spring sale"))
    stamp = engagement_spec()["schedule"]["start_at"]
    events = []
    for variant, clicks in (("A", 1), ("B", 16)):
        for n in range(40):
            base = {
                "device_id": f"{variant}-{n}",
                "engagement_id": made.engagement_id,
                "variant": variant,
                "timestamp": stamp,
            }
            events.append({**base, "id": f"i-{variant}-{n}", "type": "impression"})
            if n < clicks:
                events.append({**base, "id": f"c-{variant}-{n}", "type": "click", "element": "buy"})
    for device_id in dict.fromkeys(e["device_id"] for e in events):
        shop.device.register(device_id)  # events of unregistered devices are refused
    shop.device.send_events(events)
    wait_for(lambda: shop.admin.metrics(made.engagement_id).variants[1].impressions == 40, 15)
    env = {"HERALD_URL": shop.url, "HERALD_ADMIN_KEY": shop.created.admin_key}

    shown = herald_cli("metrics", "Spring sale", **env)
    assert shown.exit_code == 0, shown.stderr
    assert "goal: CTR" in shown.stdout
    assert "40.0%" in shown.stdout and "+1500.0%" in shown.stdout
    assert "B wins: its click-through rate is 40.0% against 2.5% for variant A" in shown.stdout
    as_json = json.loads(herald_cli("metrics", made.engagement_id, "--json", **env).stdout)
    assert [v["clicks"] for v in as_json["variants"]] == [1, 16]
    assert as_json["variants"][1]["significant"] is True
    assert as_json["verdict"].startswith("B wins")


def test_explain(herald_cli, shop):
    shop.admin.create_engagement(engagement_spec("Spring sale", trigger={"event": "checkout"}))
    shop.device.register("phone-1", platform="ios")
    env = {"HERALD_URL": shop.url, "HERALD_ADMIN_KEY": shop.created.admin_key}

    why = herald_cli("explain", "phone-1", "--event", "app_launch", **env)
    assert why.exit_code == 0, why.stderr
    assert "event_mismatch" in why.stdout
    eligible = json.loads(
        herald_cli("explain", "phone-1", "--event", "checkout", "--json", **env).stdout
    )
    assert eligible["engagements"][0]["eligible"] is True


def test_missing_keys_and_bad_settings_are_clear_errors(herald_cli, server, tmp_path):
    no_key = herald_cli("--url", server.url, "engagements", "list")
    assert no_key.exit_code == 2
    assert "no admin key: pass --admin-key, set HERALD_ADMIN_KEY" in no_key.stderr
    no_root = herald_cli("--url", server.url, "apps", "create", "Shop")
    assert no_root.exit_code == 2 and "no root key" in no_root.stderr
    wrong = herald_cli(
        "--url", server.url, "--admin-key", "herald_admin_x_" + "0" * 64, "engagements", "list"
    )
    assert wrong.exit_code == 1 and "401 UnauthorizedError" in wrong.stderr
    nowhere = herald_cli(
        "--url", "http://127.0.0.1:9", "--root-key", ROOT_KEY, "apps", "create", "Shop"
    )
    assert nowhere.exit_code == 1 and "cannot reach http://127.0.0.1:9" in nowhere.stderr
    malformed = herald_cli("--url", server.url, "--admin-key", "nope", "engagements", "list")
    assert malformed.exit_code == 2 and "the admin key is not one" in malformed.stderr
    missing_profile = herald_cli("--profile", "nope", "apps", "get")
    assert missing_profile.exit_code == 2 and "no profile 'nope'" in missing_profile.stderr
    (tmp_path / "herald.toml").write_text('[default]\nurl = "x"\ncolour = "red"\n')
    unknown = herald_cli("apps", "get")
    assert unknown.exit_code == 2 and "unknown setting(s) colour" in unknown.stderr
    (tmp_path / "herald.toml").write_text("[default\n")
    broken = herald_cli("apps", "get")
    assert broken.exit_code == 2 and "cannot read the profile file" in broken.stderr
    (tmp_path / "herald.toml").unlink()
    key = "herald_admin_a_" + "0" * 64
    absent = str(tmp_path / "absent.yaml")
    missing_file = herald_cli("--url", server.url, "--admin-key", key, "plan", "-f", absent)
    assert missing_file.exit_code == 2 and "absent.yaml: cannot read" in missing_file.stderr


def test_the_installed_command_fails_cleanly_without_a_traceback(server, tmp_path):
    """The console script pip installed, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_CONFIG"] = str(tmp_path / "none.toml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("engagements:\n  - name: X\n    variants: [\n")
    command = [str(HERALD), "--url", server.url, "--admin-key", "herald_admin_a_" + "0" * 64]
    command += ["plan", "-f", str(bad)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: ")
    assert "Traceback" not in done.stderr + done.stdout
    assert "bad.yaml:4:1:" in done.stderr
