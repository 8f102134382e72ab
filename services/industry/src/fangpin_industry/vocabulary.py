"""The plan's standard lists for industry assistance (annex 2). Values are what staff type."""

from typing import Literal

# 巩固一批、升级一批、盘活一批、调整一批 (I3).
ProjectCategory = Literal["巩固", "升级", "盘活", "调整"]
# 基地建设、入股分红、帮扶就业、订单销售 (I4: how a project links farmers).
LinkageMode = Literal["基地建设", "入股分红", "帮扶就业", "订单销售"]
EntityType = Literal["龙头企业", "农民合作社", "家庭农场", "村集体经济组织", "其他经营主体"]
FundSource = Literal["中央衔接资金", "自治区衔接资金", "市级衔接资金", "县级衔接资金",
                     "其他财政资金", "社会资金"]
# A project's life, forward only: not started → building → completed → in use.
ProjectStatus = Literal["未开工", "在建", "已完工", "已投用"]
PROJECT_STATUSES: tuple[str, ...] = ("未开工", "在建", "已完工", "已投用")
# 建而不成 (built but unfinished), 成而不用 (finished but unused), 用而不好 (used badly).
FlagKind = Literal["建而不成", "成而不用", "用而不好"]
FLAG_KINDS: tuple[str, ...] = ("建而不成", "成而不用", "用而不好")
# Parts of a linkage model such as 龙头企业+合作社+基地+农户 (I4).
LINKAGE_MODEL_PARTS: tuple[str, ...] = ("龙头企业", "合作社", "农民合作社", "家庭农场",
                                        "村集体", "村集体经济组织", "基地", "农户")
