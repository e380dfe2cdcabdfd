"""The benchmarks' peers (the ``bench`` extra) stay out of the runtime: nothing that
ships imports them."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEERS = {"faststream", "fast_depends"}


@pytest.mark.parametrize("package", ["streams", "agents", "schemas", "config"])
def test_the_runtime_does_not_import_the_peers(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.partition(".")[0] not in PEERS, f"{path} imports {name}"
