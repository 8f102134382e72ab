"""Pure rules of target progress: percentages as exact decimals (never floats)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PROGRESS_COLUMNS = ("乡(镇)", "面上人数目标", "脱贫户(含监测户)目标", "转移就业总人数目标",
                    "面上已转移", "脱贫户(含监测户)已转移", "已转移总人数", "总进度(%)",
                    "脱贫户进度(%)", "脱贫劳动力稳定务工6个月以上", "2023年水平", "较2023年")


def percent(done: int, target: int | None) -> str | None:
    if not target:
        return None
    value = (Decimal(done) * 100 / Decimal(target)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return str(value)


def versus(current: int, level: int | None) -> int | None:
    return None if level is None else current - level
