"""What a department may read (its data-sharing grant) and who may do which act: county
configuration (config/county.yaml: department_grants, authority), applied by fangpin_common.auth.

A grant names resources ("households", "warnings", "labourers", "employment", "industry" …) and,
for each, the rows it covers (`where`: column → value or list of values; "$self" stands for the
department's own code) and, optionally, the only fields it may see (`fields`, "members.health"
for a field of each member). A resource a grant does not name is not readable at all.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SELF = "$self"
# Fields every projected record keeps, so that it can be cited and placed.
ALWAYS_SHOWN = ("id",)


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    where: dict[str, Any] = Field(default_factory=dict)
    fields: tuple[str, ...] | None = None

    def conditions(self, department: str | None) -> dict[str, tuple[Any, ...]]:
        """Column → allowed values, with "$self" replaced by the department's code."""
        out: dict[str, tuple[Any, ...]] = {}
        for column, value in self.where.items():
            values = value if isinstance(value, list | tuple) else [value]
            out[column] = tuple(department if v == SELF else v for v in values)
        return out

    def matches(self, row: Any, department: str | None) -> bool:
        """Whether a row (object or mapping) is inside the grant."""
        for column, allowed in self.conditions(department).items():
            value = row.get(column) if isinstance(row, dict) else getattr(row, column, None)
            if value not in allowed:
                return False
        return True

    def project(self, record: dict[str, Any]) -> dict[str, Any]:
        """Only the granted fields of a record (dict): "x" for a field, "members.x" for a field
        of each item of a list; identifiers stay so that the record can be cited."""
        if self.fields is None:
            return record
        top = {f for f in self.fields if "." not in f} | set(ALWAYS_SHOWN)
        nested: dict[str, set[str]] = {}
        for f in self.fields:
            if "." in f:
                head, tail = f.split(".", 1)
                nested.setdefault(head, set(ALWAYS_SHOWN)).add(tail)
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key in nested and isinstance(value, list):
                out[key] = [{k: v for k, v in item.items() if k in nested[key]}
                            for item in value if isinstance(item, dict)]
            elif key in top:
                out[key] = value
        return out


# A department's grant: resource → Grant.
DepartmentGrant = dict[str, Grant]

# Acts and who may do them by default (the county file's `authority` overrides each).
# Cases open only through the identification's county confirmation or a platform inclusion,
# so there is no act for opening one directly.
DEFAULT_AUTHORITY: dict[str, tuple[str, ...]] = {
    "case.helper": ("county", "township", "village", "platform"),
    "case.plan": ("county", "township"),
    "case.measure": ("county", "township"),
    "case.assessment": ("county", "township"),
    "identification.start": ("county", "township", "village"),
    "identification.risk_review": ("village", "township", "county"),
    "identification.home_check": ("village", "township", "county"),
    "identification.data_comparison": ("county", "township"),
    "identification.democratic_review": ("village", "township", "county"),
    "identification.township_review": ("township", "county"),
    "identification.county_confirmation": ("county",),
    "elimination.start": ("county", "township"),
    "elimination.home_verification": ("village", "township", "county"),
    "elimination.village_review": ("village", "township", "county"),
    "elimination.public_notice": ("village", "township", "county"),
    "elimination.township_review": ("township", "county"),
    "elimination.county_approval": ("county",),
}
ACT_NAMES = {
    "case.helper": "确定帮扶责任人", "case.plan": "制定帮扶计划", "case.measure": "帮扶措施",
    "case.assessment": "风险评估", "identification.start": "发起识别程序",
    "elimination.start": "发起风险消除",
}
# Who sees resident ID numbers and phone numbers in full (others get them masked).
DEFAULT_FULL_IDENTITY_ROLES: tuple[str, ...] = ("county", "township", "platform")


def authority_roles(overrides: dict[str, list[str]], act: str) -> tuple[str, ...]:
    if act in overrides:
        return tuple(overrides[act])
    if act not in DEFAULT_AUTHORITY:
        raise KeyError(f"unknown act {act!r}")
    return DEFAULT_AUTHORITY[act]
