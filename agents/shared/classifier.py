"""The offline inquiry classifier: category and urgency of a customer message, EN or ZH.

Three kinds of features feed two linear SVMs (one for the category, one for the urgency):

- word tokens and pairs of neighbouring tokens from ``agents.shared.text.tokenize``
  (jieba for Chinese),
- character 1-4-grams, which survive typos and words the training set never saw,
- concepts from agents/support/data/cues.json: hand-written cue words of both languages
  mapped to one shared feature ("refund", "退款" -> ``refund``), so that what is learnt
  from English examples also counts for Chinese ones and back.

Both are calibrated (sigmoid, 5-fold), so ``confidence`` is a probability that can be
compared with a threshold such as ``support.rules_confidence``. The weights below were
chosen by cross-validation on the training split, and checked again (word and character
weights, C, logistic regression, class weights, jieba search-mode tokens) after the
training set grew; nothing beat them. Figures in docs/support-data.md.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from agents.shared.datasets import read_json, read_jsonl
from agents.shared.pii import mask
from agents.shared.text import clean, detect_lang, tokenize
from schemas.support import CATEGORIES, URGENCIES, Category, Lang, Urgency

TRAINING_FILE = "inquiries.train.jsonl"
CUES_FILE = "cues.json"
# Concepts weigh less than words and characters: enough to carry a category across
# languages, not so much that one cue word decides alone.
_CHAR_WEIGHT = 1.3
_CUE_WEIGHT = 0.3


@dataclass(frozen=True)
class Classification:
    """What the classifier decided. ``confidence`` is the calibrated probability of
    ``category``."""

    category: Category
    urgency: Urgency
    confidence: float


class _Doc(NamedTuple):
    text: str
    lang: Lang


class CueMatcher:
    """Finds the concepts of a cue file in a text. Latin cues match at the start of a
    word ("charg" matches "charged", not "discharge"); Chinese cues match anywhere."""

    def __init__(self, cues: Mapping[str, list[str]]) -> None:
        self._patterns = {
            concept: re.compile("|".join(_cue_pattern(w) for w in words))
            for concept, words in sorted(cues.items())
            if not concept.startswith("_")
        }

    @classmethod
    def shipped(cls) -> CueMatcher:
        return cls(cast("dict[str, list[str]]", read_json(CUES_FILE)))

    def concepts(self, text: str) -> list[str]:
        lowered = text.lower()
        return [c for c, pattern in self._patterns.items() if pattern.search(lowered)]


def _cue_pattern(word: str) -> str:
    word = word.lower()
    return ("(?<![a-z0-9])" if word[:1].isascii() else "") + re.escape(word)


class InquiryClassifier:
    """Category and urgency of an inquiry; build it with ``shipped()`` or ``train()``."""

    def __init__(
        self,
        features: FeatureUnion,
        category_model: CalibratedClassifierCV,
        urgency_model: CalibratedClassifierCV,
    ) -> None:
        self._features = features
        self._category = category_model
        self._urgency = urgency_model

    @classmethod
    def train(
        cls, examples: Iterable[Mapping[str, Any]], cues: CueMatcher | None = None
    ) -> InquiryClassifier:
        """Fit on records with ``text``, ``category`` and ``urgency`` (``lang`` optional)."""
        rows = list(examples)
        docs = [_doc(r["text"], r.get("lang")) for r in rows]
        features = _features(cues or CueMatcher.shipped())
        x = features.fit_transform(docs)
        category = _model().fit(x, [r["category"] for r in rows])
        urgency = _model().fit(x, [r["urgency"] for r in rows])
        return cls(features, category, urgency)

    @classmethod
    def shipped(cls) -> InquiryClassifier:
        """The classifier trained on agents/support/data/inquiries.train.jsonl, trained
        on first use (about a second) and shared by the whole process afterwards. Call
        it at start-up rather than inside a handler: training blocks the event loop."""
        global _shipped
        with _shipped_lock:
            if _shipped is None:
                _shipped = cls.train(read_jsonl(TRAINING_FILE))
            return _shipped

    def predict(self, text: str, lang: Lang | None = None) -> Classification:
        return self.predict_many([(text, lang)])[0]

    def predict_many(self, items: Sequence[tuple[str, Lang | None]]) -> list[Classification]:
        """:meth:`predict` of each ``(text, lang)``, in one pass over the models: their
        fixed cost per call (input checks, the feature union, five calibrated folds),
        which is most of a single prediction's time, is paid once for the lot."""
        x = self._features.transform([_doc(text, lang) for text, lang in items])
        probabilities = self._category.predict_proba(x)
        urgencies = self._urgency.predict(x)
        out = []
        for row, label in zip(probabilities, urgencies, strict=True):
            best = int(row.argmax())
            category, urgency = str(self._category.classes_[best]), str(label)
            if category not in CATEGORIES or urgency not in URGENCIES:
                raise ValueError(f"trained on unknown labels: {category!r}, {urgency!r}")
            out.append(Classification(category, urgency, round(float(row[best]), 4)))
        return out


_shipped: InquiryClassifier | None = None
_shipped_lock = threading.Lock()


def _doc(text: str, lang: str | None) -> _Doc:
    # Agents classify masked text (schemas/support.py), so the model learns on masked text
    # too: "[PHONE]" is one token whatever the number was.
    text = mask(clean(text)).text
    return _Doc(text, lang if lang in ("en", "zh") else detect_lang(text))  # type: ignore[arg-type]


def _model() -> CalibratedClassifierCV:
    return CalibratedClassifierCV(LinearSVC(C=1.0, random_state=0), method="sigmoid", cv=5)


def _words(doc: _Doc) -> list[str]:
    tokens = tokenize(doc.text, doc.lang)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def _features(cues: CueMatcher) -> FeatureUnion:
    words = TfidfVectorizer(analyzer=_words, sublinear_tf=True)
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 4),
        sublinear_tf=True,
        preprocessor=lambda d: d.text.lower(),
    )
    concepts = TfidfVectorizer(analyzer=lambda d: cues.concepts(d.text))
    return FeatureUnion(
        [("words", words), ("chars", chars), ("concepts", concepts)],
        transformer_weights={"words": 1.0, "chars": _CHAR_WEIGHT, "concepts": _CUE_WEIGHT},
    )
