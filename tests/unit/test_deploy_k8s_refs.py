"""What the Kubernetes resources of each overlay (deploy/k8s/overlays, built as kustomize
would) say about each other and about the project: selectors, ports, probes, names of
ConfigMaps, Secrets and scale targets, the apps the workers run, their partitions,
consumer groups and mailboxes, the settings, the image's user and the drain deadline."""

from __future__ import annotations

from collections import Counter

import pytest

from config import Settings
from config.settings import Limits
from streams.worker import STOP_GRACE
from tests.unit.manifests import (
    K8S,
    OVERLAYS,
    Doc,
    build,
    cli_commands,
    containers,
    dockerfile_user,
    gateway_get_paths,
    load_app,
    load_docs,
    mailboxes,
    named,
    of_kind,
    pod_spec,
    unknown_settings,
    workers,
)

SETTINGS_MAP = "agentstream-settings"
CREDENTIALS = load_docs(K8S / "credentials" / "secret.yaml")[0]
AUTOSCALERS = ("HorizontalPodAutoscaler", "ScaledObject")


@pytest.fixture(params=OVERLAYS, ids=lambda p: p.name)
def docs(request: pytest.FixtureRequest) -> list[Doc]:
    return build(request.param)


def settings_env(docs: list[Doc]) -> dict[str, str]:
    config_map = named(docs, "ConfigMap", SETTINGS_MAP)
    assert config_map is not None
    return dict(config_map["data"])


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def selected(docs: list[Doc], selector: dict[str, str]) -> list[str]:
    """The Deployments whose pods ``selector`` selects."""
    return [
        d["metadata"]["name"]
        for d in of_kind(docs, "Deployment")
        if matches(selector, d["spec"]["template"]["metadata"]["labels"])
    ]


def test_names_are_unique_and_in_one_namespace(docs: list[Doc]) -> None:
    keys = Counter((d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs)
    assert [k for k, n in keys.items() if n > 1] == []
    (namespace,) = of_kind(docs, "Namespace")
    spaces = {d["metadata"]["namespace"] for d in docs if d["kind"] != "Namespace"}
    assert spaces == {namespace["metadata"]["name"]}


def test_each_deployment_selects_its_own_pods(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selected(docs, selector) == [deployment["metadata"]["name"]]


def test_services_and_budgets_select_one_deployment_and_its_ports(docs: list[Doc]) -> None:
    for service in of_kind(docs, "Service"):
        (target,) = selected(docs, service["spec"]["selector"])
        (container,) = containers(named(docs, "Deployment", target) or {})
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in set(ports) | set(ports.values()), service["metadata"]
    for budget in of_kind(docs, "PodDisruptionBudget"):
        assert len(selected(docs, budget["spec"]["selector"]["matchLabels"])) == 1


def test_env_comes_from_the_settings_and_the_credentials(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        for container in containers(deployment):
            sources = container["envFrom"]
            maps = {s["configMapRef"]["name"] for s in sources if "configMapRef" in s}
            secrets = {s["secretRef"]["name"] for s in sources if "secretRef" in s}
            assert maps == {SETTINGS_MAP}
            assert all(named(docs, "ConfigMap", m) for m in maps)
            # The Secret is in the overlay (local) or created beforehand under this name.
            assert secrets == {CREDENTIALS["metadata"]["name"]}
            assert "env" not in container, "settings belong in the ConfigMap or the Secret"


def test_configured_names_are_settings_that_parse(
    docs: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = settings_env(docs) | CREDENTIALS["stringData"]
    assert unknown_settings(sorted(env)) == []
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.kafka.bootstrap_servers == env["AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS"]


def test_probes_and_scrape_annotations_hit_the_container_ports(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        (container,) = containers(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] in ports, (deployment["metadata"], probe)
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") == "true":
            assert int(annotations["prometheus.io/port"]) == ports["metrics"]
            assert annotations["prometheus.io/path"] == "/metrics"


def test_workers_probe_their_endpoints_and_are_scraped(docs: list[Doc]) -> None:
    web_port = int(settings_env(docs)["AGENTSTREAM_WEB_PORT"])
    for name in workers(docs):
        deployment = named(docs, "Deployment", name) or {}
        (container,) = containers(deployment)
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": web_port}
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"


def test_the_gateway_listens_where_probed(docs: list[Doc]) -> None:
    env = settings_env(docs)
    (gateway,) = [
        c for d in of_kind(docs, "Deployment") for c in containers(d) if c["args"] == ["console"]
    ]
    assert "console" in cli_commands()
    assert env["AGENTSTREAM_GATEWAY__HOST"] == "0.0.0.0"  # noqa: S104 - the pod's interfaces
    assert gateway["ports"] == [
        {"name": "http", "containerPort": int(env["AGENTSTREAM_GATEWAY__PORT"]), "protocol": "TCP"}
    ]
    paths = gateway_get_paths()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert gateway[probe]["httpGet"]["path"] in paths


def test_pods_run_as_the_image_user_on_a_read_only_root(docs: list[Doc]) -> None:
    uid, _, gid = dockerfile_user().partition(":")
    for deployment in of_kind(docs, "Deployment"):
        pod = pod_spec(deployment)
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True
        assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in containers(deployment):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            # Where the processes write (the Dockerfile says what): writable volumes.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert {"/tmp", "/app"} <= set(mounts)  # noqa: S108 - a volume, not a temp file
            assert all("emptyDir" in volumes[mounts[p]] for p in ("/tmp", "/app"))  # noqa: S108
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) == {"cpu", "memory"}


def test_workers_outlive_their_drain(docs: list[Doc]) -> None:
    shutdown = float(
        settings_env(docs).get("AGENTSTREAM_LIMITS__SHUTDOWN_TIMEOUT", Limits().shutdown_timeout)
    )
    for name in workers(docs):
        grace = pod_spec(named(docs, "Deployment", name) or {})["terminationGracePeriodSeconds"]
        assert grace > shutdown + STOP_GRACE


def test_each_deployment_has_one_autoscaler_on_a_real_target(docs: list[Doc]) -> None:
    targets = Counter()
    for scaler in (d for d in docs if d["kind"] in AUTOSCALERS):
        ref = scaler["spec"]["scaleTargetRef"]
        assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment")
        assert named(docs, "Deployment", ref["name"]) is not None, ref
        targets[ref["name"]] += 1
    deployments = [d["metadata"]["name"] for d in of_kind(docs, "Deployment")]
    assert targets == Counter(deployments), "one autoscaler per Deployment: KEDA or the HPA"
    for deployment in of_kind(docs, "Deployment"):
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


def _replicas(scaler: Doc) -> tuple[int, int]:
    spec = scaler["spec"]
    if scaler["kind"] == "ScaledObject":
        return spec["minReplicaCount"], spec["maxReplicaCount"]
    return spec["minReplicas"], spec["maxReplicas"]


def test_workers_scale_within_their_partitions(docs: list[Doc]) -> None:
    for name, app_path in workers(docs).items():
        app = load_app(app_path)
        (scaler,) = [d for d in docs if d["kind"] in AUTOSCALERS and d["metadata"]["name"] == name]
        low, high = _replicas(scaler)
        assert 1 <= low <= high <= app.partitions, (name, app.partitions)


def test_keda_triggers_watch_every_mailbox_of_the_group(docs: list[Doc]) -> None:
    apps = workers(docs)
    for scaled in of_kind(docs, "ScaledObject"):
        target = scaled["spec"]["scaleTargetRef"]
        app = load_app(apps[target["name"]])
        triggers = scaled["spec"]["triggers"]
        assert {t["type"] for t in triggers} == {"kafka"}
        meta = [t["metadata"] for t in triggers]
        assert {m["consumerGroup"] for m in meta} == {app.id}
        assert {m["offsetResetPolicy"] for m in meta} == {"earliest"}
        topics = [m["topic"] for m in meta]
        assert sorted(topics) == sorted(mailboxes(app)), "one trigger per mailbox"
        assert all(int(m["lagThreshold"]) > 0 for m in meta)
        # Kafka 4 serves no protocol version older than 2.1's.
        assert all(tuple(map(int, m["version"].split("."))) >= (2, 1) for m in meta)
        # The brokers come from the environment of the container KEDA reads, which
        # gets them from the settings ConfigMap.
        (container,) = [
            c
            for c in containers(named(docs, "Deployment", target["name"]) or {})
            if c["name"] == target["envSourceContainerName"]
        ]
        assert {"configMapRef": {"name": SETTINGS_MAP}} in container["envFrom"]
        assert {m["bootstrapServersFromEnv"] for m in meta} == {
            "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS"
        }
        assert "AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS" in settings_env(docs)


def test_the_local_overlay_runs_the_compose_image() -> None:
    (local,) = [p for p in OVERLAYS if p.name == "local"]
    images = {c["image"] for d in build(local) for c in containers(d)}
    assert images == {"agentstream:local"}
