"""insert_new: many rows in one INSERT … ON CONFLICT DO NOTHING at driver level, bound exactly
as an ORM insert would bind them (UTC datetimes, JSON, dates, NULLs), copies dropped."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from fangpin_common.db import insert_new
from fangpin_common.tables import DEADLINES
from fangpin_common.testing import running

from .conftest import Handled, kit_app

NOW = datetime(2024, 4, 10, 2, 30, 15, 123456, tzinfo=UTC)


def row(i: int) -> dict:
    # Every other time given in Shanghai time: stored as the same instant in UTC.
    at = NOW + timedelta(seconds=i)
    return {"id": f"d-{i:05}", "kind": "case.helper", "subject_type": "case",
            "subject_id": f"case-{i}", "household_id": None if i % 5 == 0 else f"hh-{i}",
            "township": "450224103", "village": None, "started_on": date(2024, 4, 1),
            "due_on": date(2024, 4, 6), "due_soon_on": date(2024, 4, 5), "state": "open",
            "met_on": None, "due_soon_emitted_at": None,
            "overdue_emitted_at": at if i % 2 else at.astimezone(ZoneInfo("Asia/Shanghai")),
            # A shared document, a document per row and an empty one.
            "context": SHARED if i % 3 == 0 else ({"n": i, "名": "韦"} if i % 3 == 1 else {}),
            "created_at": NOW}


SHARED = {"period": "2024Q1"}
# Enough rows × columns to take SQLite past one statement's parameters when rows are returned.
N = 2500


async def test_insert_new_returns_the_fresh_rows_and_binds_like_an_insert(database,
                                                                          private_nats):
    # No scanner: it would move these deadlines on while they are compared.
    app = kit_app(database, private_nats.url, Handled(), run_scanners=False)
    async with running(app):
        db = app.state.db
        rows = [row(i) for i in range(N)]
        async with db.unit_of_work() as session:
            first = await insert_new(session, DEADLINES, rows[:1000], returning="id")
        async with db.unit_of_work() as session:
            # Overlapping the first: only the 1500 new ones are inserted and returned.
            again = await insert_new(session, DEADLINES, rows, returning="id")
            assert await insert_new(session, DEADLINES, rows[:10]) is None
            assert await insert_new(session, DEADLINES, [], returning="id") == []
        assert sorted(first) == [r["id"] for r in rows[:1000]]
        assert sorted(again) == [r["id"] for r in rows[1000:]]
        async with db.session() as session:
            stored = {r.id: r._asdict() for r in await session.execute(select(DEADLINES))}
        assert len(stored) == N
        for expected in rows:
            got = stored[expected["id"]]
            assert got == expected, (got, expected)
            assert got["overdue_emitted_at"].tzinfo is not None
