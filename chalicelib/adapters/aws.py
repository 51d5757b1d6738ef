"""The AWS SDK clients Herald uses, made on first use from one botocore session per thread.

A botocore session reads the SDK's data files (the list of services, the endpoint rules, each
service's model: JSON, tens of milliseconds each) the first time a client is made from it, and
keeps them. PynamoDB makes a session per table connection and boto3 one of its own, so a cold
fetch read the same files once per table it touched. Every client here and every PynamoDB
connection (`share_with_pynamodb`) comes from its thread's one session instead, and a client is
made when a call first needs it, not when the services are wired.
"""

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

_local = threading.local()
_creating = threading.Lock()


def session():
    """This thread's botocore session (botocore sessions are not thread-safe; clients are)."""
    found = getattr(_local, "session", None)
    if found is None:
        import botocore.session

        found = _local.session = botocore.session.get_session()
    return found


@lru_cache(maxsize=32)
def client(service: str, region: str) -> Any:
    """The one client of `service` in `region`."""
    with _creating:
        return session().create_client(service, region_name=region)


def lazy_client(service: str, region: str) -> Callable[[], Any]:
    """What an adapter calls to get its client, the first time it makes a request."""
    return lambda: client(service, region)


def share_with_pynamodb() -> None:
    """PynamoDB connections take their thread's session from here (PynamoDB asks
    `pynamodb.connection.base.get_session` for one per connection and thread)."""
    from pynamodb.connection import base

    base.get_session = session
