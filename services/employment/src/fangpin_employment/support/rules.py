"""Subsidies, loans and training (E8–E10): the plan's kinds and each one's eligibility rule.

Every rule is a pure function of `Facts` gathered from the records; an empty list of reasons
means eligible. Status changes follow `transition`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fangpin_employment.vocabulary import OUT_OF_PROVINCE, POVERTY_CATEGORIES, WEAK_OR_HALF


@dataclass(frozen=True)
class Kind:
    label: str
    family: str  # subsidy | loan | training
    subject: str  # labourer | employer | workshop
    one_time: bool = False  # once per person (or workshop) and year


KINDS: dict[str, Kind] = {
    # E8 subsidies
    "social_insurance_subsidy": Kind("吸纳脱贫劳动力社保补贴", "subsidy", "employer"),
    "job_creation_subsidy": Kind("带动就业补贴", "subsidy", "employer"),
    "employment_service_subsidy": Kind("就业创业服务补助", "subsidy", "employer"),
    "startup_subsidy": Kind("农民工、返乡入乡人员创业扶持补贴", "subsidy", "labourer"),
    "training_subsidy": Kind("培训补贴", "subsidy", "labourer"),
    "post_subsidy": Kind("乡村公益性岗位补贴", "subsidy", "labourer"),
    "post_accident_insurance": Kind("公益性岗位意外伤害险补贴", "subsidy", "labourer"),
    "workshop_construction_subsidy": Kind("就业帮扶车间一次性建设补助", "subsidy", "workshop",
                                          one_time=True),
    "travel_subsidy": Kind("脱贫人口跨省就业一次性交通补助", "subsidy", "labourer",
                           one_time=True),
    "in_county_work_subsidy": Kind("县域内稳定务工劳务补助", "subsidy", "labourer",
                                   one_time=True),
    "tax_relief": Kind("企业吸纳脱贫劳动力税收优惠", "subsidy", "employer"),
    # E9 loans
    "startup_guarantee_loan": Kind("创业担保贷款", "loan", "labourer"),
    "microcredit": Kind("脱贫人口小额信贷", "loan", "labourer"),
    # E10 training
    "free_training": Kind("免费职业技能培训（含生活费补贴）", "training", "labourer"),
}


@dataclass(frozen=True)
class Facts:
    """What the records say about the applicant (a labourer, an employer or a workshop)."""

    household_category: str | None = None
    labour_capacity: str | None = None
    age: int | None = None
    working_age: bool = False
    key_groups: frozenset[str] = frozenset()
    months_by_location: dict[str, int] = field(default_factory=dict)  # this year
    holds_post: bool = False
    training_completed: bool = False
    business_registered: bool = False
    poverty_employees: int = 0
    workshop_exists: bool = False
    already_granted: bool = False  # an earlier application of a one-time kind this year


def _poverty(f: Facts) -> list[str]:
    return [] if f.household_category in POVERTY_CATEGORIES else [
        "申请人须为脱贫户（含监测户）劳动力"]


def eligibility(kind: str, f: Facts, *, stable_months: int = 6) -> list[str]:
    """Why the applicant is not eligible (empty: eligible)."""
    reasons: list[str] = []
    spec = KINDS[kind]
    if spec.one_time and f.already_granted:
        reasons.append(f"{spec.label}为一次性补助，本年度已申请")
    if kind == "travel_subsidy":
        reasons += _poverty(f)
        if f.months_by_location.get(OUT_OF_PROVINCE, 0) < 1:
            reasons.append("须有本年度跨省（区外）务工记录")
    elif kind == "in_county_work_subsidy":
        reasons += _poverty(f)
        months = f.months_by_location.get("县内", 0)
        if months < stable_months:
            reasons.append(f"本年度县内务工{months}个月，未达稳定务工{stable_months}个月")
    elif kind in ("post_subsidy", "post_accident_insurance"):
        if not f.holds_post:
            reasons.append("申请人须在公益性岗位上")
    elif kind == "training_subsidy":
        reasons += _poverty(f)
        if not f.training_completed:
            reasons.append("须完成职业技能培训")
    elif kind == "startup_subsidy":
        if not f.business_registered:
            reasons.append("须已办理创业主体登记")
        if f.household_category not in POVERTY_CATEGORIES and "返乡回流人员" not in f.key_groups:
            reasons.append("须为脱贫劳动力或返乡回流人员")
    elif kind == "startup_guarantee_loan":
        if not f.business_registered:
            reasons.append("须已办理创业主体登记")
        reasons += _poverty(f) if "返乡回流人员" not in f.key_groups else []
    elif kind == "microcredit":
        reasons += _poverty(f)
        if f.age is None or not 18 <= f.age <= 65:
            reasons.append("脱贫人口小额信贷申请人年龄须在18至65周岁")
    elif kind == "free_training":
        reasons += _poverty(f)
        if not f.working_age:
            reasons.append("须为劳动年龄内人员")
        if f.labour_capacity not in ("普通劳动力", *WEAK_OR_HALF):
            reasons.append("须有劳动能力")
    elif kind in ("social_insurance_subsidy", "job_creation_subsidy", "tax_relief",
                  "employment_service_subsidy"):
        if f.poverty_employees < 1:
            reasons.append("用人单位须吸纳脱贫劳动力就业")
    elif kind == "workshop_construction_subsidy" and not f.workshop_exists:
        reasons.append("须为已认定的就业帮扶车间")
    return reasons


TRANSITIONS = {("submitted", "approve"): "approved", ("submitted", "reject"): "rejected",
               ("approved", "pay"): "paid"}


def transition(state: str, action: str) -> str | None:
    return TRANSITIONS.get((state, action))
