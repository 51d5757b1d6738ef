"""Identifiers that sort by creation time, so listings come back oldest first."""

import secrets
import time


def new_id(prefix: str) -> str:
    """`prefix` + 12 hex digits of milliseconds + 16 random hex digits."""
    return f"{prefix}{int(time.time() * 1000):012x}{secrets.token_hex(8)}"
