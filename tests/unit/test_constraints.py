"""Every dependency runs at the version constraints.txt pins (mode-streaming included,
whose private parts streams/faust_source.py relies on)."""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

LOCK = Path(__file__).resolve().parents[2] / "constraints.txt"


def pins() -> list[tuple[str, str]]:
    lines = LOCK.read_text().splitlines()
    return [tuple(line.split("==", 1)) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_the_faust_stack_is_pinned() -> None:
    names = {name.lower() for name, _ in pins()}
    assert {"faust-streaming", "mode-streaming", "aiokafka"} <= names


@pytest.mark.parametrize(("name", "pinned"), pins())
def test_installed_version_is_the_pinned_one(name: str, pinned: str) -> None:
    try:
        installed = version(name)
    except PackageNotFoundError:
        pytest.fail(f"{name} is pinned in constraints.txt but not installed: make install")
    assert installed == pinned, f"{name} {installed} installed, {pinned} pinned: make lock"
