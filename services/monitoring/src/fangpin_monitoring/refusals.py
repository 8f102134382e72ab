"""A 422 that names every problem at once (a step with three missing facts says all three)."""

from __future__ import annotations

from collections.abc import Sequence

from fangpin_common.errors import DomainError

Problem = tuple[str | Sequence[str | int], str, str]  # (field path, message in Chinese, code)


class Refused(DomainError):
    def __init__(self, problems: Sequence[Problem], location: str = "body") -> None:
        if not problems:
            raise ValueError("Refused needs at least one problem")
        field, message, code = problems[0]
        super().__init__(field, message, code, location)
        self.items = [DomainError(f, m, c, location) for f, m, c in problems]

    def detail(self) -> list[dict]:
        return [entry for item in self.items for entry in item.detail()]


def refuse_if(problems: Sequence[Problem], location: str = "body") -> None:
    if problems:
        raise Refused(problems, location)
