"""The Kubernetes manifests of deploy/k8s/, checked without a cluster.

Every resource is validated with kubernetes-validate in strict mode (unknown fields are errors)
against the oldest and newest Kubernetes versions we claim; then the checks below pin what the
deployment needs: references that resolve, probes, the GPU workers' resources, the autoscaler, and
the same commands as docker-compose.yml.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from evals.config import load_config
from tests.deploy.test_compose import COMPOSE_FILE, load

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
"""What `kubectl apply -f deploy/k8s/` applies, in this (file name) order."""
SECRET_TEMPLATE = K8S / "secret-template" / "turnout-secrets.yaml"
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
"""1.33: the oldest minor release still maintained upstream when this was written; 1.37: the newest
that kubernetes-validate 1.37 knows."""
NAMESPACE = "turnout"


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


ALL = [(path, document) for path in [*MANIFESTS, SECRET_TEMPLATE] for document in documents(path)]


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {document["metadata"]["name"]: document for _, document in ALL if document["kind"] == kind}


def workloads() -> dict[str, dict[str, Any]]:
    """Deployments and Jobs by name."""
    return {**resources("Deployment"), **resources("Job")}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def container(deployment: str) -> dict[str, Any]:
    (only,) = pod_spec(resources("Deployment")[deployment])["containers"]
    return only


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# --- schema ---------------------------------------------------------------------------------------

def test_manifests_exist_and_the_namespace_comes_first() -> None:
    assert [path.name for path in MANIFESTS][0] == "00-namespace.yaml"
    namespace = {"name": NAMESPACE, "labels": {"app.kubernetes.io/name": "turnout"}}
    assert documents(MANIFESTS[0]) == [{"apiVersion": "v1", "kind": "Namespace", "metadata": namespace}]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("path", "document"), ALL,
                         ids=[f"{p.name}:{d['kind']}/{d['metadata']['name']}" for p, d in ALL])
def test_every_resource_is_valid_kubernetes(path: Path, document: dict[str, Any], version: str) -> None:
    # Raises ValidationError for a bad or unknown field, SchemaNotFoundError for an unknown kind.
    kubernetes_validate.validate(document, version, strict=True)


@pytest.mark.parametrize(("path", "key", "value"), [
    (("spec", "template", "spec", "containers", 0, "resources"), "limit", {"nvidia.com/gpu": 1}),  # misspelt
    (("spec", "template", "spec", "containers", 0, "livenessProbe", "exec"), "cmd", ["true"]),    # unknown
    (("spec",), "replicas", "two"),                                                               # not an integer
])
def test_strict_validation_catches_a_broken_manifest(path: tuple[str | int, ...], key: str, value: Any) -> None:
    broken = copy.deepcopy(resources("Deployment")["turnout-worker"])
    parent = broken
    for step in path:
        parent = parent[step]
    parent[key] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


# --- references -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "document"), [(p, d) for p, d in ALL if d["kind"] != "Namespace"],
                         ids=[f"{d['kind']}/{d['metadata']['name']}" for _, d in ALL if d["kind"] != "Namespace"])
def test_everything_lives_in_the_turnout_namespace(path: Path, document: dict[str, Any]) -> None:
    assert document["metadata"]["namespace"] == NAMESPACE


@pytest.mark.parametrize("name", sorted(workloads()))
def test_config_map_and_secret_references_resolve(name: str) -> None:
    config_maps, secrets = set(resources("ConfigMap")), set(resources("Secret"))
    spec = pod_spec(workloads()[name])
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    for volume in volumes.values():
        if "configMap" in volume:
            assert volume["configMap"]["name"] in config_maps
        if "secret" in volume:
            assert volume["secret"]["secretName"] in secrets
    for box in containers(workloads()[name]):
        for source in box.get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps
            if "secretRef" in source:
                assert source["secretRef"]["name"] in secrets
        for variable in box.get("env", []):
            reference = variable.get("valueFrom", {})
            if "configMapKeyRef" in reference:
                ref = reference["configMapKeyRef"]
                assert ref["key"] in resources("ConfigMap")[ref["name"]]["data"]
            if "secretKeyRef" in reference:
                ref = reference["secretKeyRef"]
                assert ref["key"] in resources("Secret")[ref["name"]]["stringData"]
        for mount in box.get("volumeMounts", []):
            assert mount["name"] in volumes, f"{name}/{box['name']} mounts an undeclared volume {mount['name']}"


@pytest.mark.parametrize("name", sorted(workloads()))
def test_every_turnout_container_gets_the_settings_and_the_secrets(name: str) -> None:
    for box in containers(workloads()[name]):
        assert {"configMapRef": {"name": "turnout-env"}} in box["envFrom"]
        assert {"secretRef": {"name": "turnout-secrets"}} in box["envFrom"]


def test_selectors_match_their_pods() -> None:
    pod_labels = [workload["spec"]["template"]["metadata"]["labels"] for workload in workloads().values()]
    for name, deployment in resources("Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items(), name
    for selector in [service["spec"]["selector"] for service in resources("Service").values()] + \
            [budget["spec"]["selector"]["matchLabels"] for budget in resources("PodDisruptionBudget").values()]:
        assert sum(selector.items() <= labels.items() for labels in pod_labels) == 1, selector


def test_api_service_targets_the_named_container_port() -> None:
    (service_port,) = resources("Service")["turnout-api"]["spec"]["ports"]
    ports = {port["name"]: port["containerPort"] for port in container("turnout-api")["ports"]}
    assert ports[service_port["targetPort"]] == 8000


# --- configuration ------------------------------------------------------------------------------------

def test_the_config_map_holds_a_turnout_yaml_that_loads(tmp_path: Path) -> None:
    for key, text in resources("ConfigMap")["turnout-config"]["data"].items():
        (tmp_path / key).write_text(text)  # as the volume mount lays it out
    config = load_config(tmp_path / "turnout.yaml")
    assert config.watches and {spec.kind for spec in config.models.values()} == {"openai", "vllm"}


def test_the_secret_template_names_every_api_key_and_holds_no_secret(tmp_path: Path) -> None:
    for key, text in resources("ConfigMap")["turnout-config"]["data"].items():
        (tmp_path / key).write_text(text)
    named = {spec.api_key_env for spec in load_config(tmp_path / "turnout.yaml").models.values() if spec.api_key_env}
    secret = resources("Secret")["turnout-secrets"]["stringData"]
    assert {"TURNOUT_DATABASE_URL", *named} <= set(secret)
    assert all("CHANGE-ME" in value for value in secret.values())
    assert SECRET_TEMPLATE not in MANIFESTS  # `kubectl apply -f deploy/k8s/` never applies placeholders


def test_non_secret_settings() -> None:
    data = resources("ConfigMap")["turnout-env"]["data"]
    assert data == {"TURNOUT_ENVIRONMENT": "production", "TURNOUT_REDIS_URL": "redis://redis:6379/0"}


# --- processes ------------------------------------------------------------------------------------------

def test_migrate_job_upgrades_then_applies_the_mounted_config() -> None:
    job = resources("Job")["turnout-migrate"]
    (upgrade,) = pod_spec(job)["initContainers"]
    (apply,) = pod_spec(job)["containers"]
    assert upgrade["command"] == ["turnout", "db", "upgrade"]
    assert apply["command"] == ["turnout", "apply", "-f", "/etc/turnout/turnout.yaml"]
    mounts = {mount["mountPath"]: mount["name"] for mount in apply["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod_spec(job)["volumes"]}
    assert volumes[mounts["/etc/turnout"]]["configMap"]["name"] == "turnout-config"
    assert pod_spec(job)["restartPolicy"] == "OnFailure" and job["spec"]["backoffLimit"] >= 1


@pytest.mark.parametrize(("deployment", "service"), [
    ("turnout-api", "api"), ("turnout-scheduler", "scheduler"), ("turnout-worker", "worker"),
    ("turnout-gpu-worker", "gpu-worker"),
])
def test_same_commands_as_docker_compose(deployment: str, service: str) -> None:
    compose = load(COMPOSE_FILE)["services"]
    assert container(deployment)["command"] == compose[service]["command"]


def test_two_schedulers() -> None:
    assert resources("Deployment")["turnout-scheduler"]["spec"]["replicas"] == 2
    assert resources("PodDisruptionBudget")["turnout-scheduler"]["spec"]["minAvailable"] == 1


# --- probes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(resources("Deployment")))
def test_every_long_running_container_has_a_readiness_probe(name: str) -> None:
    for box in pod_spec(resources("Deployment")[name])["containers"]:
        assert "readinessProbe" in box


@pytest.mark.parametrize("name", ["turnout-api", "turnout-scheduler", "turnout-worker"])
def test_liveness_probes(name: str) -> None:
    assert "livenessProbe" in container(name)


def test_gpu_worker_has_no_probe_that_kills_it_mid_batch() -> None:
    # --pool solo answers pings only between tasks, and a run is one long call.
    box = container("turnout-gpu-worker")
    assert "livenessProbe" not in box and "startupProbe" not in box


def test_api_probes_use_health_and_readiness_endpoints() -> None:
    box = container("turnout-api")
    assert box["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert box["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_scheduler_probes_run_its_check() -> None:
    box = container("turnout-scheduler")
    for probe in ("readinessProbe", "livenessProbe"):
        assert box[probe]["exec"]["command"] == ["turnout", "scheduler", "--check"]


@pytest.mark.parametrize("name", ["turnout-worker", "turnout-gpu-worker"])
def test_worker_probes_ping_their_own_node_through_a_shell(name: str) -> None:
    box = container(name)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe in box:
            # exec probes run no shell: without `sh -c`, $HOSTNAME would reach Celery unexpanded.
            assert box[probe]["exec"]["command"] == [
                "sh", "-c", "celery -A jobs.celery_app inspect ping -d celery@$HOSTNAME"]
            assert box[probe]["timeoutSeconds"] >= 10


# --- scaling and GPUs ---------------------------------------------------------------------------------

def test_cpu_workers_scale_with_an_autoscaler() -> None:
    (autoscaler,) = resources("HorizontalPodAutoscaler").values()
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "turnout-worker")
    assert target["name"] in resources("Deployment")
    assert 1 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
    (metric,) = autoscaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # Utilisation is measured against the request, and `replicas` would fight the autoscaler.
    assert container("turnout-worker")["resources"]["requests"]["cpu"]
    assert "replicas" not in resources("Deployment")["turnout-worker"]["spec"]
    assert option(container("turnout-worker")["command"], "-Q") == "replay,score,analyze,alerts"


def test_gpu_workers_take_one_gpu_each_on_gpu_nodes() -> None:
    deployment = resources("Deployment")["turnout-gpu-worker"]
    box = container("turnout-gpu-worker")
    assert box["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert box["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert box["image"].startswith("turnout-gpu:")
    assert (option(box["command"], "-Q"), option(box["command"], "--concurrency")) == ("gpu", "1")
    spec = pod_spec(deployment)
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
    assert any(volume["name"] == "dshm" and volume["emptyDir"]["medium"] == "Memory" for volume in spec["volumes"])


def test_only_gpu_workers_ask_for_gpus() -> None:
    for name, workload in workloads().items():
        if name != "turnout-gpu-worker":
            for box in containers(workload):
                assert "nvidia.com/gpu" not in str(box.get("resources", {})), name
                assert box["image"].startswith("turnout:"), name


@pytest.mark.parametrize("name", sorted(workloads()))
def test_pods_run_as_non_root(name: str) -> None:
    security = pod_spec(workloads()[name])["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    for box in containers(workloads()[name]):
        assert box["securityContext"]["allowPrivilegeEscalation"] is False
