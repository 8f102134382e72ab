"""Shared pieces of the deployment tests: the files, the metrics the code exports, a PromQL
reference checker, and a nats-server running the deploy/ configuration."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import promql_parser as pq
import pytest
import yaml

from fangpin_common.metrics import Metrics
from fangpin_common.natsserver import binary, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = {"monitoring": 8001, "employment": 8002, "industry": 8003, "notifications": 8004,
            "console": 8005}

# Labels Prometheus adds to every scraped series (target labels of the scrape configs).
TARGET_LABELS = {"job", "instance", "service", "pod"}
# Series Prometheus makes itself.
PROMETHEUS_SERIES = {"up": set(), "scrape_duration_seconds": set()}

# What the services read from FANGPIN_* but is not a settings field.
NON_SETTINGS_ENV = {"FANGPIN_SERVICE"}


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def settings_class(service: str):
    module = importlib.import_module(f"fangpin_{service}.settings")
    return getattr(module, f"{service.capitalize()}Settings")


def settings_fields(service: str) -> set[str]:
    return set(settings_class(service).model_fields)


def check_fangpin_env(service: str, names: set[str]) -> None:
    """Every FANGPIN_* variable given to a service must be a field of its settings
    (shared or FANGPIN_<SERVICE>_ specific); a misspelt one would be silently ignored."""
    fields = settings_fields(service)
    specific = f"FANGPIN_{service.upper()}_"
    for name in names:
        if not name.startswith("FANGPIN_") or name in NON_SETTINGS_ENV:
            continue
        key = name[len(specific):] if name.startswith(specific) else name[len("FANGPIN_"):]
        assert key.lower() in fields, f"{service}: {name} is not a settings field"


# --- the metrics the code exports ------------------------------------------------------------

def _series_of(collector, family_name: str, kind: str) -> list[str]:
    if kind == "counter":
        return [f"{family_name}_total", f"{family_name}_created"]
    if kind == "histogram":
        return [f"{family_name}_{s}" for s in ("bucket", "count", "sum", "created")]
    if kind == "summary":
        return [family_name] + [f"{family_name}_{s}" for s in ("count", "sum", "created")]
    if kind == "info":
        return [f"{family_name}_info"]
    return [family_name]


def exported_series(registry) -> dict[str, set[str]]:
    """Series names a registry exposes, each with its label names (`le` for buckets)."""
    out: dict[str, set[str]] = {}
    collectors = set(registry._names_to_collectors.values())
    for collector in collectors:
        labels = set(getattr(collector, "_labelnames", ()))
        for family in collector.describe() or collector.collect():
            for name in _series_of(collector, family.name, family.type):
                out[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return out


@pytest.fixture(scope="session")
def common_series() -> dict[str, set[str]]:
    return exported_series(Metrics("deploy-test").registry)


@pytest.fixture(scope="session")
def exported(common_series, tmp_path_factory) -> dict[str, set[str]]:
    """The common metrics plus whatever each service's app registers on its own registry."""
    out = dict(common_series)
    county = ROOT / "config" / "county.yaml"
    tmp = tmp_path_factory.mktemp("apps")
    for service in SERVICES:
        settings = settings_class(service)(
            _env_file=None, county_config=county,
            database_url=f"sqlite+aiosqlite:///{tmp}/{{service}}.db")
        app = importlib.import_module(f"fangpin_{service}.main").create_app(settings)
        out.update(exported_series(app.state.metrics.registry))
    return out


# --- PromQL references -----------------------------------------------------------------------

GRAFANA_VARIABLES = {
    "$__rate_interval": "1m", "${__rate_interval}": "1m", "$__interval": "1m",
    "$__range": "1h", "${__range}": "1h",
}


def substitute_grafana(expr: str) -> str:
    for var, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(var, value)
    # Dashboard variables used in label matchers (service=~"$service").
    return re.sub(r"\$\{?[a-zA-Z_]\w*\}?", ".*", expr)


@dataclass
class Refs:
    metrics: set[str] = field(default_factory=set)          # concrete metric names
    name_patterns: list[str] = field(default_factory=list)  # __name__=~ regexes
    problems: list[str] = field(default_factory=list)


def check_promql(expr: str, series: dict[str, set[str]],
                 recorded: dict[str, set[str]] | None = None) -> Refs:
    """Parse a PromQL expression; every metric it names must be exported by the code (or be a
    recording rule / a Prometheus series) and every label it names must exist on them."""
    recorded = recorded or {}
    known = {**PROMETHEUS_SERIES, **series, **recorded}
    refs = Refs()
    try:
        tree = pq.parse(expr)
    except ValueError as exc:
        refs.problems.append(f"does not parse: {exc}: {expr}")
        return refs

    def labels_in(node) -> set[str]:
        found: set[str] = set()

        def visit(n):
            if isinstance(n, pq.VectorSelector):
                name = n.name or next((m.value for m in n.matchers.matchers
                                       if m.name == "__name__" and m.op == pq.MatchOp.Equal),
                                      None)
                if name is not None:
                    found.update(known.get(name, set()))
                else:
                    found.update(set().union(*known.values()))
            if isinstance(n, pq.Call) and n.func.name == "label_replace":
                found.add(n.args[1].val)
        pq.walk(node, visit)
        return found | TARGET_LABELS | {"__name__"}

    def visit(n):
        if isinstance(n, pq.VectorSelector):
            name = n.name
            for m in n.matchers.matchers:
                if m.name == "__name__":
                    if m.op == pq.MatchOp.Equal:
                        name = m.value
                    elif m.op == pq.MatchOp.Re:
                        refs.name_patterns.append(m.value)
            if name is not None:
                refs.metrics.add(name)
                if name.startswith("fangpin_") and name not in series:
                    refs.problems.append(f"{name} is not exported by the code")
                elif ":" not in name and not name.startswith("fangpin_") and name not in known:
                    refs.problems.append(f"{name} is neither a Fangpin nor a Prometheus series")
                elif ":" in name and name not in recorded:
                    refs.problems.append(f"{name} is not a recording rule")
                allowed = known.get(name, set()) | TARGET_LABELS | {"__name__"}
                for m in n.matchers.matchers:
                    if m.name not in allowed:
                        refs.problems.append(f"{name} has no label {m.name!r}")
        elif isinstance(n, pq.AggregateExpr) and n.modifier is not None:
            missing = set(n.modifier.labels) - labels_in(n.expr)
            if missing:
                refs.problems.append(f"aggregation by unknown labels {sorted(missing)}: {n}")
        elif isinstance(n, pq.BinaryExpr) and n.modifier is not None and n.modifier.matching:
            both = labels_in(n.lhs) | labels_in(n.rhs)
            missing = set(n.modifier.matching.labels) - both
            if missing:
                refs.problems.append(f"vector matching on unknown labels {sorted(missing)}: {n}")
    pq.walk(tree, visit)
    return refs


def output_labels(expr: str, series: dict[str, set[str]]) -> set[str]:
    """The labels a recording rule's series can carry (outer `by` clause, else its inputs)."""
    tree = pq.parse(expr)
    while isinstance(tree, pq.ParenExpr):
        tree = tree.expr
    if isinstance(tree, pq.AggregateExpr) and tree.modifier is not None \
            and tree.modifier.type == pq.AggModifierType.By:
        return set(tree.modifier.labels)
    found: set[str] = set()

    def visit(n):
        if isinstance(n, pq.VectorSelector) and n.name in series:
            found.update(series[n.name])
    pq.walk(tree, visit)
    return found or {"service"}


# --- a nats-server running deploy/nats -------------------------------------------------------

NATS_USERS = ("monitoring", "employment", "industry", "notifications", "console", "departments",
              "admin")


def nats_password_env() -> dict[str, str]:
    return {f"NATS_{u.upper()}_PASSWORD": f"test-{u}-{os.getpid()}" for u in NATS_USERS}


@dataclass
class DeployNats:
    port: int
    http_port: int
    store_dir: Path
    passwords: dict[str, str]

    def url(self, user: str | None = None, password: str | None = None) -> str:
        if user is None:
            return f"nats://127.0.0.1:{self.port}"
        password = password or self.passwords[f"NATS_{user.upper()}_PASSWORD"]
        return f"nats://{user}:{password}@127.0.0.1:{self.port}"


def localised_nats_config(target: Path, port: int, http_port: int, store_dir: Path) -> Path:
    """deploy/nats with only the addresses and the store directory changed for this machine."""
    target.mkdir(parents=True, exist_ok=True)
    text = (DEPLOY / "nats" / "nats.conf").read_text()
    replacements = [
        ("host: 0.0.0.0\n", "host: 127.0.0.1\n"),
        ("port: 4222\n", f"port: {port}\n"),
        ("http: 0.0.0.0:8222\n", f"http: 127.0.0.1:{http_port}\n"),
        ('store_dir: "/data/jetstream"', f'store_dir: "{store_dir}"'),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, f"nats.conf no longer contains {old!r} once"
        text = text.replace(old, new)
    (target / "nats.conf").write_text(text)
    (target / "accounts.conf").write_text((DEPLOY / "nats" / "accounts.conf").read_text())
    return target / "nats.conf"


@pytest.fixture(scope="session")
def deploy_nats(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy-nats")
    port, http_port = free_port(), free_port()
    store = tmp / "jetstream"
    config = localised_nats_config(tmp / "etc", port, http_port, store)
    passwords = nats_password_env()
    proc = subprocess.Popen([binary(), "-c", str(config)], env={**os.environ, **passwords},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port)
        wait_for_port("127.0.0.1", http_port)
        yield DeployNats(port, http_port, store, passwords)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
