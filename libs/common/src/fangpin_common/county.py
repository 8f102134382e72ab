"""The county's configuration: townships, units, deadline rules, targets, notification routing.

Another county adopts the system by editing this file, not the code. Errors name the line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fangpin_common.deadlines import DeadlineRule
from fangpin_common.grants import (
    DEFAULT_AUTHORITY,
    DEFAULT_FULL_IDENTITY_ROLES,
    DepartmentGrant,
    authority_roles,
)

_ROLES = ("county", "township", "village", "department", "platform")
UnitLevel = Literal["county", "department", "township", "village", "paired"]


class ConfigError(ValueError):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Township(_Model):
    code: str
    name: str


class Village(_Model):
    code: str
    name: str
    township: str


class Person(_Model):
    """Someone in a unit who receives its reminders (the directory's seed)."""

    name: str
    title: str | None = None
    email: str | None = None
    mobile: str | None = None


class Unit(_Model):
    code: str
    name: str
    level: UnitLevel
    parent: str | None = None
    township: str | None = None
    village: str | None = None
    email: str | None = None
    mobile: str | None = None
    wecom_webhook: str | None = None
    dingtalk_webhook: str | None = None
    dingtalk_secret: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    people: list[Person] = Field(default_factory=list)


class DeadlineConfig(_Model):
    days: int = Field(default=0, ge=0)
    months: int = Field(default=0, ge=0)  # calendar months, before the days (6-month assessment)
    warn_days: int = Field(default=1, ge=0)
    # The unit that answers for it ("township", "village", "county", or a unit code).
    responsible: str = "township"


class TransferTarget(_Model):
    township: str
    general: int = Field(ge=0)
    poverty_alleviated: int = Field(ge=0)
    total: int = Field(ge=0)


# What a household write may change (限级修改, M10): household fields, member fields of an
# existing member ("member.<field>"), and adding or removing members. "*" stands for all.
HOUSEHOLD_EDIT_FIELDS: tuple[str, ...] = (
    "township", "village", "category", "monitoring_subcategory", "address", "phone",
    "relocation_site", "whole_household_dibao", "dangerous_house_renovation", "disaster_hit",
    "members.add", "members.remove",
    "member.name", "member.id_number", "member.sex", "member.birth_date", "member.relation",
    "member.labour_capacity", "member.in_school", "member.health", "member.phone",
    "member.deceased",
)
_VILLAGE_EDITS = ["address", "phone", "relocation_site", "whole_household_dibao",
                  "dangerous_house_renovation", "disaster_hit", "member.phone",
                  "member.in_school", "member.health", "member.labour_capacity"]
_TOWNSHIP_EDITS = [*_VILLAGE_EDITS, "village", "category", "monitoring_subcategory",
                   "members.add", "members.remove", "member.relation", "member.deceased"]


def _edit_field(value: str) -> str:
    if value != "*" and value not in HOUSEHOLD_EDIT_FIELDS:
        raise ValueError(f"unknown household field {value!r} (known: *, "
                         f"{', '.join(HOUSEHOLD_EDIT_FIELDS)})")
    return value


EditField = Annotated[str, AfterValidator(_edit_field)]


class FieldPermissions(_Model):
    """Which household and member fields each role may change. The platform integration is
    exempt (it mirrors the provincial system); department tokens do not edit households."""

    county: list[EditField] = Field(default_factory=lambda: ["*"])
    township: list[EditField] = Field(default_factory=lambda: list(_TOWNSHIP_EDITS))
    village: list[EditField] = Field(default_factory=lambda: list(_VILLAGE_EDITS))

    def allowed(self, role: str) -> frozenset[str]:
        if role == "platform":
            return frozenset(HOUSEHOLD_EDIT_FIELDS)
        granted = getattr(self, role, None) if role in ("county", "township", "village") else []
        if "*" in granted:
            return frozenset(HOUSEHOLD_EDIT_FIELDS)
        return frozenset(granted)


# The 包抓包核包过 campaign's checklist items (M11): code and the plan's wording.
class CampaignItem(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)
    name: str = Field(min_length=1, max_length=50)


DEFAULT_CAMPAIGN_ITEMS = (
    ("income", "收入情况"),
    ("monitoring_assistance", "监测帮扶"),
    ("food_clothing", "不愁吃、不愁穿"),
    ("compulsory_education", "义务教育有保障"),
    ("basic_medical", "基本医疗有保障"),
    ("housing_safety", "住房安全有保障"),
    ("drinking_water", "饮水安全"),
    ("policy_delivery", "政策落实"),
)


class CampaignConfig(_Model):
    items: list[CampaignItem] = Field(
        default_factory=lambda: [CampaignItem(code=c, name=n) for c, n in DEFAULT_CAMPAIGN_ITEMS],
        min_length=1)

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[CampaignItem]) -> list[CampaignItem]:
        codes = [i.code for i in items]
        if len(set(codes)) != len(codes):
            raise ValueError("campaign item codes must be unique")
        return items


class QualityConfig(_Model):
    """Data-cleaning runs (M10): the days of each month a full run is scheduled."""

    # At least three runs a month (M10); days up to 28 so that every month has each of them.
    run_days: list[int] = Field(default_factory=lambda: [1, 11, 21], min_length=3)

    @model_validator(mode="after")
    def _days(self) -> QualityConfig:
        for day in self.run_days:
            if not 1 <= day <= 28:
                raise ValueError(f"run day {day} must be between 1 and 28")
        if len(set(self.run_days)) != len(self.run_days):
            raise ValueError("run days must be unique")
        return self


class CountyInfo(_Model):
    code: str
    name: str
    lead_unit: str  # the county rural-revitalisation bureau: receives county-level reminders


class County(_Model):
    county: CountyInfo
    townships: list[Township]
    villages: list[Village] = Field(default_factory=list)
    units: list[Unit] = Field(default_factory=list)
    deadlines: dict[str, DeadlineConfig] = Field(default_factory=dict)
    income_line_yuan: Decimal = Decimal("10000")
    working_age: tuple[int, int] = (16, 60)
    transfer_targets: list[TransferTarget] = Field(default_factory=list)
    transfer_targets_total: TransferTarget | None = None
    routing: list[dict[str, Any]] = Field(default_factory=list)
    field_permissions: FieldPermissions = Field(default_factory=FieldPermissions)
    campaign: CampaignConfig = Field(default_factory=CampaignConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    settings: dict[str, Any] = Field(default_factory=dict)
    # Industry assistance (annex 2): read and checked by the industry service.
    industry: dict[str, Any] = Field(default_factory=dict)
    # What each department may read (its data-sharing grant); a department not listed reads
    # nothing and its tokens are refused everywhere.
    department_grants: dict[str, DepartmentGrant] = Field(default_factory=dict)
    # Who may do which act (plan, assessment, procedure steps …): act → roles.
    authority: dict[str, list[str]] = Field(default_factory=dict)
    # Roles that see resident ID numbers and phone numbers in full (each full read audited).
    full_identity_roles: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FULL_IDENTITY_ROLES))

    @model_validator(mode="after")
    def _consistent(self) -> County:
        codes = [t.code for t in self.townships]
        if len(set(codes)) != len(codes):
            raise ValueError("township codes must be unique")
        unit_codes = {u.code for u in self.all_units()}
        if self.county.lead_unit not in unit_codes:
            raise ValueError(f"county.lead_unit {self.county.lead_unit!r} is not a unit")
        for u in self.units:
            if u.parent and u.parent not in unit_codes:
                raise ValueError(f"unit {u.code}: parent {u.parent!r} is not a unit")
        for act, roles in self.authority.items():
            if act not in DEFAULT_AUTHORITY:
                raise ValueError(f"authority: unknown act {act!r} (known: "
                                 f"{', '.join(DEFAULT_AUTHORITY)})")
            for role in roles:
                if role not in _ROLES:
                    raise ValueError(f"authority.{act}: unknown role {role!r}")
        for role in self.full_identity_roles:
            if role not in _ROLES:
                raise ValueError(f"full_identity_roles: unknown role {role!r}")
        known = set(codes) | {t.name for t in self.townships}
        for target in self.transfer_targets:
            if target.township not in known:
                raise ValueError(f"transfer target for unknown township {target.township!r}")
        return self

    # -- lookups ---------------------------------------------------------------------------
    def township(self, code_or_name: str) -> Township | None:
        for t in self.townships:
            if code_or_name in (t.code, t.name):
                return t
        return None

    def all_units(self) -> list[Unit]:
        """Configured units plus one government unit per township (and per listed village)."""
        units = list(self.units)
        have = {u.code for u in units}
        for t in self.townships:
            code = township_unit(t.code)
            if code not in have:
                units.append(Unit(code=code, name=f"{t.name}人民政府", level="township",
                                  parent=self.county.lead_unit, township=t.code))
        for v in self.villages:
            code = village_unit(v.code)
            if code not in have:
                units.append(Unit(code=code, name=f"{v.name}村民委员会", level="village",
                                  parent=township_unit(v.township), township=v.township,
                                  village=v.code))
        return units

    def unit(self, code: str) -> Unit | None:
        return next((u for u in self.all_units() if u.code == code), None)

    def deadline_rule(self, kind: str, default_days: int, default_warn: int = 1,
                      default_months: int = 0) -> DeadlineRule:
        conf = self.deadlines.get(kind)
        if conf is None:
            return DeadlineRule(kind, default_days, default_warn, default_months)
        return DeadlineRule(kind, conf.days, conf.warn_days, conf.months)

    def may(self, role: str, act: str) -> bool:
        return role in authority_roles(self.authority, act)

    def roles_for(self, act: str) -> tuple[str, ...]:
        return authority_roles(self.authority, act)

    def business_date_is_valid(self, day: date, today: date) -> bool:
        return day <= today


def township_unit(township_code: str) -> str:
    return f"township.{township_code}"


def village_unit(village_code: str) -> str:
    return f"village.{village_code}"


def line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at a pydantic error location."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        else:
            child = None
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def load_yaml_model(path: Path, model: type[BaseModel]) -> BaseModel:
    """Parse YAML into `model`; a ConfigError names the file, line and field."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = line_of(node, loc) if node is not None else 1
            field = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(f"{path}:{line}: {field}: {err['msg']}")
        raise ConfigError("\n".join(problems)) from exc


@cache
def _load_cached(path: str, mtime: float) -> County:
    return load_yaml_model(Path(path), County)  # type: ignore[return-value]


def load_county(path: Path | str) -> County:
    p = Path(path).resolve()
    if not p.exists():
        raise ConfigError(f"county configuration not found: {path}")
    return _load_cached(str(p), p.stat().st_mtime)
