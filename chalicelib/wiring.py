"""Builds the services for the current settings: the one place where adapters are chosen."""

from dataclasses import dataclass
from functools import lru_cache

import boto3

from chalicelib.adapters import dynamo
from chalicelib.adapters.events import EventQueue
from chalicelib.adapters.scheduler import Schedules
from chalicelib.dialects.pinpoint import PinpointDialect
from chalicelib.services.access import Access
from chalicelib.services.apps import AppService
from chalicelib.services.audiences import AudienceService
from chalicelib.services.delivery import CatalogCache, DeliveryService
from chalicelib.services.devices import DeviceService
from chalicelib.services.engagements import EngagementService
from chalicelib.services.ingestion import ControlAssignments, EventConsumer, EventIntake
from chalicelib.services.reports import ReportService
from chalicelib.services.trust import TrustService
from chalicelib.settings import Settings, get_settings


@dataclass(frozen=True)
class Services:
    access: Access
    apps: AppService
    audiences: AudienceService
    engagements: EngagementService
    devices: DeviceService
    delivery: DeliveryService
    events: EventIntake
    consumer: EventConsumer
    reports: ReportService
    pinpoint: PinpointDialect
    trust: TrustService


@lru_cache(maxsize=8)
def _scheduler_client(region: str):
    return boto3.client("scheduler", region_name=region)


@lru_cache(maxsize=8)
def _sqs_client(region: str):
    return boto3.client("sqs", region_name=region)


@lru_cache(maxsize=8)
def _build(settings: Settings) -> Services:
    apps = dynamo.Apps(settings)
    access = Access(apps, settings.root_key_hash)
    engagements = dynamo.Engagements(settings)
    devices = dynamo.Devices(settings)
    queue = EventQueue(settings, _sqs_client(settings.region))
    counts = dynamo.EventCounts(settings)
    audience_rules = dynamo.AudienceRules(settings)
    catalogs = CatalogCache(engagements, audience_rules)
    device_service = DeviceService(devices)
    delivery = DeliveryService(
        access,
        devices,
        dynamo.Deliveries(settings),
        catalogs,
        max_messages=settings.max_messages_per_fetch,
        fetch_interval_seconds=settings.fetch_interval_seconds,
        control_assignments=ControlAssignments(queue),
    )
    intake = EventIntake(access, queue, catalogs)
    return Services(
        access=access,
        apps=AppService(apps),
        audiences=AudienceService(dynamo.Audiences(settings)),
        engagements=EngagementService(
            engagements, Schedules(settings, _scheduler_client(settings.region))
        ),
        devices=device_service,
        delivery=delivery,
        events=intake,
        consumer=EventConsumer(
            apps,
            engagements,
            dynamo.DeviceUsers(settings),
            counts,
            queue,
            audience_rules=audience_rules,
        ),
        reports=ReportService(engagements, counts),
        pinpoint=PinpointDialect(apps, device_service, delivery, catalogs, intake),
        trust=TrustService(apps),
    )


def services() -> Services:
    """Services for the settings in force now (built once per distinct configuration)."""
    settings = get_settings()
    dynamo.bind(settings)
    return _build(settings)
