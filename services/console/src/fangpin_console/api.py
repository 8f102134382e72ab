"""The domain services' HTTP APIs, called with the signed-in person's token.

Scope, masking, validation and audit stay in the services: the console forwards the person's
bearer token and turns the services' answers (422 `detail[].loc`, 403, 404, 412) into Chinese
messages a page can show next to the field they name.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from fangpin_console import labels
from fangpin_console.settings import ConsoleSettings

Service = Literal["monitoring", "employment", "industry", "notifications"]
SERVICES: tuple[Service, ...] = ("monitoring", "employment", "industry", "notifications")

# Pydantic's own messages are English; a clerk reads these instead (by error type).
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "必填",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "literal_error": "请从以下选项中选择：{expected}",
    "enum": "请从以下选项中选择：{expected}",
    "date_from_datetime_parsing": "日期格式应为 年-月-日",
    "date_parsing": "日期格式应为 年-月-日",
    "date_type": "日期格式应为 年-月-日",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 是 或 否",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "应大于 {gt}",
    "less_than": "应小于 {lt}",
    "string_pattern_mismatch": "格式不正确",
    "value_error": "填写有误",
    "json_invalid": "提交的内容格式有误",
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _chinese(item: dict[str, Any]) -> str:
    msg = str(item.get("msg", ""))
    if _CJK.search(msg):
        # Domain rules already speak Chinese; pydantic prefixes custom errors with "Value error, ".
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = _PYDANTIC_MESSAGES.get(str(item.get("type", "")), "填写有误")
    try:
        return template.format(**(item.get("ctx") or {}))
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：，") or "填写有误"


def field_path(loc: Sequence[Any]) -> str:
    """`["body", "members", 0, "id_number"]` → `members.0.id_number` (the form's field name)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


@dataclass
class ApiError(Exception):
    """A service said no. `fields` maps a form field path to its Chinese message."""

    status: int
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    current: Any = None  # a 412's current state, when the service sends it

    def __str__(self) -> str:
        return self.message


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    status = response.status_code
    if status == 422 and isinstance(detail, list):
        fields: dict[str, str] = {}
        for item in detail:
            if isinstance(item, dict):
                fields.setdefault(field_path(item.get("loc") or []), _chinese(item))
        return ApiError(status, "提交的内容有误，请按提示修改", fields)
    text = detail if isinstance(detail, str) and _CJK.search(detail) else None
    default = {401: "登录已过期，请重新登录", 403: "无权访问本辖区以外的数据或执行此操作",
               404: "没有找到这条记录（或不在您的辖区内）", 409: "与现有记录冲突",
               412: "这条记录已被他人修改，请查看最新内容后重试"}.get(
                   status, "服务暂时不可用，请稍后再试")
    # A service's message may name an internal id; a clerk reads it without.
    text = labels.readable(text).replace("  ", " ") if text else None
    return ApiError(status, text or default,
                    current=body.get("current") if isinstance(body, dict) else None)


@dataclass
class Call:
    """One API call a page made: for the page's own timing (bench/console_pages.py)."""

    service: str
    method: str
    path: str
    status: int
    seconds: float
    started: float = 0.0  # perf_counter at the start (calls of a page may overlap)


class Api:
    """The four services, for one person's request: their token on every call."""

    def __init__(self, http: httpx.AsyncClient, settings: ConsoleSettings, token: str) -> None:
        self._http = http
        self._bases = {s: getattr(settings, f"{s}_url").rstrip("/") for s in SERVICES}
        self._token = token
        self.calls: list[Call] = []

    async def request(self, service: Service, method: str, path: str, *,
                      params: dict[str, Any] | None = None, json: Any = None,
                      etag: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}"}
        if etag:
            headers["If-Match"] = etag
        params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        started = time.perf_counter()
        try:
            response = await self._http.request(method, self._bases[service] + path,
                                                 params=params, json=json, headers=headers)
        except httpx.HTTPError as exc:
            self.calls.append(Call(service, method, path, 0, time.perf_counter() - started,
                                   started))
            raise ApiError(503, "服务暂时不可用，请稍后再试") from exc
        self.calls.append(Call(service, method, path, response.status_code,
                               time.perf_counter() - started, started))
        if response.status_code >= 400:
            raise _error(response)
        return response

    def waiting_seconds(self) -> float:
        """Wall time spent waiting for the services: overlapping calls count once."""
        total, end = 0.0, float("-inf")
        for c in sorted(self.calls, key=lambda c: c.started):
            finish = c.started + c.seconds
            if finish > end:
                total += finish - max(c.started, end)
                end = finish
        return total

    async def get(self, service: Service, path: str, **params: Any) -> Any:
        return (await self.request(service, "GET", path, params=params)).json()

    async def get_with_etag(self, service: Service, path: str) -> tuple[Any, str | None]:
        response = await self.request(service, "GET", path)
        return response.json(), response.headers.get("etag")

    async def post(self, service: Service, path: str, json: Any = None,
                   etag: str | None = None) -> Any:
        response = await self.request(service, "POST", path, json=json, etag=etag)
        return response.json() if response.content else None

    async def put(self, service: Service, path: str, json: Any, etag: str | None = None) -> Any:
        return (await self.request(service, "PUT", path, json=json, etag=etag)).json()

    async def patch(self, service: Service, path: str, json: Any,
                    etag: str | None = None) -> Any:
        return (await self.request(service, "PATCH", path, json=json, etag=etag)).json()

    async def download(self, service: Service, path: str, **params: Any) -> httpx.Response:
        return await self.request(service, "GET", path, params=params)
