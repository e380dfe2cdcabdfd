"""The complete example of docs/testing.md runs and passes as written."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def example(path: str) -> str:
    """The code block of docs/testing.md that starts with ``# <path>``."""
    found = re.search(rf"```python\n# {re.escape(path)}\n(.*?)```", DOC.read_text(), re.S)
    assert found is not None, f"docs/testing.md has no block for {path}"
    return found.group(1)


async def test_the_help_desk_example_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "helpdesk").mkdir()
    (tmp_path / "helpdesk" / "__init__.py").write_text("")
    (tmp_path / "helpdesk" / "app.py").write_text(example("helpdesk/app.py"))
    (tmp_path / "doc_test_helpdesk.py").write_text(example("tests/test_helpdesk.py"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("doc_test_helpdesk")
        tests = [fn for name, fn in vars(module).items() if name.startswith("test_")]
        assert len(tests) == 6
        for test in tests:
            await test()
    finally:
        for name in ["doc_test_helpdesk", "helpdesk", "helpdesk.app"]:
            sys.modules.pop(name, None)
