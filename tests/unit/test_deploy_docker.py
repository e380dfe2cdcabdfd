"""The Dockerfile and .dockerignore, offline (no Docker engine needed): what the image is
built from exists and reaches the build context, it installs the pinned dependencies, and
the runtime stage runs as an unprivileged user the command the project installs."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from config import Settings
from tests.unit.manifests import ROOT, dockerfile_instructions, dockerfile_user

INSTRUCTIONS = dockerfile_instructions()


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage, in order (``FROM`` first)."""
    result: list[list[tuple[str, str]]] = []
    for keyword, args in INSTRUCTIONS:
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, args))
    return result


def copy_sources(stage: list[tuple[str, str]]) -> list[str]:
    """The build-context paths the stage's ``COPY`` instructions take (not ``--from``)."""
    sources = []
    for keyword, args in stage:
        words = args.split()
        if keyword in ("COPY", "ADD") and not any(w.startswith("--from=") for w in words):
            sources += [w for w in words[:-1] if not w.startswith("--")]
    return sources


def ignore_patterns() -> list[re.Pattern[str]]:
    """.dockerignore's patterns as regular expressions on context-relative paths."""
    patterns = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!"), "exceptions are not supported by this test"
        regex = re.escape(line.strip("/")).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        regex = re.sub(r"\\\[(.*?)\\\]", lambda m: "[" + m.group(1) + "]", regex)
        patterns.append(re.compile(regex))
    return patterns


def ignored(path: str, patterns: list[re.Pattern[str]]) -> bool:
    """Whether Docker leaves ``path`` out of the context: it, or a directory it is in,
    matches a pattern."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(p.fullmatch(prefix) for p in patterns for prefix in prefixes)


def test_the_ignore_matcher_reads_patterns_as_docker_does() -> None:
    patterns = ignore_patterns()
    assert ignored(".venv/bin/python", patterns)
    assert ignored("agents/__pycache__/cli.cpython-311.pyc", patterns)
    assert ignored("streams/x.pyc", patterns)
    assert ignored("tests/unit/test_deploy_docker.py", patterns)
    assert not ignored("agents/support/data/kb.jsonl", patterns)
    assert not ignored("streams/app.py", patterns)


def test_it_builds_in_stages_and_runs_the_last() -> None:
    builder, runtime = stages()
    assert builder[0][1].endswith(" AS builder")
    assert runtime[0][1].endswith(" AS runtime")
    copies = [args for keyword, args in runtime if keyword == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"], "only the venv reaches the image"


def test_every_file_it_copies_exists_and_reaches_the_context() -> None:
    patterns = ignore_patterns()
    sources = [s for stage in stages() for s in copy_sources(stage)]
    assert {"pyproject.toml", "constraints.txt", "streams/", "agents/"} <= set(sources)
    for source in sources:
        path = ROOT / source
        assert path.exists(), source
        assert not ignored(source, patterns), f"{source} is excluded by .dockerignore"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        left_out = [
            str(f.relative_to(ROOT))
            for f in files
            if ignored(str(f.relative_to(ROOT)), patterns) and "__pycache__" not in f.parts
        ]
        assert left_out == [], f"needed by the image, excluded by .dockerignore: {left_out}"


def test_it_installs_the_pinned_dependencies() -> None:
    installs = [
        args for keyword, args in INSTRUCTIONS if keyword == "RUN" and "pip install" in args
    ]
    assert installs
    for args in installs:
        for command in args.split("&&"):
            if "pip install" in command:
                assert "-c constraints.txt" in command, command


def test_the_runtime_user_is_unprivileged_and_numeric() -> None:
    uid, _, gid = dockerfile_user().partition(":")
    assert uid.isdigit(), "numeric, so runtimes enforcing runAsNonRoot can verify it"
    assert int(uid) > 0
    assert gid.isdigit()
    assert int(gid) > 0


def test_it_runs_the_installed_command_and_exposes_the_default_ports() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = stages()[-1]
    (entrypoint,) = [json.loads(args) for keyword, args in runtime if keyword == "ENTRYPOINT"]
    assert entrypoint[-1] in scripts["scripts"]
    (expose,) = [args.split() for keyword, args in runtime if keyword == "EXPOSE"]
    defaults = Settings(_env_file=None)
    assert set(expose) == {str(defaults.web_port), str(defaults.gateway.port)}


def test_the_default_command_runs_an_app() -> None:
    from tests.unit.manifests import load_app

    (cmd,) = [json.loads(args) for keyword, args in stages()[-1] if keyword == "CMD"]
    assert cmd[0] == "worker"
    load_app(cmd[1])


def test_what_the_processes_write_is_where_the_manifests_mount_volumes() -> None:
    """The working directory (the L3 cache's relative SQLite path) and /tmp (faust's data
    directory) are the writable volumes in docker-compose.yml and deploy/k8s."""
    runtime = stages()[-1]
    (workdir,) = [args for keyword, args in runtime if keyword == "WORKDIR"]
    assert workdir == "/app"
    l3_url = Settings(_env_file=None).cache.l3_url
    # Three slashes and a relative path: the file is under the working directory.
    assert l3_url.startswith("sqlite+aiosqlite:///")
    assert not Path(l3_url.removeprefix("sqlite+aiosqlite:///")).is_absolute()
