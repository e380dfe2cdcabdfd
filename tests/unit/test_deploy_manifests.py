"""The Kubernetes manifests in deploy/k8s against their schemas, offline: every resource
against the Kubernetes API schemas that kubernetes-validate ships, KEDA's ScaledObjects
against the CRD schema vendored in deploy/schemas; and the kustomizations (every file
listed, every entry there). What the resources say about each other and about the
project is checked in test_deploy_k8s_refs.py."""

from __future__ import annotations

import copy
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.unit.manifests import (
    K8S,
    KUSTOMIZE_FIELDS,
    OVERLAYS,
    SCHEMAS,
    Doc,
    kustomization,
    load_docs,
    references,
)

# The oldest Kubernetes release the manifests are meant for, and the newest whose
# schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
KEDA_CRD = SCHEMAS / "keda.sh_scaledobjects.yaml"

MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
DOCUMENTS = [(path, i, doc) for path in MANIFESTS for i, doc in enumerate(load_docs(path))]
KEDA_DOCUMENTS = [d for d in DOCUMENTS if d[2]["apiVersion"].startswith("keda.sh/")]
KUBERNETES_DOCUMENTS = [d for d in DOCUMENTS if d not in KEDA_DOCUMENTS]


def _doc_id(entry: tuple[Path, int, Doc]) -> str:
    path, index, doc = entry
    return f"{path.relative_to(K8S)}#{index}:{doc['kind']}/{doc['metadata']['name']}"


def _strict(schema: Any) -> Any:
    """``schema`` with unknown fields refused wherever it lists the known ones, as the
    API server's strict field validation (kubectl's default) refuses them."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if isinstance(strict.get("properties"), dict) and "additionalProperties" not in strict:
        strict["additionalProperties"] = False
    return strict


@cache
def keda_validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    """A validator for ``kind`` at ``api_version`` from KEDA's CRD; fails when the CRD
    serves no such version or kind."""
    (crd,) = load_docs(KEDA_CRD)
    spec = crd["spec"]
    assert kind == spec["names"]["kind"], f"the vendored CRD defines {spec['names']['kind']}"
    for version in spec["versions"]:
        if api_version == f"{spec['group']}/{version['name']}" and version["served"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            jsonschema.Draft7Validator.check_schema(schema)
            return jsonschema.Draft7Validator(schema)
    raise AssertionError(f"KEDA's CRD serves no {api_version}")


def test_there_are_manifests_of_both_kinds() -> None:
    kinds = Counter(doc["kind"] for _, _, doc in DOCUMENTS)
    assert kinds["Deployment"] == 3
    assert kinds["ScaledObject"] == 2
    assert kinds["HorizontalPodAutoscaler"] >= 3


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("entry", KUBERNETES_DOCUMENTS, ids=_doc_id)
def test_resource_matches_the_kubernetes_schema(entry: tuple[Path, int, Doc], version: str) -> None:
    kubernetes_validate.validate(entry[2], version, strict=True)


@pytest.mark.parametrize("entry", KEDA_DOCUMENTS, ids=_doc_id)
def test_scaled_object_matches_the_keda_crd(entry: tuple[Path, int, Doc]) -> None:
    doc = entry[2]
    keda_validator(doc["apiVersion"], doc["kind"]).validate(doc)


def test_the_validators_refuse_what_the_cluster_would() -> None:
    """The checks above are not vacuous: an unknown field and a wrongly typed value are
    refused by both validators."""
    deployment = copy.deepcopy(next(d for _, _, d in DOCUMENTS if d["kind"] == "Deployment"))
    pod = deployment["spec"]["template"]["spec"]
    pod["terminationGracePeriodSecond"] = 45
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    scaled = copy.deepcopy(KEDA_DOCUMENTS[0][2])
    validator = keda_validator(scaled["apiVersion"], scaled["kind"])
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 500
    assert not validator.is_valid(scaled)
    scaled = copy.deepcopy(KEDA_DOCUMENTS[0][2])
    scaled["spec"]["maxReplicas"] = 6
    assert not validator.is_valid(scaled)


# -- kustomizations ------------------------------------------------------------------
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_lists_what_exists(directory: Path) -> None:
    k = kustomization(directory)
    assert set(k) <= KUSTOMIZE_FIELDS, (
        f"fields the tests' build (tests/unit/manifests.py) does not apply: "
        f"{sorted(set(k) - KUSTOMIZE_FIELDS)}"
    )
    api = {"Kustomization": "kustomize.config.k8s.io/v1beta1"}
    api["Component"] = "kustomize.config.k8s.io/v1alpha1"
    assert k["apiVersion"] == api[k["kind"]]
    missing = [str(t) for t in references(directory) if not t.exists()]
    assert not missing, f"listed, not there: {missing}"
    for entry in k.get("components", []):
        assert kustomization(directory / entry)["kind"] == "Component", entry
    for entry in k.get("resources", []):
        if (directory / entry).is_dir():
            assert kustomization(directory / entry)["kind"] == "Kustomization", entry


def test_every_manifest_is_listed_once() -> None:
    listed = Counter(t for d in KUSTOMIZATIONS for t in references(d) if t.is_file())
    assert dict(listed) == {p.resolve(): 1 for p in MANIFESTS}


def test_every_kustomization_is_an_overlay_or_used_by_one() -> None:
    used = {t for d in KUSTOMIZATIONS for t in references(d) if t.is_dir()}
    assert set(KUSTOMIZATIONS) == used | set(OVERLAYS)
    assert {p.name for p in OVERLAYS} == {"hpa", "keda", "local"}
