"""The county's employment policy values, from `settings.employment` in the county file.

The plan's values are the defaults; another county changes them in its file, not in code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fangpin_common.county import ConfigError, County


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackageItem(_Model):
    kind: str = Field(pattern=r"^[a-z_]+$")
    label: str
    required: int = Field(ge=0)


class WageBounds(_Model):
    # Plausible monthly wage in yuan: below or above is an anomaly to check (E7).
    min_monthly_yuan: int = Field(default=800, ge=0)
    max_monthly_yuan: int = Field(default=30000, ge=1)


class StableLevel(_Model):
    """The 2023 number of 脱贫 labourers in stable work (>= 6 months): the 2024 floor (E1)."""

    total: int | None = Field(default=None, ge=0)
    by_township: dict[str, int] = Field(default_factory=dict)


class EmploymentPolicy(_Model):
    # E12: the "251" package, recorded item by item.
    service_package: tuple[PackageItem, ...] = (
        PackageItem(kind="job_recommendation", label="岗位推荐", required=2),
        PackageItem(kind="policy_contact", label="政策宣传或就业服务", required=5),
        PackageItem(kind="training_referral", label="技能培训推荐", required=1),
    )
    # E1: months in a year that make "stable employment".
    stable_months: int = Field(default=6, ge=1, le=12)
    stable_2023: StableLevel = StableLevel()
    # E5: "back in the county for more than 1 month" makes a returnee.
    returnee_months: int = Field(default=1, ge=1, le=12)
    wages: WageBounds = WageBounds()
    year: int = 2024

    @model_validator(mode="after")
    def _unique_kinds(self) -> EmploymentPolicy:
        kinds = [p.kind for p in self.service_package]
        if len(set(kinds)) != len(kinds) or not kinds:
            raise ValueError("service_package kinds must be unique and not empty")
        return self

    def package_kinds(self) -> dict[str, PackageItem]:
        return {p.kind: p for p in self.service_package}


def load_policy(county: County) -> EmploymentPolicy:
    raw: Any = (county.settings or {}).get("employment", {}) or {}
    try:
        return EmploymentPolicy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"settings.employment.{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(problems) from exc
