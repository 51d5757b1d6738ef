"""The web SDK as Herald serves it at /sdk/herald.js: one ES module made from sdk/web/src.

sdk/web/src is the one source (ES modules a bundler or a browser can import as they are). For
/sdk/herald.js, Herald joins them into one module, so a page loads one file, under one CORS
check: the modules go in dependency order, their imports of each other are dropped, and only the
entry's exports stay. A checkout serves the source as it is now; a deployment package holds the
joined file, written into chalicelib/websdk/ by `stage_into` (deploy/ calls it around
`chalice deploy` and `chalice package`, which ship only app.py, chalicelib/ and vendor/).
"""

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / "sdk" / "web" / "src"
ENTRY = "herald.js"
STAGED = "herald.js"  # the joined module, inside a deployment package
CONTENT_TYPE = "text/javascript; charset=utf-8"
CACHE_CONTROL = "public, max-age=86400, stale-while-revalidate=604800"

_LOCAL_IMPORT = re.compile(r'^import \{[^}]*\} from "\./([a-z]+\.js)";$')
_LOCAL_REEXPORT = re.compile(r'^export \{([^}]*)\} from "\./[a-z]+\.js";$')
_LOCAL_EXPORT_LIST = re.compile(r"^export \{[^}]*\};$")
_DECLARATION = re.compile(r"^(export )?((?:async )?function\*? |class |const |let )(\w+)")


class BundleError(ValueError):
    """The SDK's source uses a form the joiner does not handle (it says which line)."""


@dataclass(frozen=True)
class Script:
    text: str
    etag: str


def _imports(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := _LOCAL_IMPORT.match(line))]


def _order(sources: dict[str, str]) -> list[str]:
    """Module names, every module after the modules it imports."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting or name not in sources:
            raise BundleError(f"{name}: import cycle or missing module")
        visiting.add(name)
        for dependency in _imports(sources[name]):
            visit(dependency)
        ordered.append(name)

    visit(ENTRY)
    return ordered


def join(sources: dict[str, str]) -> str:
    """One ES module from the SDK's modules (name -> text), exporting what the entry exports."""
    parts = [f"// Herald web SDK: joined from sdk/web/src ({', '.join(_order(sources))})."]
    declared: dict[str, str] = {}
    for name in _order(sources):
        lines = []
        for number, line in enumerate(sources[name].splitlines(), start=1):
            where = f"{name}:{number}"
            if line.startswith("import "):
                if not _LOCAL_IMPORT.match(line):
                    raise BundleError(f"{where}: only one-line imports of ./<module>.js are joined")
                continue
            if name == ENTRY:
                reexport = _LOCAL_REEXPORT.match(line)
                if reexport:
                    lines.append(f"export {{{reexport.group(1)}}};")
                    continue
            elif line.startswith("export "):
                if _LOCAL_EXPORT_LIST.match(line):
                    continue
                line = line.removeprefix("export ")
            declaration = _DECLARATION.match(line)
            if declaration:
                symbol = declaration.group(3)
                if symbol in declared:
                    raise BundleError(f"{where}: {symbol} is also declared in {declared[symbol]}")
                declared[symbol] = name
            lines.append(line)
        parts.append(f"\n// --- {name} ---\n" + "\n".join(lines))
    return "\n".join(parts) + "\n"


def read_source() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(SOURCE.glob("*.js"))}


@lru_cache(maxsize=4)
def _joined(stamp: tuple) -> Script:
    text = join(read_source())
    return Script(text, f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"')


@lru_cache(maxsize=1)
def _staged() -> Script:
    text = (HERE / STAGED).read_text(encoding="utf-8")
    return Script(text, f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"')


def script() -> Script:
    """herald.js as served now: from the source when this is a checkout (re-joined when a file
    changes), else the copy staged into the deployment package."""
    if SOURCE.is_dir():
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in SOURCE.glob("*.js"))
        return _joined(stamp)
    return _staged()


def stage_into(project: Path) -> Path:
    """Write the joined module into `project`'s chalicelib/websdk/ (a deployment's copy)."""
    target = project / "chalicelib" / "websdk" / STAGED
    target.write_text(join(read_source()), encoding="utf-8")
    return target


@contextmanager
def staged(project: Path) -> Iterator[Path]:
    """The joined module inside `project` while a deployment package is being built."""
    target = stage_into(project)
    try:
        yield target
    finally:
        target.unlink(missing_ok=True)
