"""The one parameterised Dockerfile. Docker does not run here, so the build is replayed: its
COPY steps lay out a context directory exactly as the image would have it (under /app), its
`uv sync` steps run as written, and the image's CMD is started and probed as compose does."""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fangpin_common.natsserver import free_port

from .conftest import DEPLOY, ROOT, SERVICES, load_yaml

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
IGNORE = DEPLOY / "docker" / "Dockerfile.dockerignore"
IMAGE_ROOT = "/app"


def instructions(text: str) -> list[tuple[str, str]]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        lines.append((keyword.upper(), rest.strip()))
        current = ""
    return lines


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = [[]]
    for keyword, rest in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            out.append([])
        out[-1].append((keyword, rest))
    return out  # [global ARGs, build stage, runtime stage]


def ignored(relative: str) -> bool:
    patterns = [p.strip() for p in IGNORE.read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    parts = relative.split("/")
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(p, bare) for p in parts):
                return True
        elif fnmatch.fnmatch(relative, pattern) or parts[0] == pattern:
            return True
    return False


@dataclass
class Image:
    root: Path
    args: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    cmd: str = ""
    workdir: str = ""

    def expand(self, value: str) -> str:
        scope = {**os.environ, **self.args, **self.env}
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: scope.get(m.group(1) or m.group(2), ""),
                      value)

    def host_path(self, image_path: str) -> Path:
        assert image_path.startswith(IMAGE_ROOT), image_path
        return self.root / image_path[len(IMAGE_ROOT):].lstrip("/")

    def map_paths(self, value: str) -> str:
        return re.sub(rf"(?<![\w/]){IMAGE_ROOT}(?=/|$|:)", str(self.root), value)

    def run_env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FANGPIN_", "VIRTUAL_ENV", "UV_"))}
        env.update(self.env)
        env.update(overrides)
        return env


def replay(service: str, port: int, root: Path) -> Image:
    """Lay out /app of the image for SERVICE under ROOT, running the uv steps as written."""
    global_args, build, runtime = stages()
    image = Image(root, {})
    for keyword, rest in global_args:
        assert keyword == "ARG"
        name, _, default = rest.partition("=")
        image.args[name] = default
    build_args = {"SERVICE": service, "PORT": str(port)}
    for stage in (build, runtime):
        stage_env: dict[str, str] = {}
        for keyword, rest in stage:
            if keyword == "ARG":
                name, _, default = rest.partition("=")
                image.args[name] = build_args.get(name, default)
            elif keyword == "ENV":
                for item in shlex.split(rest):
                    key, _, value = item.partition("=")
                    image.env[key] = image.map_paths(image.expand(value))
                    stage_env[key] = image.env[key]
            elif keyword == "WORKDIR":
                image.workdir = rest
                assert rest == IMAGE_ROOT
            elif keyword == "COPY":
                parts = rest.split()
                if parts[0].startswith("--from="):
                    assert parts[1:] == [IMAGE_ROOT, IMAGE_ROOT]  # the whole /app, as built
                    continue
                *sources, dest = [image.expand(p) for p in parts]
                target = image.host_path(dest if dest.startswith("/") else
                                         f"{image.workdir}/{dest}")
                for source in sources:
                    copy_into(ROOT / source, target, many=len(sources) > 1 or dest.endswith("/"))
            elif keyword == "RUN":
                command = re.sub(r"^(--mount=\S+\s+)+", "", rest)
                if command.startswith("uv sync"):
                    # Hard links instead of copies and no bytecode: faster, same contents.
                    env = image.run_env(UV_LINK_MODE="hardlink", UV_COMPILE_BYTECODE="0",
                                        UV_PYTHON_DOWNLOADS="never")
                    done = subprocess.run(image.expand(command), check=False, shell=True,
                                          cwd=root, env=env, capture_output=True, text=True,
                                          timeout=300)
                    assert done.returncode == 0, done.stderr
            elif keyword == "CMD":
                image.cmd = rest
        if stage is build:
            image.env = {}  # the runtime stage starts from a fresh base image
    return image


def copy_into(source: Path, target: Path, many: bool) -> None:
    relative = source.relative_to(ROOT).as_posix()
    assert not ignored(relative), f"{relative} is excluded from the build context"
    if source.is_dir():
        for path in source.rglob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if path.is_file() and not ignored(rel):
                dest = target / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
    else:
        dest = target / source.name if many else target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def installed(image: Image) -> set[str]:
    site = next((image.root / ".venv" / "lib").glob("python*/site-packages"))
    return {re.sub(r"-[^-]+\.dist-info$", "", p.name).lower().replace("-", "_")
            for p in site.glob("*.dist-info")}


# --- static checks -----------------------------------------------------------------------------

def test_one_parameterised_dockerfile_installs_one_package_from_the_lock():
    text = DOCKERFILE.read_text()
    syncs = re.findall(r"uv sync[^\n]*", text)
    assert len(syncs) == 2
    for sync in syncs:
        assert "--frozen" in sync and "--no-dev" in sync
        assert '--package "fangpin-${SERVICE}"' in sync
        assert "--all-packages" not in sync
    # Only this service's sources enter the image (other members contribute a manifest).
    copies = [rest for kw, rest in instructions(text) if kw == "COPY"]
    for svc in SERVICES:
        for rest in copies:
            if f"services/{svc}" in rest:
                assert rest == f"services/{svc}/pyproject.toml services/{svc}/", rest
    assert "services/${SERVICE}/ services/${SERVICE}/" in copies
    assert not any(re.match(r"(\S+ )?services/? ", c) for c in copies)
    runtime = stages()[2]
    assert ("USER", "10001") in runtime  # not root
    cmd = dict(runtime)["CMD"]
    assert cmd.startswith("exec uvicorn --factory \"fangpin_${FANGPIN_SERVICE}.main:create_app\"")


def test_build_context_excludes_local_state():
    for path in (".venv/bin/python", "var/monitoring.db", ".git/HEAD",
                 "services/monitoring/src/fangpin_monitoring/__pycache__/main.cpython-311.pyc",
                 "tests/conftest.py", ".env"):
        assert ignored(path), path
    for path in ("uv.lock", "pyproject.toml", "libs/common/src/fangpin_common/bus.py",
                 "services/industry/migrations/env.py", "config/county.yaml"):
        assert not ignored(path), path


# --- the replayed build, migrated and started --------------------------------------------------

def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> dict:
    end = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < end:
        assert proc.poll() is None, f"the service exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return {"status": r.status, "body": r.read()}
        except (urllib.error.URLError, ConnectionError) as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready after {timeout}s: {last!r}")


_images: dict[str, Image] = {}


def built(service: str, tmp_path_factory: pytest.TempPathFactory) -> Image:
    if service not in _images:
        _images[service] = replay(service, SERVICES[service],
                                  tmp_path_factory.mktemp(f"image-{service}") / "app")
    return _images[service]


@pytest.mark.parametrize("service", SERVICES)
def test_image_holds_one_service_and_the_shared_library(service, tmp_path_factory):
    image = built(service, tmp_path_factory)
    port = SERVICES[service]
    # Exactly this service and the shared library, without the development tools.
    packages = installed(image)
    assert {"fangpin_common", f"fangpin_{service}", "fastapi", "asyncpg", "nats_py"} <= packages
    assert not {f"fangpin_{s}" for s in SERVICES if s != service} & packages
    assert not {"pytest", "ruff", "promql_parser", "aiosmtpd"} & packages
    for other in SERVICES:
        assert (image.root / "services" / other / "src").exists() == (other == service)
    assert (image.root / "services" / service / "migrations" / "env.py").exists()
    assert (image.root / "config" / "county.yaml").exists()
    assert image.env["FANGPIN_SERVICE"] == service and image.env["FANGPIN_PORT"] == str(port)
    assert image.env["FANGPIN_COUNTY_CONFIG"] == str(image.root / "config" / "county.yaml")


# Migrating and serving work the same way for every image (same Dockerfile, same CMD); one
# service is enough here, the services' own suites run their migrations.
def test_image_migrates_and_serves_readyz(tmp_path, tmp_path_factory, deploy_nats):
    service = "monitoring"
    port = SERVICES[service]
    image = built(service, tmp_path_factory)

    database = f"sqlite+aiosqlite:///{tmp_path}/{service}.db"
    # The migration job's command, as compose and Kubernetes run it.
    job = load_yaml(ROOT / "docker-compose.yml")["services"][f"{service}-migrate"]["command"]
    done = subprocess.run(job, check=False, env=image.run_env(FANGPIN_DATABASE_URL=database),
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / f"{service}.db") as db:
        assert db.execute("select count(*) from alembic_version").fetchone() == (1,)

    # The image's CMD with the compose environment's shape (loopback and a free port here).
    http_port = free_port()
    env = image.run_env(FANGPIN_DATABASE_URL=database, FANGPIN_NATS_URL=deploy_nats.url(service),
                        FANGPIN_HOST="127.0.0.1", FANGPIN_PORT=str(http_port),
                        FANGPIN_LOG_LEVEL="WARNING")
    proc = subprocess.Popen(["sh", "-c", image.cmd], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = wait_ready(f"http://127.0.0.1:{http_port}/readyz", proc)
        assert ready["status"] == 200
        # Compose's health check, as the container would run it.
        probe = load_yaml(ROOT / "docker-compose.yml")["services"][service]["healthcheck"]["test"]
        probe = [a.replace(f":{port}/", f":{http_port}/") for a in probe[1:]]
        assert subprocess.run(probe, check=False, env=env, timeout=30).returncode == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert f'fangpin_nats_connected{{service="{service}"}} 1.0' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)  # `exec`: uvicorn itself gets it and shuts down
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    # uvicorn re-raises SIGTERM after a clean shutdown (exit 143 in a container).
    assert code in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete." in stderr
