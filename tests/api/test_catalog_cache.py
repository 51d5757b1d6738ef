"""The fetch's catalog cache is bounded by apps and by bytes: beyond CACHED_BYTES of stored
engagements the least recently fetched app's catalog goes (and is read again on its next fetch),
while the app just loaded always stays."""

from chalicelib.services import delivery
from tests.api.device_helpers import create_engagement, live_engagement
from tests.conftest import make_app
from tests.faults import injected_faults


def catalog_reads(api, tenant) -> int:
    """The engagement Queries one fetch of `tenant` makes (1: its catalog was not cached)."""
    with injected_faults() as faults:
        reply = api.get(f"{tenant.path}/devices/d-1/messages", X_Client_Key=tenant.client_key)
    assert reply.status == 200, reply.body
    return faults.calls[("dynamodb", "Query")]


def test_the_least_recently_fetched_catalog_goes_beyond_the_byte_bound(api, shop, monkeypatch):
    tenants = [shop, make_app(api, "Second shop"), make_app(api, "Third shop")]
    for tenant in tenants:
        create_engagement(api, tenant, live_engagement("Spring", description="x" * 900))
    monkeypatch.setattr(delivery, "CACHED_BYTES", 3_000)  # two catalogs of ~1.4 KB fit
    first, second, third = tenants

    assert [catalog_reads(api, tenant) for tenant in (first, second)] == [1, 1]
    assert [catalog_reads(api, tenant) for tenant in (first, second)] == [0, 0]  # both fit
    assert catalog_reads(api, first) == 0  # the first is now the more recently fetched
    assert catalog_reads(api, third) == 1  # loading the third evicts the second
    assert [catalog_reads(api, tenant) for tenant in (first, third)] == [0, 0]
    assert catalog_reads(api, second) == 1


def test_a_catalog_larger_than_the_bound_is_still_kept_alone(api, shop, monkeypatch):
    create_engagement(api, shop, live_engagement("Spring", description="x" * 900))
    monkeypatch.setattr(delivery, "CACHED_BYTES", 100)

    assert [catalog_reads(api, shop) for _ in range(3)] == [1, 0, 0]
