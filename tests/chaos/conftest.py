"""The chaos suite: ``pytest tests/chaos`` runs the short profile, ``AGENTSTREAM_CHAOS=long
pytest tests/chaos -s`` the long one. Every scenario writes its verdict to
``.agentstream/chaos/<scenario>.json``; the run ends with the table of all of them."""

from __future__ import annotations

import json
import time

import pytest

from tests.chaos.profiles import Profile, current
from tests.chaos.verifier import REPORTS, Verdict, table

MARKER = "chaos: fault-injection scenarios (tests/chaos; AGENTSTREAM_CHAOS=short|long)"
_SESSION_START = time.time()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here is a chaos test; scenarios marked ``chaos(long_only=True)`` are
    deselected (not skipped) under the short profile."""
    profile = current()
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if "tests/chaos/" not in str(item.path):
            keep.append(item)
            continue
        item.add_marker(pytest.mark.chaos)
        long_only = any(m.kwargs.get("long_only") for m in item.iter_markers("chaos"))
        (dropped if long_only and profile.name != "long" else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def profile() -> Profile:
    return current()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The table of every scenario that reported in this run."""
    paths = sorted(REPORTS.glob("*.json")) if REPORTS.exists() else []
    verdicts = [
        Verdict(**json.loads(p.read_text())) for p in paths if p.stat().st_mtime >= _SESSION_START
    ]
    if verdicts:
        terminalreporter.section(f"chaos ({verdicts[0].profile} profile)")
        for line in table(verdicts).splitlines():
            terminalreporter.write_line(line)
