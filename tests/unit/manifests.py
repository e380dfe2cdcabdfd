"""The deployment files as the tests in ``test_deploy_*.py`` read them: the Kubernetes
manifests as ``kustomize build`` would give them (emulated: kustomize is not needed),
the compose file, the Dockerfile, and what they name in the project (apps, settings)."""

from __future__ import annotations

import copy
import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from config import Settings
from streams import App

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = ROOT / "deploy" / "schemas"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())

Doc = dict[str, Any]

#: The kustomization fields :func:`build` understands; a test refuses any other.
KUSTOMIZE_FIELDS = frozenset(
    {"apiVersion", "kind", "namespace", "resources", "components", "images"}
)


def load_docs(path: Path) -> list[Doc]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def kustomization(directory: Path) -> Doc:
    doc: Doc = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    return doc


def references(directory: Path) -> list[Path]:
    """The files and directories a kustomization lists, resolved."""
    k = kustomization(directory)
    return [
        (directory / entry).resolve() for entry in k.get("resources", []) + k.get("components", [])
    ]


def build(directory: Path) -> list[Doc]:
    """The documents ``kustomize build directory`` gives, for the fields in
    :data:`KUSTOMIZE_FIELDS`: resources and components (files or directories), then the
    namespace and image overrides."""
    docs: list[Doc] = []
    for target in references(directory):
        docs += build(target) if target.is_dir() else copy.deepcopy(load_docs(target))
    k = kustomization(directory)
    for doc in docs:
        if "namespace" in k and doc["kind"] != "Namespace":
            doc["metadata"]["namespace"] = k["namespace"]
        for container in containers(doc):
            container["image"] = _override_image(container["image"], k.get("images", []))
    return docs


def _override_image(image: str, overrides: list[Doc]) -> str:
    name, _, tag = image.partition(":")
    for override in overrides:
        if override["name"] == name:
            name, tag = override.get("newName", name), override.get("newTag", tag)
    return f"{name}:{tag}" if tag else name


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc | None:
    return next((d for d in of_kind(docs, kind) if d["metadata"]["name"] == name), None)


def pod_spec(doc: Doc) -> Doc:
    spec: Doc = doc["spec"]["template"]["spec"]
    return spec


def containers(doc: Doc) -> list[Doc]:
    if doc["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return []
    return list(pod_spec(doc)["containers"])


def workers(docs: list[Doc]) -> dict[str, str]:
    """Deployment name -> the app its container runs (``agentstream worker APP``)."""
    found = {}
    for deployment in of_kind(docs, "Deployment"):
        for container in containers(deployment):
            args = container.get("args", [])
            if args[:1] == ["worker"]:
                found[deployment["metadata"]["name"]] = args[1]
    return found


@cache
def load_app(path: str) -> App:
    """The :class:`App` at ``module:attribute``, as ``agentstream worker`` loads it."""
    module, _, attr = path.partition(":")
    app = getattr(importlib.import_module(module), attr)
    app = app() if callable(app) and not isinstance(app, App) else app
    assert isinstance(app, App), f"{path} is a {type(app).__name__}, not a streams.App"
    return app


def mailboxes(app: App) -> set[str]:
    return {spec.mailbox for spec in app.specs}


def cli_commands() -> set[str]:
    """The ``agentstream`` commands (``agentstream COMMAND``)."""
    from agents.cli import cli

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in cli.registered_commands}
    return names | {g.name for g in cli.registered_groups if g.name}


def unknown_settings(names: list[str]) -> list[str]:
    """The ``AGENTSTREAM_*`` environment variables among ``names`` that name no field of
    :class:`config.Settings` (``AGENTSTREAM_<SECTION>__<FIELD>`` or ``AGENTSTREAM_<FIELD>``)."""
    unknown = []
    for name in names:
        assert name.startswith("AGENTSTREAM_"), name
        model: type[BaseModel] = Settings
        for part in name.removeprefix("AGENTSTREAM_").lower().split("__"):
            field = model.model_fields.get(part)
            if field is None:
                unknown.append(name)
                break
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
    return unknown


def dockerfile_instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """``(KEYWORD, arguments)`` per instruction, continuation lines joined, comments and
    the parser directive left out."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


def dockerfile_user() -> str:
    """The ``USER`` of the final stage."""
    user = "root"
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            user = "root"
        elif keyword == "USER":
            user = args
    return user


def gateway_get_paths() -> set[str]:
    """The paths the gateway (``agentstream console``) answers GET on."""
    from agents.console import create_gateway

    app = create_gateway(Settings(_env_file=None))
    return {r.resource.canonical for r in app.router.routes() if r.method == "GET" and r.resource}
