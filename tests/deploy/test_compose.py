"""docker-compose.yml and its GPU override, checked without a Docker engine.

The files are interpolated the way Compose does it (`${VAR:-default}`, `${VAR:?message}`, `$$`),
then validated against the Compose Specification's JSON schema. The schema is the copy of the
compose-spec project's `schema/compose-spec.json` that check-jsonschema (a dev dependency) vendors
for its `check-compose-spec` hook and refreshes with each release (0.39.0 ships a draft 2020-12 copy
of 91 kB); `test_schema_is_the_compose_spec` prints the version in use. On top of the schema, the
checks below pin what Turnout needs of the deployment: DESIGN.md section 4 and issue 5, item 7.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from jobs.celery_app import QUEUES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
GPU_OVERRIDE_FILE = ROOT / "deploy" / "docker-compose.gpu.yml"
ENV = {"POSTGRES_PASSWORD": "s3cret"}
"""The one variable a user must set (in .env); everything else has a default."""

TURNOUT_SERVICES = ("migrate", "apply", "api", "worker", "scheduler", "gpu-worker")
LONG_RUNNING = ("postgres", "redis", "api", "worker", "scheduler", "gpu-worker")
ONE_SHOT = ("migrate", "apply")

_VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


class MissingVariable(Exception):
    """A `${VAR:?message}` whose variable is unset."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Substitute variables in every string of *value*, as Compose does before it validates."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        escaped, name, operator, argument, bare = match.groups()
        if escaped:
            return "$"
        name = name or bare
        present = name in env and (env[name] != "" or operator in ("-", "?"))
        if operator in (":-", "-"):
            return env[name] if present else argument
        if operator in (":?", "?"):
            if not present:
                raise MissingVariable(f"{name}: {argument}")
            return env[name]
        return env.get(name, "")

    return _VARIABLE.sub(substitute, value)


def load(path: Path, env: Mapping[str, str] = ENV) -> dict[str, Any]:
    """A Compose file, YAML anchors and merge keys resolved, variables interpolated."""
    return interpolate(yaml.safe_load(path.read_text()), env)


_REPLACED = {"command", "entrypoint"}
"""Compose's merge exceptions: these sequences are replaced, not appended to (so is healthcheck.test)."""


def merge(base: Any, override: Any, key: str = "") -> Any:
    """Compose's merge of an override file: mappings merge, sequences append (compose-spec's merge rules)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            merged[name] = merge(base[name], value, name) if name in base else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(override, list) and key not in _REPLACED | {"test"}:
        return base + [item for item in override if item not in base]
    return copy.deepcopy(override)


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(vendored.read_text())


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE_FILE)


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return merge(load(COMPOSE_FILE), load(GPU_OVERRIDE_FILE))


def services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return document["services"]


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """The service's dependencies as {name: condition}, from either of Compose's two forms."""
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return {name: "service_started" for name in declared}
    return {name: spec.get("condition", "service_started") for name, spec in declared.items()}


def argv(command: str | list[str]) -> list[str]:
    return command.split() if isinstance(command, str) else list(command)


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def gpu_devices(service: dict[str, Any]) -> list[dict[str, Any]]:
    return service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])


# --- the schema --------------------------------------------------------------------------------

def test_schema_is_the_compose_spec() -> None:
    schema = compose_schema()
    print(f"compose-spec.json from check-jsonschema {metadata.version('check-jsonschema')}: {schema['$id']}")
    assert schema["title"] == "Compose Specification"
    assert "service_completed_successfully" in json.dumps(schema)


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


def test_compose_file_with_the_gpu_override_matches_the_compose_specification(merged: dict[str, Any]) -> None:
    assert schema_errors(merged) == []


@pytest.mark.parametrize(("path", "value"), [
    (("services", "api", "depends_on", "migrate", "condition"), "service_completed"),  # not a condition
    (("services", "scheduler", "deploy"), {"replica": 2}),  # misspelt key
    (("services", "gpu-worker", "deploy", "resources", "reservations", "devices"), [{"driver": "nvidia", "gpu": 1}]),
    (("services", "redis", "healtcheck"), {"test": ["CMD", "redis-cli", "ping"]}),  # misspelt key
])
def test_the_schema_catches_a_broken_file(compose: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    broken = copy.deepcopy(compose)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    assert schema_errors(broken)


def test_only_the_postgres_password_must_be_set() -> None:
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        load(COMPOSE_FILE, env={})
    load(COMPOSE_FILE, env=ENV)  # every other variable has a default


# --- services and their order --------------------------------------------------------------------

def test_the_services_of_design_section_4(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {"postgres", "redis", "migrate", "apply", "api", "worker", "gpu-worker",
                                      "scheduler"}


@pytest.mark.parametrize("document", ["compose", "merged"])
def test_every_dependency_exists_and_is_always_started(document: str, request: pytest.FixtureRequest) -> None:
    declared = services(request.getfixturevalue(document))
    for name, service in declared.items():
        for target in depends_on(service):
            assert target in declared, f"{name} depends on {target}, which is not a service"
            # A service outside every profile must not wait for one that only a profile starts.
            if not service.get("profiles"):
                assert not declared[target].get("profiles"), f"{name} depends on {target} of a profile"


def test_migrate_runs_once_after_postgres_is_healthy(compose: dict[str, Any]) -> None:
    migrate = services(compose)["migrate"]
    assert argv(migrate["command"]) == ["turnout", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert depends_on(migrate) == {"postgres": "service_healthy"}


@pytest.mark.parametrize("name", ["apply", "api", "worker", "scheduler", "gpu-worker"])
def test_turnout_processes_start_after_migrate_succeeded(compose: dict[str, Any], name: str) -> None:
    assert depends_on(services(compose)[name])["migrate"] == "service_completed_successfully"


def test_apply_loads_the_mounted_turnout_yaml(compose: dict[str, Any]) -> None:
    apply = services(compose)["apply"]
    assert argv(apply["command"]) == ["turnout", "apply", "-f", "/etc/turnout/turnout.yaml"]
    assert apply["restart"] == "no"
    source, target, mode = apply["volumes"][0].split(":")
    assert (target, mode) == ("/etc/turnout", "ro")
    assert (ROOT / source / "turnout.yaml").is_file()  # the default config folder exists


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_a_health_check_and_restart(compose: dict[str, Any], name: str) -> None:
    service = services(compose)[name]
    assert service["healthcheck"]["test"]
    assert service["restart"] == "unless-stopped"


# --- each process ------------------------------------------------------------------------------

def test_postgres_health_check_and_volume(compose: dict[str, Any]) -> None:
    postgres = services(compose)["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(volume.startswith("pgdata:") for volume in postgres["volumes"])
    assert "pgdata" in compose["volumes"]


def test_redis_persists_its_queues(compose: dict[str, Any]) -> None:
    redis = services(compose)["redis"]
    args = argv(redis["command"])
    assert option(args, "--appendonly") == "yes"
    assert "redisdata:/data" in redis["volumes"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_api_serves_on_port_8000_and_checks_readiness(compose: dict[str, Any]) -> None:
    api = services(compose)["api"]
    assert argv(api["command"]) == ["turnout", "api", "--host", "0.0.0.0", "--port", "8000"]
    assert api["ports"] == ["8000:8000"]
    assert "http://127.0.0.1:8000/readyz" in " ".join(api["healthcheck"]["test"])


def test_workers_consume_every_queue_of_the_celery_app(compose: dict[str, Any]) -> None:
    cpu = argv(services(compose)["worker"]["command"])
    gpu = argv(services(compose)["gpu-worker"]["command"])
    cpu_queues, gpu_queues = option(cpu, "-Q").split(","), option(gpu, "-Q").split(",")
    assert cpu_queues == ["replay", "score", "analyze", "alerts"]
    assert gpu_queues == ["gpu"]
    assert sorted(cpu_queues + gpu_queues) == sorted(QUEUES)


def test_worker_commands(compose: dict[str, Any]) -> None:
    cpu = argv(services(compose)["worker"]["command"])
    gpu = argv(services(compose)["gpu-worker"]["command"])
    assert cpu[:4] == gpu[:4] == ["celery", "-A", "jobs.celery_app", "worker"]
    assert option(cpu, "--concurrency") == "4"
    assert (option(gpu, "--concurrency"), option(gpu, "--pool")) == ("1", "solo")


def test_worker_health_checks_ping_their_own_node(compose: dict[str, Any]) -> None:
    for name in ("worker", "gpu-worker"):
        test = services(compose)[name]["healthcheck"]["test"]
        # `$$` in the file is a literal `$` for the container's shell to expand.
        assert test == ["CMD-SHELL", "celery -A jobs.celery_app inspect ping -d celery@$HOSTNAME"]


def test_two_schedulers(compose: dict[str, Any]) -> None:
    scheduler = services(compose)["scheduler"]
    assert argv(scheduler["command"]) == ["turnout", "scheduler"]
    assert scheduler["deploy"]["replicas"] == 2
    assert "container_name" not in scheduler  # a fixed name would allow one replica only
    assert scheduler["healthcheck"]["test"] == ["CMD", "turnout", "scheduler", "--check"]


def test_gpu_worker_reserves_one_nvidia_gpu_in_the_gpu_profile(compose: dict[str, Any]) -> None:
    gpu_worker = services(compose)["gpu-worker"]
    assert gpu_worker["profiles"] == ["gpu"]
    (device,) = gpu_devices(gpu_worker)
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    assert device.get("count") == 1 or len(device.get("device_ids", [])) == 1
    assert gpu_worker["build"]["dockerfile"] == "deploy/gpu.Dockerfile"
    assert all(not gpu_devices(service) for name, service in services(compose).items() if name != "gpu-worker")


def test_gpu_override_adds_one_worker_per_further_gpu(compose: dict[str, Any], merged: dict[str, Any]) -> None:
    main = services(compose)["gpu-worker"]
    added = {name: service for name, service in services(merged).items() if name not in services(compose)}
    assert added, "the override adds GPU workers"
    devices = list(gpu_devices(main)[0]["device_ids"])
    for name, worker in added.items():
        (device,) = gpu_devices(worker)
        assert (device["driver"], device["capabilities"]) == ("nvidia", ["gpu"]), name
        devices += device["device_ids"]
        for same in ("image", "command", "environment", "env_file", "profiles", "depends_on", "healthcheck",
                     "volumes", "ipc"):
            assert worker[same] == main[same], f"{name}.{same} differs from gpu-worker's"
    assert len(devices) == len(set(devices)), f"two GPU workers share a GPU: {devices}"
    # The override leaves every service of the main file as it was.
    assert {name: services(merged)[name] for name in services(compose)} == services(compose)


# --- environment --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TURNOUT_SERVICES)
def test_turnout_processes_reach_postgres_and_redis(compose: dict[str, Any], name: str) -> None:
    postgres = services(compose)["postgres"]["environment"]
    env = services(compose)[name]["environment"]
    user, password, db = postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"]
    assert env["TURNOUT_DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    assert env["TURNOUT_REDIS_URL"] == "redis://redis:6379/0"
    assert env["TURNOUT_ENVIRONMENT"] == "production"
    # Model API keys come from .env under the names turnout.yaml gives them, never from this file.
    assert services(compose)[name]["env_file"] == [{"path": ".env", "required": False}]
    assert not [key for key in env if key.endswith(("_API_KEY", "_TOKEN"))]


# --- the images ---------------------------------------------------------------------------------

def dockerfile(path: str) -> list[str]:
    """A Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / path).read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("service", ["migrate", "apply", "api", "worker", "scheduler", "gpu-worker"])
def test_images_are_built_from_dockerfiles_that_exist(compose: dict[str, Any], service: str) -> None:
    build = services(compose)[service]["build"]
    assert build["context"] == "."
    assert (ROOT / build["dockerfile"]).is_file()


@pytest.mark.parametrize("path", ["deploy/Dockerfile", "deploy/gpu.Dockerfile"])
def test_dockerfiles_copy_files_that_exist_and_run_as_non_root(path: str) -> None:
    lines = dockerfile(path)
    for line in lines:
        if line.startswith("COPY") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"{path}: {source} is not in the repository"
    users = [line.split()[1] for line in lines if line.startswith("USER")]
    assert users and not users[-1].startswith(("root", "0")), f"{path} must end as a non-root user"


def test_cpu_image_is_python_slim_with_the_web_stack() -> None:
    lines = dockerfile("deploy/Dockerfile")
    assert [line for line in lines if line.startswith("FROM")][-1] == "FROM python:3.11-slim"
    assert any(line.startswith("RUN") and "pip install" in line and '".[api]"' in line for line in lines)


def test_gpu_image_is_vllm_with_the_core_only() -> None:
    lines = dockerfile("deploy/gpu.Dockerfile")
    assert "FROM vllm/vllm-openai:${VLLM_VERSION}" in lines
    installs = " ".join(line for line in lines if "pip install" in line)
    assert re.search(r" /app( |$)", installs), "the core is installed from /app, without extras"
    assert not re.search(r"\[(api|embeddings)", installs), "the GPU image must not install the web stack or torch pins"
    assert any(line.startswith("ENTRYPOINT []") for line in lines), "vLLM's `vllm serve` entrypoint is reset"
