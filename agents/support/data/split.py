"""Rewrite inquiries.train.jsonl and inquiries.test.jsonl from inquiries.jsonl.

python agents/support/data/split.py

The held-out set was drawn once, from the first 540 inquiries of each language
(``inq-en-001`` to ``inq-en-540``, the same for ``zh``). It is stratified by language,
category and urgency and depends only on the ids: within each group the inquiries are
ordered by a hash of their id and every fourth one is held out, about 75/25, every category
in both languages on both sides. Inquiries numbered above 540 were written later, to cover
confusions found by cross-validation on the training split, and are training rows only:
letting them into the draw would reorder its groups and move held-out inquiries into
training, after the models had been measured on them.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
HOLD_OUT_EVERY = 4
# The last inquiry number, per language, that takes part in the held-out draw.
LAST_DRAWN = 540


def split(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, test), each in the order of ``rows``."""
    groups: defaultdict[tuple[str, str, str], list[str]] = defaultdict(list)
    for row in rows:
        if drawn(row["id"]):
            groups[row["lang"], row["category"], row["urgency"]].append(row["id"])
    held_out: set[str] = set()
    for ids in groups.values():
        ordered = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
        # Offset 1 so that a group of two or three still gives one inquiry to the test set.
        held_out.update(ordered[1::HOLD_OUT_EVERY])
    train = [r for r in rows if r["id"] not in held_out]
    test = [r for r in rows if r["id"] in held_out]
    return train, test


def drawn(inquiry_id: str) -> bool:
    """Whether an inquiry (``inq-en-017``) takes part in the held-out draw."""
    return int(inquiry_id.rsplit("-", 1)[1]) <= LAST_DRAWN


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> None:
    train, test = split(_read(HERE / "inquiries.jsonl"))
    _write(HERE / "inquiries.train.jsonl", train)
    _write(HERE / "inquiries.test.jsonl", test)


if __name__ == "__main__":
    main()
