"""Audiences: named rules over device fields and attributes."""

from chalicelib.adapters.dynamo import Audience, Audiences, TransactionFailed
from chalicelib.api import bodies, paging
from chalicelib.api.models import CreateAudience
from chalicelib.domain.ids import new_id
from chalicelib.errors import Conflict, NotFound
from chalicelib.services import clock
from chalicelib.services.preconditions import check_version


def audience_view(audience: Audience) -> dict:
    return {
        "audience_id": audience.audience_id,
        "app_id": audience.app_id,
        "name": audience.name,
        "description": audience.description,
        "rules": audience.rules,
        "used_by": sorted(audience.used_by),
        "version": audience.version,
        "created_at": audience.created_at,
        "updated_at": audience.updated_at,
    }


class AudienceService:
    def __init__(self, audiences: Audiences):
        self._audiences = audiences

    def create(self, app_id: str, raw_body: bytes | None) -> dict:
        request = bodies.parse(CreateAudience, raw_body)
        now = clock.iso(clock.now())
        audience = Audience(
            app_id=app_id,
            audience_id=new_id("aud"),
            name=request.name,
            description=request.description,
            rules=request.rules,
            version=1,
            created_at=now,
            updated_at=now,
        )
        try:
            self._audiences.create(audience)
        except TransactionFailed as failure:
            if "name" in failure.labels:
                raise Conflict(f"name: an audience named {request.name!r} already exists") from None
            raise
        return audience_view(audience)

    def get(self, app_id: str, audience_id: str) -> dict:
        return audience_view(self._load(app_id, audience_id))

    def list(self, app_id: str, limit: str | None, cursor: str | None) -> dict:
        page = self._audiences.page(app_id, paging.parse_limit(limit), paging.decode_cursor(cursor))
        return {
            "audiences": [audience_view(item) for item in page.items],
            "cursor": paging.encode_cursor(page.last_id),
        }

    def replace(
        self, app_id: str, audience_id: str, raw_body: bytes | None, if_match: str | None
    ) -> dict:
        current = self._load(app_id, audience_id)
        request = bodies.parse(CreateAudience, raw_body)
        check_version(if_match, current.version, required=False)
        updated = Audience(
            app_id=app_id,
            audience_id=audience_id,
            name=request.name,
            description=request.description,
            rules=request.rules,
            version=current.version + 1,
            created_at=current.created_at,
            updated_at=clock.iso(clock.now()),
            used_by=current.used_by,
        )
        try:
            self._audiences.update(current, updated)
        except TransactionFailed as failure:
            if "version" in failure.labels:
                raise Conflict("the audience changed meanwhile; read it again") from None
            if "name" in failure.labels:
                raise Conflict(f"name: an audience named {request.name!r} already exists") from None
            raise
        return audience_view(updated)

    def delete(self, app_id: str, audience_id: str) -> None:
        current = self._load(app_id, audience_id)
        if current.used_by:
            raise _in_use(current.used_by)
        try:
            self._audiences.delete(current)
        except TransactionFailed:
            latest = self._audiences.get(app_id, audience_id)
            if latest is None:
                return
            raise _in_use(latest.used_by) from None

    def _load(self, app_id: str, audience_id: str) -> Audience:
        audience = self._audiences.get(app_id, audience_id)
        if audience is None:
            raise NotFound(f"no audience {audience_id} in this app")
        return audience


def _in_use(engagement_ids: frozenset[str]) -> Conflict:
    return Conflict(
        "the audience is used by engagement(s) "
        f"{', '.join(sorted(engagement_ids))}; remove it from them first"
    )
