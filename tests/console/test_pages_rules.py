"""The pages' pure parts: what a clerk reads instead of ids, codes and English, and forms
turned into the services' JSON (field names are the paths a 422 names)."""

from __future__ import annotations

import httpx
from starlette.datastructures import FormData

from fangpin_console import labels
from fangpin_console.api import _error, field_path
from fangpin_console.pages.forms import unflatten
from fangpin_console.pages.reports.service import overdue_by_township

HOUSEHOLD = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def test_reminder_texts_lose_ids_and_codes():
    body = f"【已逾期】监测户（户编号 {HOUSEHOLD}）纳入后5天内未安排帮扶责任人。"
    assert labels.readable(body, {HOUSEHOLD: "韦明"}) == \
        "【已逾期】监测户（韦明户）纳入后5天内未安排帮扶责任人。"
    assert labels.readable(f"事项 visit.monthly（对象 {HOUSEHOLD}，板榄镇）须于 4-30 前完成") == \
        "事项 月度走访须于 4-30 前完成"
    assert labels.readable("【即将到期】case.helper：2024-04-15 到期") == \
        "【即将到期】安排帮扶责任人：2024-04-15 到期"


def test_kinds_and_timing_from_event_types():
    assert labels.kind_name("fangpin.monitoring.case.helper_overdue") == "安排帮扶责任人"
    assert labels.kind_name("fangpin.monitoring.visit.due_soon") == "走访"
    assert labels.kind_name("fangpin.industry.project.fix_due_soon") == "项目问题整改"
    assert labels.kind_name("fangpin.somewhere.new.thing") == "待办事项"
    assert labels.timing("fangpin.monitoring.case.helper_overdue") == "overdue"
    assert labels.timing("fangpin.employment.form.due_soon") == "due_soon"
    assert labels.timing("fangpin.monitoring.case.opened") == "other"


def test_forms_become_nested_json():
    form = FormData([
        ("csrf_token", "x"), ("village", "板榄村"), ("address", ""),
        ("members.0.name", "韦明"), ("members.0.in_school", "false"),
        ("members.1.name", "韦小明"), ("members.1.in_school", "false"),
        ("members.1.in_school", "true"), ("risk_types", "因病"), ("risk_types", "因学"),
        ("risk_found", "true")])
    assert unflatten(form, lists=("risk_types",),
                     booleans=("members.*.in_school", "risk_found", "leaflet_explained")) == {
        "village": "板榄村", "risk_types": ["因病", "因学"], "risk_found": True,
        "leaflet_explained": False,
        "members": [{"name": "韦明", "in_school": False},
                    {"name": "韦小明", "in_school": True}]}


def test_service_errors_in_chinese_at_their_field():
    assert field_path(["body", "members", 0, "id_number"]) == "members.0.id_number"
    r = httpx.Response(422, json={"detail": [
        {"loc": ["body", "members", 0, "id_number"], "msg": "身份证号校验位错误：应为 9，实为 0",
         "type": "invalid_member"},
        {"loc": ["body", "category"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "visitor_name"], "msg": "String should have at least 1 character",
         "type": "string_too_short", "ctx": {"min_length": 1}}]})
    error = _error(r)
    assert error.fields == {"members.0.id_number": "身份证号校验位错误：应为 9，实为 0",
                            "category": "必填", "visitor_name": "至少 1 个字符"}
    refused = _error(httpx.Response(409, json={"detail": f"该户已有未办结的同类风险线索 {HOUSEHOLD}"}))
    assert HOUSEHOLD not in refused.message and "同类风险线索" in refused.message
    assert _error(httpx.Response(403, json={"detail": "forbidden"})).message == \
        "无权访问本辖区以外的数据或执行此操作"
    assert "修改" in _error(httpx.Response(412, json={"detail": "stale"})).message


def test_overdue_lines_follow_the_county_file():
    report = {"rows": [
        {"level": "township", "township": "450224100", "township_name": "长安镇", "deadlines": [
            {"kind": "visit.monthly", "kind_name": "月度走访", "met_on_time": 3, "met_late": 1,
             "open_overdue": 2, "open_not_due": 5}]},
        {"level": "village", "township": "450224100", "village": "大洲村", "deadlines": []}],
        "total": {"level": "county", "deadlines": [
            {"kind": "visit.monthly", "kind_name": "月度走访", "met_on_time": 3, "met_late": 1,
             "open_overdue": 2, "open_not_due": 5}]}}
    lines, total, kinds = overdue_by_township(
        report, [("450224100", "长安镇"), ("450224101", "浮石镇")])
    assert [(t.name, t.overdue, t.late, t.on_time, t.not_due) for t in lines] == [
        ("长安镇", 2, 1, 3, 5), ("浮石镇", 0, 0, 0, 0)]
    assert kinds == ["月度走访"] and total.overdue == 2
