"""Grafana: provisioning and the "Fangpin services" dashboard, whose queries must name only
metrics the code exports (service-specific extras only by name pattern, in their own row)."""

from __future__ import annotations

import json
import re

import promql_parser as pq

from fangpin_common.metrics import Metrics

from .conftest import (
    DEPLOY,
    ROOT,
    check_promql,
    exported_series,
    load_yaml,
    substitute_grafana,
)

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "fangpin-services.json"
EXTRAS_ROW = "Service-specific metrics"


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels_with_rows() -> list[tuple[str, dict]]:
    """Every panel with the title of the row it sits under."""
    out, row = [], ""
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
            out.extend((row, p) for p in panel.get("panels", []))
        else:
            out.append((row, panel))
    return out


def test_provisioning_points_at_the_mounted_dashboards_and_prometheus():
    ds = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    assert source["url"] == "${PROMETHEUS_URL}"
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "fangpin.yml")["providers"]
    (provider,) = providers
    assert provider["type"] == "file"
    grafana = load_yaml(ROOT / "docker-compose.yml")["services"]["grafana"]
    assert grafana["environment"]["PROMETHEUS_URL"] == "http://prometheus:9090"
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"


def test_dashboard_identity_and_variables(exported):
    d = dashboard()
    assert d["title"] == "Fangpin services" and d["uid"] == "fangpin-services"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    service = variables["service"]
    m = re.fullmatch(r"label_values\((.+), (\w+)\)", service["query"]["query"])
    assert m and m.group(2) == "service"
    assert check_promql(m.group(1), exported).problems == []


def test_every_panel_query_parses_and_names_exported_metrics(exported, common_series):
    problems, used, targets = [], set(), 0
    for row, panel in panels_with_rows():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            targets += 1
            assert target["datasource"] == panel["datasource"]
            expr = substitute_grafana(target["expr"])
            refs = check_promql(expr, exported)
            problems += [f"{panel['title']}: {p}" for p in refs.problems]
            used |= refs.metrics
            if refs.name_patterns:
                # Series that may not exist yet are selected by pattern, only in their own row.
                assert row.startswith(EXTRAS_ROW), (row, panel["title"])
                assert all(p.startswith("fangpin_") for p in refs.name_patterns)
            for name in re.findall(r"(?<![\w:])fangpin_[a-z0-9_]+\b(?!:)", target["expr"]):
                assert name in exported or panel_is_pattern(target["expr"], name), name
    assert not problems, "\n".join(problems)
    assert targets >= 15
    # Every common metric is named on the dashboard outside the extras row.
    families = {re.sub(r"_(total|created|bucket|count|sum)$", "", n) for n in common_series}
    shown = {re.sub(r"_(total|created|bucket|count|sum)$", "", n) for n in used}
    assert families <= shown, families - shown


def name_selectors() -> list[tuple[str, list[tuple[str, str]]]]:
    """(row, [(op, value) …]) of every vector selector's name matchers on the dashboard."""
    out = []
    for row, panel in panels_with_rows():
        for target in panel["targets"]:
            def visit(n, row=row):
                if isinstance(n, pq.VectorSelector):
                    ms = [("=", n.name)] if n.name else []
                    ms += [(op_symbol(m.op), m.value)
                           for m in n.matchers.matchers if m.name == "__name__"]
                    out.append((row, ms))
            pq.walk(pq.parse(substitute_grafana(target["expr"])), visit)
    return out


def op_symbol(op) -> str:
    for candidate, symbol in ((pq.MatchOp.Equal, "="), (pq.MatchOp.NotEqual, "!="),
                              (pq.MatchOp.Re, "=~"), (pq.MatchOp.NotRe, "!~")):
        if op == candidate:
            return symbol
    raise ValueError(op)


def selects(matchers: list[tuple[str, str]], name: str) -> bool:
    tests = {"=": lambda v: name == v, "!=": lambda v: name != v,
             "=~": lambda v: re.fullmatch(v, name) is not None,
             "!~": lambda v: re.fullmatch(v, name) is None}
    return bool(matchers) and all(tests[op](value) for op, value in matchers)


def test_every_exported_metric_appears_somewhere(exported):
    """Whatever a service exports (the common metrics and any it adds) is on a panel: by name,
    or through the service-specific row's patterns — which never repeat a common metric."""
    selectors = name_selectors()
    for name in exported:
        if name.endswith(("_created", "_count", "_sum")):
            continue  # a histogram is shown through its buckets, a counter through _total
        rows = {row for row, ms in selectors if selects(ms, name)}
        assert rows, f"{name} is on no panel"
    common = Metrics("x").registry
    for name in exported_series(common):
        if name.endswith(("_created", "_count", "_sum")):
            continue
        rows = {row for row, ms in selectors if selects(ms, name)}
        assert not any(r.startswith(EXTRAS_ROW) for r in rows), (name, rows)
    # A metric a service might add later falls into the extras row.
    for future in ("fangpin_notifications_deliveries_total", "fangpin_notifications_queue_depth",
                   "fangpin_notifications_delivery_seconds_bucket"):
        rows = {row for row, ms in selectors if selects(ms, future)}
        assert rows and all(r.startswith(EXTRAS_ROW) for r in rows), (future, rows)


def panel_is_pattern(expr: str, name: str) -> bool:
    """A fangpin_ word inside a __name__ regex (the extras row), not a metric reference."""
    return bool(re.search(r'__name__!?=~"[^"]*' + re.escape(name), expr))


def test_the_panels_the_operators_need_are_there():
    by_title = {p["title"]: p for _, p in panels_with_rows()}
    exprs = {t: " ".join(x["expr"] for x in p["targets"]) for t, p in by_title.items()}

    def find(*words: str) -> str:
        hits = [e for t, e in exprs.items() if all(w.lower() in t.lower() for w in words)]
        assert hits, words
        return hits[0]

    rate = find("request rate", "route", "status")
    assert "by (service, route, status)" in rate and "_count" in rate
    for quantile, title in (("0.5", "latency p50"), ("0.99", "latency p99")):
        p = find(title)
        assert f"histogram_quantile({quantile}, sum by (service, route, status, le)" in p
    assert "fangpin_outbox_pending_rows" in find("pending outbox")
    assert "fangpin_outbox_oldest_age_seconds" in find("oldest unpublished event age")
    assert "fangpin_events_published_total" in find("published by type")
    assert "fangpin_events_consumed_total" in find("consumed")
    assert "fangpin_events_failed_total" in find("handler failures")
    assert "fangpin_events_dead_lettered_total" in find("dead-lettered")
    assert "fangpin_nats_connected" in find("nats connection state")
    assert "by (service, kind, state)" in find("deadline events", "per kind")
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert any(r.startswith(EXTRAS_ROW) and "empty" in r for r in rows)


def test_panels_fit_the_grid_without_overlapping():
    cells: dict[tuple[int, int], str] = {}
    ids = set()
    for panel in dashboard()["panels"]:
        assert panel["id"] not in ids
        ids.add(panel["id"])
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]
