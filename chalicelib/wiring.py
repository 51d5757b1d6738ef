"""Builds the services for the current settings: the one place where adapters are chosen.

Each service is built, and its modules imported, when a handler first asks for it: a fetch loads
the delivery path, the consumer the counting path, neither the other's nor the Pinpoint dialect
or the reports (the cold start: docs/OPERATIONS.md). AWS clients are made on their first call.
"""

from functools import cached_property, lru_cache

from chalicelib.adapters import aws
from chalicelib.settings import Settings, get_settings


class Services:
    def __init__(self, settings: Settings):
        self._settings = settings

    # --- what several services share ----------------------------------------------------------

    @cached_property
    def _apps(self):
        from chalicelib.adapters.dynamo import Apps

        return Apps(self._settings)

    @cached_property
    def _engagements(self):
        from chalicelib.adapters.dynamo import Engagements

        return Engagements(self._settings)

    @cached_property
    def _devices(self):
        from chalicelib.adapters.dynamo import Devices

        return Devices(self._settings)

    @cached_property
    def _counts(self):
        from chalicelib.adapters.dynamo import EventCounts

        return EventCounts(self._settings)

    @cached_property
    def _audience_rules(self):
        from chalicelib.adapters.dynamo import AudienceRules

        return AudienceRules(self._settings)

    @cached_property
    def _queue(self):
        from chalicelib.adapters.events import EventQueue

        return EventQueue(self._settings, aws.lazy_client("sqs", self._settings.region))

    @cached_property
    def _catalogs(self):
        from chalicelib.services.delivery import CatalogCache

        return CatalogCache(self._engagements, self._audience_rules)

    # --- the services -------------------------------------------------------------------------

    @cached_property
    def access(self):
        from chalicelib.services.access import Access

        return Access(self._apps, self._settings.root_key_hash)

    @cached_property
    def apps(self):
        from chalicelib.services.apps import AppService

        return AppService(self._apps)

    @cached_property
    def audiences(self):
        from chalicelib.adapters.dynamo import Audiences
        from chalicelib.services.audiences import AudienceService

        return AudienceService(Audiences(self._settings))

    @cached_property
    def engagements(self):
        from chalicelib.adapters.scheduler import Schedules
        from chalicelib.services.engagements import EngagementService

        scheduler = aws.lazy_client("scheduler", self._settings.region)
        return EngagementService(self._engagements, Schedules(self._settings, scheduler))

    @cached_property
    def devices(self):
        from chalicelib.services.devices import DeviceService

        return DeviceService(self._devices)

    @cached_property
    def delivery(self):
        from chalicelib.adapters.dynamo import Deliveries
        from chalicelib.services.delivery import DeliveryService
        from chalicelib.services.ingestion import ControlAssignments

        return DeliveryService(
            self.access,
            self._devices,
            Deliveries(self._settings),
            self._catalogs,
            max_messages=self._settings.max_messages_per_fetch,
            fetch_interval_seconds=self._settings.fetch_interval_seconds,
            control_assignments=ControlAssignments(self._queue),
        )

    @cached_property
    def events(self):
        from chalicelib.services.ingestion import EventIntake

        return EventIntake(self.access, self._queue, self._catalogs)

    @cached_property
    def consumer(self):
        from chalicelib.adapters.dynamo import DeviceUsers
        from chalicelib.services.consumer import EventConsumer

        return EventConsumer(
            self._apps,
            self._engagements,
            DeviceUsers(self._settings),
            self._counts,
            self._queue,
            audience_rules=self._audience_rules,
        )

    @cached_property
    def reports(self):
        from chalicelib.services.reports import ReportService

        return ReportService(self._engagements, self._counts)

    @cached_property
    def pinpoint(self):
        from chalicelib.dialects.pinpoint import PinpointDialect

        return PinpointDialect(self._apps, self.devices, self.delivery, self._catalogs, self.events)

    @cached_property
    def trust(self):
        from chalicelib.services.trust import TrustService

        return TrustService(self._apps)


@lru_cache(maxsize=8)
def _build(settings: Settings) -> Services:
    return Services(settings)


def services() -> Services:
    """Services for the settings in force now (built once per distinct configuration)."""
    from chalicelib.adapters import dynamo  # PynamoDB: loaded by the first request, not app.py

    settings = get_settings()
    dynamo.bind(settings)
    return _build(settings)
