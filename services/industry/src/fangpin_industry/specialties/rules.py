"""Pure rules of the specialty-industry lists (I5)."""

from __future__ import annotations

from collections.abc import Sequence

from fangpin_industry.households.rules import industries_problems


def village_list_problems(industries: Sequence[str], limit: int) -> list[tuple[list, str]]:
    if len(industries) > limit:
        return [(["industries"], f"村级特色产业最多 {limit} 个，本次填报 {len(industries)} 个")]
    return industries_problems(industries)
