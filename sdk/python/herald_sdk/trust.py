"""What an app's back end and its test builds need of Herald's trust features (README "Security
model"): the user token that proves a user id, and the enrolment link of a test device."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

ENROLMENT_SCHEME = "herald-test"
DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")  # what Herald accepts as a device id
TEST_TOKEN = re.compile(r"^herald_test_[A-Za-z0-9_-]{16,200}$")


def user_token(secret: str, user_id: str) -> str:
    """The token a device sends with `user_id` when the app requires proven user ids: an
    HMAC-SHA256 of the user id with the app's identity secret, in hex. Compute it on your back
    end, which alone holds the secret, and hand it to the signed-in user's app."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Enrolment:
    """A test device's enrolment, as its link carries it."""

    app_id: str
    device_id: str
    test_token: str

    @property
    def link(self) -> str:
        """`herald-test://enrol?app_id=…&device_id=…&test_token=…`, as the console shows it."""
        fields = {"app_id": self.app_id, "device_id": self.device_id, "test_token": self.test_token}
        return f"{ENROLMENT_SCHEME}://enrol?{urlencode(fields)}"

    @classmethod
    def from_link(cls, link: str) -> "Enrolment":
        """Read an enrolment link; ValueError when it is not one (the cases both SDKs read
        alike are in sdk/shared/enrolment-links.json)."""
        parts = urlsplit(link.strip())
        if parts.scheme != ENROLMENT_SCHEME or parts.netloc != "enrol":
            raise ValueError(f"not a Herald enrolment link: {link!r}")
        query = parse_qs(parts.query)
        try:
            found = {name: query[name] for name in ("app_id", "device_id", "test_token")}
        except KeyError as missing:
            raise ValueError(f"the enrolment link has no {missing.args[0]}") from None
        if any(len(values) != 1 for values in found.values()):
            raise ValueError("the enrolment link names each of its fields once")
        enrolment = cls(**{name: values[0] for name, values in found.items()})
        if not DEVICE_ID.match(enrolment.device_id):
            raise ValueError(f"not a device id Herald accepts: {enrolment.device_id!r}")
        if not TEST_TOKEN.match(enrolment.test_token):
            raise ValueError("the enrolment link's test_token is not a test token")
        return enrolment
