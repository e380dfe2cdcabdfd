"""Knowledge-base entries and BM25 retrieval over them.

Entries are indexed with BM25 (bm25s), one index per language, over the tokens of their
title, question, answer, keywords and the terms customers use for their topic
(``agents.shared.text.tokenize``). A search gives candidates with what retrieval knows
about each (its raw score, the margin to the next, how much of the query it covers); raw
BM25 scores are not comparable between queries, so whether a candidate answers is
decided elsewhere, by a model fitted on labelled queries (agents/support/confidence.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np

from agents.shared.datasets import read_jsonl
from agents.shared.text import detect_lang, tokenize
from schemas.support import Lang

# bm25s sets its own logger to DEBUG at import, which puts a line per index built in
# every worker's log; its warnings still show.
logging.getLogger("bm25s").setLevel(logging.WARNING)

KB_FILE = "kb.jsonl"
QUERIES_FILE = "kb_queries.jsonl"
# Entries a search asks the caller's checks about, best raw score first.
CANDIDATES = 12


@dataclass(frozen=True)
class KBEntry:
    """One knowledge-base article. ``steps`` is empty except for troubleshooting and
    some procedures.

    What the entry answers, for the answer gate (agents/support/gate.py): ``products``
    it is true for (catalogue ids or groups), the ``kinds`` of question (``howto``,
    ``info``, ``fix``), ``requires`` (groups of terms: an inquiry must contain a term of
    every group) and ``keywords`` (other words customers use for the topic)."""

    id: str
    lang: Lang
    category: str
    title: str
    question: str
    answer: str
    steps: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    requires: tuple[tuple[str, ...], ...] = ()
    keywords: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> KBEntry:
        return cls(
            id=record["id"],
            lang=record["lang"],
            category=record["category"],
            title=record["title"],
            question=record["question"],
            answer=record["answer"],
            steps=tuple(record.get("steps") or ()),
            products=tuple(record.get("products") or ()),
            kinds=tuple(record.get("kinds") or ()),
            requires=tuple(tuple(group) for group in record.get("requires") or ()),
            keywords=tuple(record.get("keywords") or ()),
        )

    @property
    def text(self) -> str:
        """What the entry is searched by: title, question, answer, keywords and the terms
        of its ``requires`` groups (the ways customers name its topic)."""
        terms = (t.rstrip("*") for group in self.requires for t in group)
        return " ".join((self.title, self.question, self.answer, *self.keywords, *terms))


@dataclass(frozen=True)
class Hit:
    """An entry and the probability, in [0, 1], that it answers the query."""

    entry: KBEntry
    score: float


@dataclass(frozen=True)
class Candidate:
    """An entry a query may be answered by, with what the search knows about the pair:
    its BM25 score, the margin to the best other candidate, and the share of the query's
    distinct words found in the entry."""

    entry: KBEntry
    raw: float
    margin: float
    coverage: float


class _Index:
    """The BM25 index of one language's entries."""

    def __init__(self, entries: Sequence[KBEntry]) -> None:
        self.entries = list(entries)
        docs = [tokenize(e.text, e.lang) for e in self.entries]
        self.tokens = [set(d) for d in docs]
        self._bm25 = bm25s.BM25()
        self._bm25.index(docs, show_progress=False)

    def candidates(
        self, query: list[str], allowed: Callable[[KBEntry], bool] | None, k: int
    ) -> list[Candidate]:
        if not query:
            return []
        scores = np.asarray(self._bm25.get_scores(query), dtype=np.float64)
        best = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
        kept = [i for i in best if allowed is None or allowed(self.entries[i])]
        distinct = set(query)
        out = []
        for n, i in enumerate(kept):
            rival = scores[kept[1]] if n == 0 and len(kept) > 1 else scores[kept[0]]
            rival = rival if len(kept) > 1 else 0.0
            coverage = len(distinct & self.tokens[i]) / len(distinct)
            margin = float(scores[i] - rival)
            out.append(Candidate(self.entries[i], float(scores[i]), margin, coverage))
        return out


class KnowledgeBase:
    """BM25 search over knowledge-base entries in English and Chinese."""

    def __init__(self, entries: Iterable[KBEntry]) -> None:
        self._entries = {e.id: e for e in entries}
        self._indexes = {
            lang: _Index([e for e in self._entries.values() if e.lang == lang])
            for lang in sorted({e.lang for e in self._entries.values()})
        }

    @classmethod
    def shipped(cls) -> KnowledgeBase:
        """The knowledge base of agents/support/data/kb.jsonl, built on first use and
        shared by the process."""
        global _shipped
        with _shipped_lock:
            if _shipped is None:
                _shipped = cls(KBEntry.from_record(r) for r in read_jsonl(KB_FILE))
            return _shipped

    def get(self, entry_id: str) -> KBEntry | None:
        return self._entries.get(entry_id)

    @property
    def entries(self) -> list[KBEntry]:
        return list(self._entries.values())

    def candidates(
        self,
        text: str,
        lang: Lang | None = None,
        allowed: Callable[[KBEntry], bool] | None = None,
        k: int = CANDIDATES,
    ) -> list[Candidate]:
        """The entries of the query's language that share a word with it, best BM25
        score first: of the ``k`` best, those ``allowed`` accepts (the answer gate's
        checks, asked of these few only: the others could neither answer nor be close
        rivals). Margins are to the best other accepted entry: an entry ruled out is no
        rival."""
        lang = lang or detect_lang(text)
        index = self._indexes.get(lang)
        if index is None or k <= 0:
            return []
        return index.candidates(tokenize(text, lang), allowed, k)


_shipped: KnowledgeBase | None = None
_shipped_lock = threading.Lock()
