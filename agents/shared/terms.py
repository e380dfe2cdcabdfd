"""Lists of terms found in customer text, the one way the support data names words.

A term is lowercase. Latin terms match whole words, and a trailing ``*`` matches any
ending (``cancel*``: cancel, cancelled, cancellation); a space inside a term matches
any run of spaces. Chinese terms match anywhere (Chinese has no spaces). A term that
starts in Latin and ends in Han ("plus版") is bounded at its start only.

Matching runs on text already cleaned (``agents.shared.text.clean``) and lowercased:
callers lowercase once and match many lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = "a-z0-9"


def pattern(term: str) -> str:
    """The regular expression of one term."""
    term = term.strip().lower()
    prefix = term.endswith("*")
    body = term.rstrip("*").strip()
    if not body:
        raise ValueError(f"empty term {term!r}")
    escaped = r"\s+".join(re.escape(part) for part in body.split())
    head = f"(?<![{_WORD}])" if body[0].isascii() and body[0].isalnum() else ""
    if prefix:
        tail = f"[{_WORD}']*"
    elif body[-1].isascii() and body[-1].isalnum():
        tail = f"(?![{_WORD}])"
    else:
        tail = ""
    return head + escaped + tail


@dataclass(frozen=True, slots=True)
class Match:
    """Where a term was found: ``text[start:end]``, and the term's label."""

    start: int
    end: int
    label: str


class Terms:
    """Terms, each with a label (the concept or product it stands for), compiled into one
    expression. Longer terms win where terms overlap ("acme cloud box" over "acme cloud")."""

    def __init__(self, labelled: Iterable[tuple[str, str]]) -> None:
        pairs = sorted({(t.strip().lower(), label) for t, label in labelled}, key=_longest)
        self._labels: dict[str, str] = {}
        parts = []
        for i, (term, label) in enumerate(pairs):
            group = f"t{i}"
            self._labels[group] = label
            parts.append(f"(?P<{group}>{pattern(term)})")
        self._re = re.compile("|".join(parts)) if parts else None

    @classmethod
    def of(cls, terms: Iterable[str], label: str = "") -> Terms:
        return cls((t, label) for t in terms)

    def find(self, lowered: str) -> list[Match]:
        """Every match in ``lowered``, left to right, none overlapping."""
        if self._re is None:
            return []
        return [
            Match(m.start(), m.end(), self._labels[m.lastgroup or ""])
            for m in self._re.finditer(lowered)
        ]

    def search(self, lowered: str) -> bool:
        return self._re is not None and self._re.search(lowered) is not None

    def labels(self, lowered: str) -> set[str]:
        return {m.label for m in self.find(lowered)}


def _longest(pair: tuple[str, str]) -> tuple[int, str]:
    return (-len(pair[0].rstrip("*")), pair[0])
