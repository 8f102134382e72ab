"""The rules as set-based queries (SQLAlchemy Core, SQLite and PostgreSQL alike).

A query rule returns rows (household_id, member_id, detail); a scan rule reads one column
chunk by chunk (keyset pages, never all rows at once) and tests each value with a pure
function — for what SQL cannot say portably (the ID check digit, phone shapes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.county import County
from fangpin_common.deadlines import add_months
from fangpin_monitoring.cases.models import Case, Helper
from fangpin_monitoring.cases.rules import DEFAULT_DAYS, HELPER_DEADLINE, PLAN_DEADLINE
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.households.rules import resident_id_problem
from fangpin_monitoring.identification.models import Identification
from fangpin_monitoring.income.models import IncomeRecord
from fangpin_monitoring.income.service import SIGNED
from fangpin_monitoring.plans.models import AssistancePlan, Measure
from fangpin_monitoring.plans.rules import ACTIVE, DEVELOPMENTAL
from fangpin_monitoring.quality import rules
from fangpin_monitoring.visits.models import Visit
from fangpin_monitoring.warnings.models import RiskWarning

H = Household.__table__
M = Member.__table__
C = Case.__table__
HELPERS = Helper.__table__
PLANS = AssistancePlan.__table__
MEASURES = Measure.__table__
INCOME = IncomeRecord.__table__
IDENT = Identification.__table__
VISITS = Visit.__table__
WARNINGS = RiskWarning.__table__

DEATH_KIND = "public_security.death"
FULL_LABOUR = "普通劳动力"
CHUNK = 20_000


@dataclass(frozen=True)
class Context:
    today: date
    county: County

    @property
    def line_fen(self) -> int:
        return int(self.county.income_line_yuan * 100)

    @property
    def last_year(self) -> int:
        return self.today.year - 1

    def overdue_before(self, kind: str) -> date:
        """Cases included before this date are past the deadline `kind` today."""
        rule = self.county.deadline_rule(kind, DEFAULT_DAYS[kind])
        return add_months(self.today - timedelta(days=rule.days), -rule.months)

    @property
    def unit_codes(self) -> list[str]:
        return sorted(u.code for u in self.county.all_units())


def _text(*parts) -> object:
    """Concatenation in SQL ('||' on both backends); plain strings become literals."""
    expr = None
    for part in parts:
        value = literal(part, String) if isinstance(part, str) else cast(part, String)
        expr = value if expr is None else expr + value
    return expr


def _member(where, detail) -> Select:
    return select(M.c.household_id, M.c.id.label("member_id"), detail.label("detail")).where(where)


def _household(source, where, detail) -> Select:
    return select(source.label("household_id"), null().label("member_id"),
                  (detail if not isinstance(detail, str) else literal(detail, String))
                  .label("detail")).where(where)


_living = M.c.deceased == False  # noqa: E712
_open_case = exists().where(C.c.household_id == H.c.id, C.c.status == "open")


def q02(ctx: Context) -> Select:
    stated = func.replace(cast(M.c.birth_date, String), "-", "")
    in_id = func.substr(M.c.id_number, 7, 8)
    return _member(and_(func.length(M.c.id_number) == 18, in_id != stated),
                   _text("出生日期 ", M.c.birth_date, " 与身份证号中的 ", in_id, " 不一致"))


def q03(ctx: Context) -> Select:
    digit = func.substr(M.c.id_number, 17, 1)
    odd, even = ("1", "3", "5", "7", "9"), ("0", "2", "4", "6", "8")
    return _member(and_(func.length(M.c.id_number) == 18,
                        or_(and_(M.c.sex == "男", digit.in_(even)),
                            and_(M.c.sex == "女", digit.in_(odd)))),
                   _text("登记性别为", M.c.sex, "，身份证号第17位为 ", digit))


def q04(ctx: Context) -> Select:
    young, old = rules.labour_birth_bounds(ctx.today)
    return _member(and_(_living, M.c.labour_capacity == FULL_LABOUR,
                        or_(M.c.birth_date > young, M.c.birth_date <= old)),
                   _text("出生日期 ", M.c.birth_date, "，登记为普通劳动力"))


def q05(ctx: Context) -> Select:
    return _member(and_(_living, M.c.in_school == True,  # noqa: E712
                        M.c.labour_capacity == FULL_LABOUR),
                   literal("在校生登记为普通劳动力", String))


def q06(ctx: Context) -> Select:
    reported = exists().where(WARNINGS.c.member_id == M.c.id, WARNINGS.c.kind == DEATH_KIND,
                              WARNINGS.c.status != "dismissed")
    return _member(and_(_living, reported), literal("公安比对已死亡，仍登记为在世", String))


def q07(ctx: Context) -> Select:
    twice = (select(M.c.name, M.c.birth_date).where(_living)
             .group_by(M.c.name, M.c.birth_date)
             .having(func.count(func.distinct(M.c.household_id)) > 1).subquery())
    return (select(M.c.household_id, M.c.id.label("member_id"),
                   _text(M.c.name, "（", M.c.birth_date, "）同时登记在其他农户").label("detail"))
            .join_from(M, twice, and_(twice.c.name == M.c.name,
                                      twice.c.birth_date == M.c.birth_date))
            .where(_living))


def _income_year(year: int):
    """Net income (fen) and months collected of each household in `year`."""
    return (select(INCOME.c.household_id, func.sum(SIGNED).label("net"),
                   func.count(func.distinct(INCOME.c.period)).label("months"))
            .where(INCOME.c.period >= f"{year:04d}-01", INCOME.c.period <= f"{year:04d}-12")
            .group_by(INCOME.c.household_id).subquery())


def _persons():
    return (select(M.c.household_id, func.count().label("persons")).where(_living)
            .group_by(M.c.household_id).subquery())


def q08(ctx: Context) -> Select:
    cur, prev = _income_year(ctx.last_year), _income_year(ctx.last_year - 1)
    # Annualised totals compared (persons cancel out): |cur·mp − prev·mc| > 50 % of prev·mc.
    a, b = cur.c.net * prev.c.months, prev.c.net * cur.c.months
    return (select(cur.c.household_id, null().label("member_id"),
                   literal(f"{ctx.last_year}年与{ctx.last_year - 1}年家庭纯收入（折合全年）"
                           f"变动超过{rules.CHANGE_LIMIT_PERCENT}%", String).label("detail"))
            .join_from(cur, prev, prev.c.household_id == cur.c.household_id)
            .where(prev.c.net > 0,
                   or_((a - b) * 100 > b * rules.CHANGE_LIMIT_PERCENT,
                       (b - a) * 100 > b * rules.CHANGE_LIMIT_PERCENT)))


def q09(ctx: Context) -> Select:
    return _household(C.c.household_id, and_(
        C.c.status == "open", C.c.inclusion_date < ctx.overdue_before(HELPER_DEADLINE),
        ~exists().where(HELPERS.c.case_id == C.c.id)),
        _text("纳入日期 ", C.c.inclusion_date, "，未安排帮扶责任人"))


def q10(ctx: Context) -> Select:
    return _household(C.c.household_id, and_(
        C.c.status == "open", C.c.inclusion_date < ctx.overdue_before(PLAN_DEADLINE),
        ~exists().where(PLANS.c.case_id == C.c.id)),
        _text("纳入日期 ", C.c.inclusion_date, "，未制定帮扶计划"))


def q11(ctx: Context) -> Select:
    return (select(C.c.household_id, null().label("member_id"),
                   _text("措施“", MEASURES.c.measure_type, "”责任单位：",
                         MEASURES.c.responsible_unit).label("detail"))
            .join_from(MEASURES, C, C.c.id == MEASURES.c.case_id)
            .where(C.c.status == "open", MEASURES.c.status != "cancelled",
                   or_(func.trim(MEASURES.c.responsible_unit) == "",
                       MEASURES.c.responsible_unit.notin_(ctx.unit_codes))))


def q12(ctx: Context) -> Select:
    labour = exists().where(M.c.household_id == C.c.household_id, _living,
                            M.c.labour_capacity == FULL_LABOUR)
    developmental = exists().where(MEASURES.c.case_id == C.c.id,
                                   MEASURES.c.measure_kind == DEVELOPMENTAL,
                                   MEASURES.c.status.in_(ACTIVE))
    return _household(C.c.household_id, and_(
        C.c.status == "open", exists().where(PLANS.c.case_id == C.c.id), labour,
        ~developmental), "有普通劳动力，无开发式帮扶措施")


def q13(ctx: Context) -> Select:
    heads = (select(M.c.household_id, func.count().label("heads"))
             .where(_living, M.c.relation == "户主").group_by(M.c.household_id).subquery())
    count = func.coalesce(heads.c.heads, 0)
    return (select(H.c.id.label("household_id"), null().label("member_id"),
                   _text("在世成员中户主 ", count, " 人").label("detail"))
            .select_from(H.outerjoin(heads, heads.c.household_id == H.c.id))
            .where(count != 1, exists().where(M.c.household_id == H.c.id, _living)))


def q14(ctx: Context) -> Select:
    return _household(H.c.id, and_(H.c.category == "监测户", or_(
        H.c.monitoring_subcategory.is_(None), H.c.monitoring_subcategory == "")),
        "监测户未标注监测对象类别")


def q15(ctx: Context) -> Select:
    return _household(H.c.id, and_(H.c.category != "监测户",
                                   H.c.monitoring_subcategory.is_not(None),
                                   H.c.monitoring_subcategory != ""),
                      _text(H.c.category, "标注了监测对象类别“", H.c.monitoring_subcategory,
                            "”"))


def _below_line(ctx: Context, *where) -> Select:
    income, persons = _income_year(ctx.last_year), _persons()
    # Per-capita yearly net below the line: net·12 < line·months·persons (integer fen).
    return (select(H.c.id.label("household_id"), null().label("member_id"),
                   literal(f"{ctx.last_year}年人均纯收入低于监测线"
                           f"{ctx.county.income_line_yuan}元", String).label("detail"))
            .join_from(H, income, income.c.household_id == H.c.id)
            .join(persons, persons.c.household_id == H.c.id)
            .where(income.c.months > 0,
                   income.c.net * 12 < ctx.line_fen * income.c.months * persons.c.persons,
                   *where))


def q16(ctx: Context) -> Select:
    identifying = exists().where(IDENT.c.household_id == H.c.id, IDENT.c.status == "in_progress")
    return _below_line(ctx, ~_open_case, ~identifying)


def q17(ctx: Context) -> Select:
    start, end = rules.visit_window(ctx.today)
    visited = exists().where(VISITS.c.household_id == H.c.id, VISITS.c.visited_on >= start,
                             VISITS.c.visited_on <= end)
    return _household(H.c.id, and_(H.c.category.in_(("脱贫户", "监测户")), ~visited),
                      f"{start} 至 {end} 无走访记录")


def q19(ctx: Context) -> Select:
    eliminated = exists().where(C.c.household_id == H.c.id, C.c.status == "eliminated")
    return _below_line(ctx, eliminated, ~_open_case)


def q20(ctx: Context) -> Select:
    return _household(H.c.id, ~exists().where(M.c.household_id == H.c.id, _living),
                      "没有在世成员")


Found = tuple[str, str | None, str | None]  # household_id, member_id, detail


async def _pages(session: AsyncSession, key, columns, where=None) -> AsyncIterator[list]:
    """Rows in pages of CHUNK through a server-side cursor (memory: one page). The caller
    writes nothing until the pages are read: the cursor holds the connection."""
    query = select(key, *columns)
    if where is not None:
        query = query.where(where)
    result = await session.stream(query.execution_options(yield_per=CHUNK))
    async for page in result.partitions():
        yield page


async def scan_q01(session: AsyncSession, ctx: Context) -> AsyncIterator[list[Found]]:
    async for rows in _pages(session, M.c.id, [M.c.household_id, M.c.id_number]):
        found = [(household, member, problem) for member, household, number in rows
                 if (problem := resident_id_problem(number))]
        if found:
            yield found


async def scan_q18(session: AsyncSession, ctx: Context) -> AsyncIterator[list[Found]]:
    has_phone = and_(H.c.phone.is_not(None), H.c.phone != "")
    async for rows in _pages(session, H.c.id, [H.c.phone], has_phone):
        found = [(household, None, f"户联系电话：{problem}") for household, phone in rows
                 if (problem := rules.phone_problem(phone))]
        if found:
            yield found
    has_phone = and_(M.c.phone.is_not(None), M.c.phone != "")
    async for rows in _pages(session, M.c.id, [M.c.household_id, M.c.phone, M.c.name],
                             has_phone):
        found = [(household, member, f"{name}：{problem}")
                 for member, household, phone, name in rows
                 if (problem := rules.phone_problem(phone))]
        if found:
            yield found


QUERIES: dict[str, Callable[[Context], Select]] = {
    "Q02": q02, "Q03": q03, "Q04": q04, "Q05": q05, "Q06": q06, "Q07": q07, "Q08": q08,
    "Q09": q09, "Q10": q10, "Q11": q11, "Q12": q12, "Q13": q13, "Q14": q14, "Q15": q15,
    "Q16": q16, "Q17": q17, "Q19": q19, "Q20": q20,
}
SCANS = {"Q01": scan_q01, "Q18": scan_q18}
assert set(QUERIES) | set(SCANS) == set(rules.CODES)
