"""One error shape for every service, in Chinese, naming the field.

`{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}` for 422 (validation and domain
rules), `{"detail": "..."}` for the others. A 422 never echoes what was sent: pydantic's
`input` and `ctx` are dropped (a 10 MB body came back whole), the message is built from a
Chinese template per error type and only the schema's own limits (min_length, ge …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

# Longest message a 422 carries: our own validators' texts may quote a value.
MAX_MESSAGE = 200


class DomainError(Exception):
    """A request that breaks a domain rule. `field` is the path inside the body."""

    status_code = 422

    def __init__(self, field: str | Sequence[str | int], message: str, code: str = "invalid",
                 location: str = "body") -> None:
        super().__init__(message)
        parts = [field] if isinstance(field, str) else list(field)
        self.loc = [location, *parts] if location else parts
        self.message = message
        self.code = code

    def detail(self) -> list[dict]:
        return [{"loc": self.loc, "msg": self.message, "type": self.code}]


class NotFound(Exception):
    status_code = 404

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Conflict(NotFound):
    status_code = 409


# A Chinese template for every pydantic_core error type (tests fail when pydantic adds one
# without an entry here). `{name}` takes a value from the error's ctx: only limits the schema
# sets, never the caller's input.
MESSAGES: dict[str, str] = {
    "no_such_attribute": "没有这个属性",
    "json_invalid": "请求体不是有效的 JSON（UTF-8），请检查括号、引号和逗号",
    "json_type": "应为 JSON 文本",
    "needs_python_object": "应为对象",
    "recursion_loop": "数据存在循环引用",
    "recursion_depth_exceeded": "数据嵌套层级过深",
    "missing": "必填项，不能缺少",
    "frozen_field": "该字段不可修改",
    "frozen_instance": "该对象不可修改",
    "extra_forbidden": "不允许多余的字段",
    "invalid_key": "键应为字符串",
    "get_attribute_error": "读取属性时出错",
    "model_type": "应为对象（JSON 对象）",
    "model_attributes_type": "应为对象（JSON 对象）",
    "dataclass_type": "应为对象（JSON 对象）",
    "dataclass_exact_type": "应为对象（JSON 对象）",
    "named_tuple_type": "应为数组",
    "default_factory_not_called": "默认值无法生成",
    "none_required": "应为空（null）",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "multiple_of": "应为 {multiple_of} 的整数倍",
    "finite_number": "应为有限的数",
    "too_short": "至少应有 {min_length} 项",
    "too_long": "最多只能有 {max_length} 项",
    "iterable_type": "应为数组",
    "iteration_error": "读取数组时出错",
    "string_type": "应为文本（字符串）",
    "string_unicode": "应为有效的 Unicode 文本",
    "string_too_short": "至少应有 {min_length} 个字符",
    "string_too_long": "最多只能有 {max_length} 个字符",
    "string_pattern_mismatch": "格式不对（应符合 {pattern}）",
    "string_not_ascii": "只能包含 ASCII 字符",
    "enum": "应为以下之一：{expected}",
    "dict_type": "应为对象（JSON 对象）",
    "frozen_dict_type": "应为对象（JSON 对象）",
    "ordered_dict_type": "应为对象（JSON 对象）",
    "counter_type": "应为对象（JSON 对象）",
    "mapping_type": "应为对象（JSON 对象）",
    "list_type": "应为数组",
    "deque_type": "应为数组",
    "tuple_type": "应为数组",
    "set_type": "应为数组（不重复的项）",
    "set_item_not_hashable": "数组中的项无法比较是否重复",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_parsing_size": "整数超出可处理的范围",
    "int_from_float": "应为整数，不能有小数部分",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bytes_type": "应为字节串",
    "bytes_too_short": "至少应有 {min_length} 个字节",
    "bytes_too_long": "最多只能有 {max_length} 个字节",
    "bytes_invalid_encoding": "字节串编码无效",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
    "literal_error": "应为以下之一：{expected}",
    "missing_sentinel_error": "取值无效",
    "ellipsis_error": "取值无效",
    "date_type": "应为日期，格式 YYYY-MM-DD",
    "date_parsing": "应为日期，格式 YYYY-MM-DD，且为真实存在的日期",
    "date_from_datetime_parsing": "应为日期，格式 YYYY-MM-DD，且为真实存在的日期",
    "date_from_datetime_inexact": "应为日期，不能带时刻",
    "date_past": "应为过去的日期",
    "date_future": "应为将来的日期",
    "time_type": "应为时刻，格式 HH:MM[:SS]",
    "time_parsing": "应为时刻，格式 HH:MM[:SS]",
    "datetime_type": "应为日期时间，格式 YYYY-MM-DDTHH:MM:SS",
    "datetime_parsing": "应为日期时间，格式 YYYY-MM-DDTHH:MM:SS",
    "datetime_object_invalid": "日期时间无效",
    "datetime_from_date_parsing": "应为日期时间，格式 YYYY-MM-DDTHH:MM:SS",
    "datetime_past": "应为过去的时间",
    "datetime_future": "应为将来的时间",
    "timezone_naive": "不应带时区",
    "timezone_aware": "应带时区，如 +08:00",
    "timezone_offset": "时区应为 {tz_expected} 秒的偏移",
    "time_delta_type": "应为时长",
    "time_delta_parsing": "应为时长",
    "frozen_set_type": "应为数组（不重复的项）",
    "is_instance_of": "类型不对",
    "is_subclass_of": "类型不对",
    "callable_type": "类型不对",
    "union_tag_invalid": "类别不对，应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少用于区分类别的字段 {discriminator}",
    "arguments_type": "参数格式不对",
    "missing_argument": "缺少参数",
    "unexpected_keyword_argument": "多余的参数",
    "missing_keyword_only_argument": "缺少参数",
    "unexpected_positional_argument": "多余的参数",
    "missing_positional_only_argument": "缺少参数",
    "multiple_argument_values": "参数重复",
    "url_type": "应为网址",
    "url_parsing": "应为有效的网址",
    "url_syntax_violation": "网址格式不对",
    "url_too_long": "网址最多只能有 {max_length} 个字符",
    "url_scheme": "网址应以以下协议开头：{expected_schemes}",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID，如 0190b6f0-1c2d-7a3b-8c4d-5e6f7a8b9c0d",
    "uuid_version": "应为第 {expected_version} 版 UUID",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "最多只能有 {max_digits} 位数字",
    "decimal_max_places": "最多只能有 {decimal_places} 位小数",
    "decimal_whole_digits": "整数部分最多只能有 {whole_digits} 位",
    "fraction_type": "应为分数或数字",
    "fraction_parsing": "应为分数或数字",
    "complex_type": "应为复数",
    "complex_str_parsing": "应为复数",
}

# Our own validators' types (PydanticCustomError and ValueError) carry their Chinese message.
_OWN_MESSAGE = {"value_error", "assertion_error"}
_VALUE_ERROR_PREFIX = re.compile(r"^(Value error|Assertion failed), ")
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def _limit(value: Any) -> str:
    # Only the schema's limits reach a message; a long enum list is cut as any message is.
    if isinstance(value, (list, tuple, set)):
        return "、".join(str(v) for v in value)
    return str(value)


def message_for(error: Mapping[str, Any]) -> str:
    """The Chinese message of one pydantic / FastAPI error, without the caller's input."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in _OWN_MESSAGE:
        # The validator's own text (ours are Chinese); a library's English text is replaced.
        own = _VALUE_ERROR_PREFIX.sub("", str(ctx.get("error", error.get("msg", ""))))
        return _truncate(own) if _HAS_CJK.search(own) else MESSAGES[kind]
    if kind == "greater_than_equal" and str(ctx.get("ge")) == "0":
        return "不能为负数"
    template = MESSAGES.get(kind)
    if template is None:
        # A custom type raised by our code (PydanticCustomError): its message is Chinese.
        msg = str(error.get("msg", ""))
        return _truncate(msg) if _HAS_CJK.search(msg) else "取值无效"
    try:
        return _truncate(template.format(**{k: _limit(v) for k, v in ctx.items()}))
    except (KeyError, IndexError, ValueError):
        return _truncate(template.split("{", 1)[0].rstrip("（：， ") or "取值无效")


def _loc(error: Mapping[str, Any]) -> list[str | int]:
    loc = list(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        return loc[:1] or ["body"]  # the character offset is not a field
    return loc


def translate(errors: Sequence[Mapping[str, Any]]) -> list[dict]:
    return [{"loc": _loc(e), "msg": message_for(e), "type": str(e.get("type", "invalid"))}
            for e in errors]


# Starlette's own texts for the statuses it answers by itself.
_STATUS_TEXT = {
    400: "请求格式不对",
    401: "未登录或令牌无效",
    403: "无权进行此操作",
    404: "没有这个地址",
    405: "此地址不支持该请求方法",
    406: "无法提供所要求的格式",
    409: "与现有数据冲突",
    412: "数据已被他人修改",
    413: "请求体过大",
    415: "不支持的请求体格式",
    422: "请求内容不对",
    428: "修改须注明所依据的版本",
    500: "服务器内部错误",
}


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    detail: str | list[ErrorItem] | dict[str, Any]


def _error_response(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


# Declared on every operation (when routers are included): the fuzzer and clients see them.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error_response("未登录或令牌无效"),
    403: _error_response("无权进行此操作"),
    404: _error_response("对象不存在"),
    409: _error_response("与现有数据冲突，或同一 Idempotency-Key 的请求仍在处理"),
    412: _error_response("数据已被他人修改（If-Match 不符）"),
    413: _error_response("请求体过大"),
    422: _error_response("请求内容不对：loc 指出字段，msg 说明原因"),
    428: _error_response("修改须注明所依据的版本（If-Match 或 revision）"),
}


def validation_response(errors: Sequence[Mapping[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": translate(errors)}, status_code=422)


def _allowed(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document lists for the path."""
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, item in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{pattern}$"), [m.upper() for m in item]))
        app.state.allowed_methods = table
    matches = [(pattern, methods) for pattern, methods in table if pattern.match(path)]
    # A literal path (/projects/scan) is its own resource, not an id of /projects/{id}.
    exact = [methods for pattern, methods in matches if "[^/]+" not in pattern.pattern]
    return sorted({m for methods in (exact or [m for _, m in matches]) for m in methods})


def _raised_while_reading(error: BaseException | None) -> StarletteHTTPException | None:
    if isinstance(error, StarletteHTTPException):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if found := _raised_while_reading(inner):
                return found
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # An HTTPException raised while the body was read (413, 408 from the limits)
            # reaches FastAPI wrapped in the exception group of a BaseHTTPMiddleware's task
            # group, and FastAPI answers any such error with a 400: answer the original.
            exc = _raised_while_reading(exc.__cause__) or exc
        detail = exc.detail
        status = exc.status_code
        if status == 400 and detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not UTF-8: the same 422 as broken JSON.
            return validation_response([{"type": "json_invalid", "loc": ("body",)}])
        if isinstance(detail, str) and not _HAS_CJK.search(detail):
            detail = _STATUS_TEXT.get(status, "请求未能处理")
        headers = dict(getattr(exc, "headers", None) or {})
        if status == 405:
            # Starlette names the methods of the first route on the path only; a path served
            # by several routes (GET here, PUT there) allows all of theirs.
            headers["Allow"] = ", ".join(_allowed(request.app, request.url.path))
        return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)
