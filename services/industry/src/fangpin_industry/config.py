"""The `industry:` section of the county file: targets, coverage goals, specialty lists, limits.

Checked when the service starts: an unknown unit, a duplicate target or a county list longer
than its limit is refused with the line it stands on.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fangpin_common.county import ConfigError, County, line_of, township_unit

ALL_TOWNSHIPS = "all_townships"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _exact(value: Any) -> Any:
    # A YAML float has already lost exactness; the county writes decimals in quotes.
    if isinstance(value, float):
        raise ValueError("write decimals in quotes (\"4.22\") so that they stay exact")
    return value


class Responsibility(_Model):
    """I7: every measure has a lead unit and responsible units."""

    lead: str
    responsible: list[str] = Field(default_factory=list)


class TargetConfig(Responsibility):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    name: str
    unit: str
    target: Decimal = Field(gt=0)
    measure: Literal["quantity", "rate"] = "quantity"
    clause: str | None = None

    check_exact = field_validator("target", mode="before")(_exact)


class CoverageConfig(Responsibility):
    specialty_industry_percent: Decimal = Field(default=Decimal("95"), gt=0, le=100)
    assistance_percent: Decimal = Field(default=Decimal("90"), gt=0, le=100)

    check_exact = field_validator("specialty_industry_percent", "assistance_percent",
                             mode="before")(_exact)


class SpecialtyConfig(_Model):
    county_level: list[str] = Field(default_factory=list)
    leading: list[str] = Field(default_factory=list)
    max_county_level: int = Field(default=5, ge=1)
    max_village_level: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _limits(self) -> SpecialtyConfig:
        if len(self.county_level) > self.max_county_level:
            raise ValueError(f"county_level lists {len(self.county_level)} industries, more than "
                             f"max_county_level {self.max_county_level}")
        if len(set(self.county_level)) != len(self.county_level):
            raise ValueError("county_level lists an industry twice")
        unknown = [name for name in self.leading if name not in self.county_level]
        if unknown:
            raise ValueError(f"leading industries {unknown} are not in county_level")
        return self


class ProjectPolicy(Responsibility):
    idle_days_after_completion: int = Field(default=90, ge=0)
    grace_days_after_planned_completion: int = Field(default=0, ge=0)
    min_linked_share_percent: Decimal = Field(default=Decimal("50"), ge=0, le=100)

    check_exact = field_validator("min_linked_share_percent", mode="before")(_exact)


class IndustryConfig(_Model):
    year: int = Field(ge=2000, le=2100)
    departments: list[str] = Field(default_factory=list)
    targets: list[TargetConfig] = Field(default_factory=list)
    household_coverage: CoverageConfig
    measure_types: list[str] = Field(min_length=1)
    specialty_industries: SpecialtyConfig = Field(default_factory=SpecialtyConfig)
    projects: ProjectPolicy

    @model_validator(mode="after")
    def _unique(self) -> IndustryConfig:
        codes = [t.code for t in self.targets]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"target codes appear twice: {', '.join(duplicates)}")
        return self

    def target(self, code: str) -> TargetConfig | None:
        return next((t for t in self.targets if t.code == code), None)


def expand_units(county: County, codes: list[str]) -> list[str]:
    """Unit codes with all_townships replaced by every township government, in order."""
    units: list[str] = []
    for code in codes:
        expanded = [township_unit(t.code) for t in county.townships] if code == ALL_TOWNSHIPS \
            else [code]
        units.extend(u for u in expanded if u not in units)
    return units


def _unit_problems(county: County, config: IndustryConfig) -> list[tuple[tuple, str]]:
    known = {u.code for u in county.all_units()}
    problems: list[tuple[tuple, str]] = []

    def check(loc: tuple, code: str, allow_all: bool = True) -> None:
        if code == ALL_TOWNSHIPS and allow_all:
            return
        if code not in known:
            problems.append((loc, f"{code!r} is not a unit of the county file"))

    for j, code in enumerate(config.departments):
        check(("departments", j), code, allow_all=False)
    sections: list[tuple[tuple, Responsibility]] = [
        (("targets", i), t) for i, t in enumerate(config.targets)]
    sections += [(("household_coverage",), config.household_coverage),
                 (("projects",), config.projects)]
    for loc, section in sections:
        check((*loc, "lead"), section.lead, allow_all=False)
        for j, code in enumerate(section.responsible):
            check((*loc, "responsible", j), code)
    return problems


def load_industry(county: County, source_text: str | None = None) -> IndustryConfig:
    """The checked `industry:` section; ConfigError names the line and the field."""
    node = yaml.compose(source_text) if source_text else None

    def where(loc: tuple) -> str:
        return f"line {line_of(node, ('industry', *loc))}: " if node is not None else ""

    if not county.industry:
        raise ConfigError("the county file has no industry: section")
    try:
        config = IndustryConfig.model_validate(county.industry)
    except ValidationError as exc:
        raise ConfigError("\n".join(
            f"{where(tuple(e['loc']))}industry.{'.'.join(map(str, e['loc'])) or '(section)'}: "
            f"{e['msg']}" for e in exc.errors())) from exc
    problems = _unit_problems(county, config)
    if problems:
        raise ConfigError("\n".join(f"{where(loc)}industry.{'.'.join(map(str, loc))}: {msg}"
                                    for loc, msg in problems))
    return config


def load_industry_file(county: County, path: Path) -> IndustryConfig:
    return load_industry(county, Path(path).read_text(encoding="utf-8"))
