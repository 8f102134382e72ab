"""The kinds of departmental data compared each month (M4, M5, M7), as data.

Each kind says which department sends it, how its rows find households (by a person's resident
ID, or area-wide by village), what one open warning covers (a person or a whole household),
the risk type, the reason staff read (a template over the row's columns) and the columns the
file carries. The county adds or overrides kinds in config/county.yaml under
`settings.warning_kinds` (a list of the same mappings); nothing here is an if-chain.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from fangpin_common.county import County
from fangpin_monitoring.vocabulary import RISK_TYPES

ColumnType = Literal["id_number", "text", "date", "amount", "village", "township"]


class Column(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # the name in the reason template and in stored row fields
    header: str  # the Chinese header departments use
    aliases: tuple[str, ...] = ()
    type: ColumnType = "text"
    required: bool = False


class WarningKind(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    department: str  # the unit code of the department that sends it
    match: Literal["person", "village"]  # resident ID, or every target household of a village
    dedupe: Literal["person", "household"] = "household"  # what one open warning covers
    risk_type: str
    reason: str  # str.format template over column keys (and kind_name, department_name)
    columns: tuple[Column, ...] = ()
    outside_system: bool = False  # low-income lists: unmonitored matches go on the M7 list
    categories: tuple[str, ...] = ("脱贫户", "监测户")  # the target households of a village

    @model_validator(mode="after")
    def _consistent(self) -> WarningKind:
        if self.risk_type not in RISK_TYPES:
            raise ValueError(f"kind {self.code}: unknown risk type {self.risk_type!r}")
        if self.match == "village" and self.dedupe != "household":
            raise ValueError(f"kind {self.code}: village-wide kinds warn households")
        keys = {c.key for c in self.all_columns()} | {"kind_name", "department_name"}
        for _, field, _, _ in string.Formatter().parse(self.reason):
            if field and field not in keys:
                raise ValueError(f"kind {self.code}: reason uses unknown column {field!r}")
        return self

    def all_columns(self) -> tuple[Column, ...]:
        """The matching columns every kind of its mode has, then its own."""
        return BASE_COLUMNS[self.match] + self.columns


BASE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "person": (
        Column(key="id_number", header="身份证号", type="id_number", required=True,
               aliases=("公民身份号码", "身份证号码", "证件号码", "id_number")),
        Column(key="name", header="姓名", aliases=("name",)),
        Column(key="township", header="乡镇", type="township", aliases=("township",)),
        Column(key="village", header="村", aliases=("村（社区）", "行政村", "village")),
    ),
    "village": (
        Column(key="village", header="村", type="village", required=True,
               aliases=("村（社区）", "行政村", "村代码", "village")),
        Column(key="township", header="乡镇", type="township", aliases=("township",)),
    ),
}


def _col(key: str, header: str, type: ColumnType = "text", required: bool = False,
         *aliases: str) -> Column:
    return Column(key=key, header=header, type=type, required=required, aliases=aliases)


DEFAULT_KINDS: tuple[WarningKind, ...] = (
    WarningKind(
        code="education.dropout", name="辍学失学", department="county.education",
        match="person", dedupe="person", risk_type="因学",
        reason="{department_name}比对：{name}（{school}）{event_date}辍学失学",
        columns=(_col("school", "学校"), _col("event_date", "辍学日期", "date"))),
    WarningKind(
        code="civil_affairs.dibao_new", name="新纳入低保", department="county.civil_affairs",
        match="person", risk_type="其他", outside_system=True,
        reason="{department_name}比对：{name}家庭{event_date}新纳入低保（{dibao_type}）",
        columns=(_col("dibao_type", "低保类型", "text", False, "保障类型"),
                 _col("event_date", "纳入日期", "date"))),
    WarningKind(
        code="civil_affairs.tekun_new", name="新纳入特困供养", department="county.civil_affairs",
        match="person", dedupe="person", risk_type="缺劳动力", outside_system=True,
        reason="{department_name}比对：{name}{event_date}新纳入特困供养",
        columns=(_col("event_date", "纳入日期", "date"),)),
    WarningKind(
        code="civil_affairs.low_income", name="农村低收入人口", department="county.civil_affairs",
        match="person", risk_type="其他", outside_system=True,
        reason="{department_name}比对：{name}家庭为农村低收入人口（{low_income_type}）",
        columns=(_col("low_income_type", "低收入类型", "text", False, "人员类别"),)),
    WarningKind(
        code="public_security.death", name="人员死亡", department="county.public_security",
        match="person", dedupe="person", risk_type="其他",
        reason="{department_name}比对：{name}于{event_date}死亡（户籍注销），请核实家庭变化",
        columns=(_col("event_date", "死亡日期", "date"),)),
    WarningKind(
        code="public_security.move", name="户籍迁移", department="county.public_security",
        match="person", dedupe="person", risk_type="其他",
        reason="{department_name}比对：{name}于{event_date}户籍迁往{destination}",
        columns=(_col("event_date", "迁移日期", "date"), _col("destination", "迁往地址"))),
    WarningKind(
        code="hrss.unemployment", name="失业登记", department="county.hrss",
        match="person", dedupe="person", risk_type="因务工就业不稳",
        reason="{department_name}比对：{name}于{event_date}登记失业",
        columns=(_col("event_date", "失业登记日期", "date"),)),
    WarningKind(
        code="housing.dangerous_house", name="农村危房", department="county.housing",
        match="person", risk_type="住房安全",
        reason="{department_name}比对：{name}家庭住房鉴定为{grade}级危房",
        columns=(_col("grade", "危房等级", "text", True, "鉴定等级"),)),
    WarningKind(
        code="health.serious_illness", name="大病重病", department="county.health",
        match="person", dedupe="person", risk_type="因病",
        reason="{department_name}比对：{name}患{disease}",
        columns=(_col("disease", "病种", "text", False, "疾病名称"),)),
    WarningKind(
        code="medical_insurance.high_cost", name="医疗费用个人负担较重",
        department="county.medical_insurance", match="person", risk_type="因病",
        reason="{department_name}比对：{name}当期医疗费用个人自付{amount_yuan}元",
        columns=(_col("amount_yuan", "个人自付金额（元）", "amount", True, "个人自付金额",
                      "自付金额"),)),
    WarningKind(
        code="emergency.disaster", name="受灾", department="county.emergency",
        match="person", risk_type="因灾",
        reason="{department_name}比对：{name}家庭{event_date}遭受{disaster}，损失{loss}",
        columns=(_col("disaster", "灾害类型"), _col("event_date", "受灾日期", "date"),
                 _col("loss", "损失情况"))),
    WarningKind(
        code="meteorology.village_warning", name="村级气象灾害预警",
        department="county.meteorology",
        match="village", risk_type="因灾",
        reason="{department_name}发布{village}{warning_type}预警（{level}），请排查受影响农户",
        columns=(_col("warning_type", "预警类型", "text", True), _col("level", "预警等级"))),
    WarningKind(
        code="disability.new", name="新增残疾", department="county.disability",
        match="person", dedupe="person", risk_type="因残",
        reason="{department_name}比对：{name}新办残疾证（{grade}）",
        columns=(_col("grade", "残疾类别等级", "text", False, "残疾等级"),)),
    WarningKind(
        code="water.drinking_water", name="饮水安全问题", department="county.water",
        match="village", risk_type="饮水安全",
        reason="{department_name}比对：{village}存在饮水安全问题（{problem}）",
        columns=(_col("problem", "问题描述", "text", True),)),
    WarningKind(
        code="agriculture.industry_failure", name="产业项目失败", department="county.agriculture",
        match="person", risk_type="因产业项目失败",
        reason="{department_name}比对：{name}家庭产业（{industry}）受损",
        columns=(_col("industry", "产业"),)),
)

_cache: dict[int, tuple[County, dict[str, WarningKind]]] = {}


def kinds_of(county: County) -> dict[str, WarningKind]:
    """The defaults, overridden and extended by the county file's `settings.warning_kinds`."""
    hit = _cache.get(id(county))
    if hit is not None and hit[0] is county:
        return hit[1]
    kinds = {k.code: k for k in DEFAULT_KINDS}
    for raw in county.settings.get("warning_kinds", ()) or ():
        kind = WarningKind.model_validate(raw)
        kinds[kind.code] = kind
    _cache[id(county)] = (county, kinds)
    return kinds
