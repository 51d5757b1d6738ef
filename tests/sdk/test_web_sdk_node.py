"""The web SDK's own checks, in `make test`: its unit tests under Node's built-in runner (the
shared rule-case table among them), TypeScript's check of its JSDoc types (the pinned
devDependency, installed with `npm ci` from the committed lock file), and `npm pack` giving a
tarball that installs and imports, with its declarations."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import machine_lock

SDK = Path(__file__).resolve().parents[2] / "sdk" / "web"


def run(argv: list[str], cwd: Path = SDK, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """node_modules as the lock file says (npm ci, unless it already matches), held for the
    module: another worker's `npm ci` would empty it under this one's tsc."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node 20 and npm are needed for the web SDK's tests")
    with machine_lock("web-sdk-node-modules"):
        lock = json.loads((SDK / "package-lock.json").read_text())
        wanted = lock["packages"]["node_modules/typescript"]["version"]
        found = SDK / "node_modules" / "typescript" / "package.json"
        if not found.exists() or json.loads(found.read_text())["version"] != wanted:
            run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"])
        yield SDK / "node_modules"


def test_the_unit_tests_pass_under_node_test():
    done = run(["node", "--test", "test/"])
    assert "# fail 0" in done.stdout
    passed = int(done.stdout.split("# pass ")[1].split()[0])
    cases = json.loads((SDK.parent / "shared" / "rule-cases.json").read_text())["cases"]
    assert passed > len(cases)  # every shared case ran, and the core's own tests


@pytest.fixture(scope="module")
def checked(installed) -> Path:
    """`npm run prepack`: tsc checks the JSDoc types (checkJs, strict) and writes types/*.d.ts;
    one run serves both tests below (a type error fails it)."""
    run(["npm", "run", "--silent", "prepack"])
    return SDK / "types"


def test_the_jsdoc_types_check_with_typescript(checked):
    config = json.loads((SDK / "tsconfig.json").read_text())["compilerOptions"]
    assert config["checkJs"] and config["strict"] and config["noEmit"]
    assert (checked / "herald.d.ts").exists()


def test_npm_pack_makes_a_tarball_that_installs_imports_and_has_its_types(checked, tmp_path):
    argv = ["npm", "pack", "--json", "--ignore-scripts", "--pack-destination", str(tmp_path)]
    packed = json.loads(run(argv).stdout)
    files = {entry["path"] for entry in packed[0]["files"]}
    assert {"package.json", "README.md", "src/herald.js", "src/core.js", "src/dom.js"} <= files
    assert "types/herald.d.ts" in files
    assert not any(name.startswith(("test/", "node_modules/")) for name in files)

    user = tmp_path / "user"
    user.mkdir()
    (user / "package.json").write_text('{"name": "user", "private": true, "type": "module"}')
    tarball = tmp_path / packed[0]["filename"]
    run(["npm", "install", "--no-audit", "--no-fund", "--offline", str(tarball)], cwd=user)
    check = (
        'import { init, Herald, VERSION } from "@herald/web";'
        'if (typeof init !== "function" || typeof Herald !== "function") process.exit(1);'
        "console.log(VERSION);"
    )
    assert run(["node", "--input-type=module", "-e", check], cwd=user).stdout.strip() == "0.1.0"
    types = user / "node_modules" / "@herald" / "web" / "types" / "herald.d.ts"
    assert 'export function init(options: import("./core.js").HeraldOptions)' in types.read_text()
