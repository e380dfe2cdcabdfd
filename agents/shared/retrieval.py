"""Knowledge-base retrieval with a score that says whether the top entry answers.

Entries are indexed with BM25 (bm25s), one index per language, over the tokens of their
title, question and answer (``agents.shared.text.tokenize``). Raw BM25 scores are not
comparable between queries, so each hit's score is turned into a probability that the
entry answers the query by a logistic calibration fitted on labelled queries
(agents/support/data/kb_queries.jsonl: the entry that answers each one, or none). Its
features are the raw score, the margin to the best other entry, how much of the query the
entry covers and the query's length. A score of 0.8 or more means "answer with it"; below
that, escalate.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from agents.shared.datasets import read_jsonl
from agents.shared.text import detect_lang, tokenize
from schemas.support import Lang

# bm25s sets its own logger to DEBUG at import, which puts a line per index built in
# every worker's log; its warnings still show.
logging.getLogger("bm25s").setLevel(logging.WARNING)

KB_FILE = "kb.jsonl"
QUERIES_FILE = "kb_queries.jsonl"


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
        """What the entry is searched by: title, question, answer and keywords."""
        return " ".join((self.title, self.question, self.answer, *self.keywords))


@dataclass(frozen=True)
class Hit:
    """An entry and the calibrated probability, in [0, 1], that it answers the query."""

    entry: KBEntry
    score: float


class _Index:
    """The BM25 index of one language's entries."""

    def __init__(self, entries: Sequence[KBEntry]) -> None:
        self.entries = list(entries)
        docs = [tokenize(e.text, e.lang) for e in self.entries]
        self.tokens = [set(d) for d in docs]
        self._bm25 = bm25s.BM25()
        self._bm25.index(docs, show_progress=False)

    def features(
        self, query: list[str], allowed: NDArray[np.bool_] | None = None
    ) -> NDArray[np.float64]:
        """One row per entry: raw score, margin to the best other entry (among the
        ``allowed`` ones when given), share of the query's distinct tokens found in the
        entry, log of the query's length."""
        n = len(self.entries)
        if not query:
            return np.zeros((n, 4))
        scores = np.asarray(self._bm25.get_scores(query), dtype=np.float64)
        rivals = scores if allowed is None else np.where(allowed, scores, 0.0)
        order = np.argsort(-rivals, kind="stable")
        best, second = rivals[order[0]], (rivals[order[1]] if n > 1 else 0.0)
        best_other = np.where(np.arange(n) == order[0], second, best)
        distinct = set(query)
        coverage = np.array([len(distinct & t) / len(distinct) for t in self.tokens])
        length = np.full(n, math.log1p(len(query)))
        return np.column_stack([scores, scores - best_other, coverage, length])


class KnowledgeBase:
    """Search over knowledge-base entries in English and Chinese."""

    def __init__(
        self, entries: Iterable[KBEntry], calibration: Iterable[Mapping[str, Any]]
    ) -> None:
        """``calibration``: records with ``query``, ``lang`` and ``answer_id`` (the id of
        the entry that answers the query, or ``None``) to fit the score on."""
        self._entries = {e.id: e for e in entries}
        self._indexes = {
            lang: _Index([e for e in self._entries.values() if e.lang == lang])
            for lang in sorted({e.lang for e in self._entries.values()})
        }
        self._calibration = self._fit(list(calibration))

    @classmethod
    def shipped(cls) -> KnowledgeBase:
        """The knowledge base of agents/support/data/kb.jsonl calibrated on every
        labelled query, built on first use and shared by the process."""
        global _shipped
        with _shipped_lock:
            if _shipped is None:
                entries = [KBEntry.from_record(r) for r in read_jsonl(KB_FILE)]
                _shipped = cls(entries, read_jsonl(QUERIES_FILE))
            return _shipped

    def get(self, entry_id: str) -> KBEntry | None:
        return self._entries.get(entry_id)

    @property
    def entries(self) -> list[KBEntry]:
        return list(self._entries.values())

    def search(
        self,
        text: str,
        lang: Lang | None = None,
        k: int = 3,
        allowed: Callable[[KBEntry], bool] | None = None,
    ) -> list[Hit]:
        """The ``k`` best entries of the query's language, best first. With ``allowed``,
        only the entries it accepts, each scored against the other accepted ones: an
        entry ruled out (the answer gate's checks) is no rival, so it neither takes the
        place of the one that answers nor lowers its score."""
        lang = lang or detect_lang(text)
        index = self._indexes.get(lang)
        if index is None or k <= 0:
            return []
        mask = None if allowed is None else np.array([allowed(e) for e in index.entries])
        if mask is not None and not mask.any():
            return []
        features = index.features(tokenize(text, lang), mask)
        scores = self._calibration.predict_proba(features)[:, 1]
        if mask is not None:
            scores = np.where(mask, scores, -1.0)
        order = np.argsort(-scores, kind="stable")
        hits = [Hit(index.entries[i], round(float(scores[i]), 4)) for i in order[:k]]
        return [h for h in hits if h.score >= 0]

    def _fit(self, queries: list[Mapping[str, Any]]) -> LogisticRegression:
        rows: list[NDArray[np.float64]] = []
        labels: list[bool] = []
        for q in queries:
            index = self._indexes.get(q["lang"])
            if index is None:
                continue
            features = index.features(tokenize(q["query"], q["lang"]))
            # The top entry is the case that matters (answer or escalate); the runner-up
            # teaches what a close miss looks like.
            for i in np.argsort(-features[:, 0], kind="stable")[:2]:
                rows.append(features[i])
                labels.append(index.entries[i].id == q["answer_id"])
        if len(set(labels)) < 2:
            raise ValueError("calibration needs queries with and without an answering entry")
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(np.vstack(rows), labels)
        return model


_shipped: KnowledgeBase | None = None
_shipped_lock = threading.Lock()
