"""Enrolled test devices (SPEC §7.2): a device sees test content only with the test token it was
given at enrolment, so knowing a device id (they are not secret) shows nothing.

An app's enrolled devices are kept on the app record, the token only as a SHA-256 hash (a token
has 256 bits of entropy, like a key), compared in constant time.
"""

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from chalicelib.domain import keys

MAX_TEST_DEVICES = 50
TOKEN_PREFIX = "herald_test_"


@dataclass(frozen=True)
class TestDevice:
    device_id: str
    label: str
    token_hash: str
    enrolled_at: str

    def view(self) -> dict:
        return {"device_id": self.device_id, "label": self.label, "enrolled_at": self.enrolled_at}


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_hex(32)


def load(stored: str | None) -> dict[str, TestDevice]:
    return {
        device_id: TestDevice(device_id=device_id, **fields)
        for device_id, fields in json.loads(stored or "{}").items()
    }


def dump(devices: Mapping[str, TestDevice]) -> str | None:
    if not devices:
        return None
    return json.dumps(
        {
            device_id: {k: v for k, v in asdict(device).items() if k != "device_id"}
            for device_id, device in sorted(devices.items())
        }
    )


def holds_token(devices: Mapping[str, TestDevice], device_id: str, token: str | None) -> bool:
    """Whether `token` is the test token of the enrolled device `device_id`."""
    enrolled = devices.get(device_id)
    if enrolled is None or not token:
        return False
    return keys.matches(token.strip(), enrolled.token_hash)
