"""The revision convention's pure parts: ETags, the precondition, what changed."""

import pytest

from fangpin_common.errors import DomainError
from fangpin_common.revisions import (
    PreconditionRequired,
    StaleRevision,
    changed_fields,
    etag,
    expected_revision,
    parse_etag,
)


def test_etags_name_a_revision():
    assert etag(3) == '"3"'
    assert [parse_etag(v) for v in ('"3"', 'W/"3"', "3", " \"12\" ")] == [3, 3, 3, 12]
    assert [parse_etag(v) for v in ("*", '"a"', '"1", "2"', "", '"99999999999"')] == [
        None] * 5


def test_a_write_names_its_revision_once():
    assert expected_revision(4, None) == 4 and expected_revision(None, 4) == 4
    assert expected_revision(4, 4) == 4
    with pytest.raises(PreconditionRequired) as refused:
        expected_revision(None, None)
    assert refused.value.status_code == 428 and "If-Match" in refused.value.detail["msg"]
    with pytest.raises(DomainError):
        expected_revision(4, 5)


def test_what_changed_names_fields_not_values():
    before = {"village": "板榄村", "phone": "13900000001", "revision": 1, "updated_at": "a"}
    after = {"village": "板榄村", "phone": "13900000002", "revision": 2, "updated_at": "b",
             "address": "一组"}
    assert changed_fields(before, after, {"phone": "联系电话"}) == ["address", "联系电话"]
    stale = StaleRevision("农户", 1, 3, [{"revision": 2, "fields": ["联系电话"], "actor": "u1"},
                                        {"revision": 3, "fields": ["住址"], "actor": "u2"}])
    assert stale.status_code == 412 and stale.headers == {"ETag": '"3"'}
    assert stale.detail["msg"] == ("该农户已被他人修改：您依据的是第 1 版，当前为第 3 版（修改人：u1、u2），"
                                   "改动了：住址、联系电话。请重新读取最新内容，核对后再提交。")
    assert "13900000002" not in str(stale.detail)
