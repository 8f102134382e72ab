"""Two instances of the service on one database scan at the same time: each (project, flag)
is flagged and announced exactly once."""

import asyncio
from datetime import date

from sqlalchemy import select

from fangpin_common.clock import SettableClock
from fangpin_common.tables import DEADLINES, OUTBOX
from fangpin_common.testing import eventually, running
from fangpin_industry.main import create_app
from fangpin_industry.projects import service as projects_service
from fangpin_industry.projects.models import ProjectFlag

from .conftest import AGRICULTURE, COUNTY, TODAY, count, industry_settings, project

PROJECTS = 24


async def test_two_instances_scan_concurrently(database, nats_server):
    settings = industry_settings(database, nats_server, run_relay=False)
    clocks = [SettableClock(), SettableClock()]
    for c in clocks:
        c.set_today(TODAY)
    apps = [create_app(settings, clock) for clock in clocks]  # one schema / one file
    async with running(apps[0]) as a, running(apps[1]) as b:
        a.app, b.app = apps
        for i in range(PROJECTS):
            client = (a, b)[i % 2]
            body = project(name=f"项目{i:02d}", planned_completion="2024-05-31")
            r = await client.post("/api/v1/projects", headers=COUNTY, json=body)
            assert r.status_code == 201, r.text
        for c in clocks:
            c.set_today(date(2024, 6, 3))
        scans = await asyncio.gather(*(client.post("/api/v1/projects/scan", headers=AGRICULTURE)
                                       for client in (a, b, a, b)))
        assert [r.status_code for r in scans] == [200] * 4
        assert sum(r.json()["flagged"] for r in scans) == PROJECTS
        again = await asyncio.gather(*(client.post("/api/v1/projects/scan", headers=AGRICULTURE)
                                       for client in (b, a)))
        assert sum(r.json()["flagged"] for r in again) == 0

        assert await count(a, ProjectFlag.__table__) == PROJECTS
        assert await count(a, DEADLINES, DEADLINES.c.kind == "project.flag_fix") == PROJECTS
        async with a.app.state.db.session() as session:
            events = (await session.execute(select(OUTBOX.c.event_type, OUTBOX.c.payload).where(
                OUTBOX.c.event_type == "fangpin.industry.project.flagged"))).all()
        assert len(events) == PROJECTS
        flagged_projects = {bytes(p).decode().split('"project_id":"')[1][:36] for _, p in events}
        assert len(flagged_projects) == PROJECTS

        # and the overdue reminders of those deadlines, from both instances at once
        for c in clocks:
            c.set_today(date(2024, 7, 4))  # fix deadline 2024-07-03 passed
        emitted = await asyncio.gather(a.app.state.scanner.scan(), b.app.state.scanner.scan())
        assert sum(emitted) == PROJECTS
        assert await count(a, OUTBOX, OUTBOX.c.event_type ==
                           "fangpin.industry.project.fix_overdue") == PROJECTS


async def test_the_background_scanner_flags_once(database, nats_server, clock, monkeypatch):
    scans = 0  # finished rounds of the background loop
    scan_flags = projects_service.scan_flags

    async def counted(*args, **kwargs):
        nonlocal scans
        try:
            return await scan_flags(*args, **kwargs)
        finally:
            scans += 1

    monkeypatch.setattr(projects_service, "scan_flags", counted)
    settings = industry_settings(database, nats_server, run_relay=False, run_scanners=True,
                                 flag_scan_interval_seconds=0.05)
    app = create_app(settings, clock)
    async with running(app) as client:
        client.app = app
        r = await client.post("/api/v1/projects", headers=COUNTY,
                              json=project(planned_completion="2024-04-01"))
        assert r.status_code == 201

        async def flagged() -> bool:
            return await count(client, ProjectFlag.__table__) == 1
        await eventually(flagged)
        after = scans
        await eventually(lambda: scans >= after + 3)  # several more rounds of the loop
        assert await count(client, OUTBOX, OUTBOX.c.event_type ==
                           "fangpin.industry.project.flagged") == 1
