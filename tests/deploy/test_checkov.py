"""checkov on both templates (the resources stack of `make deploy`, the SAM template of
`make package`), in one run: every finding is in deploy/checkov_baseline.json with a one-line
reason, and every entry there still has a finding (no stale skip)."""

import json
import os
import subprocess

import pytest

from deploy import infra

CHECKOV = infra.PROJECT_DIR / ".venv" / "checkov" / "bin" / "checkov"  # requirements-checkov.txt
BASELINE = infra.PROJECT_DIR / "deploy" / "checkov_baseline.json"
OFFLINE = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}


@pytest.fixture(scope="module")
def findings(packaged) -> dict[str, set[str]]:
    """{check id: {file: resource}} of every failed check."""
    assert CHECKOV.exists(), "run `make .venv/.installed` first (it installs checkov apart)"
    run = subprocess.run(
        [
            str(CHECKOV),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
            "-f",
            str(infra.TEMPLATE_PATH),
            "-f",
            str(packaged["path"]),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **OFFLINE},
    )
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert run.returncode in (0, 1), run.stderr[-2000:]
    found: dict[str, set[str]] = {}
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0
        assert report["summary"]["resource_count"] > 50  # both templates were read
        for check in report["results"]["failed_checks"]:
            found.setdefault(check["check_id"], set()).add(check["resource"])
    return found


def test_every_finding_is_in_the_baseline(findings):
    baseline = json.loads(BASELINE.read_text())
    new = {
        check: sorted(resources) for check, resources in findings.items() if check not in baseline
    }
    assert not new, (
        f"new checkov findings: fix them or add a reasoned entry to {BASELINE.name}: {new}"
    )


def test_every_baseline_entry_is_still_needed_and_reasoned(findings):
    for check, reason in json.loads(BASELINE.read_text()).items():
        assert check in findings, f"{check} no longer fails: remove it from the baseline"
        assert reason.strip() and "\n" not in reason and len(reason) <= 160, check
