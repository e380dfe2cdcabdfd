"""Each package lists its public API in a sorted ``__all__`` that names real objects."""

import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "streams",
        "schemas",
        "config",
        "agents",
        "agents.console",
        "agents.shared.models",
        "streams.testing",
        "streams.tools.local",
    ],
)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for member in exported:
        assert hasattr(module, member), member
