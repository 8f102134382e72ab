"""Account rules as plain functions: password policy, lock-out, throttling, units."""

from __future__ import annotations

import re
import string
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fangpin_common.county import County

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
# Passwords people pick first, whatever the policy; refused outright.
COMMON_PASSWORDS = frozenset({
    "password", "passw0rd", "password1", "password123", "p@ssw0rd", "p@ssword", "qwerty123",
    "qwertyuiop", "1qaz2wsx", "1qaz@wsx", "1q2w3e4r", "1q2w3e4r5t", "abc123456", "a123456789",
    "admin123", "admin@123", "admin123456", "123456abc", "abcd1234", "aa123456", "iloveyou",
    "woaini1314", "zxcvbnm123", "12345678", "123456789", "1234567890", "88888888", "11111111",
    "fangpin123", "fangpin@123",
})


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 10
    min_classes: int = 3  # of: lower case, upper case, digits, other characters
    max_length: int = 128


def character_classes(password: str) -> int:
    return sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() or c in string.punctuation for c in password)))


def password_problems(password: str, policy: PasswordPolicy, username: str = "",
                      current: str | None = None) -> list[str]:
    """Why a new password is refused, in the words staff read; empty when it is acceptable."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(f"密码至少 {policy.min_length} 位")
    if len(password) > policy.max_length:
        problems.append(f"密码不能超过 {policy.max_length} 位")
    if character_classes(password) < policy.min_classes:
        problems.append(f"密码须包含大写字母、小写字母、数字、符号中的至少 {policy.min_classes} 类")
    lowered = password.lower()
    if username and len(username) >= 3 and username.lower() in lowered:
        problems.append("密码不能包含用户名")
    if lowered in COMMON_PASSWORDS or len(set(password)) <= 2:
        problems.append("密码过于常见，请换一个")
    if current is not None and password == current:
        problems.append("新密码不能与当前密码相同")
    return problems


def locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def after_failure(failed_attempts: int, max_failures: int, lockout: timedelta,
                  now: datetime) -> tuple[int, datetime | None]:
    """The counter and lock after one more wrong password: the N-th in a row locks the account
    for `lockout` and starts the count again."""
    attempts = failed_attempts + 1
    if attempts >= max_failures:
        return 0, now + lockout
    return attempts, None


def minutes_left(locked_until: datetime, now: datetime) -> int:
    return max(1, -(-int((locked_until - now).total_seconds()) // 60))


class Throttle:
    """At most `limit` attempts per `window` per key (a client address): a sliding window in
    memory, per replica — slows guessing across accounts, which lock-out alone does not."""

    def __init__(self, limit: int, window: timedelta = timedelta(minutes=1),
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window.total_seconds()
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._prune(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _prune(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[key]


# -- units and roles ---------------------------------------------------------------------------
def console_config(county: County) -> dict[str, Any]:
    return dict(county.settings.get("console") or {})


def allowed_combinations(county: County) -> list[frozenset[str]]:
    """Unit levels one person may hold together (`settings.console.multiple_units` in the
    county file, e.g. [[township, village]]); by default one unit per person."""
    return [frozenset(c) for c in console_config(county).get("multiple_units") or []]


def units_problems(units: Sequence[str], county: County) -> list[str]:
    """Why a person cannot hold these units; empty when they can."""
    from fangpin_common.tokens import unit_principal

    if not units:
        return ["至少属于一个单位"]
    problems = []
    levels = []
    for code in units:
        unit = county.unit(code)
        if unit is None:
            problems.append(f"单位 {code} 不在县级单位目录中")
            continue
        try:
            unit_principal(county, code, "check")
        except ValueError:
            problems.append(f"单位 {code}（{unit.name}）未指定所在乡镇或村，无法确定权限范围")
        levels.append(unit.level)
    if len(set(units)) != len(units):
        problems.append("单位重复")
    if len(units) > 1 and not units_allowed(levels, allowed_combinations(county)):
        problems.append("本县不允许一人兼任这些单位的角色")
    return problems


def units_allowed(levels: Iterable[str], combinations: Sequence[frozenset[str]]) -> bool:
    levels = list(levels)
    if len(levels) <= 1:
        return True
    if len(set(levels)) != len(levels):
        return False  # two township units, two villages …: one role per level at most
    return any(set(levels) <= combo for combo in combinations)
