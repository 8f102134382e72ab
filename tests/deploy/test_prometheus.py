"""Prometheus: scrape configs, recording rules and alerts refer only to what the code exports."""

from __future__ import annotations

import re
import shutil
import subprocess

import promql_parser as pq
import pytest

from .conftest import DEPLOY, ROOT, SERVICES, check_promql, load_yaml, output_labels

PROM = DEPLOY / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))

# The alerts the operators rely on, with the metric each must watch.
REQUIRED_ALERTS = {
    "FangpinOutboxStuck": "fangpin_outbox_oldest_age_seconds",
    "FangpinDeadLettersIncreasing": "fangpin_events_dead_lettered_total",
    # Open dead letters, read from the tables (issue 12): on until every one is closed.
    "FangpinDeadLettersOpen": "fangpin_dead_letters_open",
    "FangpinUnpublishedEvents": "fangpin_outbox_dead_letters_open",
    "FangpinNatsDisconnected": "fangpin_nats_connected",
    "FangpinHighErrorRate": "service:fangpin_http_5xx:ratio5m",
    "FangpinServiceDown": "up",
}


def all_rules() -> list[dict]:
    rules = []
    for path in RULE_FILES:
        doc = load_yaml(path)
        assert set(doc) == {"groups"}, path
        for group in doc["groups"]:
            assert group["name"] and group["rules"], path
            rules.extend(group["rules"])
    return rules


def recorded_series(series: dict[str, set[str]]) -> dict[str, set[str]]:
    return {r["record"]: output_labels(r["expr"], series) for r in all_rules() if "record" in r}


def test_rule_files_are_loaded_by_the_compose_prometheus():
    config = load_yaml(PROM / "prometheus.yml")
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert RULE_FILES, "no rule files"
    compose = load_yaml(ROOT / "docker-compose.yml")
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in volumes
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in volumes


def test_every_rule_expression_parses_and_names_exported_metrics(exported):
    recorded = recorded_series(exported)
    rules = all_rules()
    assert len(rules) >= 10
    problems = []
    for rule in rules:
        refs = check_promql(rule["expr"], exported, recorded)
        problems += [f"{rule.get('alert') or rule.get('record')}: {p}" for p in refs.problems]
        assert not refs.name_patterns, "rules name metrics explicitly"
        assert any(m.startswith("fangpin_") or ":" in m or m == "up" for m in refs.metrics)
        # The cheap regex view agrees with the parser: no fangpin_ name hides in a string.
        for name in re.findall(r"(?<![\w:])fangpin_[a-z0-9_]+\b(?!:)", rule["expr"]):
            assert name in exported, f"{name} in {rule['expr']!r} is not exported"
    assert not problems, "\n".join(problems)


def test_recording_rule_names_follow_the_convention():
    for rule in all_rules():
        if "record" in rule:
            assert re.fullmatch(r"[a-z_]+:fangpin_[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule


def test_required_alerts_exist_with_severity_summary_and_runbook(exported):
    alerts = {r["alert"]: r for r in all_rules() if "alert" in r}
    assert set(REQUIRED_ALERTS) <= set(alerts)
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    headings = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)}
    recorded = recorded_series(exported)
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor in headings, f"{name}: README has no section #{anchor}"
        if name in REQUIRED_ALERTS:
            assert REQUIRED_ALERTS[name] in check_promql(rule["expr"], exported, recorded).metrics
        # Templates in annotations use labels the expression keeps.
        used = set(re.findall(r"\$labels\.(\w+)", str(rule["annotations"])))
        refs_labels = {"service", "instance", "job", "consumer", "type"}
        assert used <= refs_labels, (name, used)


def test_alert_thresholds_match_the_operations_contract():
    alerts = {r["alert"]: r for r in all_rules() if "alert" in r}
    assert re.search(r"fangpin_outbox_oldest_age_seconds\)\s*>\s*300\b",
                     alerts["FangpinOutboxStuck"]["expr"])
    nats = alerts["FangpinNatsDisconnected"]
    assert nats["for"] == "1m" and "== 0" in nats["expr"]
    assert "increase(fangpin_events_dead_lettered_total" in alerts[
        "FangpinDeadLettersIncreasing"]["expr"]
    # Any open dead letter, consumer or producer side, alerts at once and until closed.
    assert re.search(r"fangpin_dead_letters_open\)\s*>\s*0\b",
                     alerts["FangpinDeadLettersOpen"]["expr"])
    assert "for" not in alerts["FangpinDeadLettersOpen"]
    assert re.search(r"fangpin_outbox_dead_letters_open\)\s*>\s*0\b",
                     alerts["FangpinUnpublishedEvents"]["expr"])
    assert alerts["FangpinUnpublishedEvents"]["labels"]["severity"] == "critical"
    assert 'status=~"5.."' in " ".join(r["expr"] for r in all_rules() if "record" in r)
    assert 'up{job="fangpin"} == 0' in alerts["FangpinServiceDown"]["expr"]
    for service in SERVICES:  # a service with no target at all is down too
        assert f'absent(up{{job="fangpin", service="{service}"}})' in \
            alerts["FangpinServiceDown"]["expr"]


def test_a_wrong_metric_or_label_is_caught(exported):
    """The checker itself: it must reject what the rules must not contain."""
    assert check_promql("rate(fangpin_events_published_total[5m])", exported).problems == []
    assert check_promql("fangpin_no_such_metric > 0", exported).problems
    assert check_promql('fangpin_nats_connected{township="x"}', exported).problems
    assert check_promql("sum by (route) (fangpin_outbox_pending_rows)", exported).problems
    assert check_promql("rate(fangpin_events_published_total[5m]", exported).problems
    assert check_promql("service:fangpin_unknown:rate5m > 1", exported).problems


@pytest.mark.parametrize("path", ["prometheus.yml", "kubernetes-scrape.yml"])
def test_scrape_configs_label_targets_by_service(path):
    config = load_yaml(PROM / path)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "fangpin")
    # The services' own `service` label must survive the scrape (not become exported_service).
    assert job["honor_labels"] is True
    if "static_configs" in job:
        seen = {}
        for sc in job["static_configs"]:
            (target,) = sc["targets"]
            host, port = target.split(":")
            seen[sc["labels"]["service"]] = (host, int(port))
        assert seen == {s: (s, p) for s, p in SERVICES.items()}
        assert job.get("metrics_path", "/metrics") == "/metrics"
    else:
        relabels = job["relabel_configs"]
        assert any(r.get("target_label") == "service" for r in relabels)
        assert any(r.get("target_label") == "__metrics_path__" for r in relabels)
        keep = [r for r in relabels if r.get("action") == "keep"]
        assert {tuple(r["source_labels"]) for r in keep} == {
            ("__meta_kubernetes_pod_label_app_kubernetes_io_part_of",),
            ("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)}
        port_rule = next(r for r in relabels if r.get("target_label") == "__address__")
        assert re.fullmatch(port_rule["regex"], "10.0.0.7:8080;8001")
        assert re.sub(port_rule["regex"], port_rule["replacement"].replace("$", "\\"),
                      "10.0.0.7:8080;8001") == "10.0.0.7:8001"


def test_parser_agrees_on_a_subquery_and_label_replace(exported):
    expr = ('sum by (service, metric) (rate(label_replace({__name__=~"fangpin_.+_total"}, '
            '"metric", "$1", "__name__", "(.+)")[1m:]))')
    refs = check_promql(expr, exported)
    assert refs.problems == [] and refs.name_patterns == ["fangpin_.+_total"]
    assert isinstance(pq.parse(expr), pq.AggregateExpr)


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian: prometheus)")
def test_promtool_accepts_the_config_and_the_alert_unit_tests_pass(tmp_path):
    def promtool(*args: str) -> str:
        done = subprocess.run([PROMTOOL, *args], check=False, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    assert "SUCCESS" in promtool("check", "rules", *map(str, RULE_FILES))
    # The compose config, its rule_files pointed at the repository's rule files.
    config = (PROM / "prometheus.yml").read_text().replace(
        "/etc/prometheus/rules/*.yml", str(PROM / "rules" / "*.yml"))
    (tmp_path / "prometheus.yml").write_text(config)
    assert "is valid prometheus config file syntax" in promtool(
        "check", "config", str(tmp_path / "prometheus.yml"))
    # Alert behaviour over time: thresholds, `for` durations, absent series, annotations.
    assert "SUCCESS" in promtool("test", "rules",
                                 *map(str, sorted((PROM / "tests").glob("*.test.yml"))))
