"""docker-compose.yml, offline (no Docker engine needed): against the Compose
Specification's JSON schema (vendored in deploy/schemas), then what it says about the
project: mounted files, build paths, dependencies, the apps and commands it runs, the
settings it passes, Prometheus's targets and rules, the drain deadline."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from config import Settings
from config.settings import Limits
from streams.worker import STOP_GRACE
from tests.unit.manifests import (
    ROOT,
    SCHEMAS,
    cli_commands,
    gateway_get_paths,
    load_app,
    unknown_settings,
)

COMPOSE = ROOT / "docker-compose.yml"
RAW = COMPOSE.read_text(encoding="utf-8")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ...; $$ is a literal $.
VARIABLE = re.compile(r"\$\{([^}]*)\}")
DURATION = re.compile(r"(\d+)(h|ms|m|s)")
SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def interpolate(text: str) -> str:
    """``text`` as compose reads it when none of its variables is set."""

    def default(match: re.Match[str]) -> str:
        name, separator, value = match.group(1).partition(":-")
        assert separator, f"${{{name}}} has no default"
        return value

    return VARIABLE.sub(default, text.replace("$$", "\0")).replace("\0", "$")


COMPOSE_DOC: dict[str, Any] = yaml.safe_load(interpolate(RAW))
SERVICES: dict[str, Any] = COMPOSE_DOC["services"]
OURS = {name: s for name, s in SERVICES.items() if s.get("image") == "agentstream:local"}
WORKERS = {name: s for name, s in OURS.items() if s["command"][0] == "worker"}


def compose_validator() -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def seconds(duration: str) -> float:
    parts = DURATION.findall(duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * SECONDS[u] for n, u in parts)


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of the service's bind mounts (short syntax)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = (ROOT / source).resolve()
    return mounts


def prometheus_config() -> tuple[Path, dict[str, Any]]:
    """The host path of the file Prometheus loads (--config.file), and its content."""
    prometheus = SERVICES["prometheus"]
    (flag,) = [c for c in prometheus["command"] if c.startswith("--config.file=")]
    inside = Path(flag.partition("=")[2])
    for target, host in bind_mounts(prometheus).items():
        if inside == Path(target) or Path(target) in inside.parents:
            path = host / inside.relative_to(target)
            return path, yaml.safe_load(path.read_text(encoding="utf-8"))
    raise AssertionError(f"{inside} is not mounted into the prometheus service")


def test_every_variable_has_a_default() -> None:
    variables = VARIABLE.findall(RAW)
    assert variables
    assert [v for v in variables if ":-" not in v] == []


def test_the_file_matches_the_compose_spec() -> None:
    compose_validator().validate(COMPOSE_DOC)


def test_the_validator_refuses_what_compose_would() -> None:
    validator = compose_validator()
    broken = copy.deepcopy(COMPOSE_DOC)
    broken["services"]["redis"]["healthcheck"]["intervall"] = "5s"
    assert not validator.is_valid(broken)
    broken = copy.deepcopy(COMPOSE_DOC)
    broken["services"]["gateway"]["depends_on"]["kafka"]["condition"] = "healthy"
    assert not validator.is_valid(broken)


def test_dependencies_are_services_with_health_checks() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, (name, dependency)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], (name, dependency)
            assert not set(SERVICES[dependency].get("profiles", [])), "a dependency always runs"


def test_mounted_and_built_paths_exist() -> None:
    for name, service in SERVICES.items():
        for host in bind_mounts(service).values():
            assert host.exists(), (name, host)
            assert ROOT in host.parents, (name, host)
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_our_services_run_real_commands_and_apps() -> None:
    commands = cli_commands()
    assert set(WORKERS) == {"support-worker", "content-worker", "echo-worker"}
    for name, service in OURS.items():
        assert service["command"][0] in commands, name
    for name, service in WORKERS.items():
        app = load_app(service["command"][1])
        assert app.id in name, f"{name} runs app {app.id!r}"


def test_settings_passed_are_settings_that_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in OURS.values():
        env = {k: str(v) for k, v in service["environment"].items()}
        assert unknown_settings(sorted(env)) == []
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            Settings(_env_file=None)


def test_workers_are_healthy_when_ready_and_drain_before_being_killed() -> None:
    for name, worker in WORKERS.items():
        env = worker["environment"]
        port = env["AGENTSTREAM_WEB_PORT"]
        assert worker["expose"] == [port]
        assert f"127.0.0.1:{port}/readyz" in " ".join(worker["healthcheck"]["test"]), name
        shutdown = float(env.get("AGENTSTREAM_LIMITS__SHUTDOWN_TIMEOUT", Limits().shutdown_timeout))
        assert seconds(worker["stop_grace_period"]) > shutdown + STOP_GRACE, name


def test_prometheus_finds_every_worker_and_its_rules() -> None:
    path, config = prometheus_config()
    names = {
        n
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for n in sd["names"]
    }
    assert names
    for name, worker in WORKERS.items():
        aliases = worker["networks"]["default"]["aliases"]
        assert names <= {name, *aliases}, f"{name} is not among Prometheus's targets {names}"
    for pattern in config.get("rule_files", []):
        assert list(path.parent.glob(pattern)), f"{pattern}: no such rule file next to {path}"


def test_the_gateway_listens_where_published_and_probed() -> None:
    gateway = SERVICES["gateway"]
    env = gateway["environment"]
    port = env["AGENTSTREAM_GATEWAY__PORT"]
    assert [p.rpartition(":")[2] for p in gateway["ports"]] == [port]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)'", " ".join(gateway["healthcheck"]["test"]))
    assert url is not None
    assert url.group(1) == port
    assert url.group(2) in gateway_get_paths()


def test_published_ports_stay_on_the_host() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def test_our_containers_write_only_to_their_tmpfs() -> None:
    for name, service in OURS.items():
        assert service["read_only"] is True, name
        assert set(service["tmpfs"]) == {"/tmp", "/app"}, name  # noqa: S108 - tmpfs mounts
