from __future__ import annotations

from fastapi import APIRouter, Response

from fangpin_common import audit, revisions
from fangpin_common.auth import mask_phone
from fangpin_common.deps import ClockDep, PrincipalDep, SessionDep
from fangpin_notifications.deps import County, NotifierDep
from fangpin_notifications.directory import service
from fangpin_notifications.directory.models import (
    PersonCreate,
    PersonRead,
    PersonUpdate,
    TestMessage,
    TestResult,
    UnitCreate,
    UnitRead,
    UnitUpdate,
)

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])


def shown(unit: UnitRead, county_role: bool) -> UnitRead:
    """Mobile numbers are masked for everyone but the county."""
    if county_role:
        return unit
    return unit.model_copy(update={
        "mobile": mask_phone(unit.mobile),
        "people": [p.model_copy(update={"mobile": mask_phone(p.mobile)}) for p in unit.people]})


async def _audit_mobiles(session, principal, units: list[UnitRead]) -> None:
    """Full mobile numbers shown to the county are audited like residents' numbers."""
    if principal.role == "county":
        await audit.full_read(session, principal, "unit", [
            u.code for u in units if u.mobile or any(p.mobile for p in u.people)], "mobile")


@router.get("/units", response_model=list[UnitRead])
async def list_units(session: SessionDep, principal: PrincipalDep, level: str | None = None,
                     township: str | None = None) -> list[UnitRead]:
    units = await service.list_units(session, level, township)
    await _audit_mobiles(session, principal, units)
    return [shown(u, principal.role == "county") for u in units]


@router.get("/units/{code}", response_model=UnitRead)
async def get_unit(code: str, session: SessionDep, principal: PrincipalDep,
                   response: Response) -> UnitRead:
    unit = await service.get_unit(session, code)
    await _audit_mobiles(session, principal, [unit])
    revisions.set_etag(response, unit.revision)
    return shown(unit, principal.role == "county")


@router.post("/units", status_code=201, response_model=UnitRead)
async def create_unit(body: UnitCreate, session: SessionDep, principal: County,
                      notifier: NotifierDep, clock: ClockDep, response: Response) -> UnitRead:
    unit = await service.create_unit(session, body, principal, clock.now())
    notifier.after_commit(session, notifier.directory.invalidate)
    revisions.set_etag(response, unit.revision)
    return unit


@router.patch("/units/{code}", response_model=UnitRead)
async def update_unit(code: str, body: UnitUpdate, session: SessionDep, principal: County,
                      notifier: NotifierDep, clock: ClockDep, if_match: revisions.IfMatch,
                      response: Response) -> UnitRead:
    """Based on the revision read (If-Match or `revision`): 412 if the unit changed since,
    428 if neither is sent."""
    expected = revisions.expected_revision(if_match, body.revision)
    unit = await service.update_unit(session, code, body, principal, clock.now(), expected)
    notifier.after_commit(session, notifier.directory.invalidate)
    revisions.set_etag(response, unit.revision)
    return unit


@router.post("/units/{code}/people", status_code=201, response_model=PersonRead)
async def add_person(code: str, body: PersonCreate, session: SessionDep, principal: County,
                     notifier: NotifierDep, clock: ClockDep, response: Response) -> PersonRead:
    person = await service.add_person(session, code, body, principal, clock.now())
    notifier.after_commit(session, notifier.directory.invalidate)
    revisions.set_etag(response, person.revision)
    return person


@router.patch("/people/{person_id}", response_model=PersonRead)
async def update_person(person_id: str, body: PersonUpdate, session: SessionDep,
                        principal: County, notifier: NotifierDep, clock: ClockDep,
                        if_match: revisions.IfMatch, response: Response) -> PersonRead:
    """Based on the revision read (If-Match or `revision`): 412 if the entry changed since."""
    expected = revisions.expected_revision(if_match, body.revision)
    person = await service.update_person(session, person_id, body, principal, clock.now(),
                                         expected)
    notifier.after_commit(session, notifier.directory.invalidate)
    revisions.set_etag(response, person.revision)
    return person


@router.post("/units/{code}/test-message", response_model=TestResult)
async def test_message(code: str, body: TestMessage, session: SessionDep, principal: County,
                       notifier: NotifierDep, clock: ClockDep) -> TestResult:
    """Sends a test message to the unit on one channel now: does the address reach it?"""
    return await service.send_test(session, notifier, code, body.channel, principal,
                                   clock.now())
