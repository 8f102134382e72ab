"""The anomaly list as the township opens it (XLSX, Chinese headers), through the shared
export helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fangpin_common import export
from fangpin_common.clock import BUSINESS_TZ
from fangpin_monitoring.quality.models import AnomalyRead
from fangpin_monitoring.quality.rules import LEVEL_NAMES

TITLE = "数据清洗问题清单"
HEADERS = ("规则编号", "问题", "整改层级", "乡镇", "村", "户编号", "户主", "成员", "身份证号",
           "说明", "状态", "首次发现", "最近发现", "整改时间", "情况说明")
WIDTHS = (10, 28, 10, 12, 14, 20, 10, 10, 22, 40, 10, 18, 18, 18, 30)


def _when(value) -> str | None:
    return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if value else None


def row_of(a: AnomalyRead) -> list:
    return [a.rule_code, a.rule_title, LEVEL_NAMES[a.level], a.township_name or a.township,
            a.village, a.household_id, a.head_name, a.member_name, a.id_number, a.detail,
            a.status_name, _when(a.first_found_at), _when(a.last_found_at), _when(a.fixed_at),
            a.explanation]


async def anomalies_xlsx(pages: AsyncIterator[list[AnomalyRead]], title: str = TITLE) -> bytes:
    rows = [row_of(anomaly) async for page in pages for anomaly in page]
    book = export.workbook()
    export.add_table_sheet(book, TITLE, title, HEADERS, rows,
                           footer=[f"共 {len(rows)} 条"], widths=WIDTHS)
    return export.to_bytes(book)
