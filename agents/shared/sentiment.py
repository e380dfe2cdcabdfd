"""Sentiment of a customer message or of a reply, in [-1, 1], English or Chinese.

A logistic regression over word tokens and character n-grams, trained on the sentiment
labels of the shipped inquiries (negative, neutral, positive) plus a short list of
reply-style sentences (agents/support/data/sentiment_replies.jsonl), since the quality
monitor scores the replies too and customers rarely write like support agents. The score
is P(positive) - P(negative): 0 for a neutral text, near -1 or 1 only when the model is
sure.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from agents.shared.coalesce import Coalesced
from agents.shared.datasets import read_jsonl
from agents.shared.pii import mask
from agents.shared.text import clean, tokenize
from schemas.support import Lang

TRAINING_FILES = ("inquiries.train.jsonl", "sentiment_replies.jsonl")


class SentimentModel:
    """Build it with ``train()``; ``sentiment()`` uses the shipped one."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        classes = list(pipeline.classes_)
        self._negative, self._positive = classes.index(-1), classes.index(1)

    @classmethod
    def train(cls, examples: Iterable[Mapping[str, Any]]) -> SentimentModel:
        """Fit on records with ``text`` and ``sentiment`` in {-1, 0, 1}."""
        rows = list(examples)
        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(analyzer=tokenize, sublinear_tf=True)),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
                ),
            ]
        )
        # Positive texts are few; balanced weights keep them from being outvoted.
        model = LogisticRegression(C=5.0, class_weight="balanced", max_iter=2000)
        pipeline = Pipeline([("features", features), ("model", model)])
        pipeline.fit([_prepare(r["text"]) for r in rows], [int(r["sentiment"]) for r in rows])
        return cls(pipeline)

    def score(self, text: str) -> float:
        return self.score_many([text])[0]

    def score_many(self, texts: list[str]) -> list[float]:
        """:meth:`score` of each text, in one pass over the pipeline."""
        probabilities = self._pipeline.predict_proba([_prepare(t) for t in texts])
        return [
            round(max(-1.0, min(1.0, float(row[self._positive] - row[self._negative]))), 4)
            for row in probabilities
        ]


def sentiment(text: str, lang: Lang | None = None) -> float:
    """The sentiment of ``text`` in [-1, 1]. The model is trained on first use (well
    under a second) and shared by the process. ``lang`` is accepted for symmetry with
    the other text tools; tokens are taken per script, so it is not needed."""
    del lang
    return _shipped_model().score(text)


async def sentiments(texts: list[str]) -> list[float]:
    """:func:`sentiment` of each text; the texts of calls made at the same time are
    scored in one pass, and texts scored before (reply templates) are remembered."""
    global _coalesced
    if _coalesced is None:
        _coalesced = Coalesced(_shipped_model().score_many)
    return await _coalesced(texts)


_coalesced: Coalesced[str, float] | None = None


def _prepare(text: str) -> str:
    return mask(clean(text)).text


_shipped: SentimentModel | None = None
_shipped_lock = threading.Lock()


def _shipped_model() -> SentimentModel:
    global _shipped
    with _shipped_lock:
        if _shipped is None:
            rows = [r for name in TRAINING_FILES for r in read_jsonl(name)]
            _shipped = SentimentModel.train(rows)
        return _shipped
