"""One error shape in Chinese: every pydantic error type has a translation, a 422 names the
field and never echoes the input, the framework's own answers (bad JSON, 404, 405) are Chinese."""

from __future__ import annotations

import re
import string
import typing

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from pydantic_core.core_schema import ErrorType

from fangpin_common.errors import MESSAGES, install_error_handlers, message_for, translate
from fangpin_common.types import Day, Offset

CJK = re.compile(r"[\u3400-\u9fff]")
MARKER = "ECHO-MARKER-7f3a"


def every_error_type() -> tuple[str, ...]:
    return typing.get_args(ErrorType)


def test_every_pydantic_error_type_has_a_chinese_template():
    missing = [t for t in every_error_type() if t not in MESSAGES]
    assert not missing, f"no Chinese template for {missing}"
    english_only = [t for t, text in MESSAGES.items() if not CJK.search(text)]
    assert not english_only, english_only


@pytest.mark.parametrize("kind", every_error_type())
def test_each_type_renders_in_chinese_without_the_input(kind):
    template = MESSAGES[kind]
    ctx = {name: 7 for _, name, _, _ in string.Formatter().parse(template) if name}
    # The input and any parser text in ctx (English, or the caller's own value) stay out.
    ctx["error"] = f"invalid value {MARKER}"
    error = {"type": kind, "loc": ("body", "field"), "msg": f"English {MARKER}",
             "input": MARKER, "ctx": ctx}
    [item] = translate([error])
    # A JSON syntax error's position is a character offset, not a field.
    loc = ["body"] if kind == "json_invalid" else ["body", "field"]
    assert item == {"loc": loc, "msg": item["msg"], "type": kind}
    assert CJK.search(item["msg"]), item
    assert MARKER not in item["msg"]
    assert "{" not in item["msg"]


def test_a_template_with_its_ctx_missing_still_reads_as_a_sentence():
    assert message_for({"type": "string_too_long"}) == "最多只能有"
    assert message_for({"type": "greater_than_equal", "ctx": {"ge": 0}}) == "不能为负数"
    assert message_for({"type": "less_than_equal", "ctx": {"le": 4}}) == "应小于或等于 4"


def test_our_own_validators_keep_their_chinese_message_truncated():
    own = {"type": "value_error", "loc": ("body", "x"), "msg": "Value error, 未知乡镇：某" + "长" * 500,
           "ctx": {"error": ValueError("未知乡镇：某" + "长" * 500)}}
    msg = message_for(own)
    assert msg.startswith("未知乡镇：某") and len(msg) <= 200
    library = {"type": "value_error", "msg": "Value error, bad thing", "ctx": {"error": "bad"}}
    assert message_for(library) == "取值无效"


class Item(BaseModel):
    name: str = Field(min_length=2, max_length=10)
    on: Day
    offset: Offset = 0
    count: int = 0


def app_with_errors() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/items")
    async def create(item: Item) -> dict:
        return {"ok": True}

    @app.get("/items")
    async def listing(offset: Offset = 0, on: Day | None = None) -> dict:
        return {"offset": offset}

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=app_with_errors())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_a_422_names_each_field_in_chinese_and_never_echoes_input(client):
    long_text = MARKER * 1000
    r = await client.post("/items", json={"name": long_text, "on": "0", "offset": 2**64,
                                          "count": MARKER})
    assert r.status_code == 422
    assert MARKER not in r.text and len(r.content) < 2000
    detail = {tuple(d["loc"]): d for d in r.json()["detail"]}
    assert detail[("body", "name")]["msg"] == "最多只能有 10 个字符"
    assert detail[("body", "on")]["msg"] == "应为日期，格式 YYYY-MM-DD，如 2024-04-10"
    assert detail[("body", "offset")]["msg"] == "应小于或等于 2147483647"
    assert detail[("body", "count")]["msg"] == "应为整数"
    assert all(set(d) == {"loc", "msg", "type"} for d in r.json()["detail"])


async def test_query_numbers_and_dates_out_of_range_are_422_not_500(client):
    for query, loc in (("offset=226667831691533615104", "offset"), ("offset=-1", "offset"),
                       ("on=0", "on"), ("on=10118-01-01", "on"), ("on=2024-02-30", "on"),
                       ("on=1999-12-31", "on")):
        r = await client.get(f"/items?{query}")
        assert r.status_code == 422, query
        [item] = r.json()["detail"]
        assert item["loc"] == ["query", loc] and CJK.search(item["msg"]), (query, item)


async def test_broken_json_and_non_utf8_bodies_are_a_chinese_422(client):
    for body in (b'{"name": ', b"\xff\xfe\x00garbage"):
        r = await client.post("/items", content=body,
                              headers={"content-type": "application/json"})
        assert r.status_code == 422, body
        [item] = r.json()["detail"]
        assert item["loc"] == ["body"] and item["type"] == "json_invalid"
        assert item["msg"].startswith("请求体不是有效的 JSON")


async def test_unknown_path_and_wrong_method_answer_in_chinese(client):
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {"detail": "没有这个地址"}
    r = await client.delete("/items")
    assert r.status_code == 405 and r.json() == {"detail": "此地址不支持该请求方法"}
