"""The customer-service data files shipped in agents/support/data/.

They are read through ``importlib.resources`` so that they are found the same way in a
source checkout and in an installed wheel.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any


def data_file(name: str) -> Traversable:
    """A file of agents/support/data/ (``name`` may name a subfolder: ``eval/x.jsonl``)."""
    return resources.files("agents").joinpath("support", "data", *name.split("/"))


def read_jsonl(name: str) -> list[dict[str, Any]]:
    """The records of a JSON-lines data file, blank lines skipped."""
    with data_file(name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(name: str) -> Any:
    with data_file(name).open(encoding="utf-8") as f:
        return json.load(f)


@functools.cache
def fingerprint(*names: str) -> str:
    """A short hash of data files' contents. Cached answers of models built from the
    files carry it in their keys, so that a model retrained on other data never serves
    answers of the one before it."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(data_file(name).read_bytes())
    return digest.hexdigest()[:12]
