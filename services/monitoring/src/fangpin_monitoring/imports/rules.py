"""The household import template and the pure rules that read one spreadsheet row.

One row per member; the rows of one household share a household key (户编号). Household
columns may be filled on the household's first row only; where another row fills them too,
the values must agree. Row numbers are those the user sees in the spreadsheet (the header is
row 1 when it is the first row); column letters are the spreadsheet's (A, B, …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from fangpin_monitoring.households import rules as household_rules
from fangpin_monitoring.households.models import MemberCreate
from fangpin_monitoring.vocabulary import (
    HEALTH_STATES,
    HOUSEHOLD_CATEGORIES,
    LABOUR_CAPACITIES,
    MONITORING_SUBCATEGORIES,
    RELATIONS,
    SEXES,
)

YES, NO = "是", "否"


@dataclass(frozen=True)
class TemplateColumn:
    header: str
    field: str
    household: bool  # a household fact (same on every row of the household) or a member's
    required: bool
    kind: str = "text"  # text | bool | date | choice | id
    choices: tuple[str, ...] = ()
    note: str = ""
    width: int = 12


COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("户编号", "key", True, True, note=(
        "同一户的每名成员填写相同的户编号。新增农户填写本文件内自编的编号（如 1、2、3）；"
        "更新已登记农户时填写系统户编号或广西平台户编号，该户成员以本文件为准整体替换。"),
        width=14),
    TemplateColumn("乡镇", "township", True, True, "choice", note="本县乡镇名称（或乡镇代码）"),
    TemplateColumn("村（社区）", "village", True, True, note="村（社区）名称或代码"),
    TemplateColumn("户类别", "category", True, True, "choice", HOUSEHOLD_CATEGORIES),
    TemplateColumn("监测对象类别", "monitoring_subcategory", True, False, "choice",
                   MONITORING_SUBCATEGORIES, note="户类别为监测户时必填，其他户不填", width=16),
    TemplateColumn("家庭住址", "address", True, False, width=24),
    TemplateColumn("户联系电话", "phone", True, False, width=14),
    TemplateColumn("易地搬迁安置户", "relocation_site", True, False, "bool", (YES, NO)),
    TemplateColumn("整户低保户", "whole_household_dibao", True, False, "bool", (YES, NO)),
    TemplateColumn("危改户", "dangerous_house_renovation", True, False, "bool", (YES, NO)),
    TemplateColumn("受灾户", "disaster_hit", True, False, "bool", (YES, NO)),
    TemplateColumn("姓名", "name", False, True),
    TemplateColumn("身份证号", "id_number", False, True, "id",
                   note="18位居民身份证号，请以文本格式填写（数字格式会丢失末位）", width=22),
    TemplateColumn("性别", "sex", False, True, "choice", SEXES, note="须与身份证号一致"),
    TemplateColumn("出生日期", "birth_date", False, True, "date",
                   note="如 1980-01-01，须与身份证号一致"),
    TemplateColumn("与户主关系", "relation", False, True, "choice", RELATIONS,
                   note="每户须有一名户主"),
    TemplateColumn("劳动能力", "labour_capacity", False, True, "choice", LABOUR_CAPACITIES),
    TemplateColumn("在校生", "in_school", False, False, "bool", (YES, NO)),
    TemplateColumn("健康状况", "health", False, False, "choice", HEALTH_STATES,
                   note="不填为健康；残疾填“残疾”"),
    TemplateColumn("本人联系电话", "phone", False, False, width=14),
    TemplateColumn("是否已故", "deceased", False, False, "bool", (YES, NO)),
)
HOUSEHOLD_COLUMNS = tuple(c for c in COLUMNS if c.household and c.field != "key")
MEMBER_COLUMNS = tuple(c for c in COLUMNS if not c.household)
BY_HEADER = {c.header: c for c in COLUMNS}
MEMBER_BY_FIELD = {c.field: c for c in MEMBER_COLUMNS}
HOUSEHOLD_BY_FIELD = {c.field: c for c in HOUSEHOLD_COLUMNS}
KEY = COLUMNS[0]


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_SPACES = re.compile(r"\s+")


def normalise_header(value: Any) -> str:
    """Headers as people type them: spaces, a leading * (required mark), ASCII brackets."""
    text = _SPACES.sub("", str(value or "")).lstrip("*＊")
    return text.replace("(", "（").replace(")", "）")


@dataclass(frozen=True)
class Layout:
    """Where each template column sits in the uploaded file."""

    positions: dict[str, int]  # header → 0-based index
    ignored: tuple[str, ...]

    def letter(self, column: TemplateColumn) -> str:
        return column_letter(self.positions[column.header])


class HeaderProblem(ValueError):
    pass


def layout_of(header_row: tuple[Any, ...]) -> Layout:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header_row):
        header = normalise_header(raw)
        if not header:
            continue
        if header in BY_HEADER:
            if header in positions:
                first = column_letter(positions[header])
                raise HeaderProblem(f"表头“{header}”出现了两次（{first}列和"
                                    f"{column_letter(index)}列）")
            positions[header] = index
        else:
            ignored.append(header)
    missing = [c.header for c in COLUMNS if c.required and c.header not in positions]
    if missing:
        raise HeaderProblem("缺少必填列：" + "、".join(missing) +
                            "（请下载导入模板，表头须在第一行）")
    return Layout(positions, tuple(ignored))


def text_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


class CellProblem(ValueError):
    pass


def parse_cell(column: TemplateColumn, value: Any) -> Any:
    """A cell's value as the API takes it; CellProblem (Chinese reason) if it cannot be."""
    if column.kind == "id" and isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellProblem("身份证号被存成了数字，末位可能已丢失；请将该列设为文本格式后重新填写")
    if column.kind == "date" and isinstance(value, (datetime, date)):
        return value.date() if isinstance(value, datetime) else value
    if column.kind == "bool" and isinstance(value, bool):
        return value
    text = text_of(value)
    if column.kind == "bool":
        if text is None:
            return None
        if text == NO:
            return False
        if text == YES:
            return True
        raise CellProblem(f"应填写“{YES}”或“{NO}”，实为“{text}”")
    if text is None:
        return None
    if column.kind == "date":
        return parse_date(text)
    if column.kind == "id":
        return household_rules.normalise_id_number(text)
    return text


def parse_date(text: str) -> date:
    cleaned = text.split(" ")[0].replace("/", "-").replace(".", "-")
    for candidate in (cleaned, f"{cleaned[:4]}-{cleaned[4:6]}-{cleaned[6:8]}"
                      if len(cleaned) == 8 and cleaned.isdigit() else ""):
        parts = candidate.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                break
    raise CellProblem(f"日期“{text}”无法识别，应如 1980-01-01")


def cells(layout: Layout, row: tuple[Any, ...], columns: tuple[TemplateColumn, ...],
          require: bool = True) -> tuple[dict[str, Any], list[tuple[TemplateColumn, str]]]:
    """The parsed values of `columns` in a row, and (column, reason) for each unreadable cell.

    Household columns are not required on every row (`require=False`): the household's rows
    together must fill them, which the caller checks."""
    values: dict[str, Any] = {}
    problems: list[tuple[TemplateColumn, str]] = []
    for column in columns:
        index = layout.positions.get(column.header)
        raw = row[index] if index is not None and index < len(row) else None
        try:
            value = parse_cell(column, raw)
        except CellProblem as exc:
            problems.append((column, str(exc)))
            continue
        if value is None:
            if column.required and require:
                problems.append((column, "必填项未填写"))
            elif column.kind == "bool" and require:
                values[column.field] = False  # a blank yes/no cell means no
            continue
        if column.kind == "choice" and column.choices and column.field != "relation" \
                and column.field != "township" and value not in column.choices:
            problems.append((column, f"“{value}”不是可选值（{'、'.join(column.choices)}）"))
            continue
        values[column.field] = value
    return values, problems


def reason_of(error: dict[str, Any]) -> str:
    """A pydantic error as county staff read it."""
    ctx = error.get("ctx") or {}
    kind = error.get("type", "")
    if kind == "string_too_long":
        return f"超过最大长度（{ctx.get('max_length')} 个字）"
    if kind == "string_too_short":
        return f"长度不足（至少 {ctx.get('min_length')} 个字）"
    if kind == "literal_error":
        return f"不是可选值（{ctx.get('expected')}）"
    if kind == "missing":
        return "必填项未填写"
    return error.get("msg", "填写有误")


def member_of(values: dict[str, Any], today: date) -> tuple[MemberCreate | None,
                                                             list[tuple[TemplateColumn, str]]]:
    """The member a row describes, checked as the household API checks it."""
    id_problem = household_rules.resident_id_problem(str(values.get("id_number", "")))
    if id_problem:
        return None, [(MEMBER_BY_FIELD["id_number"], id_problem)]
    try:
        member = MemberCreate.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            column = MEMBER_BY_FIELD.get(str(err["loc"][0])) if err["loc"] else None
            problems.append((column or KEY, reason_of(err)))
        return None, problems
    return member, [(MEMBER_BY_FIELD[field], reason) for field, reason in
                    household_rules.member_problems(member.id_number, member.birth_date,
                                                    member.sex, today)]


def category_problem(category: str | None, subcategory: str | None) -> str | None:
    if category == "监测户" and not subcategory:
        return "户类别为监测户时须填写监测对象类别（" + "、".join(MONITORING_SUBCATEGORIES) + "）"
    if category != "监测户" and subcategory:
        return f"户类别为{category}时不填写监测对象类别"
    return None
