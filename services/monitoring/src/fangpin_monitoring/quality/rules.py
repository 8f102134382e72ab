"""Pure rules of data quality (M10): the rule catalogue, dates the checks use, the schedule.

Each rule's query lives in checks.py; what staff read about a rule (title, explanation, the
level that must fix it) lives here, once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

VILLAGE, TOWNSHIP, COUNTY = "village", "township", "county"
LEVEL_NAMES = {VILLAGE: "村级", TOWNSHIP: "乡镇", COUNTY: "县级"}
MIN_REASON = 5  # characters of an explanation (不属于问题的说明)


@dataclass(frozen=True)
class RuleInfo:
    code: str
    title: str
    explanation: str
    level: str
    per_member: bool  # one item per member (else per household)


RULES: tuple[RuleInfo, ...] = (
    RuleInfo("Q01", "身份证号格式或校验位错误",
             "成员身份证号不是有效的18位居民身份证号（位数、出生日期或校验位错误），"
             "请核对户口簿后更正。", VILLAGE, True),
    RuleInfo("Q02", "出生日期与身份证号不一致",
             "登记的出生日期与身份证号第7—14位不一致，请以户口簿为准更正。", VILLAGE, True),
    RuleInfo("Q03", "性别与身份证号不一致",
             "登记的性别与身份证号第17位（奇数为男、偶数为女）不一致，请核实更正。", VILLAGE, True),
    RuleInfo("Q04", "年龄与劳动能力不符",
             "未满16周岁或超过70周岁的成员登记为普通劳动力，请核实劳动能力。", VILLAGE, True),
    RuleInfo("Q05", "在校生登记为普通劳动力",
             "在校学生登记为普通劳动力，请核实在校状态或劳动能力。", VILLAGE, True),
    RuleInfo("Q06", "公安比对已死亡仍登记为在世",
             "公安部门比对该成员已死亡（户籍注销），系统仍登记为在世，请核实后标注已故"
             "或核实预警不属实。", TOWNSHIP, True),
    RuleInfo("Q07", "同一人员在多户重复登记",
             "姓名和出生日期相同的人员登记在两个及以上农户中，请核实是否重复登记。", VILLAGE, True),
    RuleInfo("Q08", "人均纯收入同比大幅变动",
             "上一年度家庭人均纯收入（按已采集月份折合全年）比前一年度增减超过50%，"
             "请核实收入是否漏登、虚登。", VILLAGE, False),
    RuleInfo("Q09", "超期未落实帮扶责任人",
             "监测户纳入监测已超过规定天数（5天）仍未安排帮扶责任人，请立即落实。",
             TOWNSHIP, False),
    RuleInfo("Q10", "超期未制定帮扶计划",
             "监测户纳入监测已超过规定天数（10天）仍未制定帮扶计划，请立即落实。",
             TOWNSHIP, False),
    RuleInfo("Q11", "帮扶措施责任单位缺失或无效",
             "帮扶措施未填写责任单位或责任单位不是本县配置的单位，请补正责任单位。",
             TOWNSHIP, False),
    RuleInfo("Q12", "有劳动能力未落实开发式帮扶",
             "家庭有普通劳动力，帮扶计划中没有有效的开发式帮扶措施（产业、就业、培训、"
             "小额信贷等），请补充措施。", TOWNSHIP, False),
    RuleInfo("Q13", "户主缺失或多个户主",
             "农户在世成员中没有户主或有多个户主，请核实与户主关系。", VILLAGE, False),
    RuleInfo("Q14", "监测户未标注监测对象类别",
             "监测户未标注监测对象类别（脱贫不稳定户、边缘易致贫户、突发严重困难户），"
             "请补充。", VILLAGE, False),
    RuleInfo("Q15", "非监测户标注了监测对象类别",
             "农户属性不是监测户却标注了监测对象类别，请核实农户属性或清除类别。", VILLAGE, False),
    RuleInfo("Q16", "收入低于监测线未纳入监测",
             "上一年度家庭人均纯收入低于监测线，但未纳入监测、也未在识别中"
             "（体系外循环），请开展入户核实，符合条件的及时识别纳入。", TOWNSHIP, False),
    RuleInfo("Q17", "本季度未走访",
             "脱贫户、监测户在应检查的季度内没有走访记录，请安排入户走访并登记台账。",
             VILLAGE, False),
    RuleInfo("Q18", "联系电话格式错误",
             "农户或成员联系电话不是有效的手机号（11位，1开头）或固定电话（区号-号码），"
             "请核实更正。", VILLAGE, False),
    RuleInfo("Q19", "已消除风险但收入低于监测线",
             "农户已消除风险，但上一年度人均纯收入低于监测线，请核实收入是否虚登"
             "或风险是否返贫。", TOWNSHIP, False),
    RuleInfo("Q20", "在世成员全部缺失",
             "农户没有在世成员（全部标注已故），请核实农户是否应注销或成员信息是否有误。",
             VILLAGE, False),
)
BY_CODE = {r.code: r for r in RULES}
CODES = tuple(r.code for r in RULES)

# Labour capacity plausible between these ages (inclusive), Q04.
LABOUR_MIN_AGE, LABOUR_MAX_AGE = 16, 70
CHANGE_LIMIT_PERCENT = 50  # Q08

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def unknown_codes(codes: Sequence[str]) -> list[tuple[int, str]]:
    return [(i, c) for i, c in enumerate(codes) if c not in BY_CODE]


def phone_problem(value: str) -> str | None:
    phone = value.strip().replace(" ", "")
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return None
    return f"联系电话“{value}”格式错误"


def reason_problem(reason: str) -> str | None:
    if len(reason.strip()) < MIN_REASON:
        return f"情况说明至少{MIN_REASON}个字"
    return None


def years_ago(today: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February → 28 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def labour_birth_bounds(today: date) -> tuple[date, date]:
    """(born after → under 16, born on or before → over 70) for Q04."""
    return years_ago(today, LABOUR_MIN_AGE), years_ago(today, LABOUR_MAX_AGE + 1)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def visit_window(today: date) -> tuple[date, date]:
    """The quarter Q17 checks: the current one once its first month is over; in a quarter's
    first month the one just ended (a run on the 1st does not flag every household)."""
    start = quarter_start(today)
    if today.month - start.month >= 1:
        return start, today
    previous = quarter_start(start - timedelta(days=1))
    return previous, start - timedelta(days=1)


def latest_slot(days: Sequence[int], today: date) -> date:
    """The most recent scheduled day on or before today (last month's if none yet)."""
    this_month = [d for d in sorted(days) if d <= today.day]
    if this_month:
        return today.replace(day=this_month[-1])
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=max(days))
