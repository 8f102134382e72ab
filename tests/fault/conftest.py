from datetime import date

import nats
import pytest
from sqlalchemy import text

from fangpin_monitoring.households import rules

TODAY = date(2024, 4, 10)
# Slow, and with more time than the suite's 300 s hang guard: thousands of cases and outages
# took over 300 s with both cores busy, though every wait in them is for a condition.
FAULT = [pytest.mark.slow, pytest.mark.timeout(900)]


def household(i: int) -> dict:
    """A distinct valid household per i (resident ID serial from i)."""
    first17 = f"4502{i // 1000:02d}19800101{i % 1000:03d}"
    return {"township": "板榄镇", "village": f"村{i % 20}", "category": "脱贫户", "members": [{
        "name": f"户主{i}", "id_number": first17 + rules.check_digit(first17),
        "sex": "男" if int(first17[16]) % 2 else "女", "birth_date": "1980-01-01",
        "relation": "户主", "labour_capacity": "普通劳动力"}]}


async def create_households(app, n: int) -> list[str]:
    """n households straight through the service layer, 100 per unit of work."""
    from fangpin_common.auth import Principal
    from fangpin_monitoring.households.models import HouseholdCreate
    from fangpin_monitoring.households.service import create_household

    county = Principal(sub="fault-test", role="county")
    state = app.state
    ids: list[str] = []
    for start in range(0, n, 100):
        async with state.db.unit_of_work() as session:
            for i in range(start, min(start + 100, n)):
                created, _ = await create_household(session, HouseholdCreate(**household(i)),
                                                    county, state.county, state.clock)
                ids.append(created.id)
    return ids


# Cases open through a platform inclusion (no route opens one directly).
INCLUSIONS = "/api/v1/identifications/platform-inclusions"


def case_for(household_id: str) -> dict:
    return {"inclusions": [{"household_id": household_id, "inclusion_date": TODAY.isoformat(),
                            "category": "边缘易致贫户", "risk_types": ["因病"]}]}


async def count_handled(db, event_type: str) -> tuple[int, int]:
    """(processed events of the type, distinct event ids among the inbox reminders)."""
    async with db.session() as session:
        processed = (await session.execute(text(
            "SELECT count(*) FROM processed_events WHERE event_type = :t"),
            {"t": event_type})).scalar_one()
        reminded = (await session.execute(text(
            "SELECT count(DISTINCT event_id) FROM reminders WHERE event_type = :t"),
            {"t": event_type})).scalar_one()
    return processed, reminded


async def caught_up(nats_url: str, stream: str, durable: str) -> bool:
    """The durable consumer has been delivered every message of its stream and has acked each:
    no redelivery is pending, so nothing more can reach its handler."""
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().consumer_info(stream, durable)
        return info.num_pending == 0 and info.num_ack_pending == 0
    finally:
        await nc.close()
