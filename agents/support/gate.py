"""The answer gate: does this knowledge-base entry answer *this* question?

A high retrieval score says an entry shares the inquiry's words. That is not enough: a
wrong confident answer costs a customer more than an escalation. The gate answers only
when every check below holds, and otherwise escalates with the reason:

1. Nothing needs a person whatever the topic (:attr:`Signals.needs_person`): critical
   harm (outage, security, money taken wrongly, safety, legal), the customer's own
   access, the status of their own case, a request to act on their account.
2. A question about a kind of product the company does not sell gets the catalogue's
   answer ("we do not sell X; here is what we offer"), not another product's entry.
3. An entry may answer only if it covers (agents/support/entry_checks.py):
   - every product the inquiry names (catalogue.json);
   - a term of each of its ``requires`` groups, not negated ("do not want to cancel"
     fails an entry about cancelling; "already cancelled" fails a how-to; "cannot
     cancel" fails anything but troubleshooting);
   - the kind of question: a fault report needs a troubleshooting entry, a question
     after a number an entry that gives one.
   Among the entries left, the best candidate answers when the probability that it
   does (agents/support/confidence.py) reaches ``threshold`` and at most
   ``unexplained`` of the inquiry's content words name another entry's subject
   ("student discount" against the entry for schools: agents/support/vocabulary.py).
4. A follow-up that asks something and fails on its own text is tried once more
   together with the customer's previous turn; a self-contained question is judged on
   its own text only, and "thanks" or "ok" asks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agents.shared.classifier import TRAINING_FILE
from agents.shared.datasets import read_jsonl
from agents.shared.pii import mask
from agents.shared.retrieval import KB_FILE, QUERIES_FILE, Candidate, Hit, KBEntry, KnowledgeBase
from agents.shared.text import clean, tokenize
from agents.support import signals as sig
from agents.support.catalogue import Catalogue, Mentions
from agents.support.confidence import Confidence, features
from agents.support.entry_checks import EntryChecks
from agents.support.negation import without_unwanted
from agents.support.vocabulary import Unexplained, Vocabulary
from schemas.support import Category, Lang, Queue, Urgency

Outcome = Literal["answer", "not_sold", "escalate"]
# Labelled inquiries the model is fitted on besides the knowledge-base queries: training
# data only (the held-out inquiries and the *.test.* sets are never used here).
# (eval/desk.tune.jsonl checked the gate's choices and is not fitted on: half of it is
# answerable, and a model fitted on it answers more than a desk's traffic warrants.)
CALIBRATION_FILES = (TRAINING_FILE, "eval/near_miss.tune.jsonl", "eval/not_sold.tune.jsonl")
# Past this share of words naming another entry's topic no score makes an entry the answer.
UNEXPLAINED = 0.34
# Masked personal data ("[EMAIL]") says nothing about the topic.
_PLACEHOLDERS = re.compile(r"\[(email|phone|card|cn_id)\]")

CRITICAL_QUEUES: dict[str, Queue] = {
    "security": "security",
    "money": "billing",
    "outage": "technical",
    "safety": "technical",
    "legal": "complaints",
}
ACTION_QUEUES: dict[str, Queue] = {
    "duplicate_charge": "billing",
    "refund_status": "billing",
    "resend_invoice": "billing",
    "cancel_renewal": "billing",
    "change_plan": "billing",
    "update_billing_address": "billing",
    "order_status": "general",
    "stop_reminders": "general",
}
CATEGORY_QUEUES: dict[Category, Queue] = {
    "faq": "general",
    "general": "general",
    "billing": "billing",
    "technical": "technical",
    "complaint": "complaints",
    "sales": "sales",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with an inquiry. ``answer``: with ``hit``; ``not_sold``: the catalogue's
    answer for ``not_sold`` names; ``escalate``: to ``queue`` at ``urgency`` (None: the
    router's), because of ``reason``."""

    outcome: Outcome
    reason: str
    queue: Queue
    hit: Hit | None = None
    not_sold: tuple[str, ...] = ()
    urgency: Urgency | None = None
    action: str | None = None


class Gate:
    """The gate over ``entries``. Its model (agents/support/confidence.py) is fitted on
    ``calibration`` (records with ``query``, ``lang`` and ``answer_id`` or
    ``answer_ids``) the way the gate uses it: each query against the entries its checks
    allow; queries that never reach retrieval (a person is needed, a product not sold)
    are left out. ``background``: texts for the words' weights (idf)."""

    def __init__(
        self,
        entries: Sequence[KBEntry],
        catalogue: Catalogue,
        threshold: float,
        calibration: Iterable[Mapping[str, Any]],
        background: Iterable[tuple[str, Lang]] = (),
        unexplained: float = UNEXPLAINED,
    ) -> None:
        self.catalogue = catalogue
        self.threshold = threshold
        self.unexplained = unexplained
        self.kb = KnowledgeBase(entries)
        self._checks = {e.id: EntryChecks(e, catalogue) for e in entries}
        self._vocabulary = Vocabulary(list(self._checks.values()), background)
        rows, answers = self.training_rows(calibration)
        self.confidence = Confidence.fit(rows, answers)

    @classmethod
    def shipped(cls, threshold: float) -> Gate:
        """The gate over the shipped knowledge base and catalogue, fitted on the shipped
        training data only (agents/support/data: the knowledge-base queries, the
        training inquiries, the tuning parts of the near-miss and not-sold sets)."""
        entries = [KBEntry.from_record(r) for r in read_jsonl(KB_FILE)]
        calibration: list[dict[str, Any]] = list(read_jsonl(QUERIES_FILE))
        for name in CALIBRATION_FILES:
            calibration += [calibration_query(row) for row in read_jsonl(name)]
        background = [(r["text"], r["lang"]) for r in read_jsonl(TRAINING_FILE)]
        return cls(entries, Catalogue.shipped(), threshold, calibration, background)

    def training_rows(
        self, records: Iterable[Mapping[str, Any]]
    ) -> tuple[list[tuple[float, ...]], list[bool]]:
        """The model's rows for labelled ``records`` and whether each candidate answers."""
        pairs = [pair for record in records for pair in self.labelled_candidates(record)]
        return [row for row, _ in pairs], [answers for _, answers in pairs]

    def labelled_candidates(
        self, record: Mapping[str, Any]
    ) -> list[tuple[tuple[float, ...], bool]]:
        """The two best candidates of a labelled query (none when it never reaches
        retrieval), best first: the model's row of each and whether it answers."""
        lowered = _PLACEHOLDERS.sub(" ", mask(clean(record["query"])).text.lower())
        lang = record["lang"]
        signals = sig.read(lowered, lang)
        mentions = self.catalogue.mentions(lowered)
        if signals.needs_person or self._not_sold(lowered, mentions, signals):
            return []
        right = set(record.get("answer_ids") or ()) | {record.get("answer_id")}
        scored = self._scored(lowered, lang, signals, mentions, record["query"])[:2]
        return [(row, candidate.entry.id in right) for candidate, row, _ in scored]

    def decide(
        self, text: str, lang: Lang, category: Category, earlier: Sequence[str] = ()
    ) -> Verdict:
        """The verdict for ``text`` (masked), routed to ``category``; ``earlier``: the
        customer's previous turns, oldest first, for a follow-up."""
        lowered = _PLACEHOLDERS.sub(" ", clean(text).lower())
        signals = sig.read(lowered, lang)
        queue = _queue(category, signals)
        why = signals.needs_person
        if why:
            urgency: Urgency | None = "critical" if signals.critical else None
            return Verdict("escalate", why, queue, urgency=urgency, action=signals.action)
        mentions = self.catalogue.mentions(lowered)
        not_sold = self._not_sold(lowered, mentions, signals)
        if not_sold:
            why = "a product we do not sell"
            return Verdict("not_sold", why, queue, not_sold=not_sold)
        verdict = self._judge(lowered, lang, signals, queue, text)
        if verdict.outcome == "escalate" and earlier and signals.follow_up and sig.asks(lowered):
            context = clean(earlier[-1]).lower()
            combined = self._judge(f"{context} {lowered}", lang, signals, queue, text)
            if combined.outcome == "answer":
                return combined
        return verdict

    def _not_sold(self, lowered: str, mentions: Mentions, signals: sig.Signals) -> tuple[str, ...]:
        """The kinds of product we do not sell that the inquiry is about (none: it is not
        about one). It names one and no product of ours, and either asks to buy it (or
        have it repaired) from us, or is not about the service: it names neither the
        service itself (or our software for the product) nor the topic of an entry about
        the service, unless it names the
        product first ("my earbuds disconnect from my laptop"; but "can offline files go
        on my SD card?" is about offline files). Asking to buy a phone or a computer
        from us counts too."""
        things = mentions.not_sold or (
            ("devices",) if signals.buying and mentions.platforms else ()
        )
        if not things or mentions.sold:
            return ()
        if signals.buying:
            return things
        if mentions.service or signals.software:
            return ()
        for checks in self._checks.values():
            where = checks.topical(lowered) if checks.service else -1
            if where < 0:
                continue
            allowed = checks.refuses(lowered, mentions.sold, signals) is None
            if allowed or where < mentions.first_not_sold:
                return ()
        return things

    def _scored(
        self, lowered: str, lang: Lang, signals: sig.Signals, mentions: Mentions, original: str
    ) -> list[tuple[Candidate, tuple[float, ...], Unexplained]]:
        """The candidates the checks allow, best first, each with the model's row and
        what it leaves unexplained."""
        checks = self._checks

        def allowed(entry: KBEntry) -> bool:
            return checks[entry.id].refuses(lowered, mentions.sold, signals) is None

        candidates = self.kb.candidates(lowered, lang, allowed)
        tokens = tokenize(without_unwanted(lowered), lang)
        names = _names(original, lang)
        scored = []
        for c in candidates:
            unexplained = self._vocabulary.unexplained(tokens, checks[c.entry.id], names)
            row = features(c, len(tokens), unexplained, len(candidates) - 1)
            scored.append((c, row, unexplained))
        return scored

    def _judge(
        self, lowered: str, lang: Lang, signals: sig.Signals, queue: Queue, original: str
    ) -> Verdict:
        mentions = self.catalogue.mentions(lowered)
        scored = self._scored(lowered, lang, signals, mentions, original)
        if not scored:
            return Verdict("escalate", self._nothing(lowered, lang, signals, mentions), queue)
        best, row, unexplained = scored[0]
        p = self.confidence.of(row)
        entry = best.entry.id
        if unexplained.unknown:
            why = f"{entry} does not answer it: it names {', '.join(unexplained.unknown[:3])}"
            return Verdict("escalate", why, queue)
        if unexplained.elsewhere > self.unexplained:
            about = ", ".join(unexplained.words[:3])
            share = f"{unexplained.elsewhere:.0%}"
            why = f"{entry} does not answer it: {share} is about another topic ({about})"
            return Verdict("escalate", why, queue)
        if p < self.threshold:
            return Verdict(
                "escalate", f"best entry {entry} at {p:.2f} below {self.threshold}", queue
            )
        return Verdict("answer", f"{entry} at {p:.2f}", queue, hit=Hit(best.entry, p))

    def _nothing(self, lowered: str, lang: Lang, signals: sig.Signals, mentions: Mentions) -> str:
        """Why no entry is left: the checks' reason for the best entry by words alone."""
        top = self.kb.candidates(lowered, lang, k=1)
        if not top:
            return "no entry shares its words"
        why = self._checks[top[0].entry.id].refuses(lowered, mentions.sold, signals)
        return f"{top[0].entry.id} does not answer it: {why}"


_NAME = re.compile(r"\b(?:[A-Z][A-Z0-9-]{2,}|[A-Za-z]+\d[A-Za-z0-9-]*|\d+[A-Za-z][A-Za-z0-9-]*)\b")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,}")


def _names(text: str, lang: Lang) -> frozenset[str]:
    """Words of ``text`` that look like names or codes: upper-case words ("OIDC"), words
    with digits ("X200"), and, in Chinese text, any Latin word."""
    found = _LATIN.findall(text) if lang == "zh" else _NAME.findall(text)
    return frozenset(w.lower() for w in found)


def calibration_query(row: Mapping[str, Any]) -> dict[str, Any]:
    """A labelled inquiry (``expected``) as a calibration query."""
    expected = row["expected"]
    answers = expected.get("entries", []) if expected["outcome"] == "answer" else []
    return {"query": row["text"], "lang": row["lang"], "answer_ids": answers}


def _queue(category: Category, signals: sig.Signals) -> Queue:
    """Who takes an escalation: security for the customer's own access, the critical
    kind's queue, the account task's, else the routed category's."""
    if signals.access:
        return "security"
    if signals.critical:
        return CRITICAL_QUEUES[signals.critical]
    if signals.action:
        return ACTION_QUEUES[signals.action]
    return CATEGORY_QUEUES[category]
