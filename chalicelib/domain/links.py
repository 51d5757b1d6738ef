"""Links a message may carry (SPEC §7.4): a message goes to every platform, the web included,
so a target must never be able to run code or read local files where it is opened.

- `url` targets and images are https URLs.
- Deep links use the app's own scheme (`shop://sale`) or https; `javascript:`, `data:`,
  `vbscript:`, `file:`, `blob:`, `about:` and `intent:` (which can start any Android activity)
  are refused in any case, and so is a target with spaces or control characters (which browsers
  strip or ignore: " javascript:" and "java\\tscript:" are javascript:), or whose decoded form
  (percent-encoding, HTML character references) names a refused scheme.
"""

import html
import re
from urllib.parse import unquote, urlsplit

REFUSED_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob", "about", "intent"})
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_DECODINGS = 3  # "%2525…" decoded this many times is still refused if it hides a scheme


def _plain(value: str) -> None:
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError("must not contain spaces or control characters")


def _hidden_scheme(value: str) -> str | None:
    """A refused scheme the value names once decoded, if any."""
    decoded = value
    for _ in range(_DECODINGS):
        decoded = html.unescape(unquote(decoded))
        squeezed = "".join(c for c in decoded if not (c.isspace() or ord(c) < 0x20)).lower()
        scheme = squeezed.partition(":")[0]
        if ":" in squeezed and scheme in REFUSED_SCHEMES:
            return scheme
    return None


def check_https(value: str) -> str:
    _plain(value)
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("must be an https URL")
    return value


def check_deep_link(value: str) -> str:
    _plain(value)
    hidden = _hidden_scheme(value)
    if hidden is not None:
        raise ValueError(f"{hidden}: links are refused")
    scheme = value.partition(":")[0].lower() if ":" in value else ""
    if not _SCHEME.match(scheme):
        raise ValueError("must be a URI with a scheme, e.g. myapp://screen")
    if scheme == "http":
        raise ValueError("must use https, not http")
    if scheme == "https":
        check_https(value)
    return value
