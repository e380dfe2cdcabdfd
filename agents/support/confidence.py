"""The probability that a knowledge-base entry answers an inquiry.

The answer gate first rules out every entry whose checks fail (agents/support/gate.py);
among the entries left, retrieval ranks candidates. Whether the best candidate answers
is a logistic model over what is known about the pair:

* ``raw``: its BM25 score; ``margin``: to the best other candidate left;
* ``coverage``: the share of the inquiry's distinct words found in the entry;
* ``length``: log(1 + the inquiry's words);
* ``unexplained``: the idf-weighted share of the inquiry's content words the entry does
  not account for, ``elsewhere``: the share that names another entry's topic, and
  ``unanswered``: the share its own text (not its keywords) does not contain
  (agents/support/vocabulary.py);
* ``rivals``: log(1 + other candidates left).

It is fitted on labelled training data only (the knowledge-base queries, the training
inquiries, the tuning parts of the near-miss and not-sold sets), on the two best
candidates of each inquiry that reaches retrieval, so it learns close misses too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from agents.shared.retrieval import Candidate
from agents.support.vocabulary import Unexplained

FEATURES = (
    "raw",
    "margin",
    "coverage",
    "length",
    "unexplained",
    "elsewhere",
    "unanswered",
    "rivals",
)


def features(
    candidate: Candidate, words: int, unexplained: Unexplained, rivals: int
) -> tuple[float, ...]:
    return (
        candidate.raw,
        candidate.margin,
        candidate.coverage,
        math.log1p(words),
        unexplained.share,
        unexplained.elsewhere,
        unexplained.unanswered,
        math.log1p(rivals),
    )


class Confidence:
    def __init__(self, model: LogisticRegression) -> None:
        self._model = model

    @classmethod
    def fit(cls, rows: Sequence[tuple[float, ...]], answers: Sequence[bool]) -> Confidence:
        if len(set(answers)) < 2:
            raise ValueError("the model needs candidates that answer and candidates that do not")
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(np.asarray(rows, dtype=np.float64), np.asarray(answers))
        return cls(model)

    def of(self, row: tuple[float, ...]) -> float:
        """The probability that the candidate answers, in [0, 1]."""
        p = self._model.predict_proba(np.asarray([row], dtype=np.float64))[0, 1]
        return round(float(p), 4)
