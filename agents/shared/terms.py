"""Lists of terms found in customer text, the one way the support data names words.

A term is lowercase. Latin terms match whole words, and a trailing ``*`` matches any
ending (``cancel*``: cancel, cancelled, cancellation); a space inside a term matches
any run of spaces. Chinese terms match anywhere (Chinese has no spaces). A term that
starts in Latin and ends in Han ("plus版") is bounded at its start only.

Matching runs on text already cleaned (``agents.shared.text.clean``) and lowercased:
callers lowercase once and match many lists. The terms of a list are compiled into one
expression per kind (whole words, prefixes, Chinese), each an alternation built as a
trie, so a list of hundreds of terms costs a few microseconds per text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = "a-z0-9"
_HEAD = f"(?<![{_WORD}])"
_SPACES = re.compile(r"\s+")


def any_of(*patterns: str) -> re.Pattern[str]:
    """One expression matching any of ``patterns`` (regular expressions, each grouped)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def pattern(term: str) -> str:
    """The regular expression of one term."""
    kind, body = _split(term)
    escaped = r"\s+".join(re.escape(part) for part in body.split())
    if kind == "prefix":
        return f"{_HEAD}{escaped}[{_WORD}']*"
    if kind == "word":
        return f"{_HEAD}{escaped}(?![{_WORD}])"
    return (_HEAD if kind == "mixed" else "") + escaped


@dataclass(frozen=True, slots=True)
class Match:
    """Where a term was found: ``text[start:end]``, and the term's label."""

    start: int
    end: int
    label: str


class Terms:
    """Terms, each with a label (the concept or product it stands for). Where terms
    overlap, the longer match wins ("acme cloud box" over "acme cloud")."""

    def __init__(self, labelled: Iterable[tuple[str, str]]) -> None:
        kinds: dict[str, dict[str, str]] = {k: {} for k in ("word", "prefix", "mixed", "other")}
        for term, label in labelled:
            kind, body = _split(term)
            kinds[kind].setdefault(" ".join(body.split()), label)
        self._labels = kinds
        self._res = [
            (kind, re.compile(_compile(kind, list(terms))))
            for kind, terms in kinds.items()
            if terms
        ]

    @classmethod
    def of(cls, terms: Iterable[str], label: str = "") -> Terms:
        return cls((t, label) for t in terms)

    def find(self, lowered: str) -> list[Match]:
        """Every match in ``lowered``, left to right, none overlapping."""
        found = [
            Match(m.start(), m.end(), self._label(kind, m.group()))
            for kind, expression in self._res
            for m in expression.finditer(lowered)
        ]
        if len(self._res) > 1:
            found.sort(key=lambda m: (m.start, m.start - m.end))
            kept: list[Match] = []
            for m in found:
                if not kept or m.start >= kept[-1].end:
                    kept.append(m)
            found = kept
        return found

    def search(self, lowered: str) -> bool:
        return any(expression.search(lowered) for _, expression in self._res)

    def labels(self, lowered: str) -> set[str]:
        return {m.label for m in self.find(lowered)}

    def _label(self, kind: str, matched: str) -> str:
        text = _SPACES.sub(" ", matched)
        labels = self._labels[kind]
        if kind != "prefix":
            return labels[text]
        # The longest prefix term that the matched word starts with.
        return next(labels[text[:n]] for n in range(len(text), 0, -1) if text[:n] in labels)


def _split(term: str) -> tuple[str, str]:
    """(kind, body): ``word`` (a whole Latin word), ``prefix`` (a Latin word start),
    ``mixed`` (Latin running into Chinese: bounded at its start) or ``other``."""
    term = term.strip().lower()
    body = term.rstrip("*").strip()
    if not body:
        raise ValueError(f"empty term {term!r}")
    latin_end = body[-1].isascii() and body[-1].isalnum()
    latin_start = body[0].isascii() and body[0].isalnum()
    if term.endswith("*") and latin_start:
        return "prefix", body
    if latin_start and latin_end:
        return "word", body
    return ("mixed" if latin_start else "other"), body


def _compile(kind: str, terms: list[str]) -> str:
    alternation = _trie(sorted(terms))
    if kind == "prefix":
        return f"{_HEAD}(?:{alternation})[{_WORD}']*"
    if kind == "word":
        return f"{_HEAD}(?:{alternation})(?![{_WORD}])"
    return (_HEAD if kind == "mixed" else "") + f"(?:{alternation})"


def _trie(terms: list[str]) -> str:
    """An alternation of ``terms`` as a trie (common prefixes shared), longest first at
    every branch, so the regular expression engine tries few branches per position."""
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for term in terms:
        node = tree
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _render(tree)


def _render(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    branches = []
    for ch in sorted((c for c in node if c), reverse=True):
        head = r"\s+" if ch == " " else re.escape(ch)
        branches.append(head + _render(node[ch]))
    ends = "" in node
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if ends else body
