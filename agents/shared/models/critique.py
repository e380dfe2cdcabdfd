"""The offline reviewer and reviser: rule-based, so a score can be explained finding by
finding, and a revision that applies the findings always scores higher on the next
review.

Each finding starts with its rule (``"takeaway: ..."``); ``revise`` applies the rules it
recognises and leaves the text alone for any other finding (e.g. a real model's).

| rule | finding when | weight |
|---|---|---|
| heading | the text does not start with a Markdown heading | 0.15 |
| length | fewer than 120 words (0.3) or more than 400 (0.15) | 0.3 / 0.15 |
| repeat | a sentence occurs more than once (each) | 0.15, at most 0.3 |
| reader | nothing addresses the reader ("you", "your", "您", "你") | 0.15 |
| takeaway | the last sentence does not sum up ("In short", "To sum up", "总之") | 0.2 |
| long-sentence | a sentence over 40 words (round 1 only: a style point) | 0.05, at most 0.1 |
"""

from __future__ import annotations

import re
from collections import Counter

from agents.shared.models.base import ReviewResult
from agents.shared.models.templates import LABEL_EN, LABEL_ZH

MIN_WORDS, MAX_WORDS, LONG_SENTENCE = 120, 400, 40

_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")  # also CJK stops
_WORD = re.compile(r"[A-Za-z0-9']+|[\u3400-\u9fff]")
_READER = re.compile(r"\b(you|your|yours|yourself)\b|您|你", re.IGNORECASE)
_TAKEAWAY = re.compile(r"^(in short|to sum up|the takeaway|总之|总而言之)", re.IGNORECASE)
_LABELS = (LABEL_EN, LABEL_ZH)

_MORE = (
    "Each point in '{title}' can be checked against a small, concrete example before "
    "anything larger is built on it.",
    "The details matter less than the order in which they are tried, and the habit of "
    "writing down what happened.",
    "A short trial with a clear measure of success says more than a long debate about "
    "what might work.",
    "What works in one setting rarely transfers unchanged, so expect to adapt the "
    "approach to the people involved.",
    "Small, reversible steps keep the cost of a wrong turn low and make the next decision "
    "easier to take.",
    "It also helps to name one owner for each part, so that questions have somewhere to go.",
)


def review(title: str, text: str, round: int) -> ReviewResult:
    """Score ``text`` by the rules in the module docstring; ``round`` > 1 reports only
    the rules that block publication, so successive rounds converge."""
    body, heading = _split(text)
    sentences = _sentences(body)
    words = len(_WORD.findall(body))
    findings: list[tuple[float, str]] = []
    if heading is None:
        findings.append((0.15, f"heading: start with the section heading '## {title}'"))
    if words < MIN_WORDS:
        findings.append((0.3, f"length: {words} words; write at least {MIN_WORDS}"))
    elif words > MAX_WORDS:
        findings.append((0.15, f"length: {words} words; cut to at most {MAX_WORDS}"))
    repeated = [s for s, n in Counter(sentences).items() if n > 1]
    findings += [(0.15, f"repeat: said more than once: '{s[:60]}'") for s in repeated[:2]]
    if not _READER.search(body):
        findings.append((0.15, "reader: nothing addresses the reader; say what it means to them"))
    if not sentences or not _TAKEAWAY.match(sentences[-1]):
        findings.append((0.2, "takeaway: end with a sentence that sums up ('In short, ...')"))
    if round <= 1:
        long_ones = [s for s in sentences if len(_WORD.findall(s)) > LONG_SENTENCE]
        findings += [(0.05, f"long-sentence: split '{s[:40]}...'") for s in long_ones[:2]]
    score = max(0.0, 1.0 - sum(w for w, _ in findings))
    return ReviewResult(score=_two_places(score), findings=tuple(f for _, f in findings))


def revise(title: str, text: str, findings: list[str]) -> str:
    """``text`` with every recognised finding applied, labelled once at the end."""
    rules = {f.split(":", 1)[0].strip() for f in findings}
    body, heading = _split(text)
    paragraphs = [_sentences(p) for p in body.split("\n\n") if p.strip()] or [[]]
    if "repeat" in rules:
        paragraphs = _dedupe(paragraphs)
    if "long-sentence" in rules:
        paragraphs = [[part for s in p for part in _halve(s)] for p in paragraphs]
    if "length" in rules:
        _fit(paragraphs, title)
    last = paragraphs[-1]
    if "reader" in rules:
        last.append(
            "If you are weighing this yourself, start with the part that touches your work."
        )
    if "takeaway" in rules:
        last.append("In short: take one step, measure what it changes, and repeat.")
    heading = heading or f"## {title}"
    blocks = [heading, *(" ".join(p) for p in paragraphs if p), LABEL_EN]
    return "\n\n".join(blocks)


def _split(text: str) -> tuple[str, str | None]:
    """The body without heading and label, and the heading line if the text starts with one."""
    lines = [line for line in text.strip().splitlines() if line.strip() not in _LABELS]
    heading = None
    if lines and lines[0].lstrip().startswith("#"):
        heading = lines.pop(0).strip()
    body = "\n".join(lines).strip()
    for label in _LABELS:
        body = body.removesuffix(label).strip()
    return body, heading


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def _dedupe(paragraphs: list[list[str]]) -> list[list[str]]:
    seen: set[str] = set()
    kept: list[list[str]] = []
    for paragraph in paragraphs:
        fresh = []
        for sentence in paragraph:
            if sentence not in seen:
                seen.add(sentence)
                fresh.append(sentence)
        if fresh:
            kept.append(fresh)
    return kept or [[]]


def _halve(sentence: str) -> list[str]:
    """A long sentence split at the comma nearest its middle (unchanged without one)."""
    if len(_WORD.findall(sentence)) <= LONG_SENTENCE:
        return [sentence]
    commas = [m.start() for m in re.finditer(r", ", sentence)]
    if not commas:
        return [sentence]
    at = min(commas, key=lambda i: abs(i - len(sentence) // 2))
    rest = sentence[at + 2 :]
    return [sentence[:at] + ".", rest[:1].upper() + rest[1:]]


def _fit(paragraphs: list[list[str]], title: str) -> None:
    """Grow a short text from ``_MORE``, or trim a long one from its longest paragraph
    to leave room for the sentences that the reader and takeaway rules add."""

    def count() -> int:
        return sum(len(_WORD.findall(s)) for p in paragraphs for s in p)

    extra = iter(_MORE)
    while count() < MIN_WORDS and (more := next(extra, None)) is not None:
        paragraphs[-1].append(more.format(title=title))
    while count() > MAX_WORDS - 50 and sum(len(p) for p in paragraphs) > 1:
        longest = max(paragraphs, key=len)
        longest.pop()


def _two_places(score: float) -> float:
    return float(f"{score:.2f}")
