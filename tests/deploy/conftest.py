"""Shared by the deploy checks: one tour of the app per test session, and moto's missing piece."""

import json
from typing import Any

import pytest
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.scheduler.models import scheduler_backends

from deploy import tour
from tests.conftest import machine_lock


class MotoScheduleGroup(CloudFormationModel):
    """AWS::Scheduler::ScheduleGroup for moto's CloudFormation, which lacks it (moto 5.2.5):
    creates the group in moto's Scheduler backend, answers Ref (the name) and GetAtt Arn."""

    def __init__(self, group: Any):
        self.group = group

    @property
    def physical_resource_id(self) -> str:
        return self.group.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::ScheduleGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.group.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        backend = scheduler_backends[account_id][region_name]
        tags = cloudformation_json.get("Properties", {}).get("Tags", [])
        return cls(backend.create_schedule_group(resource_name, tags))

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        scheduler_backends[account_id][region_name].delete_schedule_group(resource_name)


for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
    cached.cache_clear()  # moto lists its CloudFormation models once; let it see the one above


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> dict:
    """`make package STAGE=prod`, once: the SAM template and the deployment zip (Chalice keeps the
    dependencies it downloads in .chalice/deployments, so only a first run fetches them)."""
    from app import app
    from deploy import package

    output = tmp_path_factory.mktemp("package") / "build" / "prod"
    with machine_lock("chalice-deployments"):  # two packagers at once corrupt its cached zip
        sam = package.package(app, "prod", output)
    return {"path": sam, "template": json.loads(sam.read_text()), "zip": output / "deployment.zip"}


@pytest.fixture(scope="session")
def toured() -> tour.Result:
    """Every route and function of the app, exercised once under moto, calls recorded."""
    return tour.run()
