"""The deployment package as `make package` builds it, with its real dependencies: at most 5 MB,
without the SDK the Lambda runtime provides, and working on that runtime's SDK."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy import infra

MAX_BYTES = 5 * 1024 * 1024
RUNTIME_SDK = infra.PROJECT_DIR / ".venv" / "lambda-runtime"  # requirements-lambda-runtime.txt
PROVIDED = {"boto3", "botocore", "s3transfer", "urllib3", "dateutil"}  # by the Lambda runtime


@pytest.fixture
def bundle(packaged) -> Path:
    return packaged["zip"]


def top_level(archive: zipfile.ZipFile) -> set[str]:
    return {name.split("/", 1)[0].removesuffix(".py") for name in archive.namelist()}


def test_the_package_is_small_and_leaves_the_sdk_to_the_runtime(bundle):
    assert bundle.stat().st_size <= MAX_BYTES, f"{bundle.stat().st_size} bytes"
    with zipfile.ZipFile(bundle) as archive:
        shipped = top_level(archive)
    assert not shipped & PROVIDED
    assert {"app", "chalicelib", "pynamodb", "pydantic", "aws_lambda_powertools"} <= shipped


def test_the_package_runs_on_the_runtimes_sdk(bundle, tmp_path):
    """Unzipped, with the runtime's boto3/botocore first on the path, the app serves a whole
    flow under moto (Chalice's own copy is left out: the test client comes from the venv)."""
    assert (RUNTIME_SDK / "botocore").is_dir(), "run `make .venv/.installed` first"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path / "package")
    for path in sorted((tmp_path / "package" / "chalice").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HERALD_STAGE": "dev",
        "PYTHONPATH": "",
    }
    probe = Path(__file__).with_name("runtime_probe.py")
    done = subprocess.run(
        [sys.executable, str(probe), str(tmp_path / "package"), str(RUNTIME_SDK)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    found = json.loads(line.removeprefix("PROBE "))
    wanted = infra.PROJECT_DIR / "requirements-lambda-runtime.txt"
    pinned = dict(line.split("==") for line in wanted.read_text().splitlines() if "==" in line)
    assert found["botocore"] == pinned["botocore"]
    assert found["boto3"] == pinned["boto3"]
    assert found["botocore_from"].startswith(str(RUNTIME_SDK))
    assert found["pynamodb_from"].startswith(str(tmp_path / "package"))
    assert found["steps"] == {
        "create_app": 201,
        "create_engagement": 201,
        "schedule": "unchanged",
        "fetch": 200,
        "post_events": 202,
        "consume": {"batchItemFailures": []},
    }
