"""docker-compose.yml: the production-like stack, checked without Docker."""

from __future__ import annotations

import re

import pytest

from .conftest import DEPLOY, ROOT, SERVICES, check_fangpin_env, load_yaml, settings_class

COMPOSE = ROOT / "docker-compose.yml"


def compose() -> dict:
    return load_yaml(COMPOSE)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} against an environment."""
    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if name in env and env[name] != "":
            return env[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {arg}")
        return arg if op == ":-" else ""
    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def example_env() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key] = value
    return out


def test_the_stack_has_every_component():
    services = set(compose()["services"])
    assert {"postgres", "nats", "prometheus", "grafana", *SERVICES} <= services
    assert {f"{s}-migrate" for s in SERVICES} <= services


def test_every_long_running_container_has_a_healthcheck():
    for name, svc in compose()["services"].items():
        if name.endswith("-migrate"):
            assert svc["restart"] == "no"
            continue
        test = svc["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1, name


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_built_from_the_one_dockerfile_and_checked_on_readyz(service):
    port = SERVICES[service]
    assert settings_class(service).model_fields["port"].default == port  # the code's port
    stack = compose()["services"]
    svc = stack[service]
    build = svc["build"]
    assert build["context"] == "." and build["dockerfile"] == "deploy/docker/Dockerfile"
    assert build["args"] == {"SERVICE": service, "PORT": str(port)}
    assert svc["image"].startswith(f"fangpin/{service}:")
    test = svc["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert f"'http://127.0.0.1:{port}/readyz'" in test[3]
    compile(test[3], "healthcheck", "exec")  # the probe is valid Python
    assert svc["ports"] == [f"${{FANGPIN_BIND:-127.0.0.1}}:{port}:{port}"]
    assert svc["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "nats": {"condition": "service_healthy"},
        f"{service}-migrate": {"condition": "service_completed_successfully"},
    }
    # Migrations: a one-shot job from the same image, before the service starts.
    job = stack[f"{service}-migrate"]
    assert job["command"] == ["fangpin", "migrate", service]
    assert job["image"] == svc["image"] and job["build"] == build
    assert job["environment"]["FANGPIN_DATABASE_URL"] == svc["environment"]["FANGPIN_DATABASE_URL"]
    assert svc["environment"]["FANGPIN_AUTO_MIGRATE"] == "false"


@pytest.mark.parametrize("service", SERVICES)
def test_service_environment_gives_the_settings_the_code_expects(service, monkeypatch):
    """Load the service's own settings class from the environment compose gives it."""
    env = compose()["services"][service]["environment"]
    check_fangpin_env(service, set(env))
    values = {k: interpolate(v, example_env()) for k, v in env.items()}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = settings_class(service)(_env_file=None)
    assert settings.is_postgres and settings.schema == service  # one URL, own schema
    assert settings.resolved_database_url().startswith("postgresql+asyncpg://fangpin:")
    assert settings.resolved_database_url().endswith("@postgres:5432/fangpin")
    assert settings.nats_url == (f"nats://{service}:{example_env()[f'NATS_{service.upper()}_PASSWORD']}"
                                 "@nats:4222")
    # No shared secret: the console signs, every other service trusts its public keys.
    assert "FANGPIN_JWT_SECRET" not in env
    if service != "console":
        assert settings.jwks_url == "http://console:8005/.well-known/jwks.json"
    assert str(settings.county_config) == "/etc/fangpin/county.yaml"
    mounts = compose()["services"][service]["volumes"]
    assert "./config/county.yaml:/etc/fangpin/county.yaml:ro" in mounts


def test_secrets_are_required_and_documented_in_the_example():
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    referenced = set(re.findall(r"\$\{(\w+)", text))
    example = example_env()
    assert {"POSTGRES_PASSWORD", "NATS_CONSOLE_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} <= required
    assert referenced <= set(example), referenced - set(example)
    # Without the .env the stack does not start with a default secret.
    with pytest.raises(KeyError):
        interpolate(compose()["x-fangpin-env"]["FANGPIN_DATABASE_URL"], {})
    # The example's names do not collide with the services' own FANGPIN_* settings (a .env at
    # the repository root is also read by `make run`).
    for key in example:
        if key.startswith("FANGPIN_"):
            assert key[len("FANGPIN_"):].lower() not in {"database_url", "nats_url",
                                                          "jwt_secret", "port"}


def test_infrastructure_containers_use_the_deploy_files():
    stack = compose()["services"]
    nats = stack["nats"]
    assert nats["command"] == ["nats-server", "--config", "/etc/nats/nats.conf"]
    assert "./deploy/nats:/etc/nats:ro" in nats["volumes"]
    assert "nats-data:/data" in nats["volumes"]  # store_dir /data/jetstream is on the volume
    assert "js-enabled-only=true" in " ".join(nats["healthcheck"]["test"])
    assert "pg_isready" in " ".join(stack["postgres"]["healthcheck"]["test"])
    for name, svc in stack.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in compose()["volumes"], (name, source)
