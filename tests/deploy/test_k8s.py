"""Kubernetes manifests: parsed with PyYAML and checked field by field against the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fangpin_common.county import load_county

from .conftest import DEPLOY, SERVICES, check_fangpin_env, load_yaml, load_yaml_all

K8S = DEPLOY / "k8s"


def kustomization() -> dict:
    return load_yaml(K8S / "kustomization.yaml")


def resources() -> list[dict]:
    docs = []
    for name in kustomization()["resources"]:
        docs.extend(load_yaml_all(K8S / name))
    return docs


def find(kind: str, name: str) -> dict:
    hits = [d for d in resources() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) == 1, (kind, name, len(hits))
    return hits[0]


def secret_keys() -> set[str]:
    return set(load_yaml(K8S / "secret.example.yaml")["stringData"])


def generated(name: str) -> dict[str, Path]:
    gen = next(g for g in kustomization()["configMapGenerator"] if g["name"] == name)
    out = {}
    for item in gen["files"]:
        key, _, path = item.partition("=")
        out[key] = (K8S / path).resolve()
    return out


def test_every_manifest_parses_and_has_the_basic_fields():
    assert {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"} \
        == set(kustomization()["resources"])
    docs = resources()
    assert docs
    for d in docs:
        assert d["apiVersion"] and d["kind"] and d["metadata"]["name"], d
        assert "namespace" not in d["metadata"] or d["metadata"]["namespace"] == "fangpin"
    assert kustomization()["namespace"] == "fangpin"
    assert find("Namespace", "fangpin")


def test_county_configmap_is_generated_from_the_one_county_file():
    files = generated("fangpin-county")
    assert set(files) == {"county.yaml"}
    assert files["county.yaml"] == (DEPLOY.parent / "config" / "county.yaml").resolve()
    county = load_county(files["county.yaml"])  # what the services will load
    assert county.townships


def test_nats_configmap_is_the_deploy_configuration():
    files = generated("fangpin-nats-config")
    assert files == {"nats.conf": (DEPLOY / "nats" / "nats.conf").resolve(),
                     "accounts.conf": (DEPLOY / "nats" / "accounts.conf").resolve()}


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def check_env(container: dict) -> None:
    """secretKeyRefs point at keys of fangpin-secrets; $(VAR) refers to an earlier variable."""
    seen: set[str] = set()
    for e in container.get("env", []):
        if "valueFrom" in e:
            ref = e["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "fangpin-secrets" and ref["key"] in secret_keys(), e
        else:
            assert isinstance(e["value"], str), e  # env values must be strings
            for var in re.findall(r"\$\((\w+)\)", e["value"]):
                assert var in seen, f"{e['name']} uses $({var}) before it is defined"
        seen.add(e["name"])


@pytest.mark.parametrize("service", SERVICES)
def test_service_deployment_and_service(service):
    port = SERVICES[service]
    deployment = find("Deployment", service)
    spec = deployment["spec"]
    template = spec["template"]
    labels = template["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    annotations = template["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                           "prometheus.io/path": "/metrics"}
    assert labels["app.kubernetes.io/part-of"] == "fangpin"  # the scrape config keeps these
    pod = template["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"] == f"fangpin/{service}"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}

    env = env_of(container)
    check_env(container)
    check_fangpin_env(service, set(env))
    assert env["FANGPIN_PORT"]["value"] == str(port)
    assert env["FANGPIN_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "database-url"
    # No shared signing secret: the console holds the key, the others read its JWKS.
    assert "FANGPIN_JWT_SECRET" not in env
    if service != "console":
        assert env["FANGPIN_JWKS_URL"]["value"] == "http://console:8005/.well-known/jwks.json"
    assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == \
        f"nats-{service}-password"
    assert env["FANGPIN_NATS_URL"]["value"] == f"nats://{service}:$(NATS_PASSWORD)@nats:4222"
    assert env["FANGPIN_AUTO_MIGRATE"]["value"] == "false"

    # The county file from the generated ConfigMap, where FANGPIN_COUNTY_CONFIG points.
    county_path = Path(env["FANGPIN_COUNTY_CONFIG"]["value"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["county"]["mountPath"] == str(county_path.parent)
    assert volumes["county"]["configMap"]["name"] == "fangpin-county"
    assert volumes["county"]["configMap"]["items"] == [{"key": "county.yaml",
                                                       "path": county_path.name}]
    if container["securityContext"].get("readOnlyRootFilesystem"):
        assert mounts["tmp"]["mountPath"] == "/tmp" and "emptyDir" in volumes["tmp"]

    # Migrations before the service: an init container running `fangpin migrate <service>`.
    (init,) = pod["initContainers"]
    assert init["image"] == container["image"]
    assert init["command"] == ["fangpin", "migrate", service]
    check_env(init)
    check_fangpin_env(service, set(env_of(init)))
    assert env_of(init)["FANGPIN_DATABASE_URL"] == env["FANGPIN_DATABASE_URL"]
    for mount in init["volumeMounts"]:
        assert mount["name"] in volumes

    svc = find("Service", service)
    assert svc["spec"]["selector"].items() <= labels.items()
    (sport,) = svc["spec"]["ports"]
    assert sport["port"] == port and sport["targetPort"] == "http"

    assert {"name": f"fangpin/{service}", "newTag": "latest"} in kustomization()["images"]


def test_nats_statefulset_keeps_jetstream_on_a_volume():
    sts = find("StatefulSet", "nats")
    spec = sts["spec"]
    assert spec["replicas"] == 1
    headless = find("Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    client = find("Service", "nats")
    assert {p["port"] for p in client["spec"]["ports"]} == {4222}
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["nats-server", "--config", "/etc/nats/nats.conf"]
    check_env(container)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["config"] == "/etc/nats"
    assert volumes["config"]["configMap"]["name"] == "fangpin-nats-config"
    # The JetStream store_dir of nats.conf lies on the claimed volume.
    store_dir = re.search(r'store_dir:\s*"([^"]+)"', (DEPLOY / "nats" / "nats.conf").read_text())
    (claim,) = spec["volumeClaimTemplates"]
    assert store_dir.group(1).startswith(mounts[claim["metadata"]["name"]] + "/")
    size = claim["spec"]["resources"]["requests"]["storage"]
    max_store = re.search(r"max_file_store:\s*(\d+)GB", (DEPLOY / "nats" / "nats.conf").read_text())
    assert int(size.removesuffix("Gi")) > int(max_store.group(1))
    assert "js-enabled-only=true" in container["readinessProbe"]["httpGet"]["path"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"client": 4222, "monitor": 8222}
    assert pod["securityContext"]["fsGroup"]  # the volume is writable by the non-root user


def test_secret_is_referenced_not_shipped():
    assert not [d for d in resources() if d["kind"] == "Secret"]
    example = load_yaml(K8S / "secret.example.yaml")
    assert example["kind"] == "Secret" and example["metadata"]["name"] == "fangpin-secrets"
    assert "secret.example.yaml" not in kustomization()["resources"]
    used = set()
    for d in resources():
        for container in _containers(d):
            for e in container.get("env", []):
                if "valueFrom" in e:
                    used.add(e["valueFrom"]["secretKeyRef"]["key"])
    assert used == secret_keys()


def _containers(doc: dict) -> list[dict]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    return pod.get("initContainers", []) + pod.get("containers", [])
