"""CORS for the routes browsers call (device routes, /sdk/herald.js): an origin is allowed
when it is exactly one of the app's `web_origins`; any other origin gets no CORS header at all,
so the browser keeps the answer from the page. Every answer varies by Origin, so no cache hands
one origin's answer to another."""

ALLOWED_HEADERS = "Content-Type, X-Client-Key, X-Herald-Test-Token"
EXPOSED_HEADERS = "Retry-After, ETag"
PREFLIGHT_MAX_AGE = "600"
VARY = {"Vary": "Origin"}


def allowed(origins: tuple[str, ...] | list[str], origin: str | None) -> bool:
    return bool(origin) and origin in origins


def response_headers(origins, origin: str | None) -> dict[str, str]:
    """The headers of an actual request's answer (success or error)."""
    if not allowed(origins, origin):
        return dict(VARY)
    return {
        **VARY,
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }


def preflight_headers(
    origins, origin: str | None, requested_method: str | None, methods: tuple[str, ...]
) -> dict[str, str]:
    """The headers of a preflight's answer: none but Vary unless the origin is allowed and the
    requested method is one the route answers."""
    if not allowed(origins, origin) or (requested_method or "").upper() not in methods:
        return dict(VARY)
    return {
        **VARY,
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }
