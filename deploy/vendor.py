"""The `vendor/` directory Chalice ships as it is: what the functions need without its
dependencies, because the Lambda Python runtime already has them.

PynamoDB's one dependency is botocore, which the runtime provides with boto3 (so does Herald's
own use of boto3): requirements-vendor.txt is installed here with `--no-deps`, and
requirements.txt (which Chalice resolves with every dependency) does not list it. The package
is then a fifth of the size (docs/OPERATIONS.md, bench/package_bench.py).
"""

import subprocess
import sys
from pathlib import Path

from deploy import infra

REQUIREMENTS = "requirements-vendor.txt"
STAMP = ".requirements"  # what vendor/ was installed from


def vendor(project_dir: Path = infra.PROJECT_DIR) -> Path | None:
    """Install requirements-vendor.txt into project_dir/vendor (skipped when up to date, or
    when the project has no such file)."""
    if not (project_dir / REQUIREMENTS).exists():
        return None
    wanted = (project_dir / REQUIREMENTS).read_text()
    target = project_dir / "vendor"
    stamp = target / STAMP
    if stamp.exists() and stamp.read_text() == wanted:
        return target
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            "-r",
            str(project_dir / REQUIREMENTS),
        ],
        check=True,
    )
    for metadata in target.glob("*.dist-info"):  # not imported; Chalice would ship it
        for path in sorted(metadata.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        metadata.rmdir()
    stamp.write_text(wanted)
    return target
